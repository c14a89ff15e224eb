"""Temporal drift of labels and of label quality: distribution shift, change points, guideline versions,
annotator drift, the onboarding of new cohorts, test–retest divergence, and what changed, in words.

Every function is pure: it reads the per-window count tables of ``analytics.store.drift`` (aggregated in
DuckDB) and returns DataFrames or frozen dataclasses. A *window* is a period of labeling (the start of a
day, week or month, a ``window`` column of timestamps); T windows, K classes, M annotators.

A *series* is a DataFrame with one row per window: ``window, value, std_error, n`` (and ``low, high``), where
``std_error`` is the window's own sampling error (binomial for a share). The labels of one item are
correlated, and windows differ in ways no binomial error covers (who was working, which items came in), so
every test on a series lets a window vary by φ σ_t² + τ²: a design effect φ on its sampling variance and a
variance τ² of its own, both estimated from the series (``change_points``); the tests on label
distributions divide χ² by a dispersion factor estimated in the same spirit (``label_dispersion``).

``drift_findings`` runs the tests on weekly windows (``ANALYSIS_GRAIN``) whatever grain is drawn, so days,
weeks and months tell one story; segments between changes span at least ``MIN_SEGMENT_DAYS``; the
``TOP_LABELS`` most frequent labels are followed one by one and the rest together, so the work stays bounded
however many labels a store has. At millions of events every difference is significant: read the effect
sizes (points of change, Cramér's V, Jensen–Shannon distance) before the p-values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats
from scipy.spatial.distance import jensenshannon

from analytics.agreement.coefficients import label_confusion_from_counts
from analytics.core.stats import bh_qvalues, one_sided_lower_p, success_rate, wilson_interval

if TYPE_CHECKING:
    from analytics.store.drift import DriftInputs

#: What ``distribution_shift`` compares the current counts with.
AGAINST = ("sample", "expected")
#: Length of a window in days, for "within a window of" (a month counts as 31 days).
GRAIN_DAYS = {"day": 1, "week": 7, "month": 31}
#: Columns of ``guideline_comparison``.
COMPARISON_COLUMNS = (
    "version", "effective_at", "previous_version", "metric", "before", "before_low", "before_high",
    "n_before", "after", "after_low", "after_high", "n_after", "change", "change_low", "change_high",
    "cramers_v", "js_distance", "test", "statistic", "p_value", "q_value", "significant",
)
#: Huber's c of the between-window variance estimate, and E min(Z², c²) = P(χ²₃ ≤ c²) + c² P(χ²₁ > c²).
_HUBER_C = 1.5
_HUBER_TARGET = float(stats.chi2.cdf(_HUBER_C**2, 3) + _HUBER_C**2 * stats.chi2.sf(_HUBER_C**2, 1))
_EPS = 1e-9
#: Smallest Cramér's V of a distribution shift that ``what_changed`` reports (half Cohen's "small", 0.1).
MIN_CRAMERS_V = 0.05


# --- label distributions --------------------------------------------------------------------------------


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


def _counts(values) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype(float)
    if isinstance(values, Mapping):
        return pd.Series(dict(values), dtype=float)
    return pd.Series(np.asarray(values, dtype=float))


def _shift(ref: np.ndarray, cur: np.ndarray, labels: tuple, against: str, dispersion: float):
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


# --- series ---------------------------------------------------------------------------------------------


def parse_expected(text: str) -> pd.Series:
    """A declared label distribution from ``label: share`` lines (shares or counts; normalised later).

    Raises
    ------
    ValueError
        Naming the line that is not ``label: number`` or holds a negative or repeated label.

    Examples
    --------
    >>> parse_expected("cat: 3\\ndog: 1").to_dict()
    {'cat': 3.0, 'dog': 1.0}
    """
    shares: dict[str, float] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label, sep, value = line.rpartition(":")
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not sep or not label.strip() or not share >= 0:
            raise ValueError(f"expected distribution, line {number}: write 'label: share' with a share ≥ 0, "
                             f"got {line.strip()!r}")
        if label.strip() in shares:
            raise ValueError(f"expected distribution, line {number}: label {label.strip()!r} given twice")
        shares[label.strip()] = share
    if not shares or sum(shares.values()) <= 0:
        raise ValueError("expected distribution: give at least one label with a positive share")
    return pd.Series(shares, dtype=float)


def proportion_series(successes: pd.Series, trials: pd.Series, *, confidence: float = 0.95) -> pd.DataFrame:
    """A share per window: ``window, successes, n, value, std_error, low, high``.

    ``successes`` and ``trials`` are indexed by window; windows without trials are left out. ``low, high``
    is the window's Wilson interval; ``std_error`` the binomial √(p̄ (1 − p̄) / n) at the pooled share p̄ =
    Σ x / Σ n: the error under "no change", which the tests of ``change_points`` need (a small window's own
    share of 0 % or 100 % would claim no error at all and outweigh every other window).
    """
    n = trials[trials > 0].astype(float)
    x = successes.reindex(n.index, fill_value=0).astype(float)
    pooled = x.sum() / n.sum() if len(n) else np.nan
    low, high = wilson_interval(x.to_numpy(), n.to_numpy(), confidence=confidence)
    return pd.DataFrame({
        "window": n.index, "successes": x.to_numpy(), "n": n.to_numpy(), "value": (x / n).to_numpy(),
        "std_error": np.sqrt(pooled * (1 - pooled) / n).to_numpy(), "low": np.atleast_1d(low),
        "high": np.atleast_1d(high),
    })


def share_series(counts: pd.DataFrame, label: str, *, among: Sequence | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """The share of ``label`` per window, among all labels or among the labels ``among``.

    Parameters
    ----------
    counts : DataFrame with columns ``window, label, n``
        Label counts per window.
    label : str
        The class whose share is followed.
    among : sequence of str, optional
        Count only these labels (e.g. ``("1", "7")`` for the share of "7" among 1/7 labels).

    Returns
    -------
    DataFrame
        ``proportion_series`` columns.

    Examples
    --------
    >>> counts = pd.DataFrame({"window": [1, 1, 1, 2], "label": ["1", "7", "3", "7"], "n": [3, 1, 6, 2]})
    >>> share_series(counts, "7", among=("1", "7"))["value"].tolist()
    [0.25, 1.0]
    """
    labels = counts["label"].astype(str)
    frame = counts if among is None else counts[labels.isin([str(a) for a in among])]
    trials = frame.groupby("window", sort=True)["n"].sum()
    hits = frame[frame["label"].astype(str) == str(label)].groupby("window")["n"].sum()
    return proportion_series(hits, trials, confidence=confidence)


def agreement_series(agreement: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Percent agreement per window from ``analytics.store.overview.agreement_by_period``.

    ``value`` is the mean over the window's items of their share of agreeing rating pairs; ``low, high`` a
    t interval from the window's own item sd; ``std_error`` is s/√n with s the pooled sd of all windows'
    items, the error under "no change" (``proportion_series`` says why). Windows with fewer than two items
    rated twice are left out.
    """
    frame = agreement[agreement["items_multi"] >= 2]
    n = frame["items_multi"].to_numpy(float)
    value = frame["pa_mean"].to_numpy(float)
    sd = np.nan_to_num(frame["pa_sd"].to_numpy(float))
    if len(n):
        grand = (n * value).sum() / n.sum()
        within, between = ((n - 1) * sd**2).sum(), (n * (value - grand) ** 2).sum()
        pooled_sd = np.sqrt((within + between) / max(n.sum() - 1, 1))
    else:
        pooled_sd = np.nan
    se = pooled_sd / np.sqrt(n)
    half = stats.t.ppf((1 + confidence) / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
    return pd.DataFrame({"window": frame["period"].to_numpy(), "successes": value * n, "n": n,
                         "value": value, "std_error": se, "low": np.clip(value - half, 0, 1),
                         "high": np.clip(value + half, 0, 1)})


def rate_series(frame: pd.DataFrame, successes: str, trials: str, *,
                confidence: float = 0.95) -> pd.DataFrame:
    """A rate per window from a table with a ``window`` column, summing ``successes`` over ``trials``.

    E.g. ``rate_series(annotator_windows, "loo_agree", "loo_items")`` (agreement with the leave-one-out
    majority), ``rate_series(suspects, "flagged", "items")`` (suspect rate).
    """
    sums = frame.groupby("window", sort=True)[[successes, trials]].sum()
    return proportion_series(sums[successes], sums[trials], confidence=confidence)


# --- change points --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class ChangePoints:
    """Change points of one series, with the segments between them and the windows they summarise.

    Attributes
    ----------
    series : str
        What the series measures, in words (used by ``what_changed``).
    unit : str
        ``share`` (values in [0, 1], shown as percentages) or ``score``.
    changes : DataFrame
        One row per change, in time order: ``window`` (the first window after the change), ``index``,
        ``before, before_low, before_high, after, after_low, after_high`` (segment means and intervals),
        ``change, change_low, change_high`` (after − before, with an interval that allows for the search
        over dates), ``z`` (the studentised change: over its standard error), ``critical`` (the z a change
        needs to be reported at level ``alpha``), ``p_value``, ``windows_before, windows_after``.
    segments : DataFrame
        ``start, end, windows, mean, low, high`` of each segment.
    values : DataFrame
        The windows: ``window, value, low, high, n`` (each window's own interval, as the series gave it).
    p_value : float
        The test of "no change at all" on the whole series (NaN when too short to test).
    design_effect : float
        φ̂, the factor on the windows' sampling variances (1: none beyond the sampling errors given).
    between_variance : float
        τ̂², the variance every window adds around its segment's mean whatever its size.
    alpha : float
        Level of each test.
    min_span_days : float or None
        Shortest span a segment covers, in days (None: only ``min_size`` windows).
    method : str
        The method, in words.
    """

    series: str
    unit: str
    changes: pd.DataFrame
    segments: pd.DataFrame
    values: pd.DataFrame
    p_value: float
    design_effect: float
    between_variance: float
    alpha: float
    min_span_days: float | None
    method: str


_CP_METHOD = ("binary segmentation, max weighted mean-shift z, windows varying by φ·σ² + τ², "
              "parametric-bootstrap p-values and intervals")
#: Rounds of the moment equations of ``_variance_components`` (they settle in well under this).
_MOMENT_ROUNDS = 40
_CHANGE_COLUMNS = ["window", "index", "before", "before_low", "before_high", "after", "after_low",
                   "after_high", "change", "change_low", "change_high", "z", "critical", "p_value",
                   "windows_before", "windows_after"]


def change_points(
    series: pd.DataFrame,
    *,
    value: str = "value",
    std_error: str | None = "std_error",
    name: str = "value",
    unit: str = "share",
    alpha: float = 0.05,
    min_size: int = 2,
    min_span_days: float | None = None,
    grain: str | None = None,
    max_changes: int = 3,
    min_change: float = 0.0,
    design_effect: float | None = None,
    n_sim: int = 999,
    confidence: float = 0.95,
    random_state: int | np.random.Generator | None = 0,
) -> ChangePoints:
    """Find shifts in the mean of a per-window series, with their dates, sizes, intervals and p-values.

    Parameters
    ----------
    series : DataFrame
        One row per window: ``window`` (sortable, e.g. timestamps), the ``value`` column and, optionally,
        its sampling standard error ``std_error`` (e.g. ``share_series``), and ``n``, ``low``, ``high``
        (carried into ``values``). Rows with a missing value are dropped.
    value, std_error : str
        Column names; ``std_error=None`` (or a missing column) treats the sampling error as unknown: the
        between-window variance then carries all of it.
    name, unit : str
        Carried into the result for display (``unit``: ``share`` or ``score``).
    alpha : float
        Level of each test; under a stationary series the chance of reporting any change is about ``alpha``.
    min_size : int
        Fewest windows in a segment.
    min_span_days : float or None
        Shortest time a segment covers, from its first window's start to its last window's end, in days
        (``window`` must then hold the windows' start times, and ``grain`` their length). The same span at
        every grain is what lets daily, weekly and monthly windows tell one story.
    grain : {'day', 'week', 'month'} or None
        Length of a window, for ``min_span_days``.
    max_changes : int
        Most changes reported.
    min_change : float
        Changes smaller than this in absolute value are merged away (0 keeps every significant one).
    design_effect : float or None
        φ, the factor on the sampling variances: 1 when ``std_error`` already allows for labels clustering
        within items (``share_series`` with ``moments``), None to estimate φ ≥ 1 from the series.
    n_sim : int
        Simulated null series per series (shared by all its tests).
    confidence : float
        Coverage of the intervals.
    random_state : int, Generator or None
        Seed of the simulations; the same seed gives the same p-values.

    Returns
    -------
    ChangePoints

    Notes
    -----
    **Model.** y_t = μ_s(t) + u_t + e_t with μ constant within segments, e_t ~ N(0, φ σ_t²) the window's
    sampling error (σ_t given, φ ≥ 1 a design effect) and u_t ~ N(0, τ²) the window's own departure,
    the same size whatever the window's size: who worked that week, which items came in. A factor alone
    (the variance φ σ_t²) makes a small window's departures too large and a large window's too small, and
    a stationary series with windows of 50 and of 500 labels then shows "changes"; τ² alone misses that
    labels of one item agree, which multiplies a window's sampling variance (φ ≈ 1 + (m̄ − 1) ρ for m̄
    labels per item with intra-item correlation ρ). With ``design_effect`` given, φ is fixed and only τ² is
    estimated: the random-effects model of meta-analysis, each window a study (DerSimonian & Laird 1986).

    **Estimates** come from the first differences d_t = y_t − y_{t−1}, whose variance under "no change"
    is v_t = φ (σ_t² + σ_{t−1}²) + 2τ²: a step moves one difference only. The moment equations
    Σ_t w_t x_t (r_t − v_t) = 0, x_t = (σ_t² + σ_{t−1}², 2), w_t = 1/v_t² (Gaussian weights of a squared
    difference), with r_t = min(d_t², c² v_t) / E min(Z², c²) (Huber's capping at c = 1.5, rescaled so that
    E r_t = v_t), are solved by re-weighting, under φ ≥ 1 and τ² ≥ 0; with the sampling errors unknown,
    τ² alone. σ_t below a quarter of the median σ is raised to it (a window whose few items all agree has
    σ_t = 0).

    **Test of one shift** in a segment of L windows, weights w_t = 1 / (φ̂ σ_t² + τ̂²): for every split k
    leaving at least ``min_size`` windows and ``min_span_days`` on each side, the studentised step
    t_k = |ȳ_L − ȳ_R| / √(q_k (1/W_L + 1/W_R)), with ȳ the weighted means and W the summed weights of the
    two sides and q_k = Σ w_t (y_t − ȳ_side)² / (L − 2) the residual scale of the two-mean fit; T = max_k
    t_k is the likelihood-ratio statistic of one mean shift at an unknown place with the scale unknown
    (Hawkins 1977; Worsley 1979). q_k is Hartung & Knapp's (2001) scale of a random-effects regression:
    with a dozen windows φ̂ and τ̂² are rough, and a too-small τ̂² would otherwise pass as a shift (13 % of
    stationary series flagged instead of 5 % in our simulations); q_k corrects the weights' level, the
    estimates only have to get their shape. T's null distribution is not that of one t, so the p-value is
    a parametric bootstrap: ``n_sim`` series drawn from the fitted null model, with φ and τ² re-estimated on
    each as on the data, p = (1 + #{T* ≥ T}) / (n_sim + 1).

    **Binary segmentation** (Scott & Knott 1974; Vostrikova 1981): when p < ``alpha``, split at the best k
    and test both halves the same way, breadth first, until no segment splits or ``max_changes`` are found.
    Each change found is then re-tested against its two neighbouring segments joined, and the weakest
    dropped until every change left has p < ``alpha``: its reported p-value is that local test's.

    **Magnitudes**: each segment's weighted mean with the interval ± t √(q/W), q the residual scale of the
    final segmentation; a change is the difference of the means of its two neighbouring segments, with
    interval ± c √(q_k (1/W_L + 1/W_R)) from its local test, c the bootstrap critical value of that test
    (the level-``1 − confidence`` point of the simulated max t). Interval and p-value thus come from one
    model: with ``confidence = 1 − alpha`` the interval excludes 0 exactly when p < ``alpha``, and it
    allows for the search over dates that an interval ± 1.96 s.e. ignores. Windows are assumed independent
    given the segment means: strong autocorrelation (a slow drift) shows as one or more steps, dated where
    the drift is fastest.

    References
    ----------
    DerSimonian, R. & Laird, N. (1986). Meta-analysis in clinical trials. Controlled Clinical Trials 7,
    177–188.
    Hartung, J. & Knapp, G. (2001). A refined method for the meta-analysis of controlled clinical trials
    with binary outcome. Statistics in Medicine 20, 3875–3889.
    Hawkins, D. M. (1977). Testing a sequence of observations for a shift in location. JASA 72, 180–186.
    Worsley, K. J. (1979). On the likelihood ratio test for a shift in location of normal populations.
    JASA 74, 365–367.
    Vostrikova, L. J. (1981). Detecting "disorder" in multidimensional random processes. Soviet Math.
    Doklady 24, 55–59.
    Truong, C., Oudre, L. & Vayatis, N. (2020). Selective review of offline change point detection
    methods. Signal Processing 167, 107299.

    Examples
    --------
    >>> y = [0.4] * 10 + [0.1] * 10
    >>> found = change_points(pd.DataFrame({"window": range(20), "value": y, "std_error": 0.03}))
    >>> found.changes["window"].tolist(), round(float(found.changes["change"].iloc[0]), 2)
    ([10], -0.3)
    """
    if not 0 < alpha < 1 or not 0 < confidence < 1:
        raise ValueError("alpha and confidence must lie strictly between 0 and 1")
    if int(min_size) != min_size or min_size < 1:
        raise ValueError("min_size must be a whole number ≥ 1")
    if min_span_days is not None and grain not in GRAIN_DAYS:
        raise ValueError(f"min_span_days needs the windows' grain: one of {', '.join(GRAIN_DAYS)}")
    if design_effect is not None and not design_effect > 0:
        raise ValueError("design_effect must be a positive number or None")
    frame = series.sort_values("window")
    frame = frame[np.isfinite(frame[value].to_numpy(float))]
    windows = frame["window"].to_numpy()
    y = frame[value].to_numpy(float)
    se2 = (_sampling_variance(frame[std_error].to_numpy(float))
           if std_error is not None and std_error in frame else np.zeros(len(y)))
    phi, tau2 = (float(v[0]) for v in _variance_components(y[None, :], se2, design_effect))
    var = np.maximum(phi * se2 + tau2, 1e-200)  # a constant series: equal weights in the segment means
    splits = _Splits(windows, min_size, min_span_days, grain)
    null = _NullModel(var, se2, design_effect, splits, n_sim, np.random.default_rng(random_state),
                      1 - confidence)
    found: list[int] = []
    first_p = float("nan")
    queue = [(0, len(y))] if len(y) and np.ptp(y) > 0 and len(splits.allowed(0, len(y))) else []
    while queue and len(found) < max_changes:
        a, b = queue.pop(0)
        ks = splits.allowed(a, b)
        if not len(ks):
            continue
        z, k = _split_statistics(y[None, a:b], var[None, a:b], ks - a)
        p, _ = null.test(float(z[0]), a, b)
        if (a, b) == (0, len(y)):
            first_p = p
        if p < alpha:
            found.append(a + int(k[0]))
            queue += [(a, a + int(k[0])), (a + int(k[0]), b)]
    changes, segments = _describe(windows, y, var, sorted(found), null, alpha, confidence, min_change)
    return ChangePoints(series=name, unit=unit, changes=changes, segments=segments,
                        values=_window_values(frame, value, confidence), p_value=first_p,
                        design_effect=phi if se2.max(initial=0.0) > 0 else float("nan"),
                        between_variance=tau2, alpha=alpha, min_span_days=min_span_days, method=_CP_METHOD)


def _sampling_variance(std_error: np.ndarray) -> np.ndarray:
    """σ_t² of each window: missing as 0, and no less than a quarter of the median positive one (a window
    whose few items all agree has σ_t = 0, which would give it infinite weight)."""
    se2 = np.nan_to_num(np.asarray(std_error, dtype=float), nan=0.0) ** 2
    positive = se2[se2 > 0]
    return np.maximum(se2, 0.25 * np.median(positive)) if positive.size else se2


def fitted_variance(series: pd.DataFrame, *, design_effect: float | None = None) -> np.ndarray:
    """Each window's variance φ̂ σ_t² + τ̂² under the model of ``change_points``, in the series' row order.

    Parameters
    ----------
    series : DataFrame
        ``value`` and ``std_error`` per window, in time order.
    design_effect : float or None
        φ when known (1 when ``std_error`` allows for clustering), None to estimate it.
    """
    se2 = _sampling_variance(series["std_error"].to_numpy(float))
    y = series["value"].to_numpy(float)
    phi, tau2 = (float(v[0]) for v in _variance_components(y[None, :], se2, design_effect))
    return phi * se2 + tau2


def _variance_components(y: np.ndarray, se2: np.ndarray, design_effect: float | None):
    """(φ̂, τ̂²) of every row of the (B, T) array ``y`` (see ``change_points``): arrays of shape (B,).

    Without sampling errors (``se2`` all 0) φ̂ is 1 and τ̂² carries all the variance; with ``design_effect``
    given φ̂ is that value.
    """
    d2 = np.diff(y, axis=1) ** 2
    s = se2[1:] + se2[:-1]
    rows = len(y)
    known = bool(se2.max(initial=0.0) > 0)
    phi = np.full(rows, float(design_effect) if design_effect is not None and known else 1.0)
    tau2 = np.zeros(rows)
    if d2.shape[1] == 0:
        return phi, tau2
    free = known and design_effect is None
    tau2 = np.maximum(0.0, (d2.mean(axis=1) - phi * s.mean()) / 2)
    # A floor that keeps 1/fitted² finite for a constant series.
    tiny = max(1e-12 * max(float(d2.max(initial=0.0)), float(s.max(initial=0.0))), 1e-100)
    for _ in range(_MOMENT_ROUNDS):
        fitted = np.maximum(phi[:, None] * s + 2 * tau2[:, None], tiny)
        w = 1 / fitted**2
        r = np.minimum(d2, _HUBER_C**2 * fitted) / _HUBER_TARGET
        wr = w * r
        if free:
            new_phi, new_tau2 = _constrained_moments(w, wr, r, s)
        else:
            new_phi, new_tau2 = phi, np.maximum(0.0, (wr.sum(axis=1) - phi * (w @ s)) / (2 * w.sum(axis=1)))
        change = max(_relative_change(new_phi, phi), _relative_change(new_tau2, tau2))
        phi, tau2 = new_phi, new_tau2
        if change < 1e-7:
            break
    return phi, tau2


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    scale = np.maximum(np.abs(old), 1e-300)
    return float(np.max(np.abs(new - old) / scale, initial=0.0))


def _constrained_moments(w, wr, r, s) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of r_t on φ s_t + t (t = 2τ²) per row (weights ``w``, ``wr`` = w r), under
    φ ≥ 1 and t ≥ 0: the interior solution when it is feasible, else the better of the two edges."""
    sw, sws, swss = w.sum(axis=1), w @ s, w @ (s * s)
    swr, swsr, swrr = wr.sum(axis=1), wr @ s, (wr * r).sum(axis=1)

    def sse(phi, t):
        return swrr - 2 * phi * swsr - 2 * t * swr + phi**2 * swss + 2 * phi * t * sws + t**2 * sw

    det = swss * sw - sws**2
    with np.errstate(divide="ignore", invalid="ignore"):
        phi_in = (swsr * sw - sws * swr) / det
        t_in = (swss * swr - sws * swsr) / det
    phi_edge = np.maximum(1.0, swsr / swss)  # τ² = 0
    t_edge = np.maximum(0.0, (swr - sws) / sw)  # φ = 1
    edge_phi = sse(phi_edge, 0.0) <= sse(1.0, t_edge)
    phi = np.where(edge_phi, phi_edge, 1.0)
    t = np.where(edge_phi, 0.0, t_edge)
    inside = (det > 1e-12 * swss * sw) & (phi_in >= 1) & (t_in >= 0)
    return np.where(inside, phi_in, phi), np.where(inside, t_in, t) / 2


class _Splits:
    """Which splits of a segment of windows leave enough windows and enough time on each side."""

    def __init__(self, windows, min_size: int, min_span_days: float | None, grain: str | None):
        self.min_size = int(min_size)
        self.span = None
        if min_span_days is not None:
            starts = pd.DatetimeIndex(pd.to_datetime(windows))
            self.starts = starts.to_numpy()
            self.ends = pd.DatetimeIndex([_window_end(w, grain) for w in starts]).to_numpy()
            self.span = np.timedelta64(int(round(min_span_days * 86400)), "s")

    def allowed(self, a: int, b: int) -> np.ndarray:
        """Left edges k (a < k < b) of the right side of every split of windows [a, b); none below three
        windows, whose two-mean fit leaves no residual to scale it."""
        k = np.arange(a + self.min_size, b - self.min_size + 1) if b - a >= 3 else np.arange(0)
        if self.span is not None and len(k):
            k = k[(self.ends[k - 1] - self.starts[a] >= self.span) & (self.ends[b - 1] - self.starts[k]
                                                                      >= self.span)]
        return k


class _NullModel:
    """Null series drawn once from the fitted model, their variances re-estimated as on the data; every
    test of the series reads its null distribution from them (common random numbers)."""

    def __init__(self, var, se2, design_effect, splits, n_sim, rng, tail):
        self.splits, self.tail = splits, tail
        self.sims = rng.standard_normal((n_sim, len(var))) * np.sqrt(var) if len(var) else np.zeros((0, 0))
        if len(var) >= 2 and n_sim:
            phi, tau2 = _variance_components(self.sims, se2, design_effect)
            self.var = np.maximum(phi[:, None] * se2 + tau2[:, None], 1e-300)
        else:
            self.var = np.ones_like(self.sims)
        self.cache: dict[tuple[int, int], np.ndarray] = {}

    def maxima(self, a: int, b: int) -> np.ndarray:
        """Simulated max z over the allowed splits of [a, b), sorted decreasingly."""
        if (a, b) not in self.cache:
            ks = self.splits.allowed(a, b)
            z, _ = _split_statistics(self.sims[:, a:b], self.var[:, a:b], ks - a)
            self.cache[(a, b)] = np.sort(z)[::-1]
        return self.cache[(a, b)]

    def test(self, z: float, a: int, b: int) -> tuple[float, float]:
        """Bootstrap p-value of ``z`` in [a, b), and the critical value c: p < tail ⇔ z > c."""
        null = self.maxima(a, b)
        n_sim = len(null)
        p = float((1 + np.count_nonzero(null >= z)) / (n_sim + 1))
        # p < tail ⇔ #{Z* ≥ z} ≤ m − 1 with m = ⌈tail (n_sim + 1) − 1⌉ ⇔ z exceeds the m-th largest Z*.
        m = int(np.ceil(self.tail * (n_sim + 1) - 1))
        return p, float(null[m - 1]) if 1 <= m <= n_sim else float("inf")


def _shift_t(y: np.ndarray, var: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Studentised mean shift of every row of (B, L) arrays at every split ``ks`` (left sizes): the t of
    the step and its standard error √(q (1/W_L + 1/W_R)), each of shape (B, len(ks))."""
    w = 1.0 / var
    cw, cwy, cwyy = np.cumsum(w, axis=1), np.cumsum(w * y, axis=1), np.cumsum(w * y * y, axis=1)
    wl, wyl, wyyl = cw[:, ks - 1], cwy[:, ks - 1], cwyy[:, ks - 1]
    wr, wyr, wyyr = cw[:, -1:] - wl, cwy[:, -1:] - wyl, cwyy[:, -1:] - wyyl
    left, right = wyl / wl, wyr / wr
    # Rounding can leave a hair below zero in the residual sums of a near-constant segment.
    rss = np.maximum(wyyl - wl * left**2, 0) + np.maximum(wyyr - wr * right**2, 0)
    q = rss / max(y.shape[1] - 2, 1)
    se = np.sqrt(q * (1 / wl + 1 / wr))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, np.abs(left - right) / se, np.where(left != right, np.inf, 0.0))
    return t, se


def _split_statistics(y: np.ndarray, var: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of (B, L) arrays: max over the splits ``ks`` (left sizes) of the studentised mean shift, and
    the split that attains it."""
    t, _ = _shift_t(y, var, ks)
    best = np.argmax(t, axis=1)
    return t[np.arange(len(t)), best], ks[best]


def _segment_means(y, var, bounds, confidence):
    """(a, b, mean, variance, low, high) per segment: weighted means, their variance q/W with q the
    residual scale of the whole segmentation, and t intervals."""
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        weight = (1 / var[a:b]).sum()
        mean = float((y[a:b] / var[a:b]).sum() / weight)
        parts.append((a, b, mean, weight, float((((y[a:b] - mean) ** 2) / var[a:b]).sum())))
    dof = len(y) - len(parts)
    q = sum(part[4] for part in parts) / dof if dof > 0 else 1.0
    crit = stats.t.ppf((1 + confidence) / 2, dof) if dof > 0 else stats.norm.ppf((1 + confidence) / 2)
    rows = []
    for a, b, mean, weight, _ in parts:
        half = crit * np.sqrt(q / weight)
        rows.append((a, b, mean, q / weight, mean - half, mean + half))
    return rows


def _describe(windows, y, var, found, null, alpha, confidence, min_change):
    """Segments and changes, after dropping changes below ``min_change`` and those whose local re-test
    (against the two neighbouring segments joined) does not reach ``alpha``, weakest first."""
    while True:
        bounds = [0, *found, len(y)]
        segments = _segment_means(y, var, bounds, confidence)
        sizes = [abs(segments[i + 1][2] - segments[i][2]) for i in range(len(found))]
        if found and min(sizes) < min_change:
            found.pop(int(np.argmin(sizes)))
            continue
        tests = []
        for i, k in enumerate(found):
            a, b = bounds[i], bounds[i + 2]
            t, se = _shift_t(y[None, a:b], var[None, a:b], np.array([k - a]))
            tests.append((float(t[0, 0]), float(se[0, 0]), *null.test(float(t[0, 0]), a, b)))
        if found and max(test[2] for test in tests) >= alpha:
            found.pop(int(np.argmax([test[2] for test in tests])))
            continue
        break
    changes = []
    for i, (k, (t, se, p, critical)) in enumerate(zip(found, tests, strict=True)):
        (a, _, before, _, b_low, b_high), (_, b, after, _, a_low, a_high) = segments[i:i + 2]
        half = critical * se
        changes.append({
            "window": windows[k], "index": k, "before": before, "before_low": b_low, "before_high": b_high,
            "after": after, "after_low": a_low, "after_high": a_high, "change": after - before,
            "change_low": after - before - half, "change_high": after - before + half, "z": t,
            "critical": critical, "p_value": p, "windows_before": k - a, "windows_after": b - k,
        })
    segment_frame = pd.DataFrame(
        [{"start": windows[a], "end": windows[b - 1], "windows": b - a, "mean": m, "low": lo, "high": hi}
         for a, b, m, _, lo, hi in segments] if len(y) else [],
        columns=["start", "end", "windows", "mean", "low", "high"],
    )
    return pd.DataFrame(changes, columns=_CHANGE_COLUMNS), segment_frame


def _window_values(frame: pd.DataFrame, value: str = "value", confidence: float = 0.95) -> pd.DataFrame:
    """The windows of a series, ``window, value, low, high, n``, with their own intervals (± z s.e. when
    the series has none)."""
    y = frame[value].to_numpy(float)
    if {"low", "high"} <= set(frame):
        low, high = frame["low"].to_numpy(float), frame["high"].to_numpy(float)
    else:
        se = frame["std_error"].to_numpy(float) if "std_error" in frame else np.full(len(y), np.nan)
        half = stats.norm.ppf((1 + confidence) / 2) * se
        low, high = y - half, y + half
    n = frame["n"].to_numpy(float) if "n" in frame else np.full(len(y), np.nan)
    return pd.DataFrame({"window": frame["window"].to_numpy(), "value": y, "low": low, "high": high, "n": n})


# --- guideline versions ---------------------------------------------------------------------------------


def _window_end(window: pd.Timestamp, grain: str) -> pd.Timestamp:
    if grain == "month":
        return window + pd.DateOffset(months=1)
    return window + pd.Timedelta(days=GRAIN_DAYS[grain])


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


def _sides(windows, grain, previous, start, following, span):
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


# --- annotators -----------------------------------------------------------------------------------------


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


# --- cohorts joining ------------------------------------------------------------------------------------


def _compare_proportions(x1, n1, x2, n2, confidence: float) -> dict:
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


# --- test–retest ----------------------------------------------------------------------------------------


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


# --- all findings and their words -----------------------------------------------------------------------

#: The grain the tests run at, whatever grain the page draws. A month grain leaves six windows in half a
#: year, too few to tell a change from the way windows vary (on the demo, a 4-point fall of the share of
#: '7' reads p = 0.19 on months and p = 0.002 on weeks), and days add weekday rhythms and windows of a
#: handful of items; tests on one grid tell one story at every grain. Daily views date each change to the
#: day within its week (``drift_findings``'s ``display``).
ANALYSIS_GRAIN = "week"
#: Shortest time a segment between two reported changes covers, in days: a shift that lasts less is an
#: episode, not drift, and a span in time (not in windows) means the same at every grain.
MIN_SEGMENT_DAYS = 28
#: Labels whose share is followed one by one, the most frequent first; the others are followed together
#: as one share, so the work stays bounded however many labels a store has.
TOP_LABELS = 20
#: Quality series whose sampling errors already count items as the unit (``change_points``'s
#: ``design_effect``); the others have their design effect estimated.
QUALITY_DESIGN_EFFECTS = {"agreement": 1.0, "suspects": 1.0}


@dataclasses.dataclass(frozen=True, eq=False)
class DriftFindings:
    """Everything ``drift_findings`` found, for ``what_changed``, the page and ``summary --json``.

    Attributes
    ----------
    grain : str
        Time grain of the windows tested.
    series : DataFrame
        Every series tested for change points: ``key, series, unit, windows, design_effect, between_sd,
        p_value, q_value, changes`` (``between_sd`` = τ̂, in the series' unit).
    change_points : tuple of ChangePoints
        The series with a change (series-level BH q < ``fdr``), plus the pair shares derived from them;
        their ``values`` are the windows of ``display_grain``.
    shift : DataFrame
        ``shift_table`` of the label counts (followed labels and the others pooled) against the baseline.
    guidelines : DataFrame
        ``guideline_comparison``.
    guideline_dates : DataFrame
        ``version, effective_at`` of the versions.
    annotators : AnnotatorDrift
    onboarding : DataFrame
        ``onboarding_effects``.
    retest : RetestDrift or None
        None without re-test pairs.
    fdr : float
    min_change : float
        The smallest change reported (see ``drift_findings``).
    display_grain : str or None
        The grain of the windows drawn (None: ``grain``).
    labels : tuple of str
        The labels whose share was followed one by one.
    other_label : str or None
        The name of the share of all other labels (None when every label was followed).
    other_labels : int
        How many labels that share pools.
    min_span_days : float
        Shortest span of a segment, in days.
    label_counts : DataFrame or None
        The ``window, label, n`` counts tested: the followed labels and ``other_label``.
    """

    grain: str
    series: pd.DataFrame
    change_points: tuple
    shift: pd.DataFrame
    guidelines: pd.DataFrame
    guideline_dates: pd.DataFrame
    annotators: AnnotatorDrift
    onboarding: pd.DataFrame
    retest: RetestDrift | None
    fdr: float
    min_change: float = 0.0
    display_grain: str | None = None
    labels: tuple = ()
    other_label: str | None = None
    other_labels: int = 0
    min_span_days: float = MIN_SEGMENT_DAYS
    label_counts: pd.DataFrame | None = None


def quality_series(inputs: DriftInputs) -> dict[str, tuple[str, pd.DataFrame]]:
    """The quality metrics per window of ``analytics.store.drift.DriftInputs``: key → (words, series)."""
    found = {"agreement": ("percent agreement", agreement_series(inputs.agreement))}
    if len(inputs.annotators):
        found["majority"] = ("agreement with the majority", rate_series(inputs.annotators, "loo_agree",
                                                                         "loo_items"))
        if inputs.annotators["gold_n"].sum() > 0:
            found["gold"] = ("gold accuracy", rate_series(inputs.annotators, "gold_correct", "gold_n"))
    if inputs.suspects is not None and len(inputs.suspects):
        found["suspects"] = ("suspect rate", rate_series(inputs.suspects, "flagged", "items"))
    return found


def top_labels(counts: pd.DataFrame, top: int = TOP_LABELS) -> list[str]:
    """The ``top`` most frequent labels of a ``window, label, n`` table, most frequent first (ties by
    label)."""
    totals = counts.assign(label=counts["label"].astype(str)).groupby("label")["n"].sum()
    frame = totals.reset_index().sort_values(["n", "label"], ascending=[False, True])
    return frame["label"].head(top).tolist()


def other_label(labels: Sequence[str]) -> str:
    """A name for "every other label" that no label in ``labels`` has."""
    taken = {str(label) for label in labels}
    name = "(other labels)"
    while name in taken:
        name = "(" + name + ")"
    return name


def collapse_labels(counts: pd.DataFrame, keep: Sequence[str], other: str) -> pd.DataFrame:
    """``window, label, n`` with every label outside ``keep`` counted as ``other``.

    Examples
    --------
    >>> counts = pd.DataFrame({"window": [1, 1, 1], "label": ["a", "b", "c"], "n": [5, 2, 1]})
    >>> collapse_labels(counts, ["a"], "rest").values.tolist()
    [[1, 'a', 5], [1, 'rest', 3]]
    """
    labels = counts["label"].astype(str)
    frame = counts.assign(label=labels.where(labels.isin(list(keep)), other))
    return frame.groupby(["window", "label"], as_index=False, sort=True)["n"].sum()


def _label_series(counts, labels, other, other_count, pairs) -> dict[str, tuple]:
    """key → (words, unit, series, design effect) of the label shares and pair shares followed."""
    found = {}
    for label in labels:
        found["share:" + label] = (f"share of '{label}' among all labels", "share",
                                   share_series(counts, label), None)
    if other is not None:
        found["other"] = (f"share of the {other_count:,} less frequent labels together", "share",
                          share_series(counts, other), None)
    for a, b in pairs:
        found[f"pair:{a}|{b}"] = (_pair_words(a, b), "share", share_series(counts, a, among=(a, b)), None)
    return found


def _tested_series(inputs, counts, labels, other, other_count, pairs) -> dict[str, tuple]:
    found = {key: (words, "share", frame, QUALITY_DESIGN_EFFECTS.get(key))
             for key, (words, frame) in quality_series(inputs).items()}
    return {**found, **_label_series(counts, labels, other, other_count, pairs)}


def confused_pairs(item_counts: pd.DataFrame, *, top: int = 3,
                   labels: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The label pairs annotators confuse most, as (label, other) with label > other in sort order.

    Parameters
    ----------
    item_counts : DataFrame with columns ``item_key`` (or ``item_id``), ``label``, ``n``
        A label-count table (``analytics.store.agreement.label_counts``).
    top : int
        How many pairs.
    labels : sequence of str, optional
        Only pairs of these labels (e.g. ``top_labels``): the confusion table is labels × labels.

    Returns
    -------
    list of (str, str)
        Unordered pairs of different labels given to the same items more often than their frequencies
        explain (lift > 1 in ``analytics.agreement.coefficients.label_confusion_from_counts``), most
        coincidences first.
    """
    if item_counts is None or item_counts.empty:
        return []
    if labels is not None:
        item_counts = item_counts[item_counts["label"].astype(str).isin([str(x) for x in labels])]
        if item_counts.empty:
            return []
    table = label_confusion_from_counts(item_counts)
    a, b = table["label_a"].astype(str), table["label_b"].astype(str)
    off = table.assign(a=a, b=b)[(a < b) & (table["lift"] > 1)]
    off = off.sort_values(["pairs", "a", "b"], ascending=[False, True, True]).head(top)
    return [(second, first) for first, second in zip(off["a"], off["b"], strict=True)]


def drift_findings(
    inputs: DriftInputs,
    *,
    display: DriftInputs | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    ds: pd.DataFrame | None = None,
    alpha: float = 0.05,
    fdr: float = 0.05,
    min_change: float = 0.01,
    span: int | None = None,
    min_span_days: float = MIN_SEGMENT_DAYS,
    top: int = TOP_LABELS,
    n_sim: int = 999,
    random_state: int = 0,
) -> DriftFindings:
    """Run every drift analysis on the tables of ``analytics.store.drift.drift_inputs``.

    Parameters
    ----------
    inputs : DriftInputs
        Or any object with the same attributes (``grain, label_counts, agreement, annotators, suspects,
        retest, guidelines`` and optionally ``item_counts``), at the grain the tests run at
        (``ANALYSIS_GRAIN`` on the page and in the summary).
    display : DriftInputs or None
        The same tables at the grain the page draws (``analytics.store.drift.display_inputs``): the
        change points then carry those windows' values, and at a finer grain (days) each change is dated
        within its week by the finer windows. None: draw the tested windows.
    pairs : sequence of (str, str) or None
        Pairs (label, other) whose share of label among label/other labels is followed too; None takes the
        three pairs annotators confuse most among the followed labels (``confused_pairs`` of
        ``inputs.item_counts``), ``()`` none. Pairs are also formed from two class shares that change in
        opposite directions within a week.
    ds : DataFrame or None
        ``ds_accuracy_windows`` for the annotators' Dawid–Skene accuracy.
    alpha : float
        Level of each change-point test within a series.
    fdr : float
        Benjamini–Hochberg rate of every family: series with a change, windows with a shifted
        distribution, guideline rows, annotators, onboarding comparisons.
    min_change : float
        Smallest change (in the series' unit, 0.01 = one point of a share) worth reporting: at millions of
        labels a wobble of a tenth of a point is significant and means nothing. ``what_changed`` applies
        it to the guideline comparisons too.
    span : int or None
        Windows each side of a guideline change to compare (None: the whole time each version was in force).
    min_span_days : float
        Shortest segment between changes, in days (``MIN_SEGMENT_DAYS``).
    top : int
        Labels whose share is followed one by one (``TOP_LABELS``); the rest are followed as one share.
    n_sim : int
        Simulated null series per change-point test.
    random_state : int
        Seed of the simulations.

    Returns
    -------
    DriftFindings

    Notes
    -----
    The series tested: percent agreement, agreement with the majority, gold accuracy and suspect rate (when
    available), the share of each of the ``top`` most frequent labels, the share of all other labels
    together, and the pair shares. At most ``top`` + 8 series are tested, however many labels the store
    has. Each series' test of "no change at all" gives a p-value; BH across series keeps the false
    discovery rate of "series with a change" at ``fdr``. Within a kept series, further changes come from
    binary segmentation at ``alpha``, segments covering at least ``min_span_days``. The label distribution
    is compared window by window with a baseline of the first ``min_span_days`` (``shift_table``), the
    labels beyond the ``top`` pooled.
    """
    followed = top_labels(inputs.label_counts, top)
    other = other_label(inputs.label_counts["label"])
    other_count = int(inputs.label_counts["label"].astype(str).nunique()) - len(followed)
    counts = collapse_labels(inputs.label_counts, followed, other)
    if pairs is None:
        pairs = confused_pairs(getattr(inputs, "item_counts", None), labels=followed)
    pairs = [(str(a), str(b)) for a, b in pairs]
    series = _tested_series(inputs, counts, followed, other if other_count else None, other_count, pairs)
    options = {"alpha": alpha, "min_change": min_change, "n_sim": n_sim, "min_size": 1,
               "min_span_days": min_span_days, "grain": inputs.grain, "random_state": random_state}
    results = {key: change_points(frame, name=words, unit=unit, design_effect=effect, **options)
               for key, (words, unit, frame, effect) in series.items()}
    keys = list(results)
    p = np.array([results[k].p_value for k in keys], dtype=float)
    q = bh_qvalues(np.nan_to_num(p, nan=1.0), np.isfinite(p), fdr) if keys else np.zeros(0)
    kept = {k for k, qk in zip(keys, q, strict=True) if qk < fdr and len(results[k].changes)}
    asked = {frozenset(pair) for pair in pairs}
    found_pairs = _auto_pairs(results, kept, inputs.grain, asked)
    for key, (words, _, frame, _) in _label_series(counts, (), None, 0, found_pairs).items():
        result = change_points(frame, name=words, unit="share", **options)
        if len(result.changes) and result.p_value < alpha:
            series[key] = (words, "share", frame, None)
            results[key] = result
            keys.append(key)
            p, q = np.append(p, result.p_value), np.append(q, np.nan)
            kept.add(key)
    table = pd.DataFrame({
        "key": keys, "series": [results[k].series for k in keys], "unit": [results[k].unit for k in keys],
        "windows": [len(results[k].values) for k in keys],
        "design_effect": [results[k].design_effect for k in keys],
        "between_sd": [np.sqrt(results[k].between_variance) for k in keys], "p_value": p, "q_value": q,
        "changes": [len(results[k].changes) if k in kept else 0 for k in keys],
    })
    shown = [results[k] for k in keys if k in kept]
    if display is not None and display.grain != inputs.grain:
        shown = _redraw(shown, [k for k in keys if k in kept], series, display, followed,
                        other if other_count else None, other_count, pairs + found_pairs, inputs.grain)
    quality = {words: frame for key, (words, _, frame, _) in series.items()
               if not key.startswith(("share:", "pair:")) and key != "other"}
    effects = {words: effect for key, (words, _, _, effect) in series.items()}
    annotators = annotator_drift(inputs.annotators, ds=ds, fdr=fdr)
    retest = retest_drift(inputs.retest) if len(inputs.retest) else None
    return DriftFindings(
        grain=inputs.grain, series=table, change_points=tuple(shown),
        shift=shift_table(counts, grain=inputs.grain, baseline_days=min_span_days, fdr=fdr),
        guidelines=guideline_comparison(inputs.guidelines, series=quality, label_counts=counts,
                                        grain=inputs.grain, span=span, design_effects=effects, fdr=fdr),
        guideline_dates=inputs.guidelines[["version", "effective_at"]].copy(),
        annotators=annotators, onboarding=onboarding_effects(inputs.annotators, fdr=fdr),
        retest=retest, fdr=fdr, min_change=min_change,
        display_grain=display.grain if display is not None else inputs.grain, labels=tuple(followed),
        other_label=other if other_count else None, other_labels=max(other_count, 0),
        min_span_days=min_span_days, label_counts=counts,
    )


def changes_table(findings: DriftFindings) -> pd.DataFrame:
    """Every change reported, one row each: ``series, unit`` and the columns of ``ChangePoints.changes``,
    by date."""
    frames = [cp.changes.assign(series=cp.series, unit=cp.unit) for cp in findings.change_points]
    columns = ["series", "unit", *_CHANGE_COLUMNS]
    if not frames:
        return pd.DataFrame({c: [] for c in columns})
    table = pd.concat(frames, ignore_index=True)[columns]
    return table.sort_values(["window", "series"], ignore_index=True)


def declared_shift(findings: DriftFindings, expected: pd.Series) -> pd.DataFrame:
    """``shift_table`` of the tested counts against a declared distribution, the declared shares of the
    labels not followed one by one pooled into ``findings.other_label`` as the counts are."""
    counts = findings.label_counts
    if findings.other_label is not None:
        shares = pd.Series(expected, dtype=float)
        keep = shares.index.astype(str).isin(findings.labels)
        expected = pd.concat([shares[keep], pd.Series({findings.other_label: shares[~keep].sum()})])
    return shift_table(counts, expected=expected, grain=findings.grain, fdr=findings.fdr)


def _redraw(results, keys, series, display, followed, other, other_count, pairs, grain) -> list:
    """The change points with the windows of ``display`` as values and, on finer windows, each change
    dated within its week."""
    counts = collapse_labels(display.label_counts, followed, other or other_label(followed))
    fine = {key: (frame, effect) for key, (_, _, frame, effect) in
            _tested_series(display, counts, followed, other, other_count, pairs).items()}
    finer = GRAIN_DAYS[display.grain] < GRAIN_DAYS[grain]
    drawn = []
    for key, result in zip(keys, results, strict=True):
        frame, effect = fine.get(key, (None, series[key][3]))
        if frame is None or frame.empty:
            drawn.append(dataclasses.replace(result, values=result.values.iloc[:0]))
            continue
        if finer:
            result = _refine(result, frame, design_effect=effect, grain=grain)
        drawn.append(dataclasses.replace(result, values=_window_values(frame.sort_values("window"), "value")))
    return drawn


def _refine(result: ChangePoints, fine: pd.DataFrame, *, design_effect, grain: str) -> ChangePoints:
    """``result`` with each change dated by the finer windows of ``fine``: the split, within the window
    before the change and the window of it, with the largest studentised step between the change's two
    neighbouring segments (the finer windows' variances fitted as in ``change_points``). Sizes, intervals
    and p-values stay those of the tested windows."""
    fine = fine[np.isfinite(fine["value"].to_numpy(float))].sort_values("window", ignore_index=True)
    if result.changes.empty or len(fine) < 3:
        return result
    var = np.maximum(fitted_variance(fine, design_effect=design_effect), 1e-300)
    y = fine["value"].to_numpy(float)
    when = pd.to_datetime(fine["window"]).to_numpy()
    tested = pd.to_datetime(result.values["window"]).tolist()
    changes, segments = result.changes.copy(), result.segments.copy()
    for i, k in enumerate(changes["index"].astype(int)):
        low = np.datetime64(pd.Timestamp(segments["start"].iloc[i]))
        high = np.datetime64(_window_end(pd.Timestamp(segments["end"].iloc[i + 1]), grain))
        inside = np.flatnonzero((when >= low) & (when < high))
        earliest = np.datetime64(tested[k - 1]) if k >= 1 else low
        latest = np.datetime64(_window_end(tested[k], grain))
        splits = np.array([j for j, at in enumerate(when[inside]) if j >= 1 and earliest <= at < latest])
        if len(inside) < 3 or not len(splits):
            continue
        t, _ = _shift_t(y[None, inside], var[None, inside], splits)
        j = inside[splits[int(np.argmax(t[0]))]]
        changes.loc[changes.index[i], "window"] = pd.Timestamp(when[j])
        segments.loc[segments.index[i], "end"] = pd.Timestamp(when[j - 1])
        segments.loc[segments.index[i + 1], "start"] = pd.Timestamp(when[j])
    return dataclasses.replace(result, changes=changes, segments=segments)


def _pair_words(label: str, other: str) -> str:
    first, second = sorted((str(label), str(other)))
    return f"share of '{label}' among '{first}'/'{second}' labels"


def _auto_pairs(results, kept, grain, asked) -> list[tuple[str, str]]:
    """Pairs (falling label, rising label) of class shares that changed within a week of each other."""
    tolerance = pd.Timedelta(days=max(GRAIN_DAYS[grain], 7))
    moves = []
    for key in kept:
        if key.startswith("share:"):
            for row in results[key].changes.itertuples():
                moves.append((key[len("share:"):], pd.Timestamp(row.window), row.change))
    found = []
    for a, when_a, change_a in sorted(moves):
        for b, when_b, change_b in sorted(moves):
            pair = frozenset((a, b))
            if change_a < 0 < change_b and abs(when_a - when_b) <= tolerance and pair not in asked:
                asked.add(pair)
                found.append((a, b))
    return found


def _pct(value: float, precise: bool = False) -> str:
    return f"{value:.1%}" if precise else f"{value:.0%}"


def _points(change: float) -> str:
    return f"{100 * change:+.1f} points"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _value(value: float, unit: str, precise: bool) -> str:
    return _pct(value, precise) if unit == "share" else f"{value:.3f}"


def _change(row, unit: str) -> str:
    if unit == "share":
        return (f"{100 * row.change:+.1f} points, 95% CI {100 * row.change_low:+.1f} to "
                f"{100 * row.change_high:+.1f}")
    return f"{row.change:+.3f}, 95% CI {row.change_low:+.3f} to {row.change_high:+.3f}"


def _context(when: pd.Timestamp, findings: DriftFindings) -> str:
    """What else happened within a window (at least a week) of ``when``, in words."""
    tolerance = pd.Timedelta(days=max(GRAIN_DAYS[findings.grain], 7))
    events = [(pd.Timestamp(g.effective_at), f"guideline {g.version} took effect")
              for g in findings.guideline_dates.itertuples()]
    events += [(pd.Timestamp(c.joined), f"cohort {c.cohort} joined")
               for c in findings.onboarding.drop_duplicates("cohort").itertuples()]
    notes = []
    for at, what in events:
        days = (at.normalize() - when.normalize()).days
        if abs(at - when) > tolerance:
            continue
        if days == 0:
            notes.append(what)
        else:
            notes.append(f"{abs(days)} day{'s' if abs(days) > 1 else ''} {'before' if days > 0 else 'after'} "
                         f"{what} on {at:%Y-%m-%d}")
    return f" ({'; '.join(notes)})" if notes else ""


def shift_reference(shift: pd.DataFrame) -> str:
    """The reference of a ``shift_table`` in words, e.g. "baseline 2026-02-23 to 2026-03-16 (1,234 labels)".

    Examples
    --------
    >>> table = pd.DataFrame({"reference": [pd.Timestamp("2026-03-02")],
    ...                       "reference_end": [pd.Timestamp("2026-03-23")], "reference_n": [1500.0]})
    >>> shift_reference(table)
    'baseline 2026-03-02 to 2026-03-23 (1,500 labels)'
    """
    if shift.empty or shift["reference"].isna().all():
        return "declared distribution"
    first, last = (shift[column].dropna().iloc[0] for column in ("reference", "reference_end"))
    n = shift["reference_n"].dropna()
    labels = f" ({n.iloc[0]:,.0f} labels)" if len(n) and n.nunique() == 1 else ""
    if len(set(shift["reference"])) > 1:
        return "previous window"
    if first == last:
        return f"window of {_date(first)}{labels}"
    return f"baseline {_date(first)} to {_date(last)}{labels}"


def _date(value) -> str:
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (TypeError, ValueError):
        return str(value)


def what_changed(findings: DriftFindings, *, limit: int | None = None) -> list[str]:
    """The findings of ``drift_findings`` in plain sentences, most telling first.

    Parameters
    ----------
    findings : DriftFindings
    limit : int or None
        Keep at most this many sentences.

    Returns
    -------
    list of str
        Change points by date (with the guideline version or cohort that coincides), guideline versions,
        annotators, cohorts, re-tests and the label distribution; one sentence saying nothing drifted when
        nothing did. Significant but negligible effects are left out: guideline changes smaller than
        ``findings.min_change`` and distribution shifts with Cramér's V below ``MIN_CRAMERS_V``.

    Examples
    --------
    On the demo, drawn on days, a change point reads: "On 2026-05-29 (3 days before guideline v2 took
    effect on 2026-06-01) the share of '7' among all labels fell from 13.7% to 9.7% (change -3.9 points,
    95% CI -6.6 to -1.3; p = 0.002)." The interval allows for the search over dates, and excludes 0 exactly
    when p < 0.05.
    """
    lines: list[tuple[pd.Timestamp, str]] = []
    for result in findings.change_points:
        for row in result.changes.itertuples():
            when = pd.Timestamp(row.window)
            before, after = (_value(v, result.unit, abs(row.change) < 0.05) for v in (row.before, row.after))
            lines.append((when, f"On {when:%Y-%m-%d}{_context(when, findings)} the {result.series} "
                                f"{'rose' if row.change > 0 else 'fell'} from {before} to {after} (change "
                                f"{_change(row, result.unit)}; {_p(row.p_value)})."))
    sentences = [text for _, text in sorted(lines, key=lambda pair: pair[0])]
    for row in findings.guidelines[findings.guidelines["significant"]].itertuples():
        start = f"guideline {row.version} (from {pd.Timestamp(row.effective_at):%Y-%m-%d})"
        if (row.cramers_v < MIN_CRAMERS_V) if row.metric == "label distribution" else (
                abs(row.change) < findings.min_change):
            continue
        if row.metric == "label distribution":
            sentences.append(
                f"The label distribution under {start} differs from {row.previous_version}'s (Cramér's V "
                f"{row.cramers_v:.3f}, Jensen–Shannon distance {row.js_distance:.3f}; {_p(row.p_value)}).")
        else:
            sentences.append(
                f"Under {start} {row.metric} was {_pct(row.after)} against {_pct(row.before)} under "
                f"{row.previous_version} (change {_points(row.change)}; {_p(row.p_value)}).")
    for row in findings.annotators.annotators.itertuples():
        if row.declining:
            sentences.append(
                f"Annotator {row.annotator_id} ({row.cohort}) is declining: their agreement with the "
                f"majority went from {_pct(row.first_half)} to {_pct(row.second_half)} between the halves "
                f"of their work, {_points(row.trend_per_30d)} per 30 days relative to their peers "
                f"(q = {row.trend_q:.3g}).")
    joined = set()
    for row in findings.onboarding.itertuples():
        # a cohort that gave under 1% of the ratings in its first weeks is announced only by its effects
        if row.cohort not in joined and row.share_of_ratings >= 0.01:
            joined.add(row.cohort)
            sentences.append(
                f"Cohort {row.cohort} ({row.annotators} annotators) joined on "
                f"{pd.Timestamp(row.joined):%Y-%m-%d} and gave {_pct(row.share_of_ratings)} of the ratings "
                "in its first weeks.")
        if row.vs_rest_q < findings.fdr:
            sentences.append(
                f"In its first weeks cohort {row.cohort}'s {row.metric} was {_pct(row.early)}, against "
                f"{_pct(row.rest)} for the other annotators at the time (change {_points(row.vs_rest)}; "
                f"{_p(row.vs_rest_p)}).")
        if row.since_vs_rest_q < findings.fdr:
            sentences.append(
                f"Since joining, cohort {row.cohort}'s {row.metric} was {_pct(row.since)}, against "
                f"{_pct(row.since_rest)} for the other annotators (change {_points(row.since_vs_rest)}; "
                f"{_p(row.since_vs_rest_p)}).")
        if row.vs_later_q < findings.fdr:
            sentences.append(
                f"Cohort {row.cohort}'s {row.metric} changed after onboarding: {_pct(row.early)} in its "
                f"first weeks, {_pct(row.later)} later ({_p(row.vs_later_p)}).")
    retest = findings.retest
    if retest is not None and retest.pairs:
        grows = "grows" if retest.trend_p < findings.fdr else "does not grow significantly"
        sentences.append(
            f"Re-labels of an item by the same annotator changed the label in "
            f"{_pct(retest.changed / retest.pairs)} of {retest.pairs} pairs; the rate {grows} with the time "
            f"between them ({_p(retest.trend_p)}).")
    shifted = findings.shift[findings.shift["significant"] & (findings.shift["cramers_v"] >= MIN_CRAMERS_V)]
    if len(shifted):
        worst = shifted.sort_values("cramers_v").iloc[-1]
        sentences.append(
            f"The label distribution of {len(shifted)} of {len(findings.shift)} windows differs from the "
            f"{shift_reference(findings.shift)}'s; the largest shift is the window of "
            f"{pd.Timestamp(worst['window']):%Y-%m-%d} (Cramér's V {worst['cramers_v']:.3f}, Jensen–Shannon "
            f"distance {worst['js_distance']:.3f}).")
    if not sentences:
        sentences.append(
            "Nothing drifted: no change point, guideline effect, declining annotator, cohort effect or "
            "shifted label distribution passes the false-discovery control.")
    return sentences[:limit] if limit is not None else sentences
