"""Relabel campaigns on a copy of the demo store: created from a cluster, a slice or a selection, exported
for Label Studio, their labels imported back as events of the campaign, progress and agreement, and the
campaign's majority recorded as actions."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pandas as pd
import pytest

from analytics.remediation import actions, campaigns
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import remediation as sql

LEAD, ANA, VIV = Actor("lead", Role.ADMIN), Actor("ana", Role.REVIEWER), Actor("viv", Role.VIEWER)


def _run(store) -> str:
    return sql.latest_run(store)


def _biggest_cluster(store) -> str:
    return store.scalar("SELECT cluster_id FROM suspects WHERE run_id = ? AND cluster_id IS NOT NULL "
                        "GROUP BY cluster_id ORDER BY count(*) DESC, cluster_id LIMIT 1", [_run(store)])


def _ls_export(tasks: list[dict], answer) -> list[dict]:
    """What Label Studio exports after labelers answered the imported ``tasks``: its own task ids, the
    tasks' data, one annotation per assignee choosing ``answer(item_id, assignee)``."""
    return [{
        "id": 9000 + n, "data": task["data"], "meta": task["meta"],
        "annotations": [{
            "id": 100 * n + k, "completed_by": who, "created_at": "2026-11-20T10:00:00Z", "lead_time": 6.0,
            "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                        "value": {"choices": [answer(task["data"]["item_id"], who)]}}],
        } for k, who in enumerate(task["meta"]["assignees"])],
    } for n, task in enumerate(tasks)]


def _truth(store) -> dict:
    return dict(store.query("SELECT item_id, true_label FROM demo_truth").itertuples(index=False))


def test_a_cluster_campaign_shares_the_items_among_distinct_labelers(store):
    run = _run(store)
    chosen = campaigns.cluster_selection(store, run, _biggest_cluster(store))
    before = sql.resolved_labels(store).set_index("item_id")["label"]
    cid = campaigns.create_campaign(store, LEAD, "cluster check", chosen, assignees=["a1", "a2", "a3"],
                                    labels_per_item=2, due_at=pd.Timestamp("2026-12-20").date())
    rows = store.query("SELECT * FROM campaign_items WHERE campaign_id = ? ORDER BY item_id", [cid])
    per_item = rows.groupby("item_id")["assignee"].agg(list)
    assert len(per_item) == len(chosen.items) > 0 and per_item.map(len).eq(2).all()
    assert per_item.map(lambda who: len(set(who)) == 2).all()
    load = rows["assignee"].value_counts()
    assert load.max() - load.min() <= 1
    expected_before = before.reindex(rows["item_id"]).tolist()
    assert [None if pd.isna(v) else v for v in rows["label_before"]] == \
        [None if pd.isna(v) else v for v in expected_before]
    assert rows["suggested_label"].notna().all()
    listed = campaigns.list_campaigns(store).set_index("campaign_id").loc[cid]
    assert (listed["status"], listed["items"], listed["assignments"]) == ("open", len(chosen.items),
                                                                          2 * len(chosen.items))
    assert listed["due_at"] == pd.Timestamp("2026-12-20 23:59")


def test_a_slice_campaign_takes_its_flagged_suspects_or_every_item(store):
    run = _run(store)
    flagged = campaigns.slice_selection(store, "source", "fax", run)
    every = campaigns.slice_selection(store, "source", "fax")
    in_slice = set(store.query("SELECT item_id FROM live_item_attributes WHERE key = 'source' "
                               "AND value = 'fax'")["item_id"])
    suspects = set(store.query("SELECT item_id FROM suspects WHERE run_id = ? AND flagged", [run])["item_id"])
    assert set(flagged.items) == in_slice & suspects and set(every.items) == in_slice
    assert "source = fax" in flagged.source
    with pytest.raises(campaigns.CampaignError, match="no items in the slice source = telegraph"):
        campaigns.slice_selection(store, "source", "telegraph")


def test_only_admins_create_and_bad_requests_are_refused_before_writing(store):
    chosen = campaigns.selection(store, ["digits-0001", "digits-0002"])
    for actor in (ANA, VIV):
        with pytest.raises(PermissionDenied):
            campaigns.create_campaign(store, actor, "x", chosen, assignees=["a1"])
    with pytest.raises(campaigns.CampaignError, match="needs a name"):
        campaigns.create_campaign(store, LEAD, "  ", chosen, assignees=["a1"])
    with pytest.raises(campaigns.CampaignError, match="1 to 2 labels"):
        campaigns.create_campaign(store, LEAD, "x", chosen, assignees=["a1", "a2"], labels_per_item=3)
    with pytest.raises(campaigns.CampaignError, match="no item 'nope'"):
        campaigns.create_campaign(store, LEAD, "x", campaigns.selection(store, ["digits-0001", "nope"]),
                                  assignees=["a1"])
    assert store.scalar("SELECT count(*) FROM campaigns") == 0
    assert store.scalar("SELECT count(*) FROM campaign_items") == 0


def test_the_exports_hold_every_item_with_its_suggestion(store, tmp_path):
    chosen = campaigns.cluster_selection(store, _run(store), _biggest_cluster(store))
    cid = campaigns.create_campaign(store, LEAD, "export me", chosen, assignees=["a1", "a2"],
                                    labels_per_item=2)
    tasks_file, csv_file = tmp_path / "tasks.json", tmp_path / "tasks.csv"
    assert campaigns.export_campaign(store, cid, tasks_file).rows == len(chosen.items)
    tasks = json.loads(tasks_file.read_text(encoding="utf-8"))
    assert [t["data"]["item_id"] for t in tasks] == sorted(chosen.items)
    for task in tasks:
        suggestion = task["predictions"][0]["result"][0]
        assert suggestion["from_name"] == campaigns.LABEL_CONTROL and suggestion["type"] == "choices"
        assert suggestion["value"]["choices"] == [chosen.suggested[task["data"]["item_id"]]]
        assert task["meta"]["campaign_id"] == cid and len(task["meta"]["assignees"]) == 2
    config = ElementTree.fromstring(campaigns.label_config(["cat", 'say "no" & <b>']))
    control = config.find("Choices")
    assert control.get("name") == campaigns.LABEL_CONTROL
    assert [c.get("value") for c in control.findall("Choice")] == ["cat", 'say "no" & <b>']
    assert campaigns.export_campaign(store, cid, csv_file).rows == 2 * len(chosen.items)
    exported = pd.read_csv(csv_file)
    assert exported.groupby("item_id").size().eq(2).all() and set(exported["assignee"]) == {"a1", "a2"}
    with pytest.raises(ValueError, match=r"name the file \.json, \.csv, \.parquet, \.jsonl"):
        campaigns.export_campaign(store, cid, tmp_path / "tasks.xlsx")
    assert not (tmp_path / "tasks.xlsx").exists()


def _campaign_with_labels(store, tmp_path, answer):
    chosen = campaigns.cluster_selection(store, _run(store), _biggest_cluster(store))
    cid = campaigns.create_campaign(store, LEAD, "relabel", chosen, assignees=["a1", "a2", "a3"],
                                    labels_per_item=2)
    export = _ls_export(campaigns.label_studio_tasks(store, cid), answer)
    path = tmp_path / "ls-export.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    return cid, chosen, path


def test_labels_come_back_as_events_of_the_campaign_and_outsiders_are_rejected(store, tmp_path):
    truth = _truth(store)
    cid, chosen, path = _campaign_with_labels(store, tmp_path, lambda item, who: truth[item])
    outsider = next(i for i in truth if i not in chosen.items)
    export = json.loads(path.read_text(encoding="utf-8"))
    export.append({"id": 1, "data": {"item_id": outsider}, "annotations": [{
        "completed_by": "a1", "created_at": "2026-11-20T10:00:00Z",
        "result": [{"type": "choices", "value": {"choices": [truth[outsider]]}}]}]})
    path.write_text(json.dumps(export), encoding="utf-8")
    events_before = store.scalar("SELECT count(*) FROM label_events")
    with pytest.raises(PermissionDenied):
        campaigns.import_labels(store, ANA, cid, path)
    report = campaigns.import_labels(store, LEAD, cid, path)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == \
        (2 * len(chosen.items) + 1, 2 * len(chosen.items), 1)
    assert report.rejected_by_reason == {"not in campaign": 1}
    landed = store.query("SELECT item_id, annotator_id, campaign_id FROM label_events WHERE campaign_id = ?",
                         [cid])
    assert len(landed) == 2 * len(chosen.items) and set(landed["item_id"]) == set(chosen.items)
    assert store.scalar("SELECT count(*) FROM label_events") == events_before + len(landed)
    assert report.items["changed"] == 0 and report.items["new"] == 0
    again = campaigns.import_labels(store, LEAD, cid, path)
    assert again.already_imported and store.scalar("SELECT count(*) FROM label_events") == \
        events_before + len(landed)


def test_progress_counts_labels_agreement_and_changed_labels(store, tmp_path):
    truth = _truth(store)
    # a1 always answers the truth; a2 and a3 answer it except on every third item, where they say "0".
    order = {}

    def answer(item, who):
        order.setdefault(item, len(order))
        return truth[item] if who == "a1" or order[item] % 3 else "0"

    cid, chosen, path = _campaign_with_labels(store, tmp_path, answer)
    progress = campaigns.campaign_progress(store, cid)
    assert progress.campaign["status"] == "open" and progress.summary()["labels_in"] == 0
    campaigns.import_labels(store, LEAD, cid, path)
    progress = campaigns.campaign_progress(store, cid)
    summary = progress.summary()
    assert summary["labels_in"] == summary["labels_expected"] == 2 * len(chosen.items)
    assert summary["status"] == "labeled" and summary["items_done"] == len(chosen.items)
    assert progress.assignees["done"].tolist() == progress.assignees["assigned"].tolist()
    # changed: an independent comparison of the resolved labels now with the snapshot at creation.
    now = sql.resolved_labels(store).set_index("item_id")["label"]
    snap = store.query("SELECT DISTINCT item_id, label_before FROM campaign_items WHERE campaign_id = ?",
                       [cid]).set_index("item_id")["label_before"]
    differs = sum((now.get(i) if isinstance(now.get(i), str) else None) !=
                  (snap[i] if isinstance(snap[i], str) else None) for i in snap.index)
    assert summary["changed"] == differs
    # agreement by hand: two labels per item; Krippendorff's nominal alpha = 1 - (n - 1) * D_o / D_e with
    # D_o = 2 * disagreeing items and D_e = n^2 - sum of squared label totals (n = all pairable labels).
    counts = store.query("SELECT item_id, label FROM label_events WHERE campaign_id = ?", [cid])
    pairs = counts.groupby("item_id")["label"].agg(list)
    disagree = int(pairs.map(lambda ls: ls[0] != ls[1]).sum())
    n = 2 * len(pairs)
    totals = counts["label"].value_counts()
    alpha = 1 - (n - 1) * 2 * disagree / (n * n - int((totals ** 2).sum()))
    assert progress.agreement["krippendorff_alpha"].value == pytest.approx(alpha, abs=1e-12)
    assert progress.agreement["percent_agreement"].value == pytest.approx(1 - disagree / len(pairs))
    estimate = progress.agreement["krippendorff_alpha"]
    assert estimate.ci_low <= estimate.value <= estimate.ci_high


def test_resolving_records_the_campaign_majority_once(store, tmp_path):
    truth = _truth(store)
    split = {}

    def answer(item, who):
        split.setdefault(item, len(split))
        return "0" if who == "a2" and split[item] % 4 == 0 else truth[item]

    cid, chosen, path = _campaign_with_labels(store, tmp_path, answer)
    campaigns.import_labels(store, LEAD, cid, path)
    progress = campaigns.campaign_progress(store, cid, n_boot=0)
    majority = progress.items.dropna(subset=["campaign_label"]).set_index("item_id")
    with pytest.raises(PermissionDenied):
        campaigns.resolve(store, ANA, cid)
    written = campaigns.resolve(store, LEAD, cid)
    assert set(written["item_id"]) == set(majority.index)
    assert (written["campaign_id"] == cid).all() and (written["actor"] == "lead").all()
    for row in written.itertuples():
        assert row.to_label == majority.loc[row.item_id, "campaign_label"]
        assert row.action == ("confirm" if majority.loc[row.item_id, "label"] == row.to_label else "relabel")
        assert json.loads(row.evidence)["campaign_votes"]
    resolved = sql.resolved_labels(store).set_index("item_id")
    for item in chosen.items:
        if item in majority.index:
            assert resolved.loc[item, "label"] == majority.loc[item, "campaign_label"]
            assert resolved.loc[item, "provenance"] == "campaign"
        else:
            assert resolved.loc[item, "provenance"] != "campaign"
    assert campaigns.list_campaigns(store).set_index("campaign_id").loc[cid, "status"] == "resolved"
    assert campaigns.resolve(store, LEAD, cid).empty
    log = sql.action_log(store, limit=None)
    consensus = dict(store.query(sql.CONSENSUS_SQL).set_index("item_id")["label"].items())
    consensus = {i: (v if isinstance(v, str) else None) for i, v in consensus.items()}
    replayed = actions.replay(consensus, log).set_index("item_id")["label"]
    live = resolved.reindex(replayed.index)["label"]
    assert [v if isinstance(v, str) else None for v in replayed] == [v if isinstance(v, str) else None
                                                                     for v in live]


def test_a_review_made_while_a_resolve_computes_the_majority_stops_the_resolve(store, tmp_path, monkeypatch):
    """A reviewer relabels an item after the resolve read the item's state and before it writes: the
    campaign's majority was computed without that decision, so nothing is written (resolving again then
    sees it)."""
    truth = _truth(store)
    cid, _, path = _campaign_with_labels(store, tmp_path, lambda item, who: truth[item])
    campaigns.import_labels(store, LEAD, cid, path)
    original = campaigns.campaign_progress

    def progress_then_a_review(*args, **kwargs):
        progress = original(*args, **kwargs)
        item = progress.items.dropna(subset=["campaign_label"])["item_id"].iloc[0]
        actions.act(store, ANA, item, "escalate", rationale="looks ambiguous to me")
        return progress

    monkeypatch.setattr(campaigns, "campaign_progress", progress_then_a_review)
    with pytest.raises(campaigns.CampaignError, match="changed since you saw it: ana"):
        campaigns.resolve(store, LEAD, cid)
    assert store.scalar("SELECT count(*) FROM remediation_actions WHERE campaign_id = ?", [cid]) == 0
    monkeypatch.setattr(campaigns, "campaign_progress", original)
    assert not campaigns.resolve(store, LEAD, cid).empty
