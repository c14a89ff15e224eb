"""The exports of the Versions, Suspects, Campaigns and Audit trail pages through the real app (AppTest) on a
copy of the demo store with its remediation round: one download button per export with its format beside it
(CSV, Parquet, JSON Lines; on Suspects also the run's cleanlab ``.npz``), the file written on the click (the
button's data is a callable: its proto has a ``deferred_file_id``), and the bytes that callable returns are
those of the engine's export (``analytics.core.exports.to_bytes`` of the same table). Viewers download too.

The callables are caught as the app registers them (``MediaFileManager.add_deferred``) and called here, as
Streamlit calls them when the button is pressed.
"""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from analytics.core import exports
from analytics.detection import export
from analytics.remediation import audit, campaigns, versions
from analytics.store import Store
from analytics.store import remediation as remediation_sql

ROOT = pathlib.Path(__file__).resolve().parents[2]
NAMES = ["CSV", "Parquet", "JSON Lines"]


@pytest.fixture
def db(demo_history_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "lead")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


@pytest.fixture
def deferred(monkeypatch) -> dict:
    """file id → (the callable, file name, MIME type) of every deferred download the app registers."""
    found = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, *, element_id=""):
        file_id = original(self, data_callable, mimetype, coordinates, file_name, element_id=element_id)
        found[file_id] = (data_callable, file_name, mimetype)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return found


def _page(path: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    at = at.switch_page(f"../pages/{path}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _button(at: AppTest, key: str):
    [button] = [b for b in at.get("download_button") if b.key == key]
    assert button.proto.deferred_file_id and not button.proto.url and not button.proto.disabled
    return button


def _download(at: AppTest, deferred: dict, key: str) -> tuple[str, str, bytes]:
    """The button's label, file name and the bytes a click downloads."""
    button = _button(at, key)
    make, file_name, _ = deferred[button.proto.deferred_file_id]
    return button.proto.label, file_name, make()


def _formats(at: AppTest, key: str, fmt: str) -> AppTest:
    choice = at.button_group(key=f"{key}.format")
    choice.set_value(fmt).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_versions_offers_the_picked_version_in_each_format(db, deferred):
    at = _page("remediate/versions")
    assert at.button_group(key="versions.labels.format").options == NAMES
    assert at.button_group(key="versions.labels.format").value == "csv"
    with Store(db) as store:
        labels = {v: versions.version_labels(store, v) for v in ("v1", "v2")}
    assert _download(at, deferred, "versions.labels") == ("Download labels (CSV)", "labels_v2.csv",
                                                           exports.to_bytes(labels["v2"], "csv"))
    for fmt, name in zip(exports.FORMATS[1:], NAMES[1:], strict=True):
        _formats(at, "versions.labels", fmt)
        label, file_name, data = _download(at, deferred, "versions.labels")
        assert (label, file_name) == (f"Download labels ({name})", f"labels_v2.{exports.EXTENSIONS[fmt]}")
        assert data == exports.to_bytes(labels["v2"], fmt)
    at.selectbox(key="versions.pick.2").select("v1").run()
    assert _download(at, deferred, "versions.labels") == ("Download labels (JSON Lines)", "labels_v1.jsonl",
                                                           exports.to_bytes(labels["v1"], "jsonl"))


def test_the_audit_trail_downloads_the_actions_shown(db, deferred):
    at = _page("remediate/audit")
    with Store(db) as store:
        everything = audit.audit_log(store)
        rita = audit.audit_log(store, actor="rita")
    label, file_name, data = _download(at, deferred, "audit.export")
    assert (label, file_name) == (f"Download these {len(everything):,} actions (CSV)", "audit_trail.csv")
    assert data == exports.to_bytes(audit.export_rows(everything), "csv")
    at.selectbox(key="audit.actor").select("rita").run()
    _formats(at, "audit.export", "jsonl")
    label, file_name, data = _download(at, deferred, "audit.export")
    assert (label, file_name) == (f"Download these {len(rita):,} actions (JSON Lines)", "audit_trail.jsonl")
    assert data == exports.to_bytes(audit.export_rows(rita), "jsonl") and 0 < len(rita) < len(everything)


def test_a_campaign_offers_its_items_and_assignments_in_each_format_and_the_tasks(db, deferred):
    at = _page("remediate/campaigns")
    with Store(db) as store:
        campaign_id = campaigns.list_campaigns(store)["campaign_id"].iloc[0]
        items = campaigns.campaign_items(store, campaign_id)
        assignments = campaigns.assignments(store, campaign_id)
    assert {b.key for b in at.get("download_button")} == {"campaigns.items_file", "campaigns.json",
                                                           "campaigns.assignments_file"}
    _formats(at, "campaigns.items_file", "parquet")
    assert _download(at, deferred, "campaigns.items_file") == (
        "Download the items (Parquet)", f"campaign_{campaign_id}_items.parquet",
        exports.to_bytes(items, "parquet"))
    _formats(at, "campaigns.assignments_file", "jsonl")
    assert _download(at, deferred, "campaigns.assignments_file") == (
        "Assignments (JSON Lines)", f"campaign_{campaign_id}_assignments.jsonl",
        exports.to_bytes(assignments, "jsonl"))
    assert _download(at, deferred, "campaigns.items_file")[2] == exports.to_bytes(items, "parquet")


def test_suspects_offers_the_matching_items_and_the_runs_cleanlab_arrays(db, deferred):
    at = _page("investigate/suspects")
    with Store(db) as store:
        run_id = remediation_sql.latest_run(store)
        flagged = export.suspects_table(store, run_id, status="mislabeled", cluster_id=None, min_score=None)
        arrays = export.cleanlab_arrays(store, run_id)
    assert at.button_group(key="suspects.export.format").options == [*NAMES, "cleanlab .npz"]
    label, file_name, data = _download(at, deferred, "suspects.export")
    assert (label, file_name) == (f"Download {len(flagged):,} items (CSV)", f"{run_id}_suspects.csv")
    assert data == exports.to_bytes(flagged, "csv") and len(flagged) > 0
    _formats(at, "suspects.export", "npz")
    label, file_name, data = _download(at, deferred, "suspects.export")
    assert (label, file_name) == ("Download the run for cleanlab (.npz)", f"{run_id}_suspects.npz")
    loaded = np.load(io.BytesIO(data), allow_pickle=False)
    assert list(loaded.files) == list(export.NPZ_KEYS)
    for key in ("labels", "pred_probs", "item_ids", "classes", "consensus"):
        assert np.array_equal(loaded[key], getattr(arrays, key)), key
    assert loaded["pred_probs"].shape == (1797, 10) and str(loaded["run_id"]) == run_id
    assert any("`labels` (int, N) and `pred_probs` (N × K)" in c.value for c in at.caption)
    # the items without consensus, as JSON Lines
    at.radio(key="suspects.status").set_value("no_consensus").run()
    _formats(at, "suspects.export", "jsonl")
    label, _, data = _download(at, deferred, "suspects.export")
    with Store(db) as store:
        split = export.suspects_table(store, run_id, status="no_consensus", cluster_id=None, min_score=None)
    assert label == f"Download {len(split):,} items (JSON Lines)" and len(split) > 0
    assert data == exports.to_bytes(split, "jsonl")


def test_a_run_without_its_arrays_offers_no_npz_and_says_why(db, deferred):
    with Store(db) as store:
        store.cursor().execute("DELETE FROM run_pred_probs")
    at = _page("investigate/suspects")
    assert at.button_group(key="suspects.export.format").options == NAMES
    assert any("stored before runs kept their probabilities" in c.value for c in at.caption)
    assert _download(at, deferred, "suspects.export")[0].endswith("items (CSV)")


def test_a_viewer_downloads_too(db, deferred, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nadmin = ["lead"]\nviewer = ["guest"]\n', encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    monkeypatch.setenv("LABELWATCH_USER", "guest")
    at = _page("remediate/versions")
    assert not [f for f in at.button if f.key.startswith("FormSubmitter:versions.")]  # no create, rollback
    with Store(db) as store:
        v2 = versions.version_labels(store, "v2")
    _formats(at, "versions.labels", "parquet")
    assert _download(at, deferred, "versions.labels")[2] == exports.to_bytes(v2, "parquet")
    at = _page("investigate/suspects")
    _formats(at, "suspects.export", "npz")
    assert np.load(io.BytesIO(_download(at, deferred, "suspects.export")[2]))["labels"].shape == (1797,)
