"""The Impact page through the real app (AppTest) on the demo with its remediation round: an analysis run
from the page, the verdict first, the tiles with their intervals, presentation mode without controls, the
report download; a viewer cannot run one."""

from __future__ import annotations

import pathlib
import warnings

import pytest
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[2]
warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture
def db(demo_history_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "lead")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=240).run()
    return at.switch_page("../pages/impact/impact.py").run()


def test_an_analysis_run_from_the_page_shows_the_verdict_first_and_presents_without_controls(db):
    at = _page()
    assert not at.exception
    assert any("No analysis yet" in m.value for m in at.markdown)
    assert at.selectbox(key="impact.a.Dataset versions").value == "v1"
    assert at.selectbox(key="impact.b.Dataset versions").value == "v2"
    at.button(key="impact.run").click().run()
    assert not at.exception
    assert any("Stored analysis imp-" in s.value for s in at.success)
    verdict = next(m.value for m in at.markdown if m.value.startswith("- From v1"))
    assert "gold items rose from" in verdict.replace("\\", "")
    tiles = {m.label: m for m in at.metric}
    assert {"Labels right (gold)", "Model accuracy", "Macro-F1", "Calibration error"} <= set(tiles)
    assert any(c.value.startswith("95% CI +") for c in at.caption)
    assert at.selectbox(key="impact.pick.1").value.startswith("imp-")
    at.toggle(key="impact.present").set_value(True).run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key and s.key.startswith("impact.")]
    assert not [b for b in at.button if b.key == "impact.run"]
    assert any(m.value.startswith("- From v1") for m in at.markdown)
    assert at.get("download_button")


def test_a_viewer_reads_analyses_but_cannot_run_one(db, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nviewer = ["guest"]\n', encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    monkeypatch.setenv("LABELWATCH_USER", "guest")
    at = _page()
    assert not at.exception
    assert "impact.run" not in {b.key for b in at.button}
    words = "guest (viewer) may not run an analysis: needs the reviewer role"
    assert any(words in c.value for c in at.caption)
