"""Annotators who drift: each annotator's agreement with their peers over time (a logistic trend on the
windows they worked), windows with a significant drop, and accuracy against the Dawid–Skene consensus per
window.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core.stats import bh_qvalues, success_rate, wilson_interval
from analytics.monitoring.drift.series import GRAIN_DAYS

_EPS = 1e-9




@dataclasses.dataclass(frozen=True, eq=False)
class AnnotatorDrift:
    """Each annotator's agreement over time, relative to their peers, with trend and window flags.

    Attributes
    ----------
    windows : DataFrame
        One row per (annotator, window): ``window, annotator_id, cohort, loo_items, loo_agree, agreement,
        low, high, peer_agreement, expected, drop_z, drop_p, drop_q, drop`` (+ ``ds_n, ds_accuracy`` when
        Dawid–Skene accuracies were given).
    annotators : DataFrame
        One row per annotator: ``annotator_id, cohort, loo_items, agreement, first_half, second_half,
        trend_per_30d, trend_z, trend_p, trend_q, declining, drops`` (+ ``ds_trend_per_30d, ds_trend_q``),
        ``flags``; declining annotators first, then by trend.
    fdr : float
        Benjamini–Hochberg rate of the flags.
    """

    windows: pd.DataFrame
    annotators: pd.DataFrame
    fdr: float


def _days(windows: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(windows)
    return ((stamps - stamps.min()) / pd.Timedelta(days=1)).to_numpy(float)


def _trend(frame: pd.DataFrame, *, x: str, n: str, base: str) -> pd.DataFrame:
    """Cochran–Armitage trend per ``group`` of x/n over the score ``s``, relative to a per-row base rate.

    Per group: δ = Σ (x − n b) / Σ n (the group's constant excess over the base), π = b + δ,
    T = Σ (s − s̄)(x − n b) with s̄ the n-weighted mean score, Var T = Σ (s − s̄)² n π (1 − π), z = T / √Var;
    the slope is T / Σ n (s − s̄)² (change in rate per unit of s). With b = 0 this is the classic test.
    """
    f = frame[frame[n] > 0]
    g = f.groupby("group", sort=False)
    total = g[n].transform("sum")
    excess = (f[x] - f[n] * f[base]).groupby(f["group"]).transform("sum") / total
    s_bar = (f[n] * f["s"]).groupby(f["group"]).transform("sum") / total
    pi = np.clip(f[base] + excess, _EPS, 1 - _EPS)
    centred = f["s"] - s_bar
    parts = pd.DataFrame({
        "group": f["group"], "t": centred * (f[x] - f[n] * f[base]), "v": centred**2 * f[n] * pi * (1 - pi),
        "ss": f[n] * centred**2, "n": f[n],
    })
    sums = parts.groupby("group", sort=False).agg(t=("t", "sum"), v=("v", "sum"), ss=("ss", "sum"),
                                                  n=("n", "sum"), windows=("n", "size"))
    with np.errstate(divide="ignore", invalid="ignore"):
        sums["z"] = np.where(sums["v"] > 0, sums["t"] / np.sqrt(sums["v"]), np.nan)
        sums["slope"] = np.where(sums["ss"] > 0, sums["t"] / sums["ss"], np.nan)
    return sums


def annotator_drift(
    windows: pd.DataFrame,
    *,
    ds: pd.DataFrame | None = None,
    min_items: int = 20,
    min_window_items: int = 10,
    fdr: float = 0.05,
    confidence: float = 0.95,
) -> AnnotatorDrift:
    """Annotators whose agreement with the majority falls over time, relative to their peers.

    Parameters
    ----------
    windows : DataFrame
        ``analytics.store.drift.annotator_windows``: ``window, annotator_id, cohort, loo_items, loo_agree``.
    ds : DataFrame or None
        ``ds_accuracy_windows``: ``window, annotator_id, ds_n, ds_correct``; adds the same trend test on
        Dawid–Skene accuracy.
    min_items : int
        Annotators with fewer majority-comparable ratings are not tested.
    min_window_items : int
        Windows with fewer are not tested for a drop.
    fdr : float
        Benjamini–Hochberg rate, across annotators (trends) and across (annotator, window) (drops).
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    AnnotatorDrift

    Notes
    -----
    Everyone's agreement moves with the work: when a noisier cohort joins, the majority an annotator is
    compared with gets worse for all. So each annotator is compared with their *peers in the same window*:
    p_w, the agreement of everyone else in window w. Under "no drift" the annotator's rate in window w is
    p_w + δ with a constant δ (their usual excess over peers).

    **Trend** (flag ``declining``): a Cochran–Armitage test of x_w ~ Bin(n_w, p_w + δ) against a linear
    trend in time (days since the first window): T = Σ (s_w − s̄)(x_w − n_w p_w), one-sided for a decline,
    BH across the annotators tested. ``trend_per_30d`` is the fitted change of their rate relative to peers
    per 30 days.

    **Window drops** (flag ``window drop``): window w against the annotator's other windows: the p-value is
    the binomial P(X ≤ x_w) for X ~ Bin(n_w, π_w), π_w = p_w + δ_(−w) (``drop_z`` shows the same as
    (x_w − n_w π_w) / √(n_w π_w (1 − π_w))), BH across every window tested. A drop
    needs many ratings in one window to stand out; the trend test pools them and finds a steady decline
    long before.

    ``first_half`` and ``second_half`` are the annotator's raw agreement before and after the median of
    their own ratings in time. Ratings are treated as independent Bernoulli draws given the window.

    References
    ----------
    Armitage, P. (1955). Tests for linear trends in proportions and frequencies. Biometrics 11, 375–386.
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., §5.3.5 (linear trend in proportions).
    """
    cols = ["window", "annotator_id", "cohort", "loo_items", "loo_agree"]
    table = windows[cols].copy()
    if ds is not None:
        table = table.merge(ds[["window", "annotator_id", "ds_n", "ds_correct"]], how="left",
                            on=["window", "annotator_id"]).fillna({"ds_n": 0.0, "ds_correct": 0.0})
    table = table.sort_values(["annotator_id", "window"], ignore_index=True)
    table["s"] = _days(table["window"]) if len(table) else np.zeros(0)
    table["group"] = table["annotator_id"]
    _peer_rate(table, "loo_agree", "loo_items", "peer_agreement")
    x, n = table["loo_agree"].to_numpy(float), table["loo_items"].to_numpy(float)
    table["agreement"] = success_rate(x, n)
    table["low"], table["high"] = wilson_interval(x, n, confidence=confidence) if len(table) else ([], [])
    _window_drops(table, min_items, min_window_items, fdr)

    per = table.groupby("annotator_id", sort=True).agg(
        cohort=("cohort", "first"), loo_items=("loo_items", "sum"), loo_agree=("loo_agree", "sum"))
    per["agreement"] = success_rate(per["loo_agree"], per["loo_items"])
    halves = _halves(table)
    per = per.join(halves)
    usable = table[table["peer_agreement"].notna()]
    trend = _trend(usable, x="loo_agree", n="loo_items", base="peer_agreement").reindex(per.index)
    per["trend_per_30d"] = trend["slope"] * 30
    per["trend_z"] = trend["z"]
    per["trend_p"] = stats.norm.cdf(trend["z"].to_numpy(float))
    tested = ((trend["n"] >= min_items) & (trend["windows"] >= 2) & trend["z"].notna()).to_numpy()
    per["trend_q"] = bh_qvalues(np.nan_to_num(per["trend_p"].to_numpy(float), nan=1.0), tested, fdr)
    per["declining"] = per["trend_q"] < fdr
    per["drops"] = table.groupby("annotator_id")["drop"].sum().reindex(per.index).fillna(0).astype(int)
    window_cols = [*cols, "agreement", "low", "high", "peer_agreement", "expected", "drop_z", "drop_p",
                   "drop_q", "drop"]
    if ds is not None:
        _peer_rate(table, "ds_correct", "ds_n", "peer_ds")
        table["ds_accuracy"] = success_rate(table["ds_correct"], table["ds_n"])
        ds_trend = _trend(table[table["peer_ds"].notna()], x="ds_correct", n="ds_n", base="peer_ds")
        ds_trend = ds_trend.reindex(per.index)
        per["ds_trend_per_30d"] = ds_trend["slope"] * 30
        ds_tested = ((ds_trend["n"] >= min_items) & ds_trend["z"].notna()).to_numpy()
        p_ds = np.nan_to_num(stats.norm.cdf(ds_trend["z"].to_numpy(float)), nan=1.0)
        per["ds_trend_q"] = bh_qvalues(p_ds, ds_tested, fdr)
        window_cols += ["ds_n", "ds_accuracy"]
    per["flags"] = [
        [flag for flag, on in (("declining", row.declining), ("window drop", row.drops > 0),
                               ("declining (Dawid–Skene)", getattr(row, "ds_trend_q", np.nan) < fdr)) if on]
        for row in per.itertuples()
    ]
    per = per.reset_index().sort_values(["declining", "trend_z"], ascending=[False, True], ignore_index=True)
    annotator_cols = ["annotator_id", "cohort", "loo_items", "agreement", "first_half", "second_half",
                      "trend_per_30d", "trend_z", "trend_p", "trend_q", "declining", "drops"]
    annotator_cols += ["ds_trend_per_30d", "ds_trend_q"] if ds is not None else []
    return AnnotatorDrift(windows=table[window_cols], annotators=per[[*annotator_cols, "flags"]], fdr=fdr)


def _peer_rate(table: pd.DataFrame, x: str, n: str, out: str) -> None:
    """Everyone else's rate in the same window (NaN without peers)."""
    totals = table.groupby("window")[[x, n]].transform("sum")
    table[out] = success_rate(totals[x] - table[x], totals[n] - table[n])


def _window_drops(table: pd.DataFrame, min_items: int, min_window_items: int, fdr: float) -> None:
    x, n, base = (table[c].to_numpy(float) for c in ("loo_agree", "loo_items", "peer_agreement"))
    ok = np.isfinite(base)
    residual = np.where(ok, x - n * np.nan_to_num(base), 0.0)
    used = np.where(ok, n, 0.0)
    total_res = pd.Series(residual).groupby(table["annotator_id"]).transform("sum").to_numpy()
    total_n = pd.Series(used).groupby(table["annotator_id"]).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        pi = np.clip(base + (total_res - residual) / (total_n - used), _EPS, 1 - _EPS)
        z = (x - n * pi) / np.sqrt(n * pi * (1 - pi))
    tested = ok & (n >= min_window_items) & (total_n - used >= min_items) & np.isfinite(z)
    table["expected"] = np.where(ok, pi, np.nan)
    table["drop_z"] = np.where(tested, z, np.nan)
    # Exact binomial tail: with 10–30 ratings at rates near 0.9 the normal tail is far too thin.
    table["drop_p"] = np.where(tested, stats.binom.cdf(x, n, np.where(tested, pi, 0.5)), np.nan)
    table["drop_q"] = bh_qvalues(np.nan_to_num(table["drop_p"].to_numpy(float), nan=1.0), tested, fdr)
    table["drop"] = table["drop_q"] < fdr


def _halves(table: pd.DataFrame) -> pd.DataFrame:
    cum = table.groupby("annotator_id")["loo_items"].cumsum() - table["loo_items"] / 2
    total = table.groupby("annotator_id")["loo_items"].transform("sum")
    second = cum >= total / 2
    sums = table.assign(second=second).groupby(["annotator_id", "second"])[["loo_agree", "loo_items"]].sum()
    rate = success_rate(sums["loo_agree"], sums["loo_items"])
    wide = pd.Series(rate, index=sums.index).unstack("second").reindex(columns=[False, True])
    return pd.DataFrame({"first_half": wide[False], "second_half": wide[True]}, index=wide.index)


def ds_accuracy_windows(ratings: pd.DataFrame, probas: pd.DataFrame, *, grain: str = "week") -> pd.DataFrame:
    """Dawid–Skene accuracy per annotator and window: ``window, annotator_id, ds_n, ds_correct``.

    Parameters
    ----------
    ratings : DataFrame with columns ``item_id, annotator_id, label, labeled_at``
        One row per rating (``analytics.store.agreement.ratings``).
    probas : DataFrame
        ``DawidSkene.probas_``: items × classes posteriors.
    grain : str
        ``day``, ``week`` (starting Monday, as DuckDB's ``date_trunc``) or ``month``.

    Returns
    -------
    DataFrame
        ``ds_correct`` sums, over the annotator's ratings in the window, the posterior probability that the
        label given is the item's true class; ``ds_correct / ds_n`` is their expected accuracy. Ratings of
        items or labels the model does not know are left out.

    Notes
    -----
    The posterior of an item includes the annotator's own rating, which pulls the consensus towards them
    (more so for a prolific annotator on items with few raters); the bias is the same in every window, so
    a trend in this accuracy is still a trend.
    """
    if grain not in GRAIN_DAYS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAIN_DAYS)}")
    rows = probas.index.get_indexer(ratings["item_id"])
    columns = pd.Index(probas.columns.astype(str)).get_indexer(ratings["label"].astype(str))
    known = (rows >= 0) & (columns >= 0)
    posterior = probas.to_numpy(float)[rows[known], columns[known]]
    stamps = pd.to_datetime(ratings["labeled_at"][known])
    if grain == "day":
        window = stamps.dt.floor("D")
    else:
        window = stamps.dt.to_period("W-SUN" if grain == "week" else "M").dt.start_time
    frame = pd.DataFrame({"window": window.to_numpy(), "ds_correct": posterior,
                          "annotator_id": ratings["annotator_id"][known].to_numpy()})
    out = frame.groupby(["window", "annotator_id"], sort=True).agg(
        ds_n=("ds_correct", "size"), ds_correct=("ds_correct", "sum")).reset_index()
    return out.astype({"ds_n": float})
