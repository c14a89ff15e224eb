"""The remediation commands of the CLI on a copy of the demo store: policy dry run and apply, versions
create / diff / rollback / export, the audit trail, roles from a roles file, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.__main__ import main
from analytics.remediation import queue, requests
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import detection as detection_queries

EXAMPLE = str(Path(__file__).resolve().parents[2] / "data" / "policies.example.toml")


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return str(copy)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_a_dry_run_changes_nothing_and_apply_records_the_policy(db, capsys):
    assert main(["--db", db, "policy", "run", EXAMPLE, "--dry-run", "--json"]) == 0
    dry = _json(capsys)["policies"][0]
    assert dry["would_change"] > 0 and dry["applied"] == 0
    assert main(["--db", db, "audit", "--json"]) == 0 and _json(capsys)["actions"] == []
    assert main(["--db", db, "policy", "run", EXAMPLE, "--actor", "lead", "--json"]) == 0
    assert _json(capsys)["policies"][0]["applied"] == dry["would_change"]
    policy = ["--policy", "model-and-neighbours-agree"]
    assert main(["--db", db, "audit", *policy, "--limit", "0", "--json"]) == 0
    logged = _json(capsys)["actions"]
    assert len(logged) == dry["would_change"] and {a["actor"] for a in logged} == {"lead"}


def test_versions_diff_rollback_and_export(db, capsys, tmp_path):
    assert main(["--db", db, "versions", "create", "--note", "before", "--json"]) == 0
    assert _json(capsys)["version_id"] == "v1"
    assert main(["--db", db, "policy", "run", EXAMPLE]) == 0
    capsys.readouterr()
    assert main(["--db", db, "versions", "create", "--note", "after"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "versions", "diff", "v1", "v2", "--json"]) == 0
    diff = _json(capsys)
    assert diff["changed"] == diff["relabeled"] > 0
    assert main(["--db", db, "versions", "rollback", "v1", "--reason", "policy too eager", "--json"]) == 0
    assert _json(capsys)["reverted"] == diff["changed"]
    assert main(["--db", db, "versions", "diff", "v1", "v3", "--json"]) == 0 and _json(capsys)["changed"] == 0
    out = tmp_path / "v3.csv"
    assert main(["--db", db, "versions", "export", "v3", "--out", str(out)]) == 0
    assert list(pd.read_csv(out).columns) == ["item_id", "label", "excluded", "provenance", "action_id"]
    assert main(["--db", db, "versions", "list"]) == 0
    assert capsys.readouterr().out.count("\nv") >= 2


def test_a_viewer_is_refused_with_exit_1(db, capsys, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nadmin = ["lead"]\nviewer = ["guest"]\n')
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    assert main(["--db", db, "versions", "create", "--actor", "guest"]) == 1
    assert "guest (viewer) may not create a dataset version" in capsys.readouterr().err
    assert main(["--db", db, "versions", "create", "--actor", "lead"]) == 0


def test_unknown_version_and_bad_policy_file_exit_1(db, capsys, tmp_path):
    assert main(["--db", db, "versions", "diff", "v1", "v9"]) == 1
    assert "no dataset version 'v1'" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[[policy]]\nname = 'x'\nversion = 1\nwhen = ['colour > 1']\n")
    assert main(["--db", db, "policy", "run", str(bad), "--dry-run"]) == 1
    assert "unknown field 'colour'" in capsys.readouterr().err


def test_a_campaign_from_the_command_line(db, capsys, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text("[roles]\nadmin = [\"lead\"]\nreviewer = [\"ana\"]\n", encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    create = ["--db", db, "campaign", "create", "--name", "fax check", "--slice", "source=fax",
              "--assignee", "a1", "--assignee", "a2", "--labels-per-item", "2", "--due", "2026-12-20",
              "--json"]
    assert main([*create, "--actor", "ana"]) == 1
    assert "admin" in capsys.readouterr().err
    assert main([*create, "--actor", "lead"]) == 0
    made = _json(capsys)
    assert made["items"] > 0 and made["source"].startswith("slice source = fax")
    tasks = tmp_path / "tasks.json"
    assert main(["--db", db, "campaign", "export", made["campaign_id"], "--out", str(tasks)]) == 0
    capsys.readouterr()
    exported = json.loads(tasks.read_text(encoding="utf-8"))
    assert len(exported) == made["items"]
    back = [{"id": n, "data": t["data"], "annotations": [
        {"completed_by": who, "created_at": "2026-11-21T09:00:00Z",
         "result": [{"type": "choices", "value": {"choices": ["3"]}}]} for who in t["meta"]["assignees"]]}
        for n, t in enumerate(exported)]
    answers = tmp_path / "export.json"
    answers.write_text(json.dumps(back), encoding="utf-8")
    assert main(["--db", db, "campaign", "import", made["campaign_id"], str(answers), "--actor", "lead",
                 "--json"]) == 0
    assert _json(capsys)["accepted"] == 2 * made["items"]
    assert main(["--db", db, "campaign", "show", made["campaign_id"], "--json"]) == 0
    shown = _json(capsys)
    assert shown["labels_in"] == shown["labels_expected"] == 2 * made["items"]
    assert shown["agreement"]["percent_agreement"]["value"] == 1.0
    assert main(["--db", db, "campaign", "resolve", made["campaign_id"], "--actor", "lead", "--json"]) == 0
    assert _json(capsys)["actions"] == made["items"]
    assert main(["--db", db, "audit", "--campaign", made["campaign_id"], "--limit", "0", "--json"]) == 0
    assert {a["to_label"] for a in _json(capsys)["actions"]} == {"3"}
    assert main(["--db", db, "campaign", "list"]) == 0
    assert "resolved" in capsys.readouterr().out
    assert main(["--db", db, "campaign", "export", "camp-nope", "--out", str(tasks)]) == 1
    assert "no campaign 'camp-nope'" in capsys.readouterr().err


def test_the_queue_is_the_review_pages_and_a_stale_last_seq_is_refused(db, capsys):
    with Store(db) as store:  # the lead sends the run's ten strongest suspects to review
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        top = store.query("SELECT item_id FROM suspects WHERE run_id = ? ORDER BY score DESC, item_id "
                          "LIMIT 10", [run_id])["item_id"].tolist()
        assert requests.send_items(store, Actor("lead", Role.ADMIN), top, run_id=run_id) == 10
    assert main(["--db", db, "queue", "--limit", "0", "--json"]) == 0
    found = _json(capsys)
    with Store(db) as store:
        expected = queue.review_queue(store, run_id=run_id)
    assert found["run_id"] == run_id and found["waiting"] == len(expected) > 1
    assert [r["item_id"] for r in found["queue"]] == expected["item_id"].tolist()  # the page's order
    assert [r["last_seq"] for r in found["queue"]] == expected["last_seq"].tolist()
    assert main(["--db", db, "queue", "--limit", "1"]) == 0
    assert capsys.readouterr().out.startswith(f"{len(expected):,} items wait for a decision (the first 1).")

    item = next(r for r in found["queue"] if r["reason"] == "requested")
    seen = str(item["last_seq"])
    assert main(["--db", db, "act", item["item_id"], "escalate", "--reason", "unsure", "--actor", "ana",
                 "--seen-seq", seen]) == 0
    capsys.readouterr()
    # rita decides on the view she read before ana's escalation: refused, nothing written
    relabel = ["relabel", "--label", item["suggested_label"], "--reason", "the model is right",
               "--actor", "rita"]
    assert main(["--db", db, "act", item["item_id"], *relabel, "--seen-seq", seen]) == 1
    assert "changed since you saw it" in capsys.readouterr().err
    assert main(["--db", db, "audit", "--item", item["item_id"], "--json"]) == 0
    assert [a["action"] for a in _json(capsys)["actions"]] == ["escalate"]
    assert main(["--db", db, "queue", "--limit", "0", "--json"]) == 0
    now = next(r for r in _json(capsys)["queue"] if r["item_id"] == item["item_id"])
    assert now["reason"] == "escalated" and now["last_seq"] > item["last_seq"]
    assert main(["--db", db, "act", item["item_id"], *relabel, "--seen-seq", str(now["last_seq"])]) == 0
