"""AppTest of the Slices page on the demo store: the injected noisy slice leads the verdict and the table,
the measure and the pairs change what is tested, and a slice opens the Suspects page filtered to it."""

from __future__ import annotations

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.schema import EventFilter
from analytics.monitoring import slices
from analytics.narrative import slices as slice_words
from analytics.store import Store
from analytics.store import detection as detection_queries
from analytics.store import slices as queries
from tests.pages.lazy_tabs import every_tab

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = "pages/monitor/slices.py"


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    return app.switch_page("../pages/monitor/slices.py").run()


def _expected(path, metric: str, pairs: bool = False):
    with Store(path) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        cube = queries.slice_cube(store, run_id=run_id)
    return (slices.slice_noise_table(cube, metric=metric, pairs=pairs),
            slices.discover_slices(cube, metric=metric))


def test_the_noisy_fax_slice_leads_the_verdict_and_the_table(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    table, found = _expected(demo_store_path, "disagreement")
    lines = [t.value for t in at.text]
    assert lines[:len(slice_words.verdict(table, found, metric="disagreement"))] == slice_words.verdict(
        table, found, metric="disagreement")
    assert lines[0].startswith("source = fax is the noisiest slice")
    shown = at.dataframe[0].value
    assert shown["slice"].tolist() == table["slice"].tolist()
    assert shown["slice"].iloc[0] == "source = fax" and bool(shown["significant"].iloc[0])
    titles = []  # of every tab's charts, tab by tab (only the open tab's are produced)
    for _ in every_tab(at, PAGE):
        titles += [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert [t.split(",")[0].split(":")[0] for t in titles] == ["Noise rate by slice", "Slice × class"]


@pytest.mark.parametrize("metric", ["gold_error", "suspect"])
def test_every_measure_finds_the_fax_slice(at, demo_store_path, metric):
    at.segmented_control(key="slices.metric").set_value(metric).run()
    assert not at.exception
    table, _ = _expected(demo_store_path, metric)
    shown = at.dataframe[0].value["noise_rate"] / 100  # the grid gets percentages
    assert shown.tolist() == pytest.approx(table["noise_rate"].tolist())
    assert at.text[0].value.startswith("source = fax is the noisiest slice")


def test_pairs_join_the_tested_family(at, demo_store_path):
    before = len(at.dataframe[0].value)
    at.toggle(key="slices.pairs").set_value(True).run()
    table, _ = _expected(demo_store_path, "disagreement", pairs=True)
    shown = at.dataframe[0].value
    assert len(shown) == len(table) > before
    assert shown["slice"].str.contains(" & ").any()


def test_a_slice_opens_its_suspects(at, demo_store_path):
    at.selectbox(key="slices.open").select("source = fax").run()
    at.button(key="slices.suspects").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with Store(demo_store_path) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        fax = detection_queries.suspects_page(
            store, run_id, flt=EventFilter(attribute="source", attribute_value="fax"))[1]
    assert at.session_state["filters.attribute"] == "source" and at.session_state["filters.value"] == "fax"
    label = at.number_input(key="suspects.page").label
    assert label.endswith(f"; {fax:,} items)")


def test_a_store_without_attributes_explains_where_slices_come_from(monkeypatch, tmp_path):
    from analytics.ingest import pipeline as ingest

    (tmp_path / "e.csv").write_text("item_id,annotator_id,label,labeled_at\n"
                                    + "".join(f"i{i},a{j},{'xy'[(i * j) % 2]},2024-01-0{j + 1}\n"
                                              for i in range(8) for j in range(3)))
    with Store(tmp_path / "s.duckdb") as store:
        ingest.ingest(store, tmp_path / "e.csv")
    monkeypatch.setenv("LABELWATCH_DB", str(tmp_path / "s.duckdb"))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    app.switch_page("../pages/monitor/slices.py").run()
    assert not app.exception
    assert any("No slice to compare" in m.value for m in app.markdown)


def test_the_ranked_table_reads_as_words_with_key_columns_first_and_a_guide(at):
    table = at.dataframe[0]
    order = list(table.proto.column_order)
    assert order[:8] == ["slice", "noise_rate", "ci", "rest_rate", "ratio", "q_value", "significant", "n"]
    assert not {"attribute", "value", "depth", "ci_low", "ci_high"} & set(order)  # said by slice and ci
    config = json.loads(table.proto.columns)
    labels = {name: config[name]["label"] for name in order}
    assert labels["mean_ratings"] == "Ratings per item" and labels["rest_n"] == "Rest measured"
    assert labels["q_value"] == "q (FDR)" and labels["excess"] == "Beyond its share"
    # p- and q-values to two significant digits (1.6e-53, 0.38), never a row of zeros
    assert {config[name]["type_config"]["format"] for name in ("p_value", "q_value")} == {"%.2g"}
    assert config["excess"]["type_config"]["format"] == "%+.1f"
    fax = table.value.set_index("slice").loc["source = fax"]
    assert fax["ci"] == f"{fax['ci_low']:.1%}–{fax['ci_high']:.1%}"
    guide = at.expander[0]
    assert guide.label == "What the columns mean"
    assert all(f"**{labels[name]}**" in guide.markdown[0].value for name in order)


def test_a_slice_filter_is_explained_not_called_quiet(monkeypatch, demo_store_path):
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120)
    app.query_params.update({"slice": "source", "slice_value": "fax"})
    app.run()
    app.switch_page("../pages/monitor/slices.py").run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("slice filter keeps only the items with source" in m.value for m in app.markdown)
    assert app.text[0].value.startswith("Within source = fax: ")
    shown = app.dataframe[0].value
    assert "source = fax" not in shown["slice"].tolist()  # it has no rest here: not a row to test
    assert set(shown["slice"]) == {"region = east", "region = north", "region = south", "region = west"}
    app.button(key="slices.unpin").click().run()
    assert "source = fax" in app.dataframe[0].value["slice"].tolist()
    assert app.text[0].value.startswith("source = fax is the noisiest slice")


def test_a_filter_on_the_only_attribute_says_there_is_nothing_within_it(monkeypatch, tmp_path):
    from analytics.ingest import pipeline as ingest

    (tmp_path / "items.csv").write_text("item_id,source\n"
                                        + "".join(f"i{i},{'ab'[i % 2]}\n" for i in range(40)))
    (tmp_path / "e.csv").write_text("item_id,annotator_id,label,labeled_at\n"
                                    + "".join(f"i{i},a{j},{'xy'[(i * j) % 2]},2024-01-0{j + 1}\n"
                                              for i in range(40) for j in range(3)))
    with Store(tmp_path / "s.duckdb") as store:
        ingest.ingest(store, tmp_path / "items.csv", kind="items")
        ingest.ingest(store, tmp_path / "e.csv")
    monkeypatch.setenv("LABELWATCH_DB", str(tmp_path / "s.duckdb"))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60)
    app.query_params.update({"slice": "source", "slice_value": "a"})
    app.run()
    app.switch_page("../pages/monitor/slices.py").run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "No other slice to compare within this one" in text and "Clear the slice filter" in text
    assert "No slice is noisier" not in " ".join(t.value for t in app.text)
