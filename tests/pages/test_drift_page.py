"""AppTest of the Drift page on the demo store: the verdict is ``what_changed`` of the analytics and names the
injected guideline change and the decaying annotator; the window changes what is tested; every tab renders."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics import drift
from analytics.store import Store
from analytics.store import detection as detection_queries
from analytics.store import drift as queries

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    return app.switch_page("pages/monitor/drift.py").run()


def _findings(path, grain: str):
    with Store(path) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        inputs = queries.drift_inputs(store, grain=grain, run_id=run_id)
    return drift.drift_findings(inputs)


def test_the_verdict_names_the_guideline_change_and_the_decaying_annotator(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    expected = drift.what_changed(_findings(demo_store_path, "week"), limit=8)
    lines = [t.value for t in at.text][:len(expected)]
    assert lines == expected
    assert any("guideline v2" in line for line in lines)
    assert any(line.startswith("Annotator ann-009 (crowd) is declining") for line in lines)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0].startswith("Label mix over time")
    assert any(t.startswith("Each metric before and after each guideline version") for t in titles)
    assert any(t.startswith("Agreement with the majority per window") for t in titles)
    assert any(t.startswith("Test–retest") for t in titles)


def test_daily_windows_date_the_1_7_shift_to_the_guideline_change(at):
    at.segmented_control(key="drift.grain").set_value("day").run()
    assert not at.exception
    lines = [t.value for t in at.text]
    shift = [line for line in lines if "the share of '7' among '1'/'7' labels fell" in line]
    assert shift and "guideline v2 took effect on 2026-06-01" in shift[0]


def test_a_cohort_filter_leaves_out_the_vendor_onboarding(at):
    at.multiselect(key="filters.cohorts").set_value(["expert", "crowd"]).run()
    assert not at.exception
    assert not any(line.startswith("Cohort vendor") for line in (t.value for t in at.text))


def test_annotators_carry_their_dawid_skene_trend_when_asked(at):
    (table,) = [d.value for d in at.dataframe if "trend_per_30d" in d.value.columns]
    assert "ds_trend_per_30d" not in table.columns
    at.toggle(key="drift.ds").set_value(True).run()
    assert not at.exception
    (table,) = [d.value for d in at.dataframe if "trend_per_30d" in d.value.columns]
    assert {"ds_trend_per_30d", "ds_trend_q"} <= set(table.columns)
    assert table["ds_trend_per_30d"].notna().sum() > 50


def test_a_declared_expected_distribution_replaces_the_reference(at, demo_store_path):
    uniform = "\n".join(f"{digit}: 1" for digit in range(10))
    at.text_area(key="drift.expected").input(uniform).run()
    assert not at.exception
    (shown,) = [d.value for d in at.dataframe if "js_distance" in d.value.columns and "window" in d.value]
    with Store(demo_store_path) as store:
        counts = queries.label_counts_by_window(store, by="week")
    expected = drift.shift_table(counts, expected=drift.parse_expected(uniform))
    assert shown["p_value"].tolist() == pytest.approx(expected["p_value"].tolist())
    assert shown["reference"].isna().all()


def test_a_bad_expected_distribution_names_its_line(at):
    at.text_area(key="drift.expected").input("0: 0.5\nseven\n").run()
    assert any("line 2" in w.value for w in at.warning)
    with pytest.raises(ValueError, match="line 2: label '0' given twice"):
        drift.parse_expected("0: 1\n0: 2")


def test_a_cohort_with_a_negligible_share_is_not_announced(demo_store_path):
    findings = _findings(demo_store_path, "week")
    assert any(line.startswith("Cohort vendor (12 annotators) joined on 2026-06-15")
               for line in drift.what_changed(findings))
    tiny = findings.onboarding.assign(share_of_ratings=0.005)
    quiet = drift.what_changed(dataclasses.replace(findings, onboarding=tiny))
    assert not any(" joined on " in line for line in quiet)
