"""Series of one value per window (``window, value, std_error, n, low, high``) built from the per-window
count tables: label shares with Wilson intervals, agreement, and rates; the length of each grain.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.core.stats import wilson_interval

#: Length of a window in days, for "within a window of" (a month counts as 31 days).
GRAIN_DAYS = {"day": 1, "week": 7, "month": 31}




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




def _window_end(window: pd.Timestamp, grain: str) -> pd.Timestamp:
    if grain == "month":
        return window + pd.DateOffset(months=1)
    return window + pd.Timedelta(days=GRAIN_DAYS[grain])
