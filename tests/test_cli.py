"""``python -m analytics`` in subprocesses on temporary DuckDB files: demo, summary, ingest, locked store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.store import Store

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "LABELWATCH_DB"}
    full_env.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "analytics", *args], capture_output=True, text=True, cwd=ROOT, env=full_env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli") / "demo.duckdb"
    result = run_cli("--db", str(db), "demo", "--seed", "0")
    assert result.returncode == 0, result.stderr
    assert "label_events" in result.stdout
    return db


def test_demo_builds_the_store(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM items") == 1797
        assert store.scalar("SELECT count(*) FROM label_events") > 3 * 1797
        assert store.scalar("SELECT count(*) FROM demo_truth") == 1797
        assert store.scalar("SELECT count(*) FROM demo_annotator_truth") == 60
        assert store.scalar("SELECT value FROM store_meta WHERE key = 'demo_seed'") == "0"
        assert store.scalar("SELECT count(DISTINCT key) FROM item_attributes") >= 2
        assert store.scalar("SELECT count(*) FROM guidelines") == 2


def test_demo_again_with_the_same_seed_is_a_no_op(demo_db: Path) -> None:
    result = run_cli("--db", str(demo_db), "demo", "--seed", "0")
    assert result.returncode == 0, result.stderr
    with Store(demo_db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM demo_truth") == 1797
        assert store.scalar("SELECT count(*) FROM items") == 1797


def test_demo_with_another_seed_is_refused(demo_db: Path) -> None:
    result = run_cli("--db", str(demo_db), "demo", "--seed", "1")
    assert result.returncode == 1
    assert "seed 0" in result.stderr and "Traceback" not in result.stderr


def test_summary_json_has_the_contract_keys(demo_db: Path) -> None:
    result = run_cli("--db", str(demo_db), "summary", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"store", "agreement", "annotators", "drift", "slices", "suspects", "impact"} <= set(summary)
    assert summary["store"]["counts"]["label_events"] > 0 and summary["store"]["schema_version"] >= 1
    assert summary["store"]["items_count"]["estimate"] is False
    metric = summary["agreement"]["percent_agreement"]
    assert {"value", "ci_low", "ci_high"} <= set(metric)
    assert metric["ci_low"] <= metric["value"] <= metric["ci_high"]
    for name in ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1"):
        coefficient = summary["agreement"][name]
        assert coefficient["ci_low"] < coefficient["value"] < coefficient["ci_high"]
    assert len(summary["annotators"]) == 60
    assert {"annotator_id", "cohort", "events", "flags", "loo_agreement"} <= set(summary["annotators"][0])
    flagged = {a["annotator_id"] for a in summary["annotators"] if "near chance" in a["flags"]}
    assert flagged == {"ann-039", "ann-041", "ann-050"}
    assert [g["version"] for g in summary["drift"]["guidelines"]] == ["v1", "v2"]
    changes = summary["drift"]["change_points"]
    keys = {"series", "date", "before", "after", "change", "p_value"}
    assert changes and all(keys <= set(change) for change in changes)
    assert any("guideline v2" in line for line in summary["drift"]["what_changed"])
    noisiest = summary["slices"][0]  # the demo's injected noisy slice
    assert (noisiest["attribute"], noisiest["value"], noisiest["significant"]) == ("source", "fax", True)
    assert noisiest["ci_low"] < noisiest["noise_rate"] < noisiest["ci_high"]
    rates = [s["noise_rate"] for s in summary["slices"]]
    assert rates == sorted(rates, reverse=True)
    assert not any(s["significant"] for s in summary["slices"] if s["attribute"] == "region")
    suspects = summary["suspects"]  # the demo's own detection run
    with Store(demo_db, read_only=True) as store:
        flagged = store.scalar("SELECT count(*) FROM suspects WHERE run_id = ? AND flagged",
                               [suspects["run_id"]])
    assert suspects["count"] == flagged > 100 and suspects["items"] == 1797
    assert len(suspects["top"]) == 10 and suspects["top"][0]["why"].startswith("model: ")
    assert suspects["top"][0]["score"] >= suspects["top"][-1]["score"]


def test_summary_uses_labelwatch_db_without_db(demo_db: Path) -> None:
    result = run_cli("summary", env={"LABELWATCH_DB": str(demo_db)})
    assert result.returncode == 0, result.stderr
    assert str(demo_db) in result.stdout and "percent agreement" in result.stdout
    assert "Krippendorff's alpha" in result.stdout and "ann-009 (crowd): declining" in result.stdout


def test_ingest_reports_each_file(tmp_path: Path) -> None:
    good = tmp_path / "events.csv"
    good.write_text(
        "item_id,annotator_id,label,labeled_at\n"
        "i1,a1,cat,2026-04-01T10:00:00\n"
        "i1,a2,dog,2026-04-01T11:00:00\n"
    )
    db = tmp_path / "s.duckdb"
    dry = run_cli("--db", str(db), "ingest", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout and "2 rows read" in dry.stdout
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 0
    result = run_cli("--db", str(db), "ingest", str(good))
    assert result.returncode == 0, result.stderr
    assert "events.csv" in result.stdout and "2 rows read, 2 accepted" in result.stdout
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 2


def test_ingest_of_a_bad_file_exits_1_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "no_label_column.csv"
    bad.write_text("item_id,annotator_id\ni1,a1\n")
    result = run_cli("--db", str(tmp_path / "s.duckdb"), "ingest", str(bad))
    assert result.returncode == 1
    assert "no_label_column.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_locked_store_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    with Store(db):
        result = run_cli("--db", str(db), "summary", "--json")
    assert result.returncode == 2
    assert "in use by another process" in result.stderr and str(db) in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("demo", "ingest", "summary"))


def test_score_stores_a_run_and_prints_the_top_suspects(tmp_path: Path) -> None:
    db = tmp_path / "score.duckdb"
    assert run_cli("--db", str(db), "demo").returncode == 0
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "R1"\nkind = "impossible"\ndescription = "0 is not 1"\n'
                     'labels = ["0", "1"]\n')
    result = run_cli("--db", str(db), "score", "--rules", str(rules), "--top", "3", "--folds", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Run run-") and "items scored" in lines[0]
    assert any(line.strip().startswith("model: The model agrees") for line in lines)
    assert sum(line.strip().startswith("#") for line in lines) == 3
    with Store(db, read_only=True) as store:
        runs = store.query("SELECT run_id, params FROM detection_runs ORDER BY created_at")
        hits = store.scalar(
            "SELECT count(*) FROM suspects WHERE run_id = ? AND signals->>'rules' LIKE '%R1%'",
            [runs["run_id"].iloc[-1]])
    assert len(runs) == 2  # the demo's run and this one
    assert json.loads(runs["params"].iloc[-1])["n_splits"] == 3 and hits > 0
    assert "%" in result.stderr  # progress goes to stderr


def test_a_bad_rules_file_exits_1_naming_it(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "R1"\nkind = "vocab"\ndescription = "x"\n')
    events = tmp_path / "e.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a,x,2024-01-01\n")
    result = run_cli("--db", str(tmp_path / "s.duckdb"), "ingest", str(events), "--rules", str(rules))
    assert result.returncode == 1 and "rules.toml" in result.stderr and "kind" in result.stderr


def test_ingest_reports_rule_warnings_and_keeps_the_rows(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "R1"\nkind = "impossible"\ndescription = "x and y never together"\n'
                     'labels = ["x", "y"]\n')
    events = tmp_path / "e.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a,x,2024-01-01\ni1,b,y,2024-01-02\n"
                      "i2,a,x,2024-01-01\n")
    result = run_cli("--db", str(tmp_path / "s.duckdb"), "ingest", str(events),
                     env={"LABELWATCH_RULES": str(rules)})
    assert result.returncode == 0, result.stderr
    assert "Rule warnings" in result.stdout and "R1: 2 rows" in result.stdout
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 3
