"""Opening the lazy tabs of the Agreement, Drift and Slices pages in AppTest.

These pages make their ``st.tabs`` a widget (``key=…, on_change="rerun"``) and produce only the open tab's
content (``if tab.open: with tab: …``): the first tab on a page's first run, another once the user picks it.
A test opens a tab as the browser does, by setting the widget's state and running the script again.
"""

from __future__ import annotations

from collections.abc import Iterator

from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Tab

#: The lazy tabs of each page: the widget key of its ``st.tabs`` and the tabs' labels, the default first.
LAZY_TABS: dict[str, tuple[str, tuple[str, ...]]] = {
    "pages/monitor/agreement.py": (
        "agreement.tab", ("Over time", "Annotators", "Annotator pairs", "Label confusion"),
    ),
    "pages/monitor/drift.py": (
        "drift.tab",
        ("Label mix", "Change points", "Guideline versions", "Annotators", "Re-labels", "Distribution shift"),
    ),
    "pages/monitor/slices.py": (
        "slices.tab", ("Ranked slices", "Forest plot", "Slice × class", "Discovered combinations"),
    ),
}


def tab_container(at: AppTest, key: str) -> Block:
    """The ``st.tabs`` block of widget key ``key`` in the last run (fails when there is not exactly one)."""
    found = [node for node in at if type(node) is Block and node.proto is not None
             and node.proto.WhichOneof("type") == "tab_container" and node.proto.id.endswith(f"-{key}")]
    assert len(found) == 1, f"{len(found)} tab containers of key {key!r}"
    return found[0]


def tabs_of(at: AppTest, key: str) -> list[Tab]:
    """The tabs of the ``st.tabs`` of widget key ``key``, in order."""
    container = tab_container(at, key)
    return [container.children[i] for i in sorted(container.children)]


def open_label(at: AppTest, key: str) -> str:
    """The label of the tab the last run showed open (the one whose content it produced)."""
    container = tab_container(at, key)
    return tabs_of(at, key)[container.proto.tab_container.default_tab_index].label


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open tab ``label`` of the ``st.tabs`` of widget key ``key`` as a click does: set the widget's state
    and run the script; fails when the run raised or did not open that tab (an unknown label falls back to
    the default tab). Returns ``at``, run."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert open_label(at, key) == label, f"{key}: {open_label(at, key)!r} is open, not {label!r}"
    return at


def every_tab(at: AppTest, page: str) -> Iterator[str]:
    """Walk the tabs of ``page`` (its path from the project's root, or from ``ui/``), already run in ``at``
    with its default tab open.

    For a page of ``LAZY_TABS``, yield the label of each of its tabs in order, ``at`` holding the run with
    that tab open (the first as it is, each other one opened); for any other page, yield ``""`` once (the
    run as it is). Checks that the page's tabs are still those of ``LAZY_TABS``, so a test that walks them
    misses none."""
    page = page.removeprefix("../")
    if page not in LAZY_TABS:
        yield ""
        return
    key, labels = LAZY_TABS[page]
    assert [tab.label for tab in tabs_of(at, key)] == list(labels), f"{page}: its tabs changed"
    assert open_label(at, key) == labels[0], f"{page}: {open_label(at, key)!r} is open, not {labels[0]!r}"
    yield labels[0]
    for label in labels[1:]:
        open_tab(at, key, label)
        yield label
