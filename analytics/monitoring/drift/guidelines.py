"""Guideline versions: each version's label mix and quality compared with the version before it, over the
windows each was in force, with intervals and BH-adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core.stats import bh_qvalues
from analytics.monitoring.drift.change_detection import fitted_variance
from analytics.monitoring.drift.distribution import _wide, distribution_shift, label_dispersion
from analytics.monitoring.drift.series import _window_end

#: Columns of ``guideline_comparison``.
COMPARISON_COLUMNS = (
    "version", "effective_at", "previous_version", "metric", "before", "before_low", "before_high",
    "n_before", "after", "after_low", "after_high", "n_after", "change", "change_low", "change_high",
    "cramers_v", "js_distance", "test", "statistic", "p_value", "q_value", "significant",
)


def _version_spans(guidelines: pd.DataFrame) -> list[tuple]:
    """(version, starts, previous version, previous start, next start) of every version after the first."""
    order = guidelines.sort_values(["effective_at", "version"]).reset_index(drop=True)
    starts = pd.to_datetime(order["effective_at"]).tolist()
    spans = []
    for j in range(1, len(order)):
        following = starts[j + 1] if j + 1 < len(order) else pd.Timestamp.max
        previous = starts[j - 1] if j > 1 else pd.Timestamp.min
        spans.append((order["version"][j], starts[j], order["version"][j - 1], previous, following))
    return spans


def _sides(windows: pd.Series | pd.Index, grain: str, previous: pd.Timestamp, start: pd.Timestamp,
           following: pd.Timestamp, span: int | None) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """Windows wholly under the previous version and wholly under the new one (the last/first ``span``)."""
    stamps = pd.to_datetime(pd.Series(windows))
    ends = stamps.map(lambda w: _window_end(w, grain))
    before = sorted(stamps[(stamps >= previous) & (ends <= start)])
    after = sorted(stamps[(stamps >= start) & (ends <= following)])
    if span is not None:
        before, after = before[-span:], after[:span]
    return before, after


def guideline_comparison(
    guidelines: pd.DataFrame,
    *,
    series: Mapping[str, pd.DataFrame],
    label_counts: pd.DataFrame | None = None,
    grain: str = "week",
    span: int | None = None,
    design_effects: Mapping[str, float | None] | None = None,
    confidence: float = 0.95,
    fdr: float = 0.05,
) -> pd.DataFrame:
    """Every quality metric before vs after each guideline version, with intervals and a test.

    Parameters
    ----------
    guidelines : DataFrame with columns ``version, effective_at``
        The declared versions (``analytics.store.agreement.guideline_changes``).
    series : mapping of str to DataFrame
        Metric name → per-window series (``agreement_series``, ``rate_series``, ``share_series``), e.g.
        ``{"percent agreement": ..., "agreement with the majority": ..., "suspect rate": ...}``.
    label_counts : DataFrame or None
        ``window, label, n``: adds a ``label distribution`` row (χ² test with ``label_dispersion``).
    grain : str
        Time grain of the windows, to tell which windows lie wholly before or after a version starts.
    span : int or None
        Compare only the last ``span`` windows before and the first ``span`` after (None: the whole time
        each version was in force), which keeps other changes, such as a new cohort, out of the comparison.
    design_effects : mapping of str to float or None, optional
        Metric name → φ of its windows' variance model (``change_points``'s ``design_effect``); metrics
        left out have φ estimated.
    confidence, fdr : float
        Coverage of the intervals; Benjamini–Hochberg rate across all rows.

    Returns
    -------
    DataFrame
        ``COMPARISON_COLUMNS``, one row per (version after the first, metric). Windows that straddle the
        version's start are left out of both sides.

    Notes
    -----
    A metric's side is the inverse-variance mean of its windows, weights w_t = 1/(φ̂ σ_t² + τ̂²) with φ̂ and
    τ̂² estimated on the whole series as in ``change_points`` (``fitted_variance``). The test is Hartung &
    Knapp's: t = (after − before) / √(q (1/W_b + 1/W_a)) against Student's t with n_b + n_a − 2 degrees of
    freedom, q = Σ w_t (y_t − side mean)² / (n_b + n_a − 2) over the n_b + n_a windows; the intervals are
    ± t √(q/W). Windows, not ratings, are the replicates: the ratings of one item and of one working week
    are correlated, and a binomial test over ratings would call every wobble significant; q keeps a rough
    τ̂² from passing a wobble as an effect.
    The label distribution is compared with ``distribution_shift`` on the summed counts of each side.
    Rows are computed for versions with at least one whole window on each side.
    """
    rows = []
    fitted = {}
    for name, s in series.items():
        fitted[name] = pd.Series(fitted_variance(s, design_effect=(design_effects or {}).get(name)),
                                 index=s.index)
    phi = label_dispersion(label_counts) if label_counts is not None else 1.0
    for version, start, previous_version, previous, following in _version_spans(guidelines):
        base = {"version": version, "effective_at": start, "previous_version": previous_version}
        for name, s in series.items():
            before, after = _sides(s["window"], grain, previous, start, following, span)
            b, a = s[s["window"].isin(before)], s[s["window"].isin(after)]
            if b.empty or a.empty:
                continue
            (mb, wb, rb), (ma, wa, ra) = (_pooled(part, fitted[name]) for part in (b, a))
            dof = len(b) + len(a) - 2
            q = (rb + ra) / dof if dof > 0 else 1.0
            crit = stats.t.ppf((1 + confidence) / 2, dof) if dof > 0 else stats.norm.ppf((1 + confidence) / 2)
            se_b, se_a, se = np.sqrt(q / wb), np.sqrt(q / wa), np.sqrt(q * (1 / wb + 1 / wa))
            t = (ma - mb) / se if se > 0 else (0.0 if ma == mb else np.sign(ma - mb) * np.inf)
            p = 2 * (stats.t.sf(abs(t), dof) if dof > 0 else stats.norm.sf(abs(t)))
            rows.append({**base, "metric": name, "before": mb, "before_low": mb - crit * se_b,
                         "before_high": mb + crit * se_b, "n_before": b["n"].sum(), "after": ma,
                         "after_low": ma - crit * se_a, "after_high": ma + crit * se_a,
                         "n_after": a["n"].sum(), "change": ma - mb, "change_low": ma - mb - crit * se,
                         "change_high": ma - mb + crit * se,
                         "test": f"Hartung–Knapp t ({dof} df), windows as replicates", "statistic": t,
                         "p_value": float(p)})
        if label_counts is not None:
            wide = _wide(label_counts)
            before, after = _sides(wide.index, grain, previous, start, following, span)
            if before and after:
                shift = distribution_shift(wide.loc[before].sum(), wide.loc[after].sum(), dispersion=phi)
                rows.append({**base, "metric": "label distribution", "n_before": shift.n_reference,
                             "n_after": shift.n_current, "cramers_v": shift.cramers_v,
                             "js_distance": shift.js_distance, "test": f"chi-square / {phi:.2f}",
                             "statistic": shift.statistic, "p_value": shift.p_value})
    table = pd.DataFrame(rows, columns=[c for c in COMPARISON_COLUMNS if c not in ("q_value", "significant")])
    p = table["p_value"].to_numpy(float)
    table["q_value"] = bh_qvalues(np.nan_to_num(p, nan=1.0), np.isfinite(p), fdr)
    table["significant"] = table["q_value"] < fdr
    return table[list(COMPARISON_COLUMNS)]


def _pooled(part: pd.DataFrame, var: pd.Series) -> tuple[float, float, float]:
    """Inverse-variance mean of a series' windows (fitted variances ``var``), the summed weight W and the
    weighted residual sum of squares around the mean."""
    weight = 1 / np.maximum(var.loc[part.index].to_numpy(float), 1e-300)
    y = part["value"].to_numpy(float)
    mean = float((weight * y).sum() / weight.sum())
    return mean, float(weight.sum()), float((weight * (y - mean) ** 2).sum())
