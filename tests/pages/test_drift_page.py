"""AppTest of the Drift page on the demo store: the verdict is ``what_changed`` of the analytics and names the
injected guideline change and the decaying annotator; Day, Week and Month tell the same story; the change
charts draw every window with its interval; every table has human labels, formats and a column guide."""

from __future__ import annotations

import base64
import dataclasses
import json
import pathlib
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.monitoring import drift
from analytics.narrative import drift as drift_words
from analytics.store import Store
from analytics.store import detection as detection_queries
from analytics.store import drift as queries
from charts import drift as charts
from tests.pages.lazy_tabs import every_tab, open_tab

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = "pages/monitor/drift.py"
TAB = "drift.tab"


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(demo_store_path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    return app.switch_page("../pages/monitor/drift.py").run()


def _findings(path, grain: str = "week"):
    with Store(path) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        inputs = queries.drift_inputs(store, grain=drift.ANALYSIS_GRAIN, run_id=run_id)
        shown = None if grain == drift.ANALYSIS_GRAIN else queries.display_inputs(store, grain=grain,
                                                                                   run_id=run_id)
    return drift.drift_findings(inputs, display=shown)


def _changes(at) -> list[tuple[str, pd.Timestamp]]:
    """(series, date) of every change-point sentence of the verdict."""
    found = []
    for line in (t.value for t in at.text):
        match = re.match(r"On (\d{4}-\d{2}-\d{2}) (?:\([^)]*\) )?the (.+?) (?:rose|fell) from", line)
        if match:
            found.append((match.group(2), pd.Timestamp(match.group(1))))
    return found


def test_the_verdict_names_the_guideline_change_and_the_decaying_annotator(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    expected = drift_words.what_changed(_findings(demo_store_path), limit=8)
    lines = [t.value for t in at.text][:len(expected)]
    assert lines == expected
    assert any("guideline v2" in line for line in lines)
    assert any(line.startswith("Annotator ann-009 (crowd) is declining") for line in lines)
    titles = []  # of every tab's charts, tab by tab (only the open tab's are produced)
    for _ in every_tab(at, PAGE):
        titles += [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0].startswith("Label mix over time")
    assert any(t.startswith("Each metric before and after each guideline version") for t in titles)
    assert any(t.startswith("Agreement with the majority per window") for t in titles)
    assert any(t.startswith("Test–retest") for t in titles)


@pytest.mark.parametrize("cohorts", [None, ["expert", "crowd"]])
def test_day_week_and_month_tell_the_same_story(at, cohorts):
    """The same series change at every grain; on days each change is dated within a week of the weekly
    date, on months on the weekly date itself."""
    if cohorts:
        at.multiselect(key="filters.cohorts").set_value(cohorts).run()
    stories = {}
    for grain in ("week", "day", "month"):
        at.segmented_control(key="drift.grain").set_value(grain).run()
        assert not at.exception, [e.value for e in at.exception]
        stories[grain] = _changes(at)
    assert stories["week"] and stories["month"] == stories["week"]
    by_series = {grain: {s: sorted(d for t, d in stories[grain] if t == s) for s, _ in stories[grain]}
                 for grain in ("week", "day")}
    assert by_series["day"].keys() == by_series["week"].keys()
    for series, weeks in by_series["week"].items():
        days = by_series["day"][series]
        assert len(days) == len(weeks)
        assert all(abs(d - w) < pd.Timedelta(days=7) for d, w in zip(days, weeks, strict=True)), series


def test_daily_windows_date_the_fall_of_the_share_of_7_to_the_guideline_change(at):
    at.segmented_control(key="drift.grain").set_value("day").run()
    assert not at.exception
    lines = [t.value for t in at.text]
    shift = [line for line in lines if "the share of '7' among all labels fell" in line]
    assert shift and "guideline v2 took effect on 2026-06-01" in shift[0]
    when = pd.Timestamp(re.match(r"On (\S+) ", shift[0]).group(1))
    assert abs(when - pd.Timestamp("2026-06-01")) <= pd.Timedelta(days=7)


def _array(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata" (base64)}."""
    if isinstance(value, dict):
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def test_the_change_charts_draw_every_window_with_its_interval_under_the_segments(at, demo_store_path):
    findings = _findings(demo_store_path)
    (seven,) = [cp for cp in findings.change_points if cp.series == "share of '7' among all labels"]
    open_tab(at, TAB, "Change points")
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}
    spec = charts["Share of '7' among all labels: each week and the segments between changes"]
    windows = next(trace for trace in spec["data"] if trace.get("mode") == "markers")
    assert len(_array(windows["y"])) == len(seven.values) == 27
    assert _array(windows["y"]) == pytest.approx(seven.values["value"].to_numpy())
    upper = _array(windows["error_y"]["array"])
    assert upper == pytest.approx((seven.values["high"] - seven.values["value"]).to_numpy())
    segments = [trace for trace in spec["data"] if trace.get("mode") == "lines" and trace.get("fill") is None]
    assert [_array(trace["y"])[0] for trace in segments] == pytest.approx(seven.segments["mean"].tolist())
    # the windows come first, so the segment lines are drawn over them
    assert spec["data"].index(windows) < spec["data"].index(segments[0])


def test_every_table_has_labels_formats_and_a_column_guide(at):
    at.toggle(key="drift.ds").set_value(True).run()
    assert not at.exception
    frames = []  # every tab's tables, tab by tab (only the open tab's are produced)
    for tab in every_tab(at, PAGE):
        guides = [e for e in at.expander if e.label == "What the columns mean"]
        assert len(guides) == len(at.dataframe), tab
        frames += [(json.loads(frame.proto.columns), frame.value) for frame in at.dataframe]
    assert len(frames) >= 6
    for config, shown in frames:
        assert set(shown.columns) <= set(config), (set(shown.columns) - set(config))
        labels = [config[c]["label"] for c in shown.columns]
        assert all(label and "_" not in label for label in labels), labels
        for column in (c for c in shown.columns if c.endswith(("_p", "_q", "p_value", "q_value"))):
            assert shown[column].fillna("").str.fullmatch(r"|< 0\.001|[01]\.\d{3}").all(), column
    tested = next(shown for _, shown in frames if "design_effect" in shown)
    assert list(tested.columns[:4]) == ["series", "changes", "p_value", "q_value"]
    assert tested["p_value"].str.fullmatch(r"< 0\.001|\d\.\d{3}").all()
    annotators = next(shown for _, shown in frames if "trend_per_30d" in shown)
    assert {"ds_trend_per_30d", "ds_trend_q"} <= set(annotators.columns)
    assert annotators["ds_trend_per_30d"].notna().sum() > 50


def test_a_cohort_filter_leaves_out_the_vendor_onboarding(at):
    at.multiselect(key="filters.cohorts").set_value(["expert", "crowd"]).run()
    assert not at.exception
    assert not any(line.startswith("Cohort vendor") for line in (t.value for t in at.text))


def test_a_declared_expected_distribution_replaces_the_reference(at, demo_store_path):
    open_tab(at, TAB, "Distribution shift")
    uniform = "\n".join(f"{digit}: 1" for digit in range(10))
    at.text_area(key="drift.expected").input(uniform).run()
    assert not at.exception
    (shown,) = [d.value for d in at.dataframe if "js_distance" in d.value.columns and "window" in d.value]
    with Store(demo_store_path) as store:
        counts = queries.label_counts_by_window(store, by=drift.ANALYSIS_GRAIN)
    expected = drift.shift_table(counts, expected=drift.parse_expected(uniform))
    assert shown["p_value"].tolist() == charts.p_text(expected["p_value"])
    assert "reference" not in shown or shown["reference"].isna().all()


def test_the_distribution_shift_says_which_reference_it_uses(at):
    open_tab(at, TAB, "Distribution shift")
    caption = next(c.value for c in at.caption if c.value.startswith("Each week's label mix against"))
    assert "the baseline 2026-02-23 to 2026-03-16 (816 labels)" in caption


def test_a_bad_expected_distribution_names_its_line(at):
    open_tab(at, TAB, "Distribution shift")
    at.text_area(key="drift.expected").input("0: 0.5\nseven\n").run()
    assert any("line 2" in w.value for w in at.warning)
    with pytest.raises(ValueError, match="line 2: label '0' given twice"):
        drift.parse_expected("0: 1\n0: 2")


def test_a_cohort_with_a_negligible_share_is_not_announced(demo_store_path):
    findings = _findings(demo_store_path)
    assert any(line.startswith("Cohort vendor (12 annotators) joined on 2026-06-15")
               for line in drift_words.what_changed(findings))
    tiny = findings.onboarding.assign(share_of_ratings=0.005)
    quiet = drift_words.what_changed(dataclasses.replace(findings, onboarding=tiny))
    assert not any(" joined on " in line for line in quiet)


def test_a_bad_expected_distribution_is_quoted_as_text(at):
    """The warning quotes the line as typed (often a stored label pasted in): as text, not Markdown."""
    open_tab(at, TAB, "Distribution shift")
    at.text_area(key="drift.expected").input("![img](http://x.test/a.png)\n").run()
    (warning,) = at.warning
    assert "line 1" in warning.value
    assert "![img](" not in warning.value and r"\!\[img\]\(http" in warning.value
