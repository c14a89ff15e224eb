"""Drift reads: counts worked out by hand on a tiny store filled from CSV through the import path; on the
demo, the injected guideline change, decaying annotator and vendor cohort are found; on stores without
injected effects, nothing beyond the nominal false-discovery rate is."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.monitoring import drift
from analytics.monitoring.drift import series as drift_series
from analytics.narrative import drift as drift_words
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import demo as demo_queries
from analytics.store import detection as detection_queries
from analytics.store import drift as q
from tests.builders import write_raw

# Weeks start on Monday 2024-01-01 (W1), 01-08 (W2), 01-15 (W3); guideline v2 from 01-15.
# Re-labels: b on i2 (y → x, 7 days, v1 → v1), c on i1 (y → x, 17 days, v1 → v2), a on i4 (x → x, 6 days).
EVENTS = """item_id,annotator_id,label,labeled_at,guideline_version,cohort
i1,a,x,2024-01-01,v1,expert
i1,b,x,2024-01-02,v1,crowd
i1,c,y,2024-01-03,v1,crowd
i2,a,x,2024-01-02,v1,expert
i2,b,y,2024-01-03,v1,crowd
i3,a,y,2024-01-08,v1,expert
i3,c,x,2024-01-09,v1,crowd
i2,b,x,2024-01-10,v1,crowd
i4,a,x,2024-01-15,v2,expert
i4,b,x,2024-01-16,v2,crowd
i4,c,x,2024-01-17,v2,crowd
i5,a,y,2024-01-16,v2,expert
i1,c,x,2024-01-20,v2,crowd
i4,a,x,2024-01-21,v2,expert
"""
GUIDELINES = """version,effective_at,summary
v1,2024-01-01,first
v2,2024-01-15,second
"""
W1, W2, W3 = (pd.Timestamp(day) for day in ("2024-01-01", "2024-01-08", "2024-01-15"))


@pytest.fixture
def store(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS)
    (tmp_path / "guidelines.csv").write_text(GUIDELINES)
    with Store(tmp_path / "lw.duckdb") as s:
        ingest.ingest(s, tmp_path / "guidelines.csv", kind="guidelines")
        ingest.ingest(s, tmp_path / "events.csv")
        yield s


def _triples(frame, *columns):
    return [tuple(row) for row in frame[list(columns)].itertuples(index=False)]


def test_label_counts_by_week_count_events_or_ratings(store):
    events = q.label_counts_by_window(store)
    assert _triples(events, "window", "label", "n") == [
        (W1, "x", 3), (W1, "y", 2), (W2, "x", 2), (W2, "y", 1), (W3, "x", 5), (W3, "y", 1)]
    ratings = q.label_counts_by_window(store, unit="ratings")
    # a's two labels of i4, both in W3, are one rating there.
    assert _triples(ratings, "window", "label", "n")[-2:] == [(W3, "x", 4), (W3, "y", 1)]
    assert ratings["n"].sum() == 13


def test_label_counts_by_guideline_version_and_filter(store):
    versions = q.label_counts_by_window(store, by="guideline_version")
    assert _triples(versions, "window", "label", "n") == [("v1", "x", 5), ("v1", "y", 3), ("v2", "x", 5),
                                                          ("v2", "y", 1)]
    crowd = q.label_counts_by_window(store, EventFilter(cohorts=("crowd",), start=dt.date(2024, 1, 8)))
    assert _triples(crowd, "window", "label", "n") == [(W2, "x", 2), (W3, "x", 3)]
    monthly = q.label_counts_by_window(store, by="month")
    assert monthly["window"].unique().tolist() == [pd.Timestamp("2024-01-01")]


@pytest.mark.parametrize(("call", "message"), [
    (lambda s: q.label_counts_by_window(s, by="year"), "unknown window"),
    (lambda s: q.label_counts_by_window(s, unit="items"), "unknown unit"),
    (lambda s: q.drift_inputs(s, grain="guideline_version"), "unknown grain"),
])
def test_unknown_windows_and_units_are_refused(store, call, message):
    with pytest.raises(ValueError, match=message):
        call(store)


def test_annotator_windows_are_the_leave_one_out_counts_by_week(store):
    windows = q.annotator_windows(store)
    a = windows[windows["annotator_id"] == "a"].set_index("window")
    # a: i1, i2 in W1 (both agree with the others' majority x); i3 in W2 (a = y, the other rater c = x);
    # i4 (two events, latest in W3, agrees) and i5 (no other rater) in W3.
    assert a["ratings"].to_dict() == {W1: 2, W2: 1, W3: 2}
    assert a["loo_items"].to_dict() == {W1: 2, W2: 1, W3: 1}
    assert a["loo_agree"].to_dict() == {W1: 2, W2: 0, W3: 1}
    assert a["events"].to_dict() == {W1: 2, W2: 1, W3: 3}
    assert set(windows["cohort"]) == {"expert", "crowd"}
    stats = agreement_queries.annotator_stats(store, by="week")
    assert windows["loo_agree"].sum() == stats["loo_agree"].sum() and len(windows) == len(stats)


def test_retest_windows_pair_consecutive_labels_of_one_annotator(store):
    retest = q.retest_windows(store)
    assert _triples(retest, "window", "gap_days", "across_versions", "pairs", "changed") == [
        (W2, 7, False, 1, 1), (W3, 6, False, 1, 0), (W3, 17, True, 1, 1)]
    only_first_weeks = q.retest_windows(store, EventFilter(end=dt.date(2024, 1, 14)))
    assert only_first_weeks["pairs"].sum() == 1


def test_agreement_windows_count_each_item_once_with_all_its_ratings(store):
    """i1 (a x, b x, c y → x on 01-20) and i2 (a x, b y → x) entered in W1 and agree fully over their
    latest ratings; i3 (a y, c x) entered in W2 and disagrees; i4 (a, b, c all x) in W3; i5 has one
    rater. Grouping ratings by their own week would see c's early y on i1 and none of its later x."""
    weekly = q.agreement_windows(store)
    assert weekly["period"].tolist() == [W1, W2, W3]
    assert weekly["items_multi"].tolist() == [2, 1, 1]
    assert weekly["pa_mean"].tolist() == [1.0, 0.0, 1.0]
    daily = q.agreement_windows(store, by="day")
    assert daily["items_multi"].sum() == 4  # the same items, by the day they entered
    assert daily["period"].tolist() == [pd.Timestamp(d) for d in ("2024-01-01", "2024-01-02", "2024-01-08",
                                                                  "2024-01-15")]
    crowd = q.agreement_windows(store, EventFilter(cohorts=("crowd",)))
    # Crowd ratings only: i1 (b x, c x), i2 (b x), i3 (c x), i4 (b x, c x): two items with two raters.
    assert crowd["items_multi"].sum() == 2 and crowd["pa_mean"].tolist() == [1.0, 1.0]


def test_display_inputs_read_the_drawn_tables_at_their_grain(store):
    shown = q.display_inputs(store, grain="day")
    assert shown.grain == "day" and shown.retest.empty and shown.item_counts.empty
    assert shown.label_counts.equals(q.label_counts_by_window(store, by="day"))
    assert shown.agreement.equals(q.agreement_windows(store, by="day"))
    with pytest.raises(ValueError, match="unknown grain"):
        q.display_inputs(store, grain="year")


def test_suspect_windows_count_items_by_their_first_label(store):
    with store.transaction() as cur:
        write_raw(cur, "detection_runs", [{"run_id": "r1", "created_at": dt.datetime(2024, 2, 1)}])
        write_raw(cur, "suspects", pd.DataFrame({
            "run_id": "r1", "item_id": ["i1", "i2", "i3", "i4", "i5", "i9"],
            "flagged": pd.array([True, False, True, False, None, True], dtype="boolean"),
        }))
        write_raw(cur, "suspects", [{"run_id": "r0", "item_id": "i4", "flagged": True}])
    weekly = q.suspect_windows(store, "r1")
    assert _triples(weekly, "window", "items", "flagged") == [(W1, 2, 1), (W2, 1, 1), (W3, 2, 0)]
    versions = q.suspect_windows(store, "r1", by="guideline_version")
    assert _triples(versions, "window", "items", "flagged") == [("v1", 3, 2), ("v2", 2, 0)]
    inputs = q.drift_inputs(store, run_id="r1")
    assert inputs.suspects["items"].sum() == 5 and inputs.guidelines["version"].tolist() == ["v1", "v2"]
    assert q.drift_inputs(store).suspects is None


def test_drift_inputs_feed_the_findings(store):
    inputs = q.drift_inputs(store)
    assert inputs.agreement["period"].tolist() == [W1, W2, W3]
    findings = drift.drift_findings(inputs, n_sim=99)
    assert findings.retest.pairs == 3 and findings.retest.across_versions["pairs_across"] == 1
    assert isinstance(drift_words.what_changed(findings), list)


# --- the demo ---------------------------------------------------------------------------------------------


GRAINS = ("day", "week", "month")


@pytest.fixture(scope="module")
def demo(demo_store_path):
    """The tests run on weekly windows (``drift.ANALYSIS_GRAIN``); days and months are drawn."""
    with Store(demo_store_path, read_only=True) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        inputs = q.drift_inputs(store, grain=drift.ANALYSIS_GRAIN, run_id=run_id)
        shown = {grain: q.display_inputs(store, grain=grain, run_id=run_id) for grain in ("day", "month")}
        meta = demo_queries.demo_meta(store)
        suspects = store.scalar("SELECT count(*) FROM suspects WHERE run_id = ?", [run_id])
    findings = {grain: drift.drift_findings(inputs, display=shown.get(grain)) for grain in GRAINS}
    return inputs, meta, suspects, findings


def test_the_demo_guideline_change_is_found_in_the_share_of_7_among_1_and_7(demo):
    """About 15 items of 1s and 7s a week, each labeled 3–5 times alike: the weekly share of '7' among
    them varies by some 11 points from week to week, and the fall of about 15 points still shows."""
    inputs, meta, _, _ = demo
    changed_at = pd.Timestamp(meta["guideline_change_at"])
    series = drift.share_series(inputs.label_counts, "7", among=("1", "7"))
    found = drift.change_points(series, name="share of '7' among 1/7 labels", min_size=1,
                                min_span_days=drift.MIN_SEGMENT_DAYS, grain=inputs.grain)
    assert found.p_value < 0.05
    (change,) = found.changes.itertuples()
    assert abs(change.window - changed_at) <= pd.Timedelta(days=7)
    assert change.change < -0.1 and change.change_high < 0


def test_the_demo_findings_name_the_guideline_the_decaying_annotator_and_the_vendor_cohort(demo):
    _, meta, _, by_grain = demo
    findings = by_grain["week"]
    declining = findings.annotators.annotators.query("declining")["annotator_id"].tolist()
    assert meta["decaying_annotator"] in declining
    assert len(declining) <= 3, declining
    vendor = findings.onboarding.query("cohort == 'vendor'").set_index("metric")
    joined = pd.Timestamp(vendor["joined"].iloc[0])
    assert abs(joined - pd.Timestamp(meta["vendor_joins_at"])) <= pd.Timedelta(days=7)
    gold = vendor.loc["gold accuracy"]
    assert gold["since_vs_rest"] < -0.05 and gold["since_vs_rest_q"] < 0.05
    assert gold["vs_rest"] < -0.05  # in the first four weeks too, on fewer ratings
    assert vendor["share_of_ratings"].iloc[0] > 0.2  # the vendor carries a large share of the work at once
    for grain in GRAINS:
        sentences = drift_words.what_changed(by_grain[grain])
        seven = next(s for s in sentences if "the share of '7' among all labels fell" in s)
        assert "guideline v2 took effect" in seven, seven
        assert any(meta["decaying_annotator"] in s and "declining" in s for s in sentences)
        assert any(s.startswith("Cohort vendor (12 annotators) joined on 2026-06-15") for s in sentences)
        assert any(s.startswith("Since joining, cohort vendor's gold accuracy") for s in sentences)
        assert any(s.startswith("Under guideline v2 (from 2026-06-01) percent agreement") for s in sentences)


def _story(findings) -> dict[str, list[pd.Timestamp]]:
    return {cp.series: list(cp.changes["window"]) for cp in findings.change_points}


def test_days_weeks_and_months_tell_the_same_story(demo):
    """The same series change at every grain, on dates within a week of each other (the tests run on
    weeks; days date each change within its week); no segment is shorter than 28 days."""
    _, _, _, by_grain = demo
    stories = {grain: _story(by_grain[grain]) for grain in GRAINS}
    assert stories["week"] and set(stories["day"]) == set(stories["week"]) == set(stories["month"])
    assert stories["month"] == stories["week"]
    for series, weekly in stories["week"].items():
        daily = stories["day"][series]
        assert len(daily) == len(weekly)
        assert all(w - pd.Timedelta(days=7) <= d < w + pd.Timedelta(days=7)
                   for d, w in zip(daily, weekly, strict=True)), (series, daily, weekly)
    lines = {grain: drift_words.what_changed(by_grain[grain]) for grain in GRAINS}
    assert lines["week"] == lines["month"]
    assert len(lines["day"]) == len(lines["week"])
    for grain in GRAINS:
        for cp in by_grain[grain].change_points:
            ends = [drift_series._window_end(pd.Timestamp(end), grain) for end in cp.segments["end"]]
            spans = pd.Series(ends) - pd.to_datetime(cp.segments["start"]).reset_index(drop=True)
            assert (spans >= pd.Timedelta(days=drift.MIN_SEGMENT_DAYS)).all(), (grain, cp.segments)


def test_the_demo_drift_finds_its_effects_and_no_noise(demo):
    """Only the series the injected effects move change: agreement (the guideline and the vendor), the
    share of '7' and of '1' (the guideline) and the 1/7 pair; no other label's share, no suspect rate."""
    _, _, _, by_grain = demo
    findings = by_grain["week"]
    moved = {cp.series for cp in findings.change_points}
    assert {"percent agreement", "share of '7' among all labels"} <= moved
    allowed = {"percent agreement", "agreement with the majority", "gold accuracy",
               "share of '7' among all labels", "share of '1' among all labels",
               "share of '7' among '1'/'7' labels"}
    assert moved <= allowed, moved


def test_the_demo_suspects_and_retests_are_all_counted(demo):
    inputs, meta, suspects, by_grain = demo
    findings = by_grain["week"]
    assert inputs.suspects["items"].sum() == suspects
    assert inputs.retest["pairs"].sum() == int(meta["retest_items"])
    assert inputs.retest["gap_days"].between(14, 42).all()
    assert findings.retest.pairs == int(meta["retest_items"])


# --- stores without injected effects ----------------------------------------------------------------------


N_NULL = 12


def _null_events(seed: int) -> pd.DataFrame:
    """A stationary world: fixed class shares, annotators of constant accuracy, a guideline version that
    changes nothing, re-labels drawn like the first labels."""
    rng = np.random.default_rng(seed)
    items, annotators, labels = 600, 20, np.array(["a", "b", "c", "d"])
    accuracy = rng.uniform(0.7, 0.9, annotators)
    start = pd.Timestamp("2026-03-02")
    queued = start + pd.to_timedelta(rng.uniform(0, 180 - 3, items), unit="D")
    truth = rng.choice(4, size=items, p=[0.4, 0.3, 0.2, 0.1])
    rows = []
    for i in range(items):
        chosen = rng.choice(annotators, size=int(rng.integers(3, 5)), replace=False)
        for j in chosen:
            when = queued[i] + pd.Timedelta(days=float(rng.uniform(0, 2)))
            rows.append((i, j, when))
        if rng.random() < 0.05:
            rows.append((i, chosen[0], queued[i] + pd.Timedelta(days=float(rng.uniform(14, 40)))))
    frame = pd.DataFrame(rows, columns=["i", "j", "labeled_at"])
    right = rng.random(len(frame)) < accuracy[frame["j"]]
    given = np.where(right, truth[frame["i"]], rng.integers(0, 4, len(frame)))
    frame = frame[frame["labeled_at"] < start + pd.Timedelta(days=182)]
    return pd.DataFrame({
        "item_id": [f"n{seed}-{i}" for i in frame["i"]],
        "annotator_id": [f"n{seed}-a{j}" for j in frame["j"]],
        "label": labels[given[frame.index]], "labeled_at": frame["labeled_at"].dt.floor("s"),
        "guideline_version": np.where(frame["labeled_at"] < pd.Timestamp("2026-06-01"), "v1", "v2"),
        "cohort": np.where(frame["j"] % 2 == 0, "expert", "crowd"), "dataset": f"null{seed}",
    })


@pytest.fixture(scope="module")
def null_findings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("null")
    pd.concat([_null_events(seed) for seed in range(N_NULL)]).to_csv(folder / "events.csv", index=False)
    (folder / "guidelines.csv").write_text("version,effective_at,summary\nv1,2026-03-01,a\nv2,2026-06-01,b\n")
    with Store(folder / "null.duckdb") as store:
        ingest.ingest(store, folder / "guidelines.csv", kind="guidelines")
        report = ingest.ingest(store, folder / "events.csv")
        assert report.rows_rejected == 0
        found = [drift.drift_findings(q.drift_inputs(store, EventFilter(dataset=f"null{seed}")), n_sim=499,
                                      random_state=seed) for seed in range(N_NULL)]
    return found


@pytest.mark.slow
def test_stores_without_effects_flag_nothing_beyond_the_nominal_rate(null_findings):
    """Each family of flags (series with a change, shifted windows, guideline rows, declining annotators,
    window drops) is controlled at 5 % per store: over 12 independent null stores, a family flags in at
    most 2 of them (P(Bin(12, 0.05) ≥ 3) ≈ 2 %)."""
    families = {
        "change points": [bool(f.change_points) for f in null_findings],
        "shifted windows": [bool(f.shift["significant"].any()) for f in null_findings],
        "guideline rows": [bool(f.guidelines["significant"].any()) for f in null_findings],
        "declining annotators": [bool(f.annotators.annotators["declining"].any()) for f in null_findings],
        "window drops": [bool(f.annotators.windows["drop"].any()) for f in null_findings],
    }
    counts = {name: sum(flags) for name, flags in families.items()}
    assert max(counts.values()) <= 2, counts
    assert all(f.onboarding.empty for f in null_findings)
    assert all(f.retest is not None and f.retest.trend_p > 0.01 for f in null_findings)
