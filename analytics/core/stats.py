"""Statistics shared by every concern: binomial intervals, rates, one-sided two-proportion tests and
Benjamini–Hochberg q-values.

Each function is vectorised over numpy arrays and states its method; the agreement, monitoring (annotators,
drift, slices) and detection modules import them from here, so one name has one meaning.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats
from statsmodels.stats.multitest import multipletests


def wilson_interval(successes: ArrayLike, n: ArrayLike, *, confidence: float = 0.95,
                    ) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion, vectorised.

    Parameters
    ----------
    successes, n : int or array_like
        Successes out of n trials (broadcast together), e.g. an annotator's correct gold labels.
    confidence : float
        Coverage, in (0, 1).

    Returns
    -------
    (low, high) : floats or arrays
        Interval bounds in [0, 1]; nan where n = 0.

    Notes
    -----
    With p̂ = x/n and z the normal quantile: (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n). Unlike the
    Wald interval p̂ ± z √(p̂(1 − p̂)/n) it stays inside [0, 1] and keeps its coverage near 0 and 1 and for
    small n, which is where per-annotator gold accuracy lives.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22,
    209–212. Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval estimation for a binomial proportion.
    Statistical Science 16(2), 101–133.

    Examples
    --------
    >>> [round(float(x), 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    x, n = np.broadcast_arrays(np.asarray(successes, dtype=float), np.asarray(n, dtype=float))
    if (x < 0).any() or (x > n).any():
        raise ValueError("successes must lie between 0 and n")
    z = stats.norm.ppf((1 + confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    if low.ndim == 0:
        return float(low), float(high)
    return low, high



def success_rate(successes: ArrayLike, n: ArrayLike) -> np.ndarray:
    """successes / n elementwise, NaN where n is 0."""
    x, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, x / n, np.nan)



def one_sided_lower_p(x1: ArrayLike, n1: ArrayLike, x2: ArrayLike, n2: ArrayLike) -> np.ndarray:
    """p-value of H1: p1 < p2 by the pooled two-proportion z-test (statsmodels ``proportions_ztest``)."""
    x1, n1, x2, n2 = (np.asarray(a, dtype=float) for a in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (x1 / n1 - x2 / n2) / se
    p = stats.norm.cdf(z)
    return np.where(np.isfinite(p), p, 1.0)



def bh_qvalues(p_values: np.ndarray, tested: np.ndarray, fdr: float) -> np.ndarray:
    """Benjamini–Hochberg q-values over the tested rows; NaN for rows not tested."""
    q = np.full(len(p_values), np.nan)
    if tested.any():
        q[tested] = multipletests(p_values[tested], alpha=fdr, method="fdr_bh")[1]
    return q
