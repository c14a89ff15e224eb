"""AppTest of the Agreement page on the demo store: the numbers shown are the analytics' own, the demo's
injected annotators are named, filters and controls change what is shown, an annotator opens."""

from __future__ import annotations

import json
import pathlib
import shutil

import pytest
from streamlit.proto.Metric_pb2 import Metric
from streamlit.testing.v1 import AppTest

from analytics.agreement import report as agreement_report
from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.store import Store
from tests.pages.lazy_tabs import every_tab, open_tab

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = "pages/monitor/agreement.py"
TAB = "agreement.tab"


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    return app.switch_page("../pages/monitor/agreement.py").run()


def _metric(at: AppTest, label: str) -> str:
    (value,) = [m.value for m in at.metric if m.label == label]
    return value


def _headline(path, flt=None, level="nominal") -> agreement_report.Headline:
    with Store(path) as store:
        return agreement_report.headline(store, flt or EventFilter(), level=level)


def test_tiles_show_the_analytics_values_and_the_verdict_names_the_injected_annotators(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    expected = _headline(demo_store_path)
    assert _metric(at, "Krippendorff's alpha") == f"{expected.overall['krippendorff_alpha'].value:.3f}"
    assert _metric(at, "Fleiss' kappa") == f"{expected.overall['fleiss_kappa'].value:.3f}"
    assert _metric(at, "Gwet's AC1") == f"{expected.overall['gwet_ac1'].value:.3f}"
    lines = [t.value for t in at.text]
    assert any(line.startswith("3 annotators label near chance") for line in lines)
    assert "1 annotator is declining: ann-009." in lines
    assert any(line.startswith("Least reliable cohort: vendor") for line in lines)
    # only the open tab's content is produced: the charts and their downloads, one tab at a time
    charts, downloads = {}, []
    for tab in every_tab(at, PAGE):
        charts[tab] = len(at.get("plotly_chart"))
        downloads += at.get("download_button")
    # over time, by version; reliability; pairs; label confusion
    assert charts == {"Over time": 2, "Annotators": 1, "Annotator pairs": 1, "Label confusion": 1}
    assert downloads and all(not b.proto.disabled for b in downloads)


def test_a_cohort_filter_changes_the_coefficients(at, demo_store_path):
    everyone = _metric(at, "Krippendorff's alpha")
    at.multiselect(key="filters.cohorts").set_value(["expert"]).run()
    experts = _headline(demo_store_path, EventFilter(cohorts=("expert",)))
    assert _metric(at, "Krippendorff's alpha") == f"{experts.overall['krippendorff_alpha'].value:.3f}"
    assert float(_metric(at, "Krippendorff's alpha")) > float(everyone) + 0.2


def test_the_level_control_recomputes_alpha(at, demo_store_path):
    at.segmented_control(key="agreement.level").set_value("interval").run()
    assert not at.exception
    interval = _headline(demo_store_path, level="interval").overall["krippendorff_alpha"].value
    assert _metric(at, "Krippendorff's alpha") == f"{interval:.3f}"


def test_cohort_lines_and_monthly_periods(at):
    at.segmented_control(key="agreement.split").set_value("cohort").run()
    at.segmented_control(key="agreement.grain").set_value("month").run()
    assert not at.exception
    figure = at.get("plotly_chart")[0].proto.spec
    assert "expert" in figure and "vendor" in figure and "per month" in figure


def test_picking_an_annotator_shows_their_confusion_matrix_and_disagreements(at):
    open_tab(at, TAB, "Annotators")
    at.selectbox(key="annotators.annotator").select("ann-041").run()
    assert not at.exception
    assert any("ann-041: Dawid" in c.proto.spec for c in at.get("plotly_chart"))
    assert any(c.value.startswith("Dawid–Skene converged after") for c in at.caption)
    (header,) = [m.value for m in at.markdown if "differs from the consensus" in m.value]
    # a spammer disagrees with the consensus on most of their 85 items
    assert int(header.rsplit("(", 1)[1].rstrip(")")) > 50


def test_an_empty_store_explains_what_agreement_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELWATCH_DB", str(tmp_path / "empty.duckdb"))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    app.switch_page("../pages/monitor/agreement.py").run()
    assert not app.exception and not app.metric
    assert any("No item rated by two or more annotators" in m.value for m in app.markdown)


def _reliability_spec(app: AppTest) -> dict:
    """The reliability chart's figure, in the Annotators tab (opened)."""
    open_tab(app, TAB, "Annotators")
    (spec,) = [json.loads(c.proto.spec) for c in app.get("plotly_chart")
               if "leave-one-out majority" in c.proto.spec]
    return spec


def test_four_rows_from_a_new_cohort_change_no_verdict_colour_or_axis(at, monkeypatch, tmp_path,
                                                                      demo_store_path):
    before = _reliability_spec(at)
    path = tmp_path / "inhouse.duckdb"
    shutil.copyfile(demo_store_path, path)
    csv = tmp_path / "inhouse.csv"
    csv.write_text("item_id,annotator_id,label,labeled_at,cohort\n"
                   "digits-0000,inhouse-1,0,2026-06-20T10:00:00,inhouse\n"
                   "digits-0001,inhouse-1,1,2026-06-20T10:05:00,inhouse\n"
                   "digits-0000,inhouse-2,0,2026-06-20T11:00:00,inhouse\n"
                   "digits-0004,inhouse-2,4,2026-06-20T11:05:00,inhouse\n")
    with Store(path) as store:
        ingest.ingest(store, csv, kind="events")
    monkeypatch.setenv("LABELWATCH_DB", str(path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    app.switch_page("../pages/monitor/agreement.py").run()
    assert not app.exception
    lines = [t.value for t in app.text]
    assert not any("inhouse" in line and line.startswith("Least reliable") for line in lines)
    assert "Too few rated items to compare (fewer than 20 with a majority): inhouse (4)." in lines
    after = _reliability_spec(app)
    colours = {t["name"]: t["marker"]["color"] for t in before["data"]}
    assert all(colours[t["name"]] == t["marker"]["color"] for t in after["data"] if t["name"] in colours)
    assert after["layout"]["xaxis"]["type"] == before["layout"]["xaxis"]["type"] == "log"
    assert after["layout"]["xaxis"]["range"] == before["layout"]["xaxis"]["range"]


def test_the_expert_cohort_shows_which_items_each_coefficient_rests_on(at):
    at.multiselect(key="filters.cohorts").set_value(["expert"]).run()
    captions = [c.value for c in at.caption]
    assert any(c.startswith("95% CI") and "over items (BCa, 200 resamples) · 49 items rated 2+ times" in c
               and "(chance from" not in c for c in captions)  # alpha
    assert any("49 items rated 2+ times (chance from 448)" in c for c in captions)  # Fleiss' kappa, AC1


def test_intervals_over_items_and_annotators_say_so(at):
    at.segmented_control(key="agreement.resample").set_value("items and annotators").run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert sum("over items and annotators (percentile, 200 resamples, 60 annotators)" in c
               for c in captions) == 3
    assert any("over items and annotators" in t.value for t in at.text)  # the verdict


def test_rates_in_the_annotator_table_show_their_counts(at):
    open_tab(at, TAB, "Annotators")
    (table,) = [d.value for d in at.dataframe if "retest_text" in d.value.columns]
    assert table["retest_text"].str.fullmatch(r"no re-test|\d+ of \d+ \(\d+%\)").all()
    assert table["gold_text"].str.fullmatch(r"no gold item|\d+ of \d+ \(\d+%\)").all()
    assert (table["retest_text"] == "no re-test").any() and (table["retest_text"] != "no re-test").any()


def test_the_pairs_heatmap_keeps_the_near_chance_annotators_when_few_are_shown(at):
    open_tab(at, TAB, "Annotator pairs")
    at.slider(key="agreement.top").set_value(5).run()
    (spec,) = [c.proto.spec for c in at.get("plotly_chart") if "Cohen's kappa between" in c.proto.spec]
    for spammer in ("ann-041", "ann-039", "ann-050"):
        assert json.loads(spec)["data"][0]["x"].count(f"{spammer} ⚑") == 1


def test_a_label_set_too_large_for_dawid_skene_is_said_and_the_page_renders(monkeypatch, demo_store_path):
    from analytics.consensus import limits

    monkeypatch.setattr(limits, "MAX_MODEL_BYTES", 1_000)
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    app.switch_page("../pages/monitor/agreement.py").run()
    assert not app.exception, [e.value for e in app.exception]
    open_tab(app, TAB, "Annotators")
    (note,) = [i.value for i in app.info if i.value.startswith("No Dawid–Skene accuracy")]
    assert "over 10 labels" in note


def test_a_change_within_noise_is_grey_and_without_an_arrow(at, demo_store_path):
    head = _headline(demo_store_path)
    colours = {m.label: (m.proto.color, m.proto.direction) for m in at.metric}
    within = [metric for metric in agreement_report.HEADLINE_METRICS if not head.separated(metric)]
    assert within, "the demo's last 30 days should hold a change within noise"
    for metric in agreement_report.HEADLINE_METRICS:
        colour, direction = colours[agreement_report.METRIC_NAMES[metric]]
        assert (colour == Metric.MetricColor.GRAY) == (metric in within)
        assert (direction == Metric.MetricDirection.NONE) == (metric in within)
