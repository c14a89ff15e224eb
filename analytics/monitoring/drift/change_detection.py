"""Change points in a series: binary segmentation with a t statistic on the shift in mean, whose variance
lets each window vary by φ σ_t² + τ² (a design effect on its sampling variance and a variance of its own,
both estimated from the series with a Huber-type moment estimator), a null distribution of the largest
statistic, and the segments' means with intervals.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import stats

from analytics.monitoring.drift.series import GRAIN_DAYS, _window_end

#: Huber's c of the between-window variance estimate, and E min(Z², c²) = P(χ²₃ ≤ c²) + c² P(χ²₁ > c²).
_HUBER_C = 1.5
_HUBER_TARGET = float(stats.chi2.cdf(_HUBER_C**2, 3) + _HUBER_C**2 * stats.chi2.sf(_HUBER_C**2, 1))




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


def _variance_components(y: np.ndarray, se2: np.ndarray,
                         design_effect: float | None) -> tuple[np.ndarray, np.ndarray]:
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


def _constrained_moments(w: np.ndarray, wr: np.ndarray, r: np.ndarray,
                         s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of r_t on φ s_t + t (t = 2τ²) per row (weights ``w``, ``wr`` = w r), under
    φ ≥ 1 and t ≥ 0: the interior solution when it is feasible, else the better of the two edges."""
    sw, sws, swss = w.sum(axis=1), w @ s, w @ (s * s)
    swr, swsr, swrr = wr.sum(axis=1), wr @ s, (wr * r).sum(axis=1)

    def sse(phi: np.ndarray | float, t: np.ndarray | float) -> np.ndarray:
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

    def __init__(self, windows: np.ndarray, min_size: int, min_span_days: float | None,
                 grain: str | None) -> None:
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

    def __init__(self, var: np.ndarray, se2: np.ndarray, design_effect: float | None, splits: _Splits,
                 n_sim: int, rng: np.random.Generator, tail: float) -> None:
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


def _segment_means(y: np.ndarray, var: np.ndarray, bounds: list[int],
                   confidence: float) -> list[tuple[int, int, float, float, float, float]]:
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


def _describe(windows: np.ndarray, y: np.ndarray, var: np.ndarray, found: list[int], null: _NullModel,
              alpha: float, confidence: float, min_change: float) -> tuple[pd.DataFrame, pd.DataFrame]:
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
