"""Stored strings on the Overview and Slices pages are shown as text: escaped for plotly in every figure
(legend names, tick labels, hover) and for Markdown where the page writes Markdown."""

from __future__ import annotations

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest import pipeline as ingest
from analytics.store import Store
from charts.theme import plain
from tests.pages.lazy_tabs import every_tab
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]

COHORT = "<b>crowd</b>"
LABELS = ("<i>cat</i>", "dog")
VALUES = ("<b>fax</b>", "[web](http://evil.test)")
#: What plotly would read as markup (it reads a few HTML tags, not Markdown).
HTML = (COHORT, LABELS[0], VALUES[0])


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> pathlib.Path:
    """80 items in two slices of the attribute ``source`` whose values, the cohort and a label are HTML and
    Markdown; three annotators per item over six weeks, the second slice disagreeing more."""
    folder = tmp_path_factory.mktemp("hostile")
    items = folder / "items.csv"
    items.write_text("item_id,source\n" + "".join(f"i{i},\"{VALUES[i % 2]}\"\n" for i in range(80)))
    rows = []
    for i in range(80):
        for j in range(3):
            # slice 1 disagrees on most items, slice 0 on a few
            label = LABELS[(j == 2 and (i % 2 == 1 or i % 10 == 0)) ^ (i % 3 == 0)]
            rows.append(f"i{i},a{j},\"{label}\",2026-03-{2 + (i % 6) * 4:02d}T10:00:00,\"{COHORT}\"\n")
    events = folder / "events.csv"
    events.write_text("item_id,annotator_id,label,labeled_at,cohort\n" + "".join(rows))
    path = folder / "hostile.duckdb"
    with Store(path) as store:
        ingest.ingest(store, items, kind="items")
        ingest.ingest(store, events)
    return path


def _strings(value) -> list[str]:
    """Every string inside a decoded figure (trace fields, layout texts, tick labels)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _figure_strings(app: AppTest) -> list[str]:
    return [s for chart in app.get("plotly_chart") for s in _strings(json.loads(chart.proto.spec))]


def _app(monkeypatch, path, page: str, **params) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120)
    app.query_params.update(params)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_overview_figures_show_cohorts_and_labels_escaped(monkeypatch, hostile_db):
    app = _app(monkeypatch, hostile_db, "../pages/monitor/overview.py")
    strings = _figure_strings(app)
    assert not [s for s in strings if any(raw in s for raw in HTML)]
    figures = {json.loads(c.proto.spec)["layout"]["title"]["text"].split("<br>")[0]: json.loads(c.proto.spec)
               for c in app.get("plotly_chart")}
    activity = next(f for title, f in figures.items() if title.startswith("Label events per week"))
    assert plain([COHORT])[0] in {t.get("name") for t in activity["data"]}
    labels = figures["Label distribution"]["data"][0]["x"]
    assert sorted(labels) == sorted(plain(LABELS))


def test_slices_figures_and_texts_show_attribute_values_and_labels_escaped(monkeypatch, hostile_db):
    app = _app(monkeypatch, hostile_db, "../pages/monitor/slices.py")
    strings, figures, markdown = [], [], []  # of every tab, tab by tab (only the open tab's are produced)
    for _ in every_tab(app, "pages/monitor/slices.py"):
        strings += _figure_strings(app)
        figures += [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
        markdown += [m.value for m in app.markdown]
    assert not [s for s in strings if any(raw in s for raw in HTML)]
    forest, heatmap = figures
    assert set(forest["data"][0]["y"]) == set(plain(f"source = {v}" for v in VALUES))
    assert set(heatmap["data"][0]["x"]) == set(plain(LABELS))
    assert not [m for m in markdown if any(raw in m for raw in (COHORT, LABELS[0], *VALUES))]


def test_a_slice_filter_on_a_stored_value_is_named_through_md(monkeypatch, hostile_db):
    app = _app(monkeypatch, hostile_db, "../pages/monitor/slices.py", slice="source", slice_value=VALUES[1])
    pinned = [m.value for m in app.markdown if "slice filter keeps only the items with" in m.value]
    assert pinned and md(f"source = {VALUES[1]}") in pinned[0]
    assert VALUES[1] not in pinned[0]
