"""The simulated world shared by the digits demo (``analytics.synthetic.demo``) and the scale generator
(``analytics.synthetic.scale``): a fixed clock, the digit vocabulary and guidelines, and the annotator noise
model.

The clock is the fixed period 2026-03-01 … 2026-08-31 (UTC, naive timestamps), so generated data does not
depend on when it is made. Guideline ``v1`` is in force from the period start, ``v2`` from
``GUIDELINE_CHANGE_AT``.

One event = one annotator labeling one item whose true class is known. An event is wrong with probability
``p_error``; a wrong label goes to the true class's confusable partner with probability ``partner_share``
(when the class has one) and otherwise uniformly to one of the K − 1 other classes. A *random* annotator
(a spammer) ignores the item and draws uniformly from all K classes.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

PERIOD_START = dt.datetime(2026, 3, 1)
PERIOD_END = dt.datetime(2026, 8, 31, 23, 59, 59)
GUIDELINE_CHANGE_AT = dt.datetime(2026, 6, 1)
VENDOR_JOINS_AT = dt.datetime(2026, 6, 15)
LABELS = tuple(str(k) for k in range(10))
#: Confusable class pairs of handwritten digits (both directions).
CONFUSION_PAIRS = ((1, 7), (3, 8), (4, 9))
#: Share of items in each ``source`` slice; ``fax`` is the noisy one.
SOURCES = (("scanner", 0.5), ("mobile", 0.3), ("fax", 0.2))
REGIONS = ("north", "south", "east", "west")
NOISY_SLICE = ("source", "fax")
NOISY_MULTIPLIER = 3.5


def epoch_seconds(when: dt.datetime) -> float:
    """Seconds since 1970-01-01 of a naive UTC datetime."""
    return (when - dt.datetime(1970, 1, 1)).total_seconds()


def slice_error_multiplier(source: np.ndarray) -> np.ndarray:
    """Per-item factor on the error probability: ``NOISY_MULTIPLIER`` × on the noisy slice, normalised so
    that the mean factor over ``source`` is 1 (an annotator's average accuracy stays nominal)."""
    noisy = source == NOISY_SLICE[1]
    return np.where(noisy, NOISY_MULTIPLIER, 1.0) / (1 + (NOISY_MULTIPLIER - 1) * float(np.mean(noisy)))


def vocabulary_frame() -> pd.DataFrame:
    """The digit vocabulary (``label, parent, description``), flat."""
    return pd.DataFrame({
        "label": list(LABELS),
        "parent": pd.Series([None] * len(LABELS), dtype=object),
        "description": [f"handwritten digit {k}" for k in LABELS],
    })


def guidelines_frame() -> pd.DataFrame:
    """Guideline versions ``v1`` and ``v2`` (``version, effective_at, summary``)."""
    return pd.DataFrame({
        "version": ["v1", "v2"],
        "effective_at": pd.Series([PERIOD_START, GUIDELINE_CHANGE_AT], dtype="datetime64[us]"),
        "summary": [
            "Label the digit shown, 0-9. A 1 drawn with a flag at the top is labeled 7.",
            "Clarifies 1 vs 7: a 1 with a flag but no horizontal bar is labeled 1; only a crossed or "
            "clearly barred top stroke makes a 7.",
        ],
    })


def noisy_labels(
    rng: np.random.Generator,
    true_k: np.ndarray,
    *,
    p_error: np.ndarray,
    partner_share: np.ndarray,
    random_label: np.ndarray,
    n_classes: int = 10,
) -> np.ndarray:
    """Draw one label per event from the noise model.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    true_k : ndarray of int, shape (n_events,)
        True class of each event's item, in ``0 … n_classes − 1``.
    p_error : ndarray of float, shape (n_events,)
        Probability that the event's label is wrong.
    partner_share : ndarray of float, shape (n_events,)
        Probability that a wrong label is the confusable partner (``CONFUSION_PAIRS``) of the true class.
    random_label : ndarray of bool, shape (n_events,)
        Events whose label is drawn uniformly from all classes instead (spammers).
    n_classes : int
        K, the number of classes.

    Returns
    -------
    ndarray of int, shape (n_events,)
        The labels given.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> true_k = np.full(10_000, 1)
    >>> labels = noisy_labels(rng, true_k, p_error=np.full(10_000, 0.2), partner_share=np.ones(10_000),
    ...                       random_label=np.zeros(10_000, dtype=bool))
    >>> sorted(np.unique(labels).tolist())
    [1, 7]
    """
    n = len(true_k)
    partner = np.full(n_classes, -1)
    for a, b in CONFUSION_PAIRS:
        if max(a, b) < n_classes:
            partner[a], partner[b] = b, a
    correct = rng.random(n) >= p_error
    to_partner = (rng.random(n) < partner_share) & (partner[true_k] >= 0)
    wrong = np.where(to_partner, partner[true_k], (true_k + rng.integers(1, n_classes, n)) % n_classes)
    labels = np.where(correct, true_k, wrong)
    return np.where(random_label, rng.integers(0, n_classes, n), labels)


# --- stationary per-window counts, for the false-alarm studies of analytics.monitoring.drift
# ---------------------------


def beta_binomial_windows(
    rng: np.random.Generator,
    windows: int,
    *,
    sizes: tuple[int, int] = (50, 500),
    mean: float = 0.3,
    sd: float = 0.03,
) -> pd.DataFrame:
    """Counts of a share that varies from window to window by the same amount whatever the window's size.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    windows : int
        T, the number of windows.
    sizes : (int, int)
        Labels per window, drawn uniformly from this closed range.
    mean, sd : float
        The window's own share p_t ~ Beta with this mean and standard deviation; then x_t ~ Bin(n_t, p_t).

    Returns
    -------
    DataFrame with columns ``window, successes, n``
        ``window`` = 0 … T − 1. No change anywhere: the mean share is the same in every window.

    Examples
    --------
    >>> frame = beta_binomial_windows(np.random.default_rng(0), 12)
    >>> len(frame), bool(frame["n"].between(50, 500).all())
    (12, True)
    """
    n = rng.integers(sizes[0], sizes[1] + 1, windows)
    concentration = mean * (1 - mean) / sd**2 - 1
    p = rng.beta(mean * concentration, (1 - mean) * concentration, windows)
    return pd.DataFrame({"window": np.arange(windows), "successes": rng.binomial(n, p), "n": n})


def clustered_label_windows(
    rng: np.random.Generator,
    windows: int,
    *,
    items: tuple[int, int] = (30, 80),
    labels_per_item: tuple[int, int] = (3, 5),
    share: float = 0.6,
    accuracy: float = 0.85,
) -> pd.DataFrame:
    """Counts of one class among labels that cluster within items: the labels of an item mostly agree.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    windows : int
        T, the number of windows.
    items : (int, int)
        Items per window, drawn uniformly from this closed range.
    labels_per_item : (int, int)
        Labels per item, drawn uniformly from this closed range.
    share : float
        Probability that an item is of the class.
    accuracy : float
        Probability that a label gives the item's class membership right.

    Returns
    -------
    DataFrame with columns ``window, successes, n``
        Labels of the class and all labels per window; no change anywhere.

    Notes
    -----
    The labels of an item are correlated (ρ = (2a − 1)² s (1 − s) / (π (1 − π)), a the accuracy, s the
    share, π the share of labels), so a window's share varies like one over n / (1 + (m̄ − 1) ρ) independent
    labels: about 2.4 times the binomial variance with the defaults.
    """
    rows = []
    for t in range(windows):
        m = rng.integers(labels_per_item[0], labels_per_item[1] + 1, rng.integers(items[0], items[1] + 1))
        member = np.repeat(rng.random(len(m)) < share, m)
        right = rng.random(m.sum()) < accuracy
        rows.append((t, int(np.where(right, member, ~member).sum()), int(m.sum())))
    return pd.DataFrame(rows, columns=["window", "successes", "n"])
