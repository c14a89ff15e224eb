"""Cohorts joining: whether the labels of a cohort that joined later differ from the others', before and
after it joined (two-proportion comparisons with Wilson/Newcombe intervals and BH control).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.core.stats import bh_qvalues, one_sided_lower_p, success_rate, wilson_interval


def _compare_proportions(x1: float, n1: float, x2: float, n2: float, confidence: float) -> dict:
    """Difference p2 − p1 with Newcombe's hybrid-score interval and the pooled two-sided z-test p-value."""
    p1, p2 = success_rate(x1, n1), success_rate(x2, n2)
    l1, u1 = wilson_interval(x1, n1, confidence=confidence)
    l2, u2 = wilson_interval(x2, n2, confidence=confidence)
    diff = p2 - p1
    p = np.minimum(1.0, 2 * np.minimum(one_sided_lower_p(x1, n1, x2, n2), one_sided_lower_p(x2, n2, x1, n1)))
    return {"change": float(diff), "change_low": float(diff - np.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)),
            "change_high": float(diff + np.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)),
            "p_value": float(p) if n1 > 0 and n2 > 0 else float("nan")}


#: Metrics of ``onboarding_effects``: name → (successes, trials) columns of ``annotator_windows``.
ONBOARDING_METRICS = {
    "agreement with the majority": ("loo_agree", "loo_items"),
    "gold accuracy": ("gold_correct", "gold_n"),
}


def onboarding_effects(
    windows: pd.DataFrame,
    *,
    early_days: int = 28,
    min_items: int = 20,
    fdr: float = 0.05,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How cohorts that joined after the first window did in their first weeks.

    Parameters
    ----------
    windows : DataFrame
        ``analytics.store.drift.annotator_windows``: ``window, annotator_id, cohort, ratings, loo_items,
        loo_agree`` and, for gold accuracy, ``gold_n, gold_correct``.
    early_days : int
        The windows starting within this many days of the cohort's first window are its onboarding.
    min_items : int
        Comparisons with fewer trials on a side are not tested.
    fdr, confidence : float
        Benjamini–Hochberg rate across all comparisons; coverage of the intervals.

    Returns
    -------
    DataFrame
        One row per (late cohort, metric of ``ONBOARDING_METRICS`` present): ``cohort, joined, annotators,
        share_of_ratings`` (the cohort's share of all ratings in its early windows), ``metric, early_n, early,
        early_low, early_high, rest_n, rest`` (the other cohorts in the same windows), ``vs_rest, vs_rest_low,
        vs_rest_high, vs_rest_p, vs_rest_q`` (early − rest), ``later_n, later`` (the cohort after
        onboarding), ``vs_later, vs_later_low, vs_later_high, vs_later_p, vs_later_q`` (later − early), and
        ``since_n, since, since_rest, since_vs_rest, since_vs_rest_low, since_vs_rest_high, since_vs_rest_p,
        since_vs_rest_q``: the cohort against the others over every window since it joined. Empty when
        every cohort labeled from the first window on.

    Notes
    -----
    Agreement is with the leave-one-out majority, which a large new cohort itself shapes: gold accuracy,
    where there is gold, is the cleaner comparison. Differences have Newcombe's (1998) hybrid-score interval
    and a two-sided pooled z-test, which treats ratings as independent: annotators differ, so with a few
    annotators in a cohort read the result as descriptive.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions.
    Statistics in Medicine 17, 873–890.
    """
    columns = ["cohort", "joined", "annotators", "share_of_ratings", "metric", "early_n", "early",
               "early_low", "early_high", "rest_n", "rest", "vs_rest", "vs_rest_low", "vs_rest_high",
               "vs_rest_p", "vs_rest_q", "later_n", "later", "vs_later", "vs_later_low", "vs_later_high",
               "vs_later_p", "vs_later_q", "since_n", "since", "since_rest", "since_vs_rest",
               "since_vs_rest_low", "since_vs_rest_high", "since_vs_rest_p", "since_vs_rest_q"]
    active = windows[windows["ratings"] > 0]
    metrics = {name: cols for name, cols in ONBOARDING_METRICS.items() if set(cols) <= set(windows)}
    if active.empty:
        return pd.DataFrame({c: [] for c in columns})
    order = list(pd.DatetimeIndex(active["window"].unique()).sort_values())
    joined = active.groupby("cohort")["window"].min()
    rows = []
    for cohort, start in joined[joined > order[0]].sort_values().items():
        cutoff = start + pd.Timedelta(days=early_days)
        early = active["window"].isin([w for w in order if start <= w < cutoff])
        later = active["window"].isin([w for w in order if w >= cutoff])
        since = active["window"] >= start
        mine = active["cohort"] == cohort
        share = active.loc[early & mine, "ratings"].sum() / active.loc[early, "ratings"].sum()
        context = {"cohort": cohort, "joined": start, "share_of_ratings": share,
                   "annotators": active.loc[mine, "annotator_id"].nunique()}
        for name, (x, n) in metrics.items():
            e, r, lat, c, o = (active.loc[rows_of, [x, n]].sum() for rows_of in (
                early & mine, early & ~mine, later & mine, since & mine, since & ~mine))
            low, high = wilson_interval(e[x], e[n], confidence=confidence)
            vs_rest = _compare_proportions(r[x], r[n], e[x], e[n], confidence)
            vs_later = _compare_proportions(e[x], e[n], lat[x], lat[n], confidence)
            since_vs = _compare_proportions(o[x], o[n], c[x], c[n], confidence)
            rows.append({
                **context, "metric": name, "early_n": e[n], "early": success_rate(e[x], e[n]).item(),
                "early_low": low, "early_high": high, "rest_n": r[n], "rest": success_rate(r[x], r[n]).item(),
                **{"vs_rest" + k[6:]: v for k, v in vs_rest.items() if k.startswith("change")},
                "vs_rest_p": vs_rest["p_value"] if min(e[n], r[n]) >= min_items else np.nan,
                "later_n": lat[n], "later": success_rate(lat[x], lat[n]).item(),
                **{"vs_later" + k[6:]: v for k, v in vs_later.items() if k.startswith("change")},
                "vs_later_p": vs_later["p_value"] if min(e[n], lat[n]) >= min_items else np.nan,
                "since_n": c[n], "since": success_rate(c[x], c[n]).item(),
                "since_rest": success_rate(o[x], o[n]).item(),
                **{"since_vs_rest" + k[6:]: v for k, v in since_vs.items() if k.startswith("change")},
                "since_vs_rest_p": since_vs["p_value"] if min(c[n], o[n]) >= min_items else np.nan,
            })
    table = pd.DataFrame(rows, columns=[c for c in columns if not c.endswith("_q")])
    tests = ["vs_rest", "vs_later", "since_vs_rest"]
    p = np.concatenate([table[t + "_p"].to_numpy(float) for t in tests])
    q = bh_qvalues(np.nan_to_num(p, nan=1.0), np.isfinite(p), fdr).reshape(len(tests), len(table))
    for t, values in zip(tests, q, strict=True):
        table[t + "_q"] = values
    return table[columns]
