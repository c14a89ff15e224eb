"""Stored text is shown as text on every page: ids, cohorts, labels and attributes that look like Markdown or
HTML must never become a link, an image, a directive or markup.

The store is the digits demo with every kind of stored string replaced by a payload, imported through the
ordinary import path (so each payload is a valid value), with a detection run. Every page is run through
AppTest, with each of its lazy tabs open in turn (such a page produces only the open tab's content), and every
string that reaches Streamlit's Markdown (bodies of markdown, captions, alerts, titles; labels of widgets,
metrics and expanders) or a plotly figure is checked for a payload that was not made inert.
The browser test in ``tests/e2e`` checks the same store for requests that leave the machine.
"""

from __future__ import annotations

import json
import pathlib
import re

import pytest
from streamlit.testing.v1 import AppTest

from analytics.detection import suspects
from analytics.ingest import pipeline as ingest
from analytics.store import Store
from analytics.synthetic import demo
from tests.pages.lazy_tabs import every_tab

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = (
    "../pages/monitor/overview.py", "../pages/monitor/agreement.py", "../pages/monitor/drift.py",
    "../pages/monitor/slices.py", "../pages/investigate/suspects.py", "../pages/data/import_data.py",
    "../pages/data/data.py",
)

#: What each kind of stored string is replaced by. Every payload would change the page if rendered.
ANNOTATOR = "![px](http://evil.test/px.png)"
COHORT = "<a href='http://evil.test/c'>crowd</a>"
LABEL_SEVEN = "[7](http://evil.test/l)"
ATTRIBUTE = "source:red[!]"
ATTRIBUTE_VALUE = "<img src=http://evil.test/v.png>fax"
DATASET = "**digits** $x$"
GUIDELINE = ":material/warning: v2"

#: Patterns of a payload that reached Markdown unescaped, or a plotly text unescaped.
MARKDOWN_LEAKS = [
    r"(?<!\\)\]\((?!\s)", r"(?<!\\)<a\s", r"(?<!\\)<img", r"(?<!\\):red\[", r"(?<!\\):material/warn",
]
PLOTLY_LEAKS = [r"<a\s", r"<img"]


def _hostile(frames: demo.DemoData) -> dict:
    """The demo's frames with every stored string kind replaced by a payload (ann-001 and its label)."""
    events = frames.events.copy()
    events["annotator_id"] = events["annotator_id"].replace(
        {"ann-001": ANNOTATOR, "ann-002": ANNOTATOR + "2"}
    )
    events["cohort"] = events["cohort"].replace({"crowd": COHORT})
    events["label"] = events["label"].replace({"7": LABEL_SEVEN})
    events["guideline_version"] = events["guideline_version"].replace({"v2": GUIDELINE})
    events["dataset"] = DATASET
    items = frames.items.rename(columns={"source": ATTRIBUTE}).assign(dataset=DATASET)
    items[ATTRIBUTE] = items[ATTRIBUTE].replace({"fax": ATTRIBUTE_VALUE})
    vocabulary = frames.vocabulary.assign(label=frames.vocabulary["label"].replace({"7": LABEL_SEVEN}))
    guidelines = frames.guidelines.assign(
        version=frames.guidelines["version"].replace({"v2": GUIDELINE})
    )
    gold = frames.gold.assign(label=frames.gold["label"].replace({"7": LABEL_SEVEN}))
    return {"vocabulary": vocabulary, "guidelines": guidelines, "items": items, "events": events,
            "gold": gold}


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    with Store(path) as store:
        for kind, frame in _hostile(demo.generate(0)).items():
            report = ingest.ingest(store, frame, kind=kind, name=f"hostile/{kind}", dataset=DATASET)
            assert report.rows_rejected == 0, (kind, report.rejected_by_reason)
        suspects.run_detection(store, created_by=ANNOTATOR, random_state=0)
    return path


def _markdown_texts(at: AppTest) -> list[str]:
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "header",
                 "subheader"):
        texts += [str(element.value) for element in at.get(kind)]
    for kind in ("selectbox", "multiselect", "radio", "text_input", "text_area", "number_input", "slider",
                 "checkbox", "toggle", "button", "metric", "expander", "date_input", "select_slider", "tabs"):
        texts += [str(getattr(element, "label", "")) for element in at.get(kind)]
    return texts


def _plotly_texts(at: AppTest) -> list[str]:
    # Decoded (the spec escapes "<" as \u003c); plotly reads <a>, <b>, <br> … in every text it draws.
    return [json.dumps(json.loads(chart.proto.spec), ensure_ascii=False) for chart in at.get("plotly_chart")]


def _leaks(texts: list[str], patterns: list[str]) -> list[str]:
    return [text[:200] for text in texts if any(re.search(p, text) for p in patterns)]


@pytest.mark.parametrize("page", PAGES)
def test_no_stored_string_renders_as_markup(monkeypatch, hostile_db, page):
    monkeypatch.setenv("LABELWATCH_DB", str(hostile_db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = []
    for tab in every_tab(at, page):
        assert not _leaks(_markdown_texts(at), MARKDOWN_LEAKS), tab
        assert not _leaks(_plotly_texts(at), PLOTLY_LEAKS), tab
        texts += [*_markdown_texts(at), *_plotly_texts(at), *[str(t.value) for t in at.text]]
    # The payloads are shown, as text: the pages did not just leave them out.
    shown = json.dumps(texts)
    assert "evil" in shown or page.endswith(("import_data.py", "data.py"))


@pytest.mark.parametrize("page", PAGES[:5])
def test_a_stored_slice_and_cohort_in_the_filters_stay_text(monkeypatch, hostile_db, page):
    monkeypatch.setenv("LABELWATCH_DB", str(hostile_db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    at.switch_page(page).run()
    at.selectbox(key="filters.attribute").set_value(ATTRIBUTE).run()
    at.selectbox(key="filters.value").set_value(ATTRIBUTE_VALUE).run()
    at.multiselect(key="filters.cohorts").set_value([COHORT]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert ATTRIBUTE in at.selectbox(key="filters.value").label.replace("\\", "")
    for tab in every_tab(at, page):
        assert not _leaks(_markdown_texts(at), MARKDOWN_LEAKS), tab
        assert not _leaks(_plotly_texts(at), PLOTLY_LEAKS), tab
