"""Label distributions over time: whether the mix of labels in a window differs from a reference window or
from the mix the guidelines expect (χ² on counts divided by a dispersion factor estimated from the windows,
Cramér's V and Jensen–Shannon distance as effect sizes), and the reference windows to compare with.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.spatial.distance import jensenshannon

from analytics.core.stats import bh_qvalues
from analytics.monitoring.drift.series import _window_end

AGAINST = ("sample", "expected")




@dataclasses.dataclass(frozen=True)
class DistributionShift:
    """A label distribution against a reference: Pearson's χ² test and two effect sizes.

    Attributes
    ----------
    statistic : float
        Pearson's χ² without continuity correction (inf when a label the expected distribution rules out
        occurs).
    dof : int
        Degrees of freedom: K' − 1 over the K' labels seen in either distribution.
    p_value : float
        Upper tail of χ²(dof) at ``statistic / dispersion``.
    cramers_v : float
        Effect size in [0, 1]: 0 no difference; about 0.1 small, 0.3 medium, 0.5 large (Cohen 1988).
    js_distance : float
        Jensen–Shannon distance (base 2) of the two distributions, in [0, 1].
    n_reference, n_current : float
        Counts behind each side (for ``against='expected'``, the sum of the expected values given).
    against : str
        ``sample`` (two samples) or ``expected`` (goodness of fit).
    dispersion : float
        The overdispersion factor φ the p-value allows for (1: plain multinomial sampling).
    labels : tuple of str
        The labels compared.
    """

    statistic: float
    dof: int
    p_value: float
    cramers_v: float
    js_distance: float
    n_reference: float
    n_current: float
    against: str
    dispersion: float
    labels: tuple


def distribution_shift(
    reference_counts: pd.Series | Mapping | ArrayLike, current_counts: pd.Series | Mapping | ArrayLike, *,
    against: str = "sample", dispersion: float = 1.0
) -> DistributionShift:
    """Compare a window's label counts with a reference window or with an expected distribution.

    Parameters
    ----------
    reference_counts : Series, mapping or array_like
        Counts per label of the reference window (``against='sample'``), or the expected distribution as
        shares or counts, normalised here (``against='expected'``). Series and mappings are aligned on
        their labels (a missing label counts 0); arrays by position.
    current_counts : Series, mapping or array_like
        Counts per label of the window tested.
    against : {'sample', 'expected'}
        Two-sample test of homogeneity (``scipy.stats.chi2_contingency`` on the 2 × K table) or goodness
        of fit to the expected shares (``scipy.stats.chisquare``).
    dispersion : float
        φ ≥ 1: the p-value is that of χ²/φ (see Notes); the statistic and effect sizes do not change.

    Returns
    -------
    DistributionShift
        NaN statistics when either side has no counts.

    Notes
    -----
    Two samples with counts r_k, c_k (totals R, C, n = R + C): χ² = Σ over both rows and labels of
    (O − E)² / E with E the product of the margins over n, dof = K' − 1, and Cramér's V = √(χ² / (n ·
    (min(2, K') − 1))) = √(χ² / n). Against expected shares q_k: χ² = Σ_k (c_k − C q_k)² / (C q_k), dof =
    K' − 1 and V = √(χ² / (C (K' − 1))) (Cohen's w over √(K' − 1)). Labels absent from both sides are
    dropped; a label with q_k = 0 that occurs makes χ² infinite.

    Jensen–Shannon distance: JS(P, Q) = √(½ KL(P ‖ M) + ½ KL(Q ‖ M)), M = (P + Q) / 2, logarithms base 2,
    so it lies in [0, 1] and is a metric; unlike χ² it does not grow with n.

    The χ² test assumes the labels are independent draws. Labels of one item are not: an item of class 7
    gives three or four "7"s. That inflates χ² by a design effect φ ≈ 1 + (m̄ − 1) ρ (m̄ labels per item,
    ρ their intra-item correlation). ``dispersion`` takes such a φ (``label_dispersion`` estimates it) and
    tests χ²/φ against χ²(dof), the first-order correction of Rao & Scott (1981).

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., Wiley, §3.2 (χ² tests), §3.3.
    Cramér, H. (1946). Mathematical Methods of Statistics. Princeton University Press, p. 282.
    Endres, D. M. & Schindelin, J. E. (2003). A new metric for probability distributions. IEEE Trans.
    Information Theory 49(7), 1858–1860.
    Rao, J. N. K. & Scott, A. J. (1981). The analysis of categorical data from complex sample surveys.
    JASA 76, 221–230.

    Examples
    --------
    >>> shift = distribution_shift({"a": 50, "b": 50}, {"a": 30, "b": 70})
    >>> round(shift.statistic, 3), shift.dof, round(shift.cramers_v, 3)
    (8.333, 1, 0.204)
    """
    if against not in AGAINST:
        raise ValueError(f"unknown against={against!r}; use one of {', '.join(AGAINST)}")
    if not dispersion >= 1:
        raise ValueError("dispersion must be a number ≥ 1")
    reference, current = _counts(reference_counts), _counts(current_counts)
    labels = reference.index.union(current.index)
    ref = reference.reindex(labels, fill_value=0).to_numpy(float)
    cur = current.reindex(labels, fill_value=0).to_numpy(float)
    if (ref < 0).any() or (cur < 0).any() or not (np.isfinite(ref).all() and np.isfinite(cur).all()):
        raise ValueError("counts must be finite and non-negative")
    return _shift(ref, cur, tuple(str(label) for label in labels), against, float(dispersion))


def _counts(values: pd.Series | Mapping | ArrayLike) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype(float)
    if isinstance(values, Mapping):
        return pd.Series(dict(values), dtype=float)
    return pd.Series(np.asarray(values, dtype=float))


def _shift(ref: np.ndarray, cur: np.ndarray, labels: tuple[str, ...], against: str,
           dispersion: float) -> DistributionShift:
    n_ref, n_cur = ref.sum(), cur.sum()
    nan = float("nan")
    context = (float(n_ref), float(n_cur), against, dispersion, labels)
    if n_ref <= 0 or n_cur <= 0:
        return DistributionShift(nan, 0, nan, nan, nan, *context)
    p, q = ref / n_ref, cur / n_cur
    # Rounding can leave a hair below zero under the square root for identical distributions.
    js = float(np.nan_to_num(jensenshannon(p, q, base=2), nan=0.0))
    keep = (ref > 0) | (cur > 0)
    dof = int(keep.sum()) - 1
    if dof < 1:
        return DistributionShift(0.0, 0, 1.0, 0.0, js, *context)
    if against == "sample":
        chi2 = float(stats.chi2_contingency(np.vstack([ref[keep], cur[keep]]), correction=False)[0])
        v = np.sqrt(chi2 / (n_ref + n_cur))
    elif ((p == 0) & (cur > 0)).any():
        chi2, v = float("inf"), 1.0
    else:
        chi2 = float(stats.chisquare(cur[keep], p[keep] * n_cur)[0])
        v = np.sqrt(chi2 / (n_cur * dof))
    p_value = float(stats.chi2.sf(chi2 / dispersion, dof))
    return DistributionShift(chi2, dof, p_value, float(v), js, *context)


def _wide(counts: pd.DataFrame) -> pd.DataFrame:
    """Windows × labels of a long ``window, label, n`` table, windows in order, labels as strings."""
    frame = counts.assign(label=counts["label"].astype(str))
    return frame.pivot_table(index="window", columns="label", values="n", aggfunc="sum", fill_value=0,
                             observed=True).sort_index()


def label_dispersion(counts: pd.DataFrame) -> float:
    """Overdispersion φ ≥ 1 of windowed label counts, for ``distribution_shift(dispersion=...)``.

    Parameters
    ----------
    counts : DataFrame with columns ``window, label, n``
        Label counts per window (``analytics.store.drift.label_counts_by_window``).

    Returns
    -------
    float
        φ̂ = max(1, median over consecutive windows of χ²_t / median of χ²(dof_t)), where χ²_t compares
        window t with window t − 1; 1 with fewer than three windows.

    Notes
    -----
    Under "no drift, labels clustered in items" each χ²_t is about φ · χ²(dof_t) (Rao & Scott 1981), so the
    ratio's median estimates φ. Consecutive windows and the median keep a few real shifts from inflating
    it: a step change touches one pair of neighbours, a slow trend barely any. It assumes φ is the same in
    every window (the same labels-per-item and agreement).
    """
    wide = _wide(counts)
    if len(wide) < 3:
        return 1.0
    values = wide.to_numpy(float)
    ratios = []
    for t in range(1, len(values)):
        shift = _shift(values[t - 1], values[t], (), "sample", 1.0)
        if shift.dof >= 1 and np.isfinite(shift.statistic):
            ratios.append(shift.statistic / stats.chi2.median(shift.dof))
    return float(max(1.0, np.median(ratios))) if ratios else 1.0


def shift_table(
    counts: pd.DataFrame,
    *,
    reference: str | pd.Timestamp = "baseline",
    expected: pd.Series | Mapping | None = None,
    dispersion: float | None = None,
    grain: str = "week",
    baseline_days: float = 28,
    baseline_labels: int = 500,
    fdr: float = 0.05,
) -> pd.DataFrame:
    """Each window's label distribution against a reference or an expected distribution.

    Parameters
    ----------
    counts : DataFrame with columns ``window, label, n``
        Label counts per window.
    reference : 'baseline', 'first', 'previous' or a window value
        The reference of the two-sample tests. ``baseline`` (the default): the earliest windows, pooled,
        until they span ``baseline_days`` and hold ``baseline_labels`` labels (the whole period when it
        never does), which are then not tested. A single first window is often a partial one with a dozen
        labels, against which nothing can differ significantly. ``first``: the first window; ``previous``:
        each window's predecessor; a window value: that window (then not tested). Ignored when ``expected``
        is given.
    expected : Series, mapping or None
        Declared expected shares (or counts) by label: every window is tested against them instead.
    dispersion : float or None
        φ for every test; None estimates it with ``label_dispersion``; 1 gives plain χ² tests.
    grain : str
        Length of a window (``day``, ``week``, ``month``), for ``baseline_days``.
    baseline_days, baseline_labels : float, int
        What the ``baseline`` reference must cover.
    fdr : float
        Benjamini–Hochberg false-discovery rate across the windows tested.

    Returns
    -------
    DataFrame with columns ``window, reference, reference_end, reference_n, n, statistic, dof, p_value,
    q_value, cramers_v, js_distance, significant, dispersion``
        One row per window tested, in window order; ``reference`` and ``reference_end`` are the first and
        last window of the reference (None against ``expected``), ``reference_n`` its labels.

    Notes
    -----
    Benjamini–Hochberg controls the expected share of false discoveries among the windows flagged, and
    under "no drift anywhere" the chance of flagging any window, at ``fdr``; tests sharing one reference
    are positively dependent, for which BH stays valid (Benjamini & Yekutieli 2001). Pass counts with
    the rare labels pooled (``collapse_labels``): χ² needs expected counts of a few per cell.

    References
    ----------
    Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57, 289–300.
    Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate in multiple testing under
    dependency. Annals of Statistics 29, 1165–1188.
    """
    columns = ["window", "reference", "reference_end", "reference_n", "n", "statistic", "dof", "p_value",
               "q_value", "cramers_v", "js_distance", "significant", "dispersion"]
    wide = _wide(counts)
    if wide.empty:
        return pd.DataFrame({c: [] for c in columns})
    phi = label_dispersion(counts) if dispersion is None else float(dispersion)
    windows = list(wide.index)
    pairs = []
    if expected is not None:
        pairs = [((), w) for w in windows]
    elif isinstance(reference, str) and reference == "baseline":
        base = baseline_windows(wide, grain=grain, days=baseline_days, labels=baseline_labels)
        pairs = [(tuple(base), w) for w in windows[len(base):]]
    elif isinstance(reference, str) and reference == "previous":
        pairs = [((before,), w) for before, w in zip(windows[:-1], windows[1:], strict=True)]
    elif isinstance(reference, str) and reference == "first":
        pairs = [((windows[0],), w) for w in windows[1:]]
    elif reference in wide.index:
        pairs = [((reference,), w) for w in windows if w != reference]
    else:
        raise ValueError("reference must be 'baseline', 'first', 'previous' or one of the windows, not "
                         f"{reference!r}")
    rows = []
    for ref, window in pairs:
        if not ref:
            shift = distribution_shift(expected, wide.loc[window], against="expected", dispersion=phi)
        else:
            shift = distribution_shift(wide.loc[list(ref)].sum(), wide.loc[window], dispersion=phi)
        rows.append({"window": window, "reference": ref[0] if ref else None,
                     "reference_end": ref[-1] if ref else None,
                     "reference_n": shift.n_reference if ref else np.nan, "n": shift.n_current,
                     "statistic": shift.statistic, "dof": shift.dof, "p_value": shift.p_value,
                     "cramers_v": shift.cramers_v, "js_distance": shift.js_distance, "dispersion": phi})
    table = pd.DataFrame(rows, columns=[c for c in columns if c not in ("q_value", "significant")])
    p = table["p_value"].to_numpy(float)
    table["q_value"] = bh_qvalues(np.nan_to_num(p, nan=1.0), np.isfinite(p), fdr)
    table["significant"] = table["q_value"] < fdr
    return table[columns]


def baseline_windows(wide: pd.DataFrame, *, grain: str = "week", days: float = 28,
                     labels: int = 500) -> list:
    """The earliest windows of a windows × labels table that together span ``days`` and hold ``labels``
    labels (all windows when they never do): the reference of ``shift_table(reference='baseline')``."""
    windows = list(wide.index)
    totals = wide.sum(axis=1).to_numpy(float)
    if not windows:
        return []
    first = pd.Timestamp(windows[0])
    for i, window in enumerate(windows):
        span = (_window_end(pd.Timestamp(window), grain) - first) / pd.Timedelta(days=1)
        if span >= days and totals[: i + 1].sum() >= labels:
            return windows[: i + 1]
    return windows
