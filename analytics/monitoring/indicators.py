"""The Overview's label-noise indicators: each in the Overview's comparison window and in the window before
it, with the change between the two and the change's interval.

The windows are those of ``analytics.monitoring.overview.trend`` (the last 30 days of data against the 30
before, or a date filter's window against the window of equal length before it). In each window the
indicators read that window's ratings (an annotator's latest label of an item among the window's events) of
the items labeled in it, under every other filter:

``disagreement``
    Of the items with two or more ratings, the share whose ratings are not unanimous: the Slices page's
    disagreement rate, over every slice at once. Wilson interval. Lower is better.
``alpha``
    Krippendorff's alpha (nominal) of the ratings, with the Agreement page's interval: BCa bootstrap over
    items (``analytics.agreement.report.N_BOOT`` resamples). Higher is better.
``suspects``
    Of the items the latest detection run scored, the share it flags as likely mislabeled (the Suspects
    page's flags). One run, read on the items of each window: the change says whether the items labeled
    lately look worse than those labeled before, by the same detector. Wilson interval. Lower is better.
``gold``
    Agreement with held-out gold: of the items with a gold label, the share whose majority label (the most
    frequent rating; ties to the more frequent label overall) is one of their gold labels. This is the
    labels checked against held-out data; it is an accuracy, not a probability calibration (no model
    probability enters it). Wilson interval. Higher is better.

An indicator without data is None with the reason (``missing``), never a number made up: no detection run,
no gold item in the window, no item rated twice. The change of two windows is ``difference_interval``
(MOVER; Newcombe's interval for the proportions), and it is read as a change only when its 95% interval
excludes 0. Assumptions: items are independent, and the two windows are independent samples of items (an
item labeled in both windows counts in each with that window's ratings).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

import numpy as np

from analytics.agreement import coefficients as agreement
from analytics.agreement.report import N_BOOT
from analytics.core.schema import EventFilter
from analytics.core.stats import difference_interval, wilson_interval
from analytics.monitoring.overview import TrendComparison
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import slices as slice_queries

#: The indicators, in display order.
INDICATORS = ("disagreement", "alpha", "suspects", "gold")
#: Indicators where a higher value is better (the others: lower is better).
HIGHER_IS_BETTER = frozenset({"alpha", "gold"})
#: Indicators that are shares (shown as percentages; the others are coefficients).
SHARES = frozenset({"disagreement", "suspects", "gold"})
#: Why an indicator has no value.
NO_PAIRS, NO_RUN, NOT_SCORED, NO_GOLD, NO_EVENTS = (
    "no item rated twice", "no detection run", "no item scored by the run", "no gold item", "no label event")


@dataclass(frozen=True)
class WindowValue:
    """An indicator in one window: ``value`` with its 95% interval (``low``, ``high``; NaN when none) and
    ``n``, the items it rests on (for a share: its denominator)."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Change:
    """``current − previous`` with its 95% interval (``difference_interval``).

    ``significant`` when the interval excludes 0; ``better`` says whether the change goes the good way for
    its indicator (None when not significant).
    """

    delta: float
    low: float
    high: float
    higher_is_better: bool

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def better(self) -> bool | None:
        if not self.significant:
            return None
        return (self.delta > 0) == self.higher_is_better


@dataclass(frozen=True)
class Indicator:
    """One indicator in the current and the previous window.

    ``current`` is None when the current window lacks the data (``missing`` says why); ``previous`` is None
    when the window before lacks it (then there is no change).
    """

    key: str
    current: WindowValue | None
    previous: WindowValue | None
    missing: str | None = None

    @property
    def higher_is_better(self) -> bool:
        return self.key in HIGHER_IS_BETTER

    @property
    def share(self) -> bool:
        return self.key in SHARES

    def change(self) -> Change | None:
        """The change against the previous window; None without both values or either interval."""
        now, before = self.current, self.previous
        if now is None or before is None or not all(map(math.isfinite, (now.low, now.high, before.low,
                                                                            before.high))):
            return None
        delta, low, high = difference_interval((now.value, now.low, now.high),
                                               (before.value, before.low, before.high))
        return Change(delta, low, high, self.higher_is_better)


@dataclass(frozen=True)
class NoiseTrend:
    """The indicators (``INDICATORS`` order) of the windows of one ``TrendComparison``.

    ``run_id`` is the detection run behind ``suspects`` (None: no run); ``sample_modulus`` m > 1 when the
    windows were read on a 1-in-m sample of items.
    """

    indicators: tuple[Indicator, ...]
    current: tuple[dt.date, dt.date]
    previous: tuple[dt.date, dt.date]
    run_id: str | None = None
    sample_modulus: int = 1

    def get(self, key: str) -> Indicator:
        """The indicator ``key`` (one of ``INDICATORS``)."""
        return next(found for found in self.indicators if found.key == key)


def noise_trend(
    store: Store,
    flt: EventFilter | None,
    comparison: TrendComparison | None,
    *,
    run_id: str | None = None,
    sample_modulus: int = 1,
    n_boot: int = N_BOOT,
) -> NoiseTrend | None:
    """The label-noise indicators of the comparison's two windows.

    Parameters
    ----------
    store : Store
    flt : EventFilter or None
        The filter both windows keep (its dates are replaced by each window's).
    comparison : TrendComparison or None
        ``analytics.monitoring.overview.trend``; None (no event) gives None.
    run_id : str or None
        The detection run whose flags give ``suspects`` (the latest); None leaves it missing.
    sample_modulus : int
        m > 1 reads a deterministic 1-in-m sample of items (large stores), as the Agreement page does.
    n_boot : int
        Bootstrap resamples of alpha's interval.

    Returns
    -------
    NoiseTrend or None
        Two reads per window: the slice cube (``analytics.store.slices.slice_cube``, summed over its slices)
        and the label counts behind alpha.

    Examples
    --------
    >>> noise_trend(Store(":memory:"), None, None) is None
    True
    """
    if comparison is None or comparison.current_start is None:
        return None
    base = flt or EventFilter()
    spans = ((comparison.current_start, comparison.current_end),
             (comparison.previous_start, comparison.previous_end))
    found = [_window(store, replace(base, start=start, end=end), run_id, sample_modulus, n_boot)
             for start, end in spans]
    indicators = []
    for key in INDICATORS:
        (now, why), (before, _) = found[0][key], found[1][key]
        indicators.append(Indicator(key, now, before if now is not None else None, why))
    return NoiseTrend(tuple(indicators), spans[0], spans[1], run_id, sample_modulus)


def _window(store: Store, flt: EventFilter, run_id: str | None, modulus: int,
            n_boot: int) -> dict[str, tuple[WindowValue | None, str | None]]:
    """Each indicator of one window as ``(value or None, why missing)``."""
    cube = slice_queries.slice_cube(store, flt, run_id=run_id, sample_modulus=modulus)
    sums = {column: int(cube[column].sum()) for column in slice_queries.COUNT_COLUMNS}
    if sums["items"] == 0:
        return dict.fromkeys(INDICATORS, (None, NO_EVENTS))
    found = {
        "disagreement": _share(sums["disputed"], sums["rated_items"], NO_PAIRS),
        "suspects": (None, NO_RUN) if run_id is None else _share(sums["flagged"], sums["scored"], NOT_SCORED),
        "gold": _share(sums["gold_items"] - sums["gold_errors"], sums["gold_items"], NO_GOLD),
    }
    counts = agreement_queries.label_counts(store, flt, sample_modulus=modulus)
    alpha = agreement.agreement_estimates(counts, metrics=("krippendorff_alpha",), n_boot=n_boot,
                                          random_state=0)["krippendorff_alpha"]
    if math.isnan(alpha.value):
        found["alpha"] = (None, alpha.note or NO_PAIRS)
    else:
        found["alpha"] = (WindowValue(float(alpha.value), float(alpha.ci_low), float(alpha.ci_high),
                                      int(alpha.n_items)), None)
    return found


def _share(k: int, n: int, missing: str) -> tuple[WindowValue | None, str | None]:
    if n == 0:
        return None, missing
    low, high = wilson_interval(k, n)
    return WindowValue(float(np.float64(k) / n), float(low), float(high), int(n)), None
