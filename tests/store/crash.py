"""Helpers of the crash tests: run a real process that stops in the middle of a write
(``crash_site/sitecustomize.py``), kill it with SIGKILL there, and read what the store holds afterwards."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analytics.remediation import actions
from analytics.store import Store
from analytics.store import remediation as sql

ROOT = Path(__file__).resolve().parents[2]
SITE = Path(__file__).resolve().parent / "crash_site"
#: How long a process may take to reach its pause point (start-up, imports, a first script run) on a
#: busy 2-core machine; a process that exits first ends the wait at once.
REACH_TIMEOUT_S = 300
COUNTED = ("label_events", "ingest_batches", "items", "annotators", "remediation_actions",
           "dataset_versions", "version_labels")


def pause_env(point: str, marker: Path) -> dict[str, str]:
    """The environment that makes a LabelWatch process stop at ``point`` (``operation:before|after``),
    announcing itself (its pid) in ``marker``."""
    path = os.pathsep.join([str(SITE), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {"PYTHONPATH": path, "LABELWATCH_TEST_PAUSE": point, "LABELWATCH_TEST_PAUSE_MARKER": str(marker)}


def wait_for_pause(marker: Path, alive: Callable[[], bool], what: str) -> int:
    """The pid written to ``marker`` once the process reached its pause point; fails when the process
    ended first (or did not get there within ``REACH_TIMEOUT_S``)."""
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while not marker.exists():
        if not alive():
            raise AssertionError(f"{what} ended before it reached its pause point")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not reach its pause point within {REACH_TIMEOUT_S} s")
        time.sleep(0.1)
    return int(marker.read_text())


def kill_at_pause(argv: list[str], point: str, marker: Path) -> subprocess.CompletedProcess:
    """Run ``argv`` (a ``python -m analytics`` command) until it stops at ``point``, SIGKILL it there and
    return what it printed."""
    env = {**os.environ, **pause_env(point, marker)}
    env.pop("LABELWATCH_ROLES", None)  # single-user mode: the local user is an admin
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        pid = wait_for_pause(marker, lambda: process.poll() is None, " ".join(argv[2:]))
        assert pid == process.pid
        os.kill(pid, signal.SIGKILL)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, out
    return subprocess.CompletedProcess(argv, process.returncode, out)


@dataclasses.dataclass(frozen=True)
class StoreState:
    """What an operation could have half-written: row counts of every table it writes, the action log and
    the resolved labels."""

    counts: dict[str, int]
    log: pd.DataFrame
    resolved: pd.DataFrame

    def same_as(self, other: StoreState) -> bool:
        same_log = self.log["action_id"].tolist() == other.log["action_id"].tolist()
        return self.counts == other.counts and same_log and self.resolved.equals(other.resolved)


def store_state(path: Path) -> StoreState:
    """Open the store as a restarted process would and read its state; checks on the way that replaying
    the audit log from the consensus gives the resolved labels."""
    with Store(path) as store:
        counts = {t: int(store.scalar("SELECT count(*) FROM " + t)) for t in COUNTED}
        log = sql.action_log(store).sort_values("seq").reset_index(drop=True)
        resolved = sql.resolved_labels(store)[["item_id", "consensus", "label", "excluded"]]
    consensus = {i: (None if pd.isna(c) else c) for i, c in zip(resolved["item_id"], resolved["consensus"],
                                                                strict=True)}
    replayed = actions.replay(consensus, log)
    got = resolved[["item_id", "label", "excluded"]].reset_index(drop=True)
    got["label"] = [None if pd.isna(x) else x for x in got["label"]]
    pd.testing.assert_frame_equal(got, replayed, check_dtype=False)
    return StoreState(counts, log, resolved.reset_index(drop=True))


def python(*args: str) -> list[str]:
    """``python -m analytics ARGS`` with this interpreter."""
    return [sys.executable, "-m", "analytics", *args]
