"""Test–retest: items an annotator labeled twice, whether their second label differs from the first more
often as time passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core.stats import success_rate
from analytics.monitoring.drift.annotator_trends import _trend
from analytics.monitoring.drift.onboarding import _compare_proportions
from analytics.monitoring.drift.series import proportion_series, rate_series


@dataclasses.dataclass(frozen=True, eq=False)
class RetestDrift:
    """How often re-labels of the same item by the same annotator change, by gap and over time.

    Attributes
    ----------
    by_gap : DataFrame
        ``gap, gap_from, gap_to, pairs, changed, change_rate, low, high`` per bin of days between labels.
    by_window : DataFrame
        ``window, pairs, changed, change_rate, low, high`` by the window of the re-label.
    across_versions : dict
        Change rate of pairs within one guideline version vs across a change: ``within``, ``across``,
        ``pairs_within``, ``pairs_across``, ``change``, ``change_low``, ``change_high``, ``p_value``.
    trend_z, trend_p : float
        Cochran–Armitage test that the change rate grows with the gap in days (one-sided).
    pairs, changed : int
        Totals.
    """

    by_gap: pd.DataFrame
    by_window: pd.DataFrame
    across_versions: dict
    trend_z: float
    trend_p: float
    pairs: int
    changed: int


def retest_drift(
    retest: pd.DataFrame, *, gap_edges: Sequence[int] = (0, 7, 14, 28, 56), confidence: float = 0.95
) -> RetestDrift:
    """Divergence of test–retest pairs with the time between them.

    Parameters
    ----------
    retest : DataFrame
        ``analytics.store.drift.retest_windows``: ``window, gap_days, across_versions, pairs, changed``.
    gap_edges : sequence of int
        Left edges of the gap bins in days; the last bin is open-ended.
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    RetestDrift

    Notes
    -----
    A stable annotator under stable guidelines changes a label on re-test at a rate set by their own
    noise, whatever the gap; a rate that grows with the gap means their labeling drifted. The trend test is
    Cochran–Armitage over gap days (scores = days), one-sided for growth; pairs across a guideline change are
    compared with the others by a two-sided z-test (Newcombe interval), as the rules themselves changed.

    References
    ----------
    Armitage, P. (1955). Tests for linear trends in proportions and frequencies. Biometrics 11, 375–386.
    """
    edges = np.asarray(gap_edges, dtype=float)
    frame = retest[retest["pairs"] > 0]
    bins = np.searchsorted(edges, frame["gap_days"].to_numpy(float), side="right") - 1
    by_bin = frame.assign(b=np.maximum(bins, 0)).groupby("b")[["pairs", "changed"]].sum()
    by_bin = by_bin.reindex(range(len(edges)), fill_value=0)
    by_gap = proportion_series(by_bin["changed"], by_bin["pairs"], confidence=confidence)
    names = {"successes": "changed", "n": "pairs", "value": "change_rate"}
    by_gap = by_gap.rename(columns={"window": "gap", **names})
    by_gap["gap_from"] = edges[by_gap["gap"]]
    by_gap["gap_to"] = np.append(edges[1:], np.inf)[by_gap["gap"]]
    by_window = rate_series(frame, "changed", "pairs", confidence=confidence).rename(columns=names)
    days = frame.groupby("gap_days", as_index=False)[["pairs", "changed"]].sum()
    trend = _trend(days.assign(group=0, s=days["gap_days"].astype(float), b=0.0), x="changed", n="pairs",
                   base="b")
    z = float(trend["z"].iloc[0]) if len(trend) else float("nan")
    sides = frame.groupby("across_versions")[["pairs", "changed"]].sum().reindex([False, True], fill_value=0)
    within, across = sides.loc[False], sides.loc[True]
    compared = _compare_proportions(within["changed"], within["pairs"], across["changed"], across["pairs"],
                                    confidence)
    return RetestDrift(
        by_gap=by_gap[["gap", "gap_from", "gap_to", "pairs", "changed", "change_rate", "low", "high"]],
        by_window=by_window[["window", "pairs", "changed", "change_rate", "low", "high"]],
        across_versions={"within": success_rate(within["changed"], within["pairs"]).item(),
                         "across": success_rate(across["changed"], across["pairs"]).item(),
                         "pairs_within": int(within["pairs"]), "pairs_across": int(across["pairs"]),
                         **compared},
        trend_z=z, trend_p=float(stats.norm.sf(z)) if np.isfinite(z) else float("nan"),
        pairs=int(frame["pairs"].sum()), changed=int(frame["changed"].sum()),
    )
