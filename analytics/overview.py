"""The Overview's findings: store totals, raw percent agreement with its interval, and the trend verdict.

Raw percent agreement is the mean over items (rated by 2+ annotators) of the share of agreeing rating pairs,
Σ_k n_k (n_k − 1) / (n (n − 1)). It is not chance-corrected: with K balanced classes two random annotators
agree 1/K of the time, so read it beside the chance-corrected coefficients of the Agreement page.

Its confidence interval treats items as independent draws: mean ± z · sd / √n_items (normal
approximation to the sampling distribution of a mean; good for the hundreds of items a dashboard shows).

Large stores: above ``EXACT_EVENT_LIMIT`` filtered events, the per-item numbers (agreement, items with 2+
labels, the labels-per-item histogram) are estimated on a deterministic uniform sample of items holding
about ``SAMPLE_EVENTS`` events (see ``sample_modulus``), and items are counted by HyperLogLog (about 2%
error). Events, annotators and labels stay exact. The summary says which it is (``estimated``), and the page
marks estimated numbers as such. Items are the sampling unit of the agreement interval, so the interval stays
honest; it is just wider than on all items.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

import pandas as pd

from analytics.schema import EventFilter
from analytics.store import Store
from analytics.store import overview as queries

_Z95 = 1.959963984540054

#: Above this many filtered events, per-item numbers are estimated on a sample of items.
EXACT_EVENT_LIMIT = 1_000_000
#: About this many events are read for the per-item estimates of a large store.
SAMPLE_EVENTS = 250_000


def sample_modulus(events: int, *, limit: int = EXACT_EVENT_LIMIT, sample: int = SAMPLE_EVENTS) -> int:
    """The m of the 1-in-m item sample read for ``events`` filtered events (1 = all items, no sampling)."""
    return 1 if events <= limit else max(1, math.ceil(events / sample))


@dataclass(frozen=True)
class OverviewSummary:
    """Headline numbers of a filtered store.

    ``items_multi`` counts items with 2+ label events and ``labels_per_item`` (``n_labels, items``) is the
    histogram of label events per item. ``agreement_items`` counts the items with 2+ annotators that the
    agreement was computed on. When ``estimated`` is true (large stores) ``items`` is a HyperLogLog count,
    agreement and ``agreement_items`` come from a 1-in-``1 / agreement_sample_rate`` sample of items, and
    ``items_multi`` and the histogram are the sample's shares scaled to ``items``.
    ``percent_agreement`` and its 95% interval are None when there is no item rated by 2+ annotators.
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
    labels_per_item: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"n_labels": [], "items": []}, dtype="int64"),
        compare=False, repr=False,
    )


@dataclass(frozen=True)
class TrendComparison:
    """A window of ``days`` days ending at the last event, against the ``days`` before it."""

    days: int
    current: OverviewSummary
    previous: OverviewSummary

    def delta(self, field: str) -> float | None:
        now, before = getattr(self.current, field), getattr(self.previous, field)
        if now is None or before is None:
            return None
        return now - before


def mean_interval(mean: float | None, sd: float | None, n: int) -> tuple[float | None, float | None]:
    """95% normal interval of a mean of values in [0, 1], clipped to [0, 1].

    (None, None) when it is undefined: no mean, or fewer than two values to estimate the spread from.
    """
    if mean is None or n < 2 or sd is None or math.isnan(sd):
        return None, None
    half = _Z95 * sd / math.sqrt(n)
    return max(0.0, mean - half), min(1.0, mean + half)


def overview_summary(
    store: Store,
    flt: EventFilter | None = None,
    *,
    exact_event_limit: int = EXACT_EVENT_LIMIT,
    sample_events: int = SAMPLE_EVENTS,
) -> OverviewSummary:
    """Totals, items by number of labels and raw percent agreement (with a 95% CI) of the filtered events.

    Two reads: the totals over every filtered event, then one pass over the items (a sample of them when
    more than ``exact_event_limit`` events pass, sized to about ``sample_events``) for the histogram and
    the agreement.

    Examples
    --------
    >>> from analytics.store import Store
    >>> overview_summary(Store(":memory:")).events
    0
    """
    # HyperLogLog first: when no sampling is needed, the exact item count comes with the histogram.
    counts = queries.totals(store, flt, approx_items=True)
    modulus = sample_modulus(counts["events"], limit=exact_event_limit, sample=sample_events)
    return _summary(counts, queries.item_stats(store, flt, sample_modulus=modulus), modulus)


def _summary(counts: dict, stats: pd.DataFrame, modulus: int) -> OverviewSummary:
    """Assemble a summary from ``totals`` (items by HyperLogLog) and ``item_stats`` at ``modulus``."""
    rated = int(stats["rated_multi"].sum())
    pa_sum, pa_sumsq = float(stats["pa_sum"].sum()), float(stats["pa_sumsq"].sum())
    mean = pa_sum / rated if rated else None
    sd = math.sqrt(max(0.0, pa_sumsq - pa_sum * pa_sum / rated) / (rated - 1)) if rated >= 2 else None
    low, high = mean_interval(mean, sd, rated)
    histogram = stats[["n_labels", "items"]].astype("int64").reset_index(drop=True)
    items = int(counts["items"] or 0)
    sampled_items = int(histogram["items"].sum())
    if modulus == 1:
        items = sampled_items
    elif sampled_items:
        histogram["items"] = (histogram["items"] * (items / sampled_items)).round().astype("int64")
    return OverviewSummary(
        events=int(counts["events"]),
        items=items,
        annotators=int(counts["annotators"]),
        labels=int(counts["labels"]),
        items_multi=int(histogram.loc[histogram["n_labels"] >= 2, "items"].sum()),
        agreement_items=rated,
        agreement_sample_rate=1 / modulus,
        percent_agreement=mean,
        pa_ci_low=low,
        pa_ci_high=high,
        first_at=_timestamp(counts["first_at"]),
        last_at=_timestamp(counts["last_at"]),
        estimated=modulus > 1,
        labels_per_item=histogram,
    )


def _timestamp(value) -> dt.datetime | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()


def trend(
    store: Store,
    flt: EventFilter | None = None,
    *,
    days: int = 30,
    summary: OverviewSummary | None = None,
) -> TrendComparison | None:
    """Compare the last ``days`` days of the filtered events with the ``days`` before; None if empty.

    Both windows are read together: one scan for their totals, one for their items (a sample of items
    when the windows may hold more than ``EXACT_EVENT_LIMIT`` events).

    Parameters
    ----------
    summary : OverviewSummary or None
        The summary of the same filter when the caller has it: its last event time saves a scan, and its
        event rate sizes the sample without counting the windows first.
    """
    if summary is None:
        counts = queries.totals(store, flt, approx_items=True)
        last_at, first_at, events = counts["last_at"], counts["first_at"], None
    else:
        last_at, first_at, events = summary.last_at, summary.first_at, summary.events
    if last_at is None:
        return None
    end = last_at.date()
    start = end - dt.timedelta(days=days - 1)
    split_at = dt.datetime.combine(start, dt.time())
    both = window_filter(flt, start - dt.timedelta(days=days), end)
    totals = queries.window_totals(store, both, split_at)
    if events is None:
        events = int(totals["events"].sum())
    else:  # the share of the summary's span the two windows cover, assuming an even rate
        span_days = max(1.0, (last_at - first_at).total_seconds() / 86400)
        events = math.ceil(events * min(1.0, 2 * days / span_days))
    modulus = sample_modulus(events)
    if summary is not None and summary.estimated:  # a large store: its windows are read sampled too
        modulus = max(1, math.ceil(events / SAMPLE_EVENTS))
    stats = queries.window_item_stats(store, both, split_at, sample_modulus=modulus)
    empty = {"events": 0, "items": 0, "annotators": 0, "labels": 0, "first_at": None, "last_at": None}
    summaries = []
    for win in (1, 0):
        rows = totals.loc[totals["win"] == win]
        counts = rows.drop(columns="win").iloc[0].to_dict() if len(rows) else empty
        summaries.append(_summary(counts, stats.loc[stats["win"] == win], modulus))
    return TrendComparison(days=days, current=summaries[0], previous=summaries[1])


def window_filter(flt: EventFilter | None, start: dt.date, end: dt.date) -> EventFilter:
    """``flt`` narrowed to the days ``start`` … ``end``, never widened past its own window."""
    base = flt or EventFilter()
    return replace(
        base,
        start=max(start, base.start) if base.start else start,
        end=min(end, base.end) if base.end else end,
    )


def verdict(summary: OverviewSummary, comparison: TrendComparison | None) -> list[str]:
    """The headline in words, most important first, for a team lead who reads nothing else."""
    if summary.events == 0:
        return ["No label events match the current filters."]
    lines = [
        f"{summary.events:,} labels from {summary.annotators:,} annotators on {summary.items:,} items; "
        f"{summary.items_multi:,} items have 2 or more labels."
    ]
    if summary.pa_ci_low is not None:
        sampled = ""
        if summary.agreement_sample_rate < 1:
            sampled = f", estimated on a 1-in-{round(1 / summary.agreement_sample_rate)} sample of items"
        lines.append(
            f"Raw agreement between annotators is {summary.percent_agreement:.1%} "
            f"(95% CI {summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}{sampled})."
        )
    if comparison is not None:
        change = comparison.delta("percent_agreement")
        now, before = comparison.current, comparison.previous
        if change is not None and now.pa_ci_low is not None and before.pa_ci_low is not None:
            separated = now.pa_ci_low > before.pa_ci_high or now.pa_ci_high < before.pa_ci_low
            direction = "up" if change > 0 else "down"
            if separated:
                lines.append(
                    f"Agreement is {direction} {abs(change) * 100:.1f} points in the last "
                    f"{comparison.days} days "
                    f"against the {comparison.days} days before (intervals do not overlap)."
                )
            else:
                lines.append(
                    f"Agreement in the last {comparison.days} days is within noise of the period before "
                    f"({change * 100:+.1f} points, intervals overlap)."
                )
    return lines

