"""``GET /api/summary`` is computed once per state of the store and its alerts file (``ui.api``): callers
at once share one computation, a write or an alerts edit starts a new one, and a failure is never kept.

The end-to-end check that a summary through the API follows every write is ``tests/e2e/test_api.py``.
"""

from __future__ import annotations

import concurrent.futures
import threading

import pytest

from analytics.api.commands import Result
from analytics.store import Store
from tests.builders import write_raw
from ui import api

RULE = '[[alert]]\nid = "alpha"\nkind = "agreement_below"\nmin = {}\n'


def counting(answer: Result):
    """A computation that counts its runs and returns ``answer``."""
    runs = []

    def compute() -> Result:
        runs.append(threading.get_ident())
        return answer
    return compute, runs


def test_callers_at_once_share_one_computation():
    shared = api._Shared()
    compute, runs = counting(Result(0, '{"n": 1}', "", {}))
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: shared.get(("db", 1), compute), range(40)))
    assert runs and len(runs) == 1
    assert {answer.stdout for answer in answers} == {'{"n": 1}'}


def test_a_new_key_computes_again_and_only_the_latest_is_kept():
    shared = api._Shared()
    compute, runs = counting(Result(0, "{}", "", {}))
    shared.get(("db", 1), compute)
    shared.get(("db", 1), compute)
    assert len(runs) == 1
    shared.get(("db", 2), compute)
    assert len(runs) == 2
    shared.get(("db", 1), compute)  # dropped when state 2 came: computed afresh
    assert len(runs) == 3


def test_a_failure_reaches_every_waiter_and_is_not_kept():
    shared = api._Shared()
    started, release = threading.Event(), threading.Event()
    calls = []

    def failing() -> Result:
        calls.append(1)
        started.set()
        release.wait(60)
        raise RuntimeError("the store went away")

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(shared.get, "k", failing)
        assert started.wait(60)
        waiter = pool.submit(shared.get, "k", failing)  # arrives while the first computes (or after)
        release.set()
        for future in (first, waiter):
            with pytest.raises(RuntimeError, match="went away"):
                future.result(60)
    compute, runs = counting(Result(0, "{}", "", {}))
    assert shared.get("k", compute).exit_status == 0 and len(runs) == 1  # the failure was not kept

    refused, refusals = counting(Result(2, "", "error: cannot open\n", {}))
    assert shared.get("j", refused).exit_status == 2
    assert shared.get("j", refused).exit_status == 2 and len(refusals) == 2  # an error status is not kept


def test_the_key_follows_every_write_and_the_alerts_file(tmp_path, monkeypatch):
    monkeypatch.delenv("LABELWATCH_ALERTS", raising=False)
    with Store(tmp_path / "lw.duckdb") as store:
        opened = api.summary_key(store)
        assert api.summary_key(store) == opened
        with store.transaction() as cur:
            write_raw(cur, "label_schema", [{"label": "a", "batch_id": "b1"}])
        written = api.summary_key(store)
        assert written != opened
        (tmp_path / "alerts.toml").write_text(RULE.format(0.6))
        edited = api.summary_key(store)
        assert edited != written
        (tmp_path / "alerts.toml").write_text(RULE.format(0.5))
        assert api.summary_key(store) != edited
