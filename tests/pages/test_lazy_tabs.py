"""The tabs of the Agreement, Drift and Slices pages are lazy: a run produces (and sends) only the open tab's
content, the first tab's on a page's first run, another's once it is opened; ``tests/pages/lazy_tabs`` knows
every such tab, so the tests that walk a page's tabs miss none."""

from __future__ import annotations

import ast
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.lazy_tabs import LAZY_TABS, open_label, open_tab, tabs_of

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: For each page: the key of an element of its first tab, another tab, and the key of an element of that one.
SHOWN = {
    "pages/monitor/agreement.py": ("agreement-time.chart", "Label confusion", "agreement-confusion.chart"),
    "pages/monitor/drift.py": ("drift.mix.chart", "Re-labels", "drift.retest.chart"),
    "pages/monitor/slices.py": ("slices.table_csv", "Forest plot", "slices.forest.chart"),
}


def _keys(at: AppTest) -> set[str]:
    """The keys of every element of the last run."""
    return {node.key for node in at if isinstance(getattr(node, "key", None), str)}


def _filled(at: AppTest, key: str) -> list[str]:
    """The labels of the tabs (of the ``st.tabs`` of widget key ``key``) the last run put anything in."""
    return [tab.label for tab in tabs_of(at, key) if tab.children]


@pytest.mark.parametrize("page", list(LAZY_TABS))
def test_only_the_open_tab_runs_and_is_sent(monkeypatch, demo_store_path, page):
    key, labels = LAZY_TABS[page]
    first, other, shown = SHOWN[page]
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    # every tab is listed; only the first has content
    assert [tab.label for tab in tabs_of(at, key)] == list(labels)
    assert open_label(at, key) == labels[0]
    assert _filled(at, key) == [labels[0]]
    assert first in _keys(at) and shown not in _keys(at)
    # opening another tab produces its content, and the first tab's is gone
    open_tab(at, key, other)
    assert _filled(at, key) == [other]
    assert shown in _keys(at) and first not in _keys(at)
    # and back
    open_tab(at, key, labels[0])
    assert _filled(at, key) == [labels[0]]
    assert first in _keys(at) and shown not in _keys(at)


def _stateful_tabs(path: pathlib.Path) -> list[tuple[str, tuple[str, ...]]]:
    """``(key, labels)`` of every ``st.tabs(…)`` call of a script that makes its tabs a widget (``on_change``
    or ``bind``): those whose content a run may produce for the open tab only."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        call = node if isinstance(node, ast.Call) else None
        if call is None or not (isinstance(call.func, ast.Attribute) and call.func.attr == "tabs"):
            continue
        keywords = {k.arg: k.value for k in call.keywords}
        if not {"on_change", "bind"} & set(keywords):
            continue
        found.append((ast.literal_eval(keywords["key"]), tuple(ast.literal_eval(call.args[0]))))
    return found


def test_every_lazy_tab_of_the_app_is_known_to_the_tests():
    found = {str(path.relative_to(ROOT)): tabs for path in sorted((ROOT / "pages").rglob("*.py"))
             if (tabs := _stateful_tabs(path))}
    assert found == {page: [tabs] for page, tabs in LAZY_TABS.items()}
