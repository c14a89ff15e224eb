"""``python -m analytics check`` and ``summary --json``'s ``alerts``, in subprocesses on DuckDB files: exit 0
when no threshold is breached, 1 when one is, 2 on a usage error, a missing store or a bad alerts file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.analytics.alert_worlds import build_world
from tests.test_cli import run_cli

#: Raw agreement of the steady world is about 75%; alpha about 0.6.
BREACHED = "[[alert]]\nid = 'agreement'\nkind = 'agreement_below'\nmetric = 'percent_agreement'\nmin = 0.95\n"
PASSES = "[[alert]]\nid = 'agreement'\nkind = 'agreement_below'\nmetric = 'percent_agreement'\nmin = 0.3\n"
NO_RUN = "[[alert]]\nid = 'suspects'\nkind = 'suspect_rate_above'\nmax_rate = 0.1\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("check") / "world.duckdb"
    build_world(path)
    return path


def _config(tmp_path: Path, text: str, name: str = "alerts.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_breached_threshold_exits_1_and_says_so(world, tmp_path):
    result = run_cli("--db", str(world), "check", "--config", str(_config(tmp_path, BREACHED)))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "1 of 1 alert breached: agreement."
    assert lines[1] == f"Alert rules from {tmp_path / 'alerts.toml'}."
    assert lines[2].startswith("  [BREACHED] agreement: Raw percent agreement is ")
    assert lines[2].endswith(": below the minimum of 95% with its whole interval.")
    assert result.stderr == ""


def test_no_breach_exits_0(world, tmp_path):
    result = run_cli("--db", str(world), "check", "--config", str(_config(tmp_path, PASSES)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "No alert breached (1 rule checked)."
    assert "[ok] agreement: Raw percent agreement is " in result.stdout


def test_a_missing_store_exits_2_and_creates_nothing(tmp_path):
    missing = tmp_path / "nowhere" / "lw.duckdb"
    result = run_cli("--db", str(missing), "check")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: No store at {missing}: the file does not exist.")
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize(("text", "message"), [
    ("[[alert]]\nid = 'a'\nkind = 'agreement_below'\nmin = 'high'\n",
     "alert 1 (id 'a'): key 'min': expected a number in [-1, 1], got 'high'"),
    ("[[alert]\n", "not valid TOML"),
])
def test_a_bad_alerts_file_exits_2_naming_the_file_and_the_key(world, tmp_path, text, message):
    bad = _config(tmp_path, text)
    result = run_cli("--db", str(world), "check", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {bad}: ") and message in result.stderr
    assert result.stdout == ""


def test_usage_errors_and_a_named_file_that_is_missing_exit_2(world, tmp_path):
    assert run_cli("--db", str(world), "check", "--bogus").returncode == 2
    missing = tmp_path / "typo.toml"
    result = run_cli("--db", str(world), "check", env={"LABELWATCH_ALERTS": str(missing)})
    assert result.returncode == 2 and f"{missing}: cannot read the alerts file" in result.stderr
    not_a_store = _config(tmp_path, "item_id,label\n", "labels.csv")
    assert run_cli("--db", str(not_a_store), "check").returncode == 2


def test_the_alerts_file_beside_the_store_and_the_environment_are_read(tmp_path):
    db = tmp_path / "world.duckdb"
    build_world(db)
    _config(tmp_path, BREACHED)  # alerts.toml beside the store
    assert run_cli("--db", str(db), "check").returncode == 1
    named = _config(tmp_path, PASSES, "mine.toml")
    result = run_cli("--db", str(db), "check", env={"LABELWATCH_ALERTS": str(named)})
    assert result.returncode == 0 and f"Alert rules from {named}." in result.stdout


def test_without_a_file_the_defaults_apply_and_say_so(world):
    result = run_cli("--db", str(world), "check")
    assert result.returncode in (0, 1), result.stderr
    assert ("No alerts file ($LABELWATCH_ALERTS, or alerts.toml beside the store): the 4 built-in default "
            "rules apply") in result.stdout
    assert "[not evaluated] noisy-slice: Not evaluated: no detection run" in result.stdout


def test_strict_fails_on_a_rule_that_cannot_be_evaluated(world, tmp_path):
    config = str(_config(tmp_path, NO_RUN + PASSES.replace("[[alert]]", "\n[[alert]]")))
    assert run_cli("--db", str(world), "check", "--config", config).returncode == 0
    strict = run_cli("--db", str(world), "check", "--config", config, "--strict")
    assert strict.returncode == 1
    assert "[not evaluated] suspects: Not evaluated: no detection run" in strict.stdout


def test_check_json_is_the_summarys_alerts_with_the_exit_status(world, tmp_path):
    config = _config(tmp_path, BREACHED + "\n" + NO_RUN)
    result = run_cli("--db", str(world), "check", "--config", str(config), "--json")
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert (found["breached"], found["no_data"], found["exit_status"]) == (["agreement"], ["suspects"], 1)
    assert found["source"] == str(config) and found["defaults"] is False and found["error"] is None
    rule = found["rules"][0]
    assert rule["status"] == "breached" and rule["params"]["min"] == 0.95
    assert rule["ci_low"] <= rule["value"] <= rule["ci_high"] < 0.95
    assert rule["message"].startswith("Raw percent agreement is ")


def test_summary_json_has_the_alerts(world, tmp_path):
    summary = json.loads(run_cli("--db", str(world), "summary", "--json").stdout)
    alerts = summary["alerts"]
    assert alerts["defaults"] is True and alerts["error"] is None
    assert [r["id"] for r in alerts["rules"]] == ["alpha", "noisy-slice", "new-change", "declining-annotator"]
    assert {r["status"] for r in alerts["rules"]} <= {"breached", "borderline", "ok", "no data"}
    assert alerts["no_data"] == ["noisy-slice"]  # the default slice rule reads a detection run


def test_summary_survives_a_broken_alerts_file(tmp_path):
    db = tmp_path / "world.duckdb"
    build_world(db)
    _config(tmp_path, "[[alert]]\nid = 'x'\nkind = 'nope'\n")
    result = run_cli("--db", str(db), "summary", "--json")
    assert result.returncode == 0, result.stderr
    alerts = json.loads(result.stdout)["alerts"]
    assert alerts["rules"] == []
    where = tmp_path / "alerts.toml"
    assert alerts["error"].startswith(f"{where}: alert 1 (id 'x'): key 'kind': expected one of ")
    text = run_cli("--db", str(db), "summary")
    assert text.returncode == 0 and "  alerts: " + alerts["error"] in text.stdout


def test_check_opens_the_store_read_only_so_gates_can_run_side_by_side(world, tmp_path):
    from analytics.store import Store

    config = str(_config(tmp_path, BREACHED))
    with Store(world, read_only=True):  # another reader holds the file: only read-only opens can share it
        result = run_cli("--db", str(world), "check", "--config", config)
        assert result.returncode == 1, result.stderr
        assert run_cli("--db", str(world), "summary").returncode == 2  # a read-write open is refused
