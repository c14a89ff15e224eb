"""The remediation commands of the CLI on a copy of the demo store: policy dry run and apply, versions
create / diff / rollback / export, the audit trail, roles from a roles file, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.__main__ import main

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
