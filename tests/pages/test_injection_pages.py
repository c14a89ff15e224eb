"""Injection payloads in stored strings, filters and URL query parameters are shown literally on every page.

The store (``tests/injection_store``) holds SQL, HTML and script, Markdown and Streamlit directives as item
and annotator ids, labels, a cohort, a slice attribute and its values, the dataset, a guideline version,
rationales, a version note and a campaign name, all imported through files by the ordinary pipeline. Every
page of the app (``ui/frame.py``) is run through AppTest, on the whole store and with the filters set from URL
query parameters that hold payloads, with each of its tabs open in turn (a page with lazy tabs, see
``tests/pages/lazy_tabs``, produces only the open tab's content), and:

* no string that reaches Markdown (bodies, captions, alerts, titles; labels of widgets, metrics, expanders
  and tabs) holds a payload that was not made inert, nor does any plotly text hold raw HTML;
* each page shows the payloads it has reason to show, literally (after Markdown's escapes are read back);
* a payload used as a filter value selects exactly what it names (no query changes meaning), and the store's
  tables are all still there.

The browser test ``tests/e2e/test_injection_browser.py`` checks the same store in Chromium (dialogs, the DOM).
"""

from __future__ import annotations

import html
import json
import pathlib
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store.filters import event_condition
from tests import injection_store as inj
from tests.pages.lazy_tabs import every_tab

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Every page of the app and the payloads it must show literally (those of the things it lists).
PAGES = {
    "pages/monitor/overview.py": [inj.LABEL, inj.COHORT],
    "pages/monitor/agreement.py": [inj.LABEL, inj.ANNOTATOR],
    "pages/monitor/drift.py": [inj.LABEL],
    "pages/monitor/slices.py": [inj.VALUE, inj.VALUE_2, inj.ATTRIBUTE],
    "pages/investigate/suspects.py": [inj.LABEL],
    "pages/remediate/review.py": [inj.ITEM_2],
    "pages/remediate/policies.py": [],
    "pages/remediate/campaigns.py": [inj.CAMPAIGN],
    "pages/remediate/versions.py": [inj.VERSION_NOTE],
    "pages/remediate/audit.py": [inj.RATIONALE, inj.ITEM],
    "pages/impact/impact.py": [],
    "pages/data/import_data.py": [],
    "pages/data/data.py": [inj.ANNOTATOR],
}
#: Filters set from the URL: payloads the store holds (applied) and payloads it does not (ignored).
URL = {"dataset": inj.DATASET, "cohort": [inj.COHORT, inj.SQL_DROP], "slice": inj.ATTRIBUTE,
       "slice_value": inj.VALUE, "from": inj.SCRIPT, "to": inj.SQL_OR}
FILTERED_PAGES = [page for page in PAGES if page.startswith(("pages/monitor/", "pages/investigate/"))]

#: A payload that reached Markdown unescaped (a backslash before the first character makes it text).
MARKDOWN_LEAKS = [r"(?<!\\)<script", r"(?<!\\)<img", r"(?<!\\)\]\((?!\s)", r"(?<!\\):red\[",
                  r"(?<!\\):material/warning", r"(?<![\\*])\*\*x(?<!\\)\*\*"]
#: HTML that plotly would read in a text it draws.
PLOTLY_LEAKS = [r"<script", r"<img", r"<a\s"]
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def _markdown(at: AppTest) -> list[str]:
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
                 "subheader", "exception"):
        texts += [str(element.value) for element in at.get(kind)]
    for kind in ("selectbox", "multiselect", "radio", "text_input", "text_area", "number_input", "slider",
                 "checkbox", "toggle", "button", "metric", "expander", "date_input", "select_slider", "tabs"):
        texts += [str(getattr(element, "label", "")) for element in at.get(kind)]
    return texts


def _drawn(trace: dict) -> dict:
    """A trace without the ``customdata`` columns no template shows (ids kept for selections)."""
    templates = json.dumps([trace.get(k) for k in ("hovertemplate", "texttemplate")])
    shown = {int(i) for i in re.findall(r"customdata\[(\d+)\]", templates)}
    rows = trace.get("customdata")
    if not isinstance(rows, list):
        return trace
    kept = [[v for i, v in enumerate(row) if i in shown] if isinstance(row, list) else row for row in rows]
    return {**trace, "customdata": kept}


def _plotly(at: AppTest) -> list[str]:
    """The texts of every figure plotly draws (trace fields, shown customdata, layout)."""
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return [json.dumps({**f, "data": [_drawn(t) for t in f.get("data", [])]}, ensure_ascii=False)
            for f in figures]


def _shown(at: AppTest) -> str:
    """Everything the page shows as text: Markdown read back, plain text, tables, widget options, charts."""
    parts = [_ESCAPE.sub(r"\1", text).replace("\u2060", "") for text in _markdown(at)]
    parts += [str(t.value) for t in at.text] + [str(c.value) for c in at.get("code")]
    for frame in at.dataframe:
        value = frame.value
        parts += [str(c) for c in value.columns] + [str(v) for v in value.astype(str).to_numpy().ravel()]
    for kind in ("selectbox", "multiselect", "radio"):
        parts += [str(option) for element in at.get(kind) for option in element.options]
    parts += [html.unescape(text) for text in _plotly(at)]
    return "\n".join(parts)


def _leaks(texts: list[str], patterns: list[str]) -> list[str]:
    return [text[:300] for text in texts if any(re.search(p, text) for p in patterns)]


@pytest.fixture(scope="module")
def injection_db(tmp_path_factory) -> pathlib.Path:
    return inj.build(tmp_path_factory.mktemp("injection") / "injection.duckdb")


def _run(monkeypatch, db: pathlib.Path, page: str, params: dict | None = None) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=180)
    at.query_params.update(params or {})
    at.run()
    at.switch_page(f"../{page}").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_page_of_the_app_is_checked():
    registered = [f"pages/{name}" for name in
                  re.findall(r'st\.Page\(page\("([^"]+)"\)', (ROOT / "ui" / "frame.py").read_text())]
    assert sorted(registered) == sorted(PAGES)


@pytest.mark.parametrize("page", list(PAGES))
def test_each_page_shows_the_payloads_as_text(monkeypatch, injection_db, page):
    at = _run(monkeypatch, injection_db, page)
    shown = ""
    for tab in every_tab(at, page):
        assert not _leaks(_markdown(at), MARKDOWN_LEAKS), tab
        assert not _leaks(_plotly(at), PLOTLY_LEAKS), tab
        shown += "\n" + _shown(at)
    missing = [payload for payload in PAGES[page] if payload not in shown]
    assert not missing, f"{page} does not show {missing} literally"


@pytest.mark.parametrize("page", FILTERED_PAGES)
def test_payloads_in_the_url_set_the_filters_as_values(monkeypatch, injection_db, page):
    at = _run(monkeypatch, injection_db, page, URL)
    assert at.selectbox(key="filters.dataset").value == inj.DATASET
    assert at.multiselect(key="filters.cohorts").value == [inj.COHORT]  # the unknown cohort is ignored
    assert at.selectbox(key="filters.attribute").value == inj.ATTRIBUTE
    assert at.selectbox(key="filters.value").value == inj.VALUE
    for tab in every_tab(at, page):
        assert not _leaks(_markdown(at), MARKDOWN_LEAKS), tab
        assert not _leaks(_plotly(at), PLOTLY_LEAKS), tab
    # The filters travel back into the URL as the same text.
    assert at.query_params["cohort"] == [inj.COHORT] or at.query_params["cohort"] == inj.COHORT
    assert at.query_params["slice_value"] in (inj.VALUE, [inj.VALUE])


def _count(store: Store, flt: EventFilter) -> int:
    condition, params = event_condition(flt, "live_label_events")
    return store.scalar("SELECT count(*) FROM live_label_events WHERE " + condition, params)


def test_a_payload_as_a_filter_value_selects_what_it_names(injection_db):
    # opened as the app opens it: the app's store (cached by the pages run above) may still hold the file,
    # and DuckDB refuses a second connection of another configuration in one process; this test only reads
    with Store(injection_db) as store:
        events = store.query("SELECT e.item_id, e.annotator_id, a.cohort FROM label_events e "
                             "JOIN annotators a USING (annotator_id)")
        attributes = store.query("SELECT item_id, key, value FROM item_attributes")
        tables = set(store.query("SELECT table_name FROM information_schema.tables").table_name)
        total = len(events)
        assert {"label_events", "items", "annotators", "item_attributes"} <= tables
        assert _count(store, EventFilter(dataset=inj.DATASET)) == total
        assert _count(store, EventFilter(dataset=inj.SQL_OR)) == 0  # not "every row"
        assert _count(store, EventFilter(dataset=inj.SQL_DROP)) == 0
        assert _count(store, EventFilter(cohorts=(inj.COHORT,))) == (events.cohort == inj.COHORT).sum() > 0
        assert _count(store, EventFilter(cohorts=(inj.SQL_OR,))) == 0
        in_slice = attributes[(attributes.key == inj.ATTRIBUTE) & (attributes.value == inj.VALUE)].item_id
        expected = events.item_id.isin(set(in_slice)).sum()
        assert _count(store, EventFilter(attribute=inj.ATTRIBUTE, attribute_value=inj.VALUE)) == expected > 0
        assert _count(store, EventFilter(attribute=inj.ATTRIBUTE, attribute_value=inj.SQL_OR)) == 0
        assert store.scalar("SELECT count(*) FROM label_events") == total
        one = store.query("SELECT DISTINCT item_id FROM label_events WHERE item_id = ?", [inj.ITEM])
        assert one.item_id.tolist() == [inj.ITEM]
        assert pd.Series(list(inj.PAYLOADS)).isin(events.annotator_id).any()
