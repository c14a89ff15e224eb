"""The statistics from the engine's results equal the existing code's on the same events held in memory.

The in-memory side is LabelWatch's own code where it exists (``latest_ratings``, ``label_counts``, the
agreement coefficients on events, ``DawidSkene.fit``), and a plain pandas count of the same definitions where
the existing code reads the store (the annotator tallies of ``analytics.store.agreement.annotator_stats``,
the slice cube of ``analytics.store.slices.slice_cube``); the statistics on top (``annotator_table``,
``shift_table``, ``slice_noise_table``) are then run on both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import agreement
from analytics.consensus.dawid_skene import DawidSkene
from analytics.core.ratings import label_counts, latest_ratings
from analytics.engine import statistics
from analytics.monitoring.annotators import annotator_table
from analytics.monitoring.drift.distribution import shift_table
from analytics.monitoring.slices import slice_noise_table


@pytest.fixture(scope="module")
def ratings(events: pd.DataFrame) -> pd.DataFrame:
    """Latest rating per (item, annotator) with its time: ``latest_ratings``'s rows, checked below."""
    order = events.assign(_t=events["labeled_at"].isna()).sort_values(
        ["_t", "labeled_at", "event_id"], ascending=[False, True, True], kind="stable")
    return order.drop_duplicates(["item_id", "annotator_id"], keep="last").drop(columns="_t")


def test_the_lake_ratings_are_latest_ratings(events, ratings, duck):
    expected = latest_ratings(events)
    key = ["item_id", "annotator_id", "label"]
    mine = ratings[key].sort_values(key).reset_index(drop=True).astype(expected.dtypes.to_dict())
    pd.testing.assert_frame_equal(mine, expected.sort_values(key).reset_index(drop=True))
    assert int(duck.label_counts()["n"].sum()) == len(expected)


def test_label_counts_and_agreement_equal_the_in_memory_ones(events, duck):
    expected = label_counts(events)
    pd.testing.assert_frame_equal(duck.label_counts(), expected.astype(duck.label_counts().dtypes.to_dict()))
    summary = statistics.agreement_summary(duck.label_counts())
    in_memory = {
        "percent_agreement": agreement.percent_agreement(events),
        "fleiss_kappa": agreement.fleiss_kappa(events),
        "gwet_ac1": agreement.gwet_ac1(events),
        "krippendorff_alpha": agreement.krippendorff_alpha(events, level="nominal"),
    }
    for name, value in in_memory.items():
        assert 0.3 < value < 0.9
        assert summary[name] == pytest.approx(value, rel=1e-12), name
    assert summary["items"] == expected["item_id"].nunique()


def _annotator_tallies(events, ratings, gold, cohorts):
    """``annotator_stats``'s definitions, counted in pandas: pairs of an item's labels by a self-merge."""
    counts = ratings.groupby(["item_id", "label"]).size().rename("n").reset_index()
    counts["raters"] = counts.groupby("item_id")["n"].transform("sum")
    pairs = counts.merge(counts[["item_id", "label", "n"]], on="item_id", suffixes=("", "_b"))
    pairs = pairs[pairs["label"] != pairs["label_b"]]
    best = pairs.groupby(["item_id", "label"])["n_b"].max().rename("max_other")
    counts = counts.merge(best.reset_index(), how="left").fillna({"max_other": 0})
    at_best = pairs.merge(best.reset_index(), on=["item_id", "label"])
    held = (at_best["n_b"] == at_best["max_other"]).groupby([at_best["item_id"], at_best["label"]]).sum()
    counts = counts.merge(held.rename("at_max_other").reset_index(), how="left").fillna({"at_max_other": 0})
    own = counts["n"] - 1
    counts["loo_item"] = (own > counts["max_other"]) | ((counts["max_other"] > own)
                                                         & (counts["at_max_other"] == 1))
    counts["loo_hit"] = own > counts["max_other"]
    r = ratings.merge(counts, on=["item_id", "label"])
    gold_label = r["item_id"].map(gold.set_index("item_id")["label"])
    r = r.assign(shared=r["raters"] > 1, agree=r["n"] - 1, other=r["raters"] - 1,
                 gold_n=gold_label.notna(), gold_correct=gold_label == r["label"])
    ordered = events.sort_values(["labeled_at", "event_id"], kind="stable")
    previous = ordered.groupby(["item_id", "annotator_id"])["label"].shift()
    retest = ordered.assign(retest_n=previous.notna(), retest_same=previous == ordered["label"])
    per = r.groupby("annotator_id").agg(
        items=("item_id", "size"), first_at=("labeled_at", "min"), last_at=("labeled_at", "max"),
        shared_items=("shared", "sum"), agree_pairs=("agree", "sum"), other_pairs=("other", "sum"),
        loo_items=("loo_item", "sum"), loo_agree=("loo_hit", "sum"), gold_n=("gold_n", "sum"),
        gold_correct=("gold_correct", "sum"),
    )
    per["events"] = events.groupby("annotator_id").size()
    per[["retest_n", "retest_same"]] = retest.groupby("annotator_id")[["retest_n", "retest_same"]].sum()
    per["cohort"] = cohorts.reindex(per.index).fillna("unknown")
    return per.reset_index()


def test_annotator_tallies_and_table_equal_the_in_memory_ones(events, ratings, gold, lake, duck):
    cohorts = pd.read_parquet(lake / "annotators").set_index("annotator_id")["cohort"]
    tallies = duck.annotator_tallies()
    expected = _annotator_tallies(events, ratings, gold, cohorts)[list(tallies.columns)]
    expected = expected.astype(tallies.dtypes.to_dict())
    pd.testing.assert_frame_equal(tallies, expected)
    assert tallies["loo_items"].sum() > 0 and tallies["gold_correct"].sum() > 0
    assert tallies["gold_n"].sum() > tallies["gold_correct"].sum()

    shares = label_counts(events).groupby("label")["n"].sum()
    table = statistics.annotator_reliability(tallies, duck.label_counts())
    pd.testing.assert_frame_equal(table, annotator_table(expected, label_shares=shares / shares.sum()))
    # The generator hides 2 % spammers in the crowd: some are flagged.
    assert table["flags"].map(len).gt(0).sum() >= 5


def test_window_counts_and_drift_equal_the_in_memory_ones(ratings, duck):
    windows = duck.window_label_counts()
    week = ratings["labeled_at"].dt.to_period("W-SUN").dt.start_time.rename("window")
    expected = ratings.groupby([week, "label"]).size().rename("n").reset_index()
    pd.testing.assert_frame_equal(windows, expected.astype(windows.dtypes.to_dict()))
    assert (windows["window"].dt.day_of_week == 0).all()
    table = statistics.label_drift(windows)
    pd.testing.assert_frame_equal(table, shift_table(expected, grain="week"))
    assert table["p_value"].notna().sum() >= 10


def test_slice_cube_and_noise_table_equal_the_in_memory_ones(events, items, duck):
    counts = label_counts(events)
    per_item = counts.groupby("item_id").agg(ratings=("n", "sum"), labels=("n", "size"))
    per_item = per_item.join(items.set_index("item_id")[["region", "source"]])
    per_item = per_item.assign(rated_items=per_item["ratings"] > 1, disputed=per_item["labels"] > 1)
    expected = per_item.groupby(["region", "source"], dropna=False).agg(
        items=("ratings", "size"), ratings=("ratings", "sum"), rated_items=("rated_items", "sum"),
        disputed=("disputed", "sum"),
    ).astype(np.int64)
    cube = duck.slice_cube()
    pd.testing.assert_frame_equal(cube, expected, check_index_type=False)
    table = statistics.slice_noise(cube)
    pd.testing.assert_frame_equal(table, slice_noise_table(expected, metric="disagreement"))
    # The generator makes fax about 3x noisier per rating: its slice is the noisiest, significantly.
    assert table.iloc[0]["slice"] == "source = fax" and table.iloc[0]["significant"]


@pytest.fixture(scope="module")
def sql_fit(duck) -> DawidSkene:
    return statistics.fit_dawid_skene(duck.engine)


def test_the_sql_dawid_skene_fit_equals_the_in_memory_fit(events, sql_fit):
    """To convergence (default tol 1e-7 per rating) on 1e6 ratings, in float64 on both sides."""
    in_memory = DawidSkene(dtype="float64").fit(events)
    assert in_memory.fallback_ is None
    assert sql_fit.n_iter_ == in_memory.n_iter_ and sql_fit.converged_
    np.testing.assert_allclose(sql_fit.confusions_, in_memory.confusions_, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(sql_fit.priors_, in_memory.priors_, rtol=1e-9)
    pd.testing.assert_series_equal(sql_fit.skills_, in_memory.skills_, rtol=1e-9)
    assert sql_fit.log_likelihood_ == pytest.approx(in_memory.log_likelihood_, rel=1e-12)
    pd.testing.assert_frame_equal(sql_fit.probas_, in_memory.probas_, check_exact=False, rtol=1e-7,
                                  atol=1e-10)
    pd.testing.assert_series_equal(sql_fit.labels_, in_memory.labels_)
    pd.testing.assert_series_equal(sql_fit.n_ratings_, in_memory.n_ratings_)


@pytest.mark.parametrize("options", [dict(pooling="sparse", min_labels=30), dict(pooling="shrink"),
                                     dict(smoothing=0.0)], ids=["sparse", "shrink", "no-smoothing"])
def test_the_sql_fit_follows_the_pooling_and_smoothing_options(events, duck, options):
    """Three EM iterations of each option: the same confusions, priors and pooled annotators."""
    sql = statistics.fit_dawid_skene(duck.engine, DawidSkene(max_iter=3, **options), with_posteriors=False)
    in_memory = DawidSkene(max_iter=3, dtype="float64", **options).fit(events)
    assert sql.probas_ is None and sql.n_iter_ == in_memory.n_iter_ == 3
    np.testing.assert_allclose(sql.confusions_, in_memory.confusions_, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(sql.priors_, in_memory.priors_, rtol=1e-9)
    pd.testing.assert_series_equal(sql.pooled_, in_memory.pooled_)


def test_options_the_sql_fit_does_not_implement_are_refused(duck):
    with pytest.raises(ValueError, match="init='random'"):
        statistics.fit_dawid_skene(duck.engine, DawidSkene(init="random"))
    with pytest.raises(ValueError, match="dtype='float32'"):
        statistics.fit_dawid_skene(duck.engine, DawidSkene(dtype="float32"))
