"""Dataset versions on a real DuckDB file: snapshot, diff, rollback, export; admins only."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.remediation import actions, versions
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import remediation as sql

ANA, LEAD = Actor("ana", Role.REVIEWER), Actor("lead", Role.ADMIN)


def test_a_version_snapshots_every_item_and_never_changes(store):
    v1 = versions.create_version(store, LEAD, note="before")
    n_items = store.scalar("SELECT count(DISTINCT item_id) FROM live_items")
    assert (v1["version_id"], v1["items"], v1["seq"]) == ("v1", n_items, 0)
    item = sql.resolved_labels(store).query("provenance == 'consensus'").iloc[0]
    other = next(label for label in actions.vocabulary(store) if label != item["label"])
    actions.act(store, ANA, item["item_id"], "relabel", to_label=other, rationale="second opinion")
    assert sql.version_labels(store, "v1").set_index("item_id").loc[item["item_id"], "label"] == item["label"]
    versions.create_version(store, LEAD, note="after")
    d = versions.diff(store, "v1", "v2")
    assert d.summary() == {"old": "v1", "new": "v2", "changed": 1, "relabeled": 1, "excluded": 0,
                           "included": 0}
    change = d.changes.iloc[0]
    got = [change[c] for c in ("item_id", "old_label", "new_label", "action", "actor")]
    assert got == [item["item_id"], item["label"], other, "relabel", "ana"]
    classes = d.classes.set_index("label")
    assert classes.loc[item["label"], "change"] == -1 and classes.loc[other, "change"] == 1


def test_rollback_restores_labels_on_the_record(store, tmp_path):
    versions.create_version(store, LEAD)
    item = sql.resolved_labels(store).query("provenance == 'consensus'").iloc[0]
    other = next(label for label in actions.vocabulary(store) if label != item["label"])
    actions.act(store, ANA, item["item_id"], "relabel", to_label=other, rationale="x")
    actions.act(store, ANA, item["item_id"], "exclude", rationale="y")
    versions.create_version(store, LEAD)
    with pytest.raises(PermissionDenied):
        versions.rollback(store, ANA, "v1", reason="oops")
    done = versions.rollback(store, LEAD, "v1", reason="bad relabel")
    assert (done["version_id"], done["rollback_of"], done["reverted"]) == ("v3", "v1", 2)
    assert versions.diff(store, "v1", "v3").changes.empty
    now = sql.resolved_labels(store, [item["item_id"]]).iloc[0]
    assert (now["label"], now["excluded"]) == (item["label"], False)
    reverts = sql.action_log(store, action="revert")
    assert set(reverts["rationale"]) == {"Rollback to v1: bad relabel"} and set(reverts["actor"]) == {"lead"}
    written = versions.export_version(store, "v3", tmp_path / "v3.parquet")
    exported = pd.read_parquet(written.path)
    assert list(exported.columns) == ["item_id", "label", "excluded", "provenance", "action_id"]
    assert len(exported) == done["items"] == written.rows and written.format == "parquet"


def test_versions_need_an_admin(store):
    with pytest.raises(PermissionDenied, match="needs the admin role"):
        versions.create_version(store, ANA)
    assert store.scalar("SELECT count(*) FROM dataset_versions") == 0
