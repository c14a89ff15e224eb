"""``python -m analytics`` in subprocesses on temporary DuckDB files: demo, summary, ingest, locked store."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
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
        flagged, split = [
            store.scalar("SELECT count(*) FROM suspects WHERE run_id = ? AND status = ?",
                         [suspects["run_id"], status]) for status in ("mislabeled", "no_consensus")]
    assert suspects["count"] == flagged > 30 and suspects["no_consensus"] == split > 100
    assert suspects["items"] == suspects["run_items"] == 1797 and suspects["score"] == "log10 odds"
    precision = suspects["precision"]
    assert precision["ci_low"] < precision["value"] <= precision["ci_high"] and precision["n"] > 10
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
    assert not db.exists()  # a dry run writes nothing, not even a new store file
    result = run_cli("--db", str(db), "ingest", str(good))
    assert result.returncode == 0, result.stderr
    assert "events.csv" in result.stdout and "2 rows read, 2 accepted" in result.stdout
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 2
    again = run_cli("--db", str(db), "ingest", str(good), "--dry-run")  # an existing store, read-only
    assert again.returncode == 0 and "already imported as batch" in again.stdout


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


EVENTS = (
    "item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-04-01T10:00:00\ni1,a2,dog,2024-04-01T11:00:00\n"
)
JSON_LINE = b'{"item_id": "i1", "annotator_id": "a1", "label": "cat", "labeled_at": "2024-04-01"}\n'


@pytest.mark.parametrize("command", [("summary",), ("summary", "--json"), ("score",)])
def test_a_read_on_a_mistyped_path_fails_clearly_and_creates_nothing(tmp_path: Path, command) -> None:
    db = tmp_path / "lablewatch.duckdb"
    result = run_cli("--db", str(db), *command)
    assert result.returncode == 2 and result.stdout == ""
    assert f"error: No store at {db}: the file does not exist" in result.stderr
    assert "Traceback" not in result.stderr and not db.exists()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("events.csv", EVENTS.encode()),
        ("events.jsonl", JSON_LINE),
        ("events.parquet", None),
    ],
)
def test_db_naming_a_data_file_is_refused_not_opened_in_memory(tmp_path: Path, name, content) -> None:
    db = tmp_path / name
    if content is None:
        pq.write_table(pa.table({"item_id": ["i1"]}), db)
    else:
        db.write_bytes(content)
    before = db.read_bytes()
    good = tmp_path / "good.csv"
    good.write_text(EVENTS)
    result = run_cli("--db", str(db), "ingest", str(good))
    assert result.returncode == 2
    assert f"{db} is not a DuckDB database" in result.stderr and "Imported" not in result.stdout
    assert db.read_bytes() == before and "Traceback" not in result.stderr


def test_another_programs_duckdb_file_is_left_alone_unless_adopted(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE orders (id INTEGER)")
    con.close()
    good = tmp_path / "good.csv"
    good.write_text(EVENTS)
    refused = run_cli("--db", str(db), "ingest", str(good))
    assert refused.returncode == 2 and "another program (it holds orders)" in refused.stderr
    assert "--adopt-db" in refused.stderr
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone()[0] == 1
    con.close()
    adopted = run_cli("--db", str(db), "--adopt-db", "ingest", str(good))
    assert adopted.returncode == 0, adopted.stderr
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 2


def test_ingest_maps_columns_and_applies_the_plausible_range(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text("Item;Rater;Class;When\ni1;a1;cat;2019-12-31\ni2;a1;dog;2020-06-01\ni3;a1;cat;2021-01-02\n")
    db = tmp_path / "s.duckdb"
    unmapped = run_cli("--db", str(db), "ingest", str(export), "--kind", "events")
    assert unmapped.returncode == 1 and "missing required column" in unmapped.stderr
    mapping = ("--map", "Item=item_id", "--map", "Rater=annotator_id", "--map", "Class=label", "--map",
               "When=labeled_at")
    result = run_cli("--db", str(db), "ingest", str(export), *mapping, "--earliest", "2020-01-01",
                     "--latest", "2021-01-01")
    assert result.returncode == 0, result.stderr
    assert "3 rows read, 1 accepted, 2 rejected (timestamp out of range: 2)" in result.stdout
    assert (f"{export}, line 2: timestamp out of range: column 'labeled_at': expected a time from "
            "2020-01-01 00:00 to 2021-01-01 00:00 UTC") in result.stdout
    wrong = run_cli("--db", str(db), "ingest", str(export), "--map", "Item", "--dry-run")
    assert wrong.returncode == 2 and "expected COLUMN=NAME" in wrong.stderr


def test_ingest_of_a_labelbox_export_with_its_question(tmp_path: Path) -> None:
    export = ROOT / "tests" / "data" / "labelbox" / "export.ndjson"
    db = tmp_path / "s.duckdb"
    result = run_cli("--db", str(db), "ingest", str(export), "--kind", "labelbox", "--json")
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["files"]
    assert (report["kind"], report["unit"], report["dataset"]) == ("labelbox", "row", None)
    assert (report["rows_read"], report["rows_accepted"], report["rows_rejected"]) == (14, 7, 7)
    assert [(r["row_number"], r["column_name"], r["reason"].split(": ")[0]) for r in report["rejects"]] == [
        (3, "annotator_id", "missing value"), (4, None, "bad JSON"),
        (6, "performance_details", "skipped label"), (8, "label", "no answer"),
        (9, "labeled_at", "bad timestamp"), (11, "labels", "no labels"), (12, "data_row", "bad data row"),
    ]
    assert len(report["warnings"]) == 2 and report["items"] == {"new": 5, "changed": 0, "unchanged": 0}
    other = tmp_path / "language.duckdb"
    language = run_cli("--db", str(other), "ingest", str(export), "--kind", "labelbox", "--question",
                       "Language", "--dataset", "reviews")
    assert language.returncode == 0, language.stderr
    assert f"{export} (labelbox): 14 rows read, 2 accepted, 12 rejected" in language.stdout
    with Store(other, read_only=True) as store:
        assert store.query("SELECT label FROM label_events ORDER BY event_id").label.tolist() == ["en", "fr"]
        assert store.query("SELECT DISTINCT dataset FROM items").dataset.tolist() == ["reviews"]
    fresh = str(tmp_path / "fresh.duckdb")  # (the store with the file answers "already imported" first)
    unknown = run_cli("--db", fresh, "ingest", str(export), "--kind", "labelbox", "--question", "Mood")
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert f"error: {export}: no label answers the question 'Mood'" in unknown.stderr
    wrong = run_cli("--db", str(other), "ingest", str(export), "--question", "Sentiment")
    assert wrong.returncode == 1 and "error: --question NAME takes --kind labelbox" in wrong.stderr
    as_events = run_cli("--db", str(other), "ingest", str(export))
    assert as_events.returncode == 1
    assert "it looks like a Labelbox export: import it as kind 'labelbox' (--kind labelbox)" in \
        as_events.stderr


def test_the_plausible_range_comes_from_the_environment_and_a_wrong_one_is_an_error(tmp_path: Path) -> None:
    events = tmp_path / "e.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a1,cat,1985-06-01\ni2,a1,cat,2024-01-01\n")
    db = str(tmp_path / "s.duckdb")
    default = run_cli("--db", db, "ingest", str(events), "--dry-run")
    assert "2 rows read, 1 accepted" in default.stdout
    widened = run_cli("--db", db, "ingest", str(events), "--dry-run",
                      env={"LABELWATCH_EARLIEST": "1980-01-01"})
    assert "2 rows read, 2 accepted" in widened.stdout
    wrong = run_cli("--db", db, "ingest", str(events), "--latest", "soon")
    assert wrong.returncode == 1
    assert "--latest / LABELWATCH_LATEST: 'soon' is not a date or time" in wrong.stderr


def test_a_full_disk_during_an_import_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    Store(db).close()
    events = tmp_path / "many.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\n" + "".join(
        f"i{i},a{i % 40},{'cat' if i % 3 else 'dog'},2024-01-{1 + i % 28:02d}\n" for i in range(60_000)))

    def limit_file_size() -> None:  # a real write failure: files of the process may not grow past 1.5 MB
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000))

    env = {k: v for k, v in os.environ.items() if k != "LABELWATCH_DB"}
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(db), "ingest", str(events)], capture_output=True,
        text=True, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        preexec_fn=limit_file_size, timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(
        f"error: Cannot import {events}: a file size limit was reached; nothing was imported"
    )
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 0
        assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_score_refuses_a_label_set_too_large_and_stores_no_run(tmp_path):
    db = tmp_path / "many.duckdb"
    rows = ["item_id,annotator_id,label,labeled_at"] + [
        f"i{i},a{j},c{(i * 7 + j) % 400},2026-01-0{1 + j}" for i in range(2_000) for j in range(3)]
    (tmp_path / "events.csv").write_text("\n".join(rows) + "\n")
    assert run_cli("--db", str(db), "ingest", str(tmp_path / "events.csv")).returncode == 0
    result = run_cli("--db", str(db), "score", env={"LABELWATCH_MAX_MODEL_GB": "0.01"})
    assert result.returncode == 1
    assert "error: Detection over 400 labels (2,000 items, 5 annotator groups)" in result.stderr
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM detection_runs") == 0
