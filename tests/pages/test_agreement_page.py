"""AppTest of the Agreement page on the demo store: the numbers shown are the analytics' own, the demo's
injected annotators are named, filters and controls change what is shown, an annotator opens."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics import agreement_report
from analytics.schema import EventFilter
from analytics.store import Store

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    return app.switch_page("pages/monitor/agreement.py").run()


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
    assert len(at.get("plotly_chart")) == 5  # over time, by version, reliability, pairs, label confusion
    assert all(not b.proto.disabled for b in at.get("download_button"))


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
    at.selectbox(key="annotators.annotator").select("ann-041").run()
    assert not at.exception
    assert any("ann-041: Dawid" in c.proto.spec for c in at.get("plotly_chart"))
    assert any(c.value.startswith("Dawid–Skene converged after") for c in at.caption)
    (header,) = [m.value for m in at.markdown if "differs from the consensus" in m.value]
    # a spammer disagrees with the consensus on most of their 85 items
    assert int(header.rsplit("(", 1)[1].rstrip(")")) > 50


def test_an_empty_store_explains_what_agreement_needs(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELWATCH_DB", str(tmp_path / "empty.duckdb"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    app.switch_page("pages/monitor/agreement.py").run()
    assert not app.exception and not app.metric
    assert any("No item rated by two or more annotators" in m.value for m in app.markdown)
