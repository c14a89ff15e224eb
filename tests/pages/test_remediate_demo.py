"""Every Remediate page opens on real content on the demo as ``python -m analytics demo`` builds it (with its
remediation round), through the real app (AppTest)."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = ("review", "policies", "campaigns", "versions", "audit")


@pytest.fixture
def db(demo_history_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "lead")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


@pytest.mark.parametrize("name", PAGES)
def test_the_page_opens_on_the_demo_history(db, name):
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    at = at.switch_page(f"../pages/remediate/{name}.py").run()
    assert not at.exception
    text = "\n".join(m.value for m in [*at.markdown, *at.caption, *at.info])
    empty = ("Nothing waits for review", "No campaigns yet", "No versions yet", "No remediation actions yet")
    assert not [e for e in empty if e in text]
    assert at.dataframe, f"{name} shows no table"
    if name == "review":
        assert any("wait for review" in m.value and "1 for a second review" in m.value for m in at.markdown)
    if name == "campaigns":
        assert at.dataframe(key="campaigns.table").value["status"].tolist() == ["resolved"]
    if name == "audit":
        log = next(d.value for d in at.dataframe if "actor" in d.value.columns)
        assert {"rita", "sam", "lead", "dr-okafor"} <= set(log["actor"])


def test_the_versions_page_says_in_bold_how_many_items_differ(db):
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    at = at.switch_page("../pages/remediate/versions.py").run()
    sentence = next(m.value for m in at.markdown if "items differ" in m.value)
    assert sentence.startswith("**") and sentence.split("**")[1].endswith("items differ")
    assert "between v1 and v2" in sentence.replace("\\", "")
