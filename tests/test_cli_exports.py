"""The CLI's exports on a copy of the demo store with its remediation round: ``versions export``,
``suspects export`` (tables and cleanlab's ``.npz``), ``campaign export`` (Label Studio tasks unchanged, the
assignments and the items tables) and ``audit --out``, each with ``--format csv|parquet|jsonl`` or the format
its file's extension names; exit status 1 with a clear message for a bad format, an unknown run, version or
campaign. The same commands through the dashboard's side of the API (``analytics.api.commands``): the file
is written there and returned under the caller's name.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from analytics.__main__ import main
from analytics.api import commands
from analytics.core import exports
from analytics.core.csv_export import FORMULA_STARTS
from analytics.detection import export
from analytics.remediation import audit, campaigns, versions
from analytics.store import Store
from analytics.store import remediation as remediation_sql


@pytest.fixture
def db(demo_history_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return str(copy)


@pytest.fixture(scope="module")
def expected(demo_history_store_path):
    """What the store holds, read through the engine (not the CLI)."""
    with Store(demo_history_store_path, read_only=True) as store:
        run_id = remediation_sql.latest_run(store)
        campaign_id = campaigns.list_campaigns(store)["campaign_id"].iloc[0]
        return {"run_id": run_id, "campaign_id": campaign_id,
                "v1": versions.version_labels(store, "v1"),
                "actions": audit.audit_log(store),
                "suspects": export.suspects_table(store, run_id),
                "items": campaigns.campaign_items(store, campaign_id),
                "assignments": campaigns.assignments(store, campaign_id),
                "tasks": campaigns.label_studio_tasks(store, campaign_id),
                "arrays": export.cleanlab_arrays(store, run_id)}


def _run(capsys, *argv) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _jsonl(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("name", "options", "fmt"), [
    ("v1.csv", [], "csv"), ("v1.parquet", [], "parquet"), ("v1.jsonl", [], "jsonl"),
    ("v1.data", ["--format", "parquet"], "parquet"), ("v1.csv", ["--format", "JSONL"], "jsonl"),
])
def test_versions_export_in_each_format(db, capsys, tmp_path, expected, name, options, fmt):
    out = tmp_path / name
    status, stdout, _ = _run(capsys, "--db", db, "versions", "export", "v1", "--out", str(out), *options)
    assert status == 0
    assert stdout == f"Wrote 1,797 items of v1 to {out} ({exports.NAMES[fmt]}).\n"
    assert out.read_bytes() == exports.to_bytes(expected["v1"], fmt)


def test_versions_export_says_what_it_wrote_in_json(db, capsys, tmp_path):
    out = tmp_path / "v2.jsonl"
    assert main(["--db", db, "versions", "export", "v2", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"version": "v2", "out": str(out), "format": "jsonl",
                                                   "rows": 1797}
    assert len(_jsonl(out)) == 1797


@pytest.mark.parametrize(("argv", "message"), [
    (["versions", "export", "v1", "--out", "OUT/v1.xlsx"],
     "error: cannot tell the format of 'v1.xlsx' from its extension: name the file .csv, .parquet, .jsonl, "
     "or give --format (csv, parquet, jsonl)\n"),
    (["versions", "export", "v1", "--out", "OUT/v1.csv", "--format", "xlsx"],
     "error: unknown format 'xlsx': use one of csv, parquet, jsonl\n"),
    (["versions", "export", "v9", "--out", "OUT/v9.csv"], "error: There is no dataset version 'v9'.\n"),
    (["suspects", "export", "run-nope", "--out", "OUT/s.csv"],
     "error: There is no detection run 'run-nope'.\n"),
    (["suspects", "export", "run-nope", "--out", "OUT/s.npz"],
     "error: There is no detection run 'run-nope'.\n"),
    (["suspects", "export", "--out", "OUT/s.csv", "--format", "xlsx"],
     "error: unknown format 'xlsx': use one of csv, parquet, jsonl, npz\n"),
    (["suspects", "export", "--out", "OUT/s.npz", "--status", "ok"],
     "error: cleanlab's arrays hold every item the run's model scored: leave out the status to write them\n"),
    (["campaign", "export", "camp-nope", "--out", "OUT/c.jsonl"],
     "error: There is no campaign 'camp-nope'.\n"),
    (["campaign", "export", "CAMPAIGN", "--out", "OUT/c.json", "--table", "items"],
     "error: Label Studio's tasks (.json) are the campaign for a labeling tool; write the items table as "
     ".csv, .parquet or .jsonl.\n"),
    (["campaign", "export", "CAMPAIGN", "--out", "OUT/c.npz"],
     "error: cannot tell the format of 'c.npz' from its extension: name the file .json, .csv, .parquet, "
     ".jsonl, or give --format (json, csv, parquet, jsonl)\n"),
    (["audit", "--out", "OUT/a.txt"],
     "error: cannot tell the format of 'a.txt' from its extension: name the file .csv, .parquet, .jsonl, "
     "or give --format (csv, parquet, jsonl)\n"),
    (["audit", "--out", "OUT/a.csv", "--format", "npz"], "error: unknown format 'npz': use one of csv, "
     "parquet, jsonl\n"),
])
def test_a_bad_request_exits_1_with_a_clear_message_and_writes_nothing(db, capsys, tmp_path, expected, argv,
                                                                       message):
    argv = [a.replace("OUT", str(tmp_path)).replace("CAMPAIGN", expected["campaign_id"]) for a in argv]
    status, stdout, stderr = _run(capsys, "--db", db, *argv)
    assert (status, stdout, stderr) == (1, "", message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]


def test_suspects_export_of_a_store_without_a_run(tmp_path, capsys):
    events = tmp_path / "events.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a,cat,2026-01-01\n", encoding="utf-8")
    db = str(tmp_path / "lw.duckdb")
    assert main(["--db", db, "ingest", str(events)]) == 0
    capsys.readouterr()
    status, _, stderr = _run(capsys, "--db", db, "suspects", "export", "--out", str(tmp_path / "s.csv"))
    assert (status, stderr) == (1, "error: The store has no detection run: run `score` first.\n")


@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_suspects_export_writes_the_newest_runs_items(db, capsys, tmp_path, expected, fmt):
    out = tmp_path / f"s.{fmt}"
    status, stdout, _ = _run(capsys, "--db", db, "suspects", "export", "--out", str(out))
    assert status == 0
    assert stdout == f"Wrote 1,797 items of run {expected['run_id']} to {out} ({exports.NAMES[fmt]}).\n"
    assert out.read_bytes() == exports.to_bytes(expected["suspects"], fmt)


def test_suspects_export_of_one_status_names_the_run(db, capsys, tmp_path, expected):
    out = tmp_path / "flagged.data"
    argv = ["--db", db, "suspects", "export", expected["run_id"], "--out", str(out), "--format", "parquet",
            "--status", "mislabeled", "--json"]
    assert main(argv) == 0
    flagged = expected["suspects"][expected["suspects"]["status"] == "mislabeled"]
    assert json.loads(capsys.readouterr().out) == {"run_id": expected["run_id"], "out": str(out),
                                                   "format": "parquet", "rows": len(flagged)}
    back = pd.read_parquet(out)
    assert back["item_id"].tolist() == flagged["item_id"].tolist() and len(back) > 0
    assert back["rank"].tolist() == list(range(1, len(flagged) + 1))


def test_suspects_export_as_npz_is_what_cleanlab_takes(db, capsys, tmp_path, expected):
    import cleanlab.filter

    out = tmp_path / "run.npz"
    status, stdout, _ = _run(capsys, "--db", db, "suspects", "export", "--out", str(out))
    assert status == 0
    assert stdout == f"Wrote 1,797 items of run {expected['run_id']} to {out} (cleanlab .npz).\n"
    loaded = np.load(out, allow_pickle=False)
    arrays = expected["arrays"]
    assert list(loaded.files) == ["labels", "pred_probs", "item_ids", "classes", "consensus", "run_id"]
    for key in ("labels", "pred_probs", "item_ids", "classes", "consensus"):
        assert np.array_equal(loaded[key], getattr(arrays, key)), key
    issues = cleanlab.filter.find_label_issues(loaded["labels"], loaded["pred_probs"])
    assert int((issues & loaded["consensus"]).sum()) == 103


def test_campaign_export_keeps_the_tasks_and_adds_the_tables(db, capsys, tmp_path, expected):
    campaign_id = expected["campaign_id"]
    tasks = tmp_path / "tasks.json"
    status, stdout, _ = _run(capsys, "--db", db, "campaign", "export", campaign_id, "--out", str(tasks))
    assert (status, stdout) == (0, f"Wrote 159 tasks to {tasks} (Label Studio JSON).\n")
    assert json.loads(tasks.read_text(encoding="utf-8")) == expected["tasks"]
    assert tasks.read_text(encoding="utf-8") == json.dumps(expected["tasks"], indent=1, ensure_ascii=False)

    items = tmp_path / "items.jsonl"
    status, stdout, _ = _run(capsys, "--db", db, "campaign", "export", campaign_id, "--out", str(items),
                             "--table", "items")
    assert (status, stdout) == (0, f"Wrote 159 items to {items} (JSON Lines).\n")
    rows = _jsonl(items)
    frame = expected["items"]
    assert [r["item_id"] for r in rows] == frame["item_id"].tolist()
    assert [r["votes"] for r in rows] == frame["votes"].tolist()
    assert [r["assignees"] for r in rows] == [list(a) for a in frame["assignees"]]
    assert {r["campaign_id"] for r in rows} == {campaign_id}
    assert items.read_bytes() == exports.to_bytes(frame, "jsonl")

    for fmt in exports.FORMATS:
        out = tmp_path / f"assignments.{fmt}"
        status, stdout, _ = _run(capsys, "--db", db, "campaign", "export", campaign_id, "--out", str(out))
        assert (status, stdout) == (0, f"Wrote 318 assignments to {out} ({exports.NAMES[fmt]}).\n")
        assert out.read_bytes() == exports.to_bytes(expected["assignments"], fmt)


def test_audit_out_writes_every_matching_action_and_neutralises_formulas_in_csv(db, capsys, tmp_path,
                                                                                expected):
    hostile = '=HYPERLINK("http://x.test","ok")'
    item = expected["v1"]["item_id"].iloc[0]
    assert main(["--db", db, "act", item, "escalate", "--reason", hostile, "--actor", "lead"]) == 0
    capsys.readouterr()
    out = tmp_path / "audit.csv"
    status, stdout, _ = _run(capsys, "--db", db, "audit", "--out", str(out))
    total = len(expected["actions"]) + 1
    assert (status, stdout) == (0, f"Wrote {total:,} actions to {out} (CSV).\n") and total > 50
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert len(rows) == total and rows[0]["rationale"] == "'" + hostile and rows[0]["actor"] == "lead"
    assert rows[0]["created_at"].endswith("Z") and "T" in rows[0]["created_at"]
    assert not any(cell.startswith(FORMULA_STARTS) and not cell.lstrip("+-").replace(".", "").isdigit()
                   for row in rows for cell in row.values())

    out = tmp_path / "audit.jsonl"
    assert main(["--db", db, "audit", "--by", "lead", "--limit", "2", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"out": str(out), "format": "jsonl", "rows": 2}
    first = _jsonl(out)[0]
    assert first["rationale"] == hostile and first["action"] == "escalate"  # text as it is outside CSV
    with Store(db, read_only=True) as store:
        logged = audit.audit_log(store, actor="lead", limit=2)
    assert [r["action_id"] for r in _jsonl(out)] == logged["action_id"].tolist()
    assert [r["evidence"] for r in _jsonl(out)] == [json.loads(e) if isinstance(e, str) else None
                                                     for e in logged["evidence"]]


# --- through the dashboard's side of the API -------------------------------------------------------------


def test_the_new_outputs_go_through_the_api_under_the_callers_names(db, tmp_path, expected):
    work = tmp_path / "work"
    caller = "exports/run.npz"
    invocation = commands.parse(["suspects", "export", "--out", caller], {}, work)
    assert invocation.outputs[caller].name == "run.npz" and invocation.outputs[caller].is_relative_to(work)
    with Store(db) as store:
        result = commands.execute(store, invocation, None)
        assert result.exit_status == 0, result.stderr
        run_id = expected["run_id"]
        assert result.stdout == f"Wrote 1,797 items of run {run_id} to {caller} (cleanlab .npz).\n"
        loaded = np.load(io.BytesIO(result.outputs[caller]), allow_pickle=False)
        assert np.array_equal(loaded["pred_probs"], expected["arrays"].pred_probs)

        invocation = commands.parse(["audit", "--out", "mine/audit.parquet"], {}, work)
        result = commands.execute(store, invocation, None)
        assert (result.exit_status, result.stderr) == (0, "")
        assert pd.read_parquet(io.BytesIO(result.outputs["mine/audit.parquet"]))["action_id"].tolist() == \
            expected["actions"]["action_id"].tolist()

        invocation = commands.parse(["suspects", "export", "--out", "x.csv", "--format", "xlsx"], {}, work)
        result = commands.execute(store, invocation, None)
        assert (result.exit_status, result.outputs) == (1, {})
        assert result.stderr == "error: unknown format 'xlsx': use one of csv, parquet, jsonl, npz\n"
    assert str(work) not in result.stdout + result.stderr


@pytest.mark.parametrize("argv", [["suspects", "export", "--out", "s.npz"], ["audit", "--out", "a.csv"],
                                  ["versions", "export", "v1", "--out", "v.jsonl"],
                                  ["campaign", "export", "c", "--out", "c.parquet", "--table", "items"]])
def test_exports_are_a_viewers_and_name_their_output(argv, tmp_path):
    invocation = commands.parse(argv, {}, tmp_path)
    assert str(commands.required_role(invocation.args)) == "viewer"
    assert list(invocation.outputs) == [argv[argv.index("--out") + 1]]
