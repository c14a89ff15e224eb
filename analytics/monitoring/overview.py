"""The Overview's findings: store totals, raw percent agreement with its interval, and what changed.

Raw percent agreement is the mean over items (rated by 2+ annotators) of the share of agreeing rating pairs,
Σ_k n_k (n_k − 1) / (n (n − 1)). It is not chance-corrected: with K balanced classes two random annotators
agree 1/K of the time, so read it beside the chance-corrected coefficients of the Agreement page. Its
interval is a Wilson score interval on an effective number of items (``agreement_interval``), which keeps
its width when every item agrees (100%) or none does.

Large stores: above ``COUNTS_EVENT_LIMIT`` filtered events, the per-item numbers (agreement, items with 2+
labels, the labels-per-item histogram) are estimated on a deterministic uniform sample of items holding
about ``SAMPLE_EVENTS`` events (the policy of ``analytics.core.sampling``). The number of items is then an
estimate too, the sample's size scaled up (``estimate_items``), from a sample of at least
``MIN_SAMPLED_ITEMS`` items so that it is within 2% of the truth. Events, annotators and labels stay exact.
The summary says which numbers are estimates, and the page marks them as such.

What changed (``trend``): with no date filter, the last 30 days against the 30 days before them; with a
date filter, the filtered window against the window of the same length just before it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pandas as pd
from scipy import stats

from analytics.core import sampling
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import overview as queries

#: How ``trend`` chose the two windows it compares.
RECENT, BEFORE_FILTER = "recent", "before filter"


@dataclass(frozen=True)
class ItemCount:
    """How many distinct items, exactly (``sample_modulus`` 1) or estimated from a 1-in-m item sample.

    ``low`` and ``high`` bound a 95% interval (both equal ``value`` when exact).
    """

    value: int
    low: int
    high: int
    sample_modulus: int = 1

    @property
    def estimated(self) -> bool:
        return self.sample_modulus > 1

    @property
    def unit(self) -> int:
        """The power of ten the value is known to: the largest not above the interval's half-width (1 when
        exact), so a display never claims digits the sample cannot give."""
        half = (self.high - self.low) / 2
        return 1 if half < 1 else 10 ** int(math.floor(math.log10(half)))

    def shown(self, value: int | None = None) -> str:
        """``value`` (default: the count) rounded to ``unit`` with thousands separators, "≈" when estimated.

        Examples
        --------
        >>> ItemCount(286_216, 284_399, 288_033, 4).shown()
        '≈286,000'
        >>> ItemCount(1_234, 1_234, 1_234).shown()
        '1,234'
        """
        value = self.value if value is None else value
        if not self.estimated:
            return f"{value:,}"
        return f"≈{round(value / self.unit) * self.unit:,}"

    @property
    def method(self) -> str:
        """The method in words, as the page and ``summary --json`` state it."""
        if not self.estimated:
            return "exact count of distinct item ids"
        return (f"estimate: the distinct items of a uniform 1-in-{self.sample_modulus} sample of items "
                f"(by a hash of the item id), times {self.sample_modulus}")


def estimate_items(sampled: int, modulus: int, *, confidence: float = 0.95) -> ItemCount:
    """The number of items N estimated from the ``sampled`` items of a 1-in-``modulus`` item sample.

    Parameters
    ----------
    sampled : int
        X, the distinct items whose id hash is 0 modulo ``modulus``.
    modulus : int
        m ≥ 1; with 1 the sample is every item and the count is exact.
    confidence : float
        Coverage of the interval.

    Returns
    -------
    ItemCount
        N̂ = m X with a normal interval N̂ ± z √(N̂ (m − 1)).

    Notes
    -----
    A good hash puts each item in the sample independently with probability 1/m, so X ~ Binomial(N, 1/m):
    N̂ = m X is unbiased with variance N (m − 1), a relative standard error of √((m − 1) / N) ≈ 1/√X. With
    X ≥ ``sampling.MIN_SAMPLED_ITEMS`` the estimate is within 2% of N except with probability about 6e-5. The
    hash is deterministic, so the same store and filter always give the same estimate.

    Examples
    --------
    >>> estimate_items(50_000, 4)
    ItemCount(value=200000, low=198481, high=201519, sample_modulus=4)
    """
    if modulus < 1 or sampled < 0:
        raise ValueError("modulus must be ≥ 1 and sampled ≥ 0")
    value = int(sampled) * int(modulus)
    if modulus == 1:
        return ItemCount(value, value, value)
    half = stats.norm.ppf((1 + confidence) / 2) * math.sqrt(value * (modulus - 1))
    low = max(int(sampled), math.floor(value - half))
    return ItemCount(value, low, math.ceil(value + half), int(modulus))


@dataclass(frozen=True)
class OverviewSummary:
    """Headline numbers of a filtered store.

    ``items_multi`` counts items with 2+ label events and ``labels_per_item`` (``n_labels, items``) is the
    histogram of label events per item. ``agreement_items`` counts the items with 2+ annotators that the
    agreement was computed on. When ``estimated`` is true (large stores) agreement and ``agreement_items``
    come from a 1-in-``1 / agreement_sample_rate`` sample of items, and ``items_multi`` and the histogram
    are the sample's shares scaled to ``items``. ``item_count`` says how ``items`` was counted (exact, or
    an estimate with its interval). ``percent_agreement`` and its 95% interval are None when no item is
    rated by 2+ annotators.
    """

    events: int
    items: int
    annotators: int
    labels: int
    items_multi: int
    agreement_items: int
    agreement_sample_rate: float
    percent_agreement: float | None
    pa_ci_low: float | None
    pa_ci_high: float | None
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    estimated: bool = False
    item_count: ItemCount | None = None
    labels_per_item: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"n_labels": [], "items": []}, dtype="int64"),
        compare=False, repr=False,
    )

    @property
    def items_estimated(self) -> bool:
        return self.item_count is not None and self.item_count.estimated


@dataclass(frozen=True)
class AgreementChange:
    """The change of raw agreement between two windows, with a 95% interval for it.

    ``significant`` is true when the interval excludes 0; ``decimals`` is the number of decimals of
    percentage points the interval's width supports (1 when it is narrower than ±1 point, else 0).
    """

    delta: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def decimals(self) -> int:
        return 1 if (self.high - self.low) / 2 < 0.01 else 0

    def points(self) -> str:
        """The change in percentage points, signed and rounded to ``decimals`` ("0 pts" when it rounds
        to nothing)."""
        value = round(self.delta * 100, self.decimals)
        if value == 0:
            return "0 pts"
        return f"{value:+.{self.decimals}f} pts"


@dataclass(frozen=True)
class TrendComparison:
    """Two windows of the filtered events: ``current`` (``current_start`` … ``current_end``, whole days)
    against ``previous``, the same number of days just before it.

    ``basis`` is ``RECENT`` (no date filter: the last ``days`` days of data against the ``days`` before)
    or ``BEFORE_FILTER`` (a date filter: the filtered window against the window of equal length before it).
    """

    days: int
    current: OverviewSummary
    previous: OverviewSummary
    current_start: dt.date | None = None
    current_end: dt.date | None = None
    basis: str = RECENT

    @property
    def previous_start(self) -> dt.date | None:
        return None if self.current_start is None else self.current_start - dt.timedelta(days=self.days)

    @property
    def previous_end(self) -> dt.date | None:
        return None if self.current_start is None else self.current_start - dt.timedelta(days=1)

    @property
    def comparable(self) -> bool:
        """Both windows hold events: otherwise there is nothing to compare."""
        return self.current.events > 0 and self.previous.events > 0

    def delta(self, field: str) -> float | None:
        """``current − previous`` of a summary field; None when either is missing or not ``comparable``."""
        if not self.comparable:
            return None
        now, before = getattr(self.current, field), getattr(self.previous, field)
        if now is None or before is None:
            return None
        return now - before

    def versus(self) -> str:
        """What a delta compares, in words short enough for a tile: "vs the 30 days before 2026-06-01"."""
        if self.basis == BEFORE_FILTER:
            return f"vs the {self.days} days before {self.current_start:%Y-%m-%d}"
        return f"last {self.days} days vs the {self.days} before {self.current_start:%Y-%m-%d}"


    def agreement_change(self, *, confidence: float = 0.95) -> AgreementChange | None:
        """Raw agreement now minus before, with Newcombe's interval for a difference; None without both.

        Notes
        -----
        Newcombe's hybrid score interval (his method 10) combines the two windows' Wilson intervals
        (l₁, u₁) and (l₂, u₂) around Δ = p₁ − p₂: [Δ − √((p₁ − l₁)² + (u₂ − p₂)²), Δ + √((u₁ − p₁)² +
        (p₂ − l₂)²)]. Each window's interval is ``agreement_interval`` at ``confidence``, so the difference
        keeps its width at 0% and 100% too. The windows are treated as independent samples of items.

        References
        ----------
        Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
        comparison of eleven methods. Statistics in Medicine 17, 873–890.
        """
        now, before = self.current, self.previous
        if not self.comparable or now.pa_ci_low is None or before.pa_ci_low is None:
            return None
        p1, l1, u1 = now.percent_agreement, now.pa_ci_low, now.pa_ci_high
        p2, l2, u2 = before.percent_agreement, before.pa_ci_low, before.pa_ci_high
        delta = p1 - p2
        return AgreementChange(
            delta=delta,
            low=delta - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            high=delta + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
        )


def agreement_interval(
    mean: float | None, sd: float | None, n: int, *, confidence: float = 0.95
) -> tuple[float | None, float | None]:
    """Wilson score interval of mean per-item agreement, on the effective number of items.

    Parameters
    ----------
    mean : float or None
        p̂, the mean of the per-item agreement shares (each in [0, 1]).
    sd : float or None
        Their sample standard deviation s (NaN or None when undefined).
    n : int
        Items averaged.
    confidence : float
        Coverage.

    Returns
    -------
    (low, high)
        Inside [0, 1]; (None, None) without a mean or an item.

    Notes
    -----
    A share of agreeing pairs is a proportion, but its n items are not n Bernoulli trials: an item rated
    by m annotators contributes m(m − 1)/2 correlated pairs. The Wilson interval
    (p̂ + z²/2n' ± z √(p̂(1 − p̂)/n' + z²/4n'²)) / (1 + z²/n') is taken on the effective number of items
    n' = n p̂(1 − p̂) / s², the n for which a binomial proportion would have the observed variance of the
    mean, s²/n (Korn & Graubard's effective sample size). Without spread (s = 0, e.g. every item
    unanimous) there is no variance to read, and n' = n: the variance of a share in [0, 1] is at most
    p(1 − p), the Bernoulli case, so the interval is then conservative. Unlike the normal interval
    p̂ ± z s/√n it never shrinks to a point at 0% or 100%, and it stays inside [0, 1]. Items are assumed
    independent.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22,
    209–212. Korn, E. L. & Graubard, B. I. (1998). Confidence intervals for proportions with small expected
    number of positive counts estimated from survey data. Survey Methodology 24, 193–201.

    Examples
    --------
    >>> [round(v, 4) for v in agreement_interval(1.0, 0.0, 40)]
    [0.9124, 1.0]
    """
    if mean is None or n < 1 or (isinstance(mean, float) and math.isnan(mean)):
        return None, None
    spread = None if sd is None or math.isnan(sd) else sd * sd
    effective = n * mean * (1 - mean) / spread if spread else float(n)
    z = float(stats.norm.ppf((1 + confidence) / 2))
    denominator = 1 + z * z / effective
    centre = (mean + z * z / (2 * effective)) / denominator
    half = z * math.sqrt(mean * (1 - mean) / effective + z * z / (4 * effective * effective)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def overview_summary(
    store: Store,
    flt: EventFilter | None = None,
    *,
    exact_event_limit: int | None = None,
    sample_events: int | None = None,
    min_sampled_items: int | None = None,
    exact_items: bool = False,
) -> OverviewSummary:
    """Totals, items by number of labels and raw percent agreement (with a 95% CI) of the filtered events.

    Reads: the totals over every filtered event, then one pass over the items (a sample of them when more
    than ``exact_event_limit`` events pass, sized to about ``sample_events``) for the histogram, the
    agreement and the number of items. Should that sample hold fewer than ``min_sampled_items`` items, a
    larger sample is counted (``estimate_items``); ``exact_items`` counts every item instead (one more scan).
    The three sizes default to ``COUNTS_EVENT_LIMIT``, ``SAMPLE_EVENTS`` and ``MIN_SAMPLED_ITEMS`` of
    ``analytics.core.sampling``.

    Examples
    --------
    >>> from analytics.store import Store
    >>> overview_summary(Store(":memory:")).events
    0
    """
    counts = queries.event_totals(store, flt)
    modulus = sampling.sample_modulus(counts["events"], limit=exact_event_limit, sample=sample_events,
                                      base=store.sample_base)
    stats_frame = queries.item_stats(store, flt, sample_modulus=modulus)
    sampled = int(stats_frame["items"].sum())
    if exact_items and modulus > 1:
        items = estimate_items(queries.item_count(store, flt), 1)
    else:
        minimum = sampling.MIN_SAMPLED_ITEMS if min_sampled_items is None else min_sampled_items
        items = _items(sampled, modulus, minimum, lambda m: queries.item_count(store, flt, sample_modulus=m),
                       store.sample_base)
    return _summary(counts, stats_frame, modulus, items)


def _items(sampled: int, modulus: int, minimum: int, count: Callable[[int], int], base: int = 1) -> ItemCount:
    """The item count from a sample of ``sampled`` items at ``modulus``, or a larger sample ``count(m)``."""
    if modulus == 1 or sampled >= minimum:
        return estimate_items(sampled, modulus)
    larger = sampling.below_base(max(1, (modulus * sampled) // minimum), base)
    return estimate_items(count(larger), larger)


def _summary(counts: dict, stats_frame: pd.DataFrame, modulus: int, items: ItemCount) -> OverviewSummary:
    """Assemble a summary from ``event_totals``, ``item_stats`` at ``modulus`` and the item count."""
    rated = int(stats_frame["rated_multi"].sum())
    pa_sum, pa_sumsq = float(stats_frame["pa_sum"].sum()), float(stats_frame["pa_sumsq"].sum())
    mean = pa_sum / rated if rated else None
    sd = math.sqrt(max(0.0, pa_sumsq - pa_sum * pa_sum / rated) / (rated - 1)) if rated >= 2 else None
    low, high = agreement_interval(mean, sd, rated)
    histogram = stats_frame[["n_labels", "items"]].astype("int64").reset_index(drop=True)
    sampled = int(histogram["items"].sum())
    if modulus > 1 and sampled:
        histogram["items"] = (histogram["items"] * (items.value / sampled)).round().astype("int64")
    return OverviewSummary(
        events=int(counts["events"] or 0),
        items=items.value,
        annotators=int(counts["annotators"] or 0),
        labels=int(counts["labels"] or 0),
        items_multi=int(histogram.loc[histogram["n_labels"] >= 2, "items"].sum()),
        agreement_items=rated,
        agreement_sample_rate=1 / modulus,
        percent_agreement=mean,
        pa_ci_low=low,
        pa_ci_high=high,
        first_at=_timestamp(counts["first_at"]),
        last_at=_timestamp(counts["last_at"]),
        estimated=modulus > 1,
        item_count=items,
        labels_per_item=histogram,
    )


def _timestamp(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def trend(
    store: Store,
    flt: EventFilter | None = None,
    *,
    days: int = 30,
    summary: OverviewSummary | None = None,
    min_sampled_items: int | None = None,
) -> TrendComparison | None:
    """Compare a window of the filtered events with the window of equal length just before it.

    With no date in ``flt``: the last ``days`` days of data (ending on the day of the last filtered event)
    against the ``days`` before. With a date window in ``flt``: that window (an open end runs to the first
    or last filtered event's day) against as many days just before its start; the earlier window keeps
    every other filter. None when no event passes ``flt``.

    Both windows are read together: one scan for their totals, one for their items (a sample of items
    when they hold more than ``sampling.COUNTS_EVENT_LIMIT`` events), and, when that sample is too small for a
    close item count, one more for a larger sample of items.

    Parameters
    ----------
    summary : OverviewSummary or None
        The summary of the same filter when the caller has it: its first and last event times save a scan.
    min_sampled_items : int or None
        Default ``sampling.MIN_SAMPLED_ITEMS``.
    """
    flt = flt or EventFilter()
    minimum = sampling.MIN_SAMPLED_ITEMS if min_sampled_items is None else min_sampled_items
    if summary is None:
        counts = queries.event_totals(store, flt)
        first_at, last_at = _timestamp(counts["first_at"]), _timestamp(counts["last_at"])
    else:
        first_at, last_at = summary.first_at, summary.last_at
    if last_at is None:
        return None
    if flt.start is not None or flt.end is not None:
        start, end = flt.start or first_at.date(), flt.end or last_at.date()
        days, basis = (end - start).days + 1, BEFORE_FILTER
    else:
        end, basis = last_at.date(), RECENT
        start = end - dt.timedelta(days=days - 1)
    both = replace(flt, start=start - dt.timedelta(days=days), end=end)
    split_at = dt.datetime.combine(start, dt.time())
    totals = queries.window_totals(store, both, split_at)
    modulus = sampling.sample_modulus(int(totals["events"].sum()), base=store.sample_base)
    stats_frame = queries.window_item_stats(store, both, split_at, sample_modulus=modulus)
    sampled = {win: int(stats_frame.loc[stats_frame["win"] == win, "items"].sum()) for win in (0, 1)}
    counted = {}
    if modulus > 1 and min(sampled.values()) < minimum:
        larger = sampling.below_base(max(1, (modulus * min(sampled.values())) // minimum), store.sample_base)
        found = queries.window_item_counts(store, both, split_at, sample_modulus=larger).set_index("win")
        counted = {win: estimate_items(int(found["items"].get(win, 0)), larger) for win in (0, 1)}
    empty = {"events": 0, "annotators": 0, "labels": 0, "first_at": None, "last_at": None}
    summaries = []
    for win in (1, 0):
        rows = totals.loc[totals["win"] == win]
        window_counts = rows.drop(columns="win").iloc[0].to_dict() if len(rows) else empty
        items = counted.get(win) or estimate_items(sampled[win], modulus)
        summaries.append(_summary(window_counts, stats_frame.loc[stats_frame["win"] == win], modulus, items))
    return TrendComparison(days=days, current=summaries[0], previous=summaries[1], current_start=start,
                           current_end=end, basis=basis)


def agreement_by_period(store: Store, flt: EventFilter | None, *, grain: str,
                        sample_modulus: int = 1) -> pd.DataFrame:
    """Raw agreement per period with its 95% interval (``agreement_interval``).

    ``sample_modulus`` m > 1 computes it on a deterministic 1-in-m sample of items (large stores).

    Returns
    -------
    DataFrame
        ``period, items_multi, pa_mean, pa_sd, ci_low, ci_high``: the Wilson interval on the effective
        number of items of each period.
    """
    frame = queries.agreement_by_period(store, flt, grain=grain, sample_modulus=sample_modulus)
    bounds = [
        agreement_interval(mean, None if pd.isna(sd) else sd, int(n))
        for mean, sd, n in zip(frame["pa_mean"], frame["pa_sd"], frame["items_multi"], strict=True)
    ]
    return frame.assign(
        ci_low=pd.Series([low for low, _ in bounds], index=frame.index, dtype="float64"),
        ci_high=pd.Series([high for _, high in bounds], index=frame.index, dtype="float64"),
    )
