"""The Overview's findings: store totals, raw percent agreement with its interval, and the trend verdict.

Raw percent agreement is the mean over items (rated by 2+ annotators) of the share of agreeing rating pairs,
Σ_k n_k (n_k − 1) / (n (n − 1)). It is not chance-corrected: with K balanced classes two random annotators
agree 1/K of the time, so read it beside the chance-corrected coefficients of the Agreement page.

Its confidence interval treats items as independent draws: mean ± z · sd / √n_items (normal
approximation to the sampling distribution of a mean; good for the hundreds of items a dashboard shows).

Above ``EXACT_EVENT_LIMIT`` filtered events, agreement is estimated on a deterministic uniform sample of
items (see ``sample_modulus``), sized to about that many events; counts of events, items and annotators
stay exact. The summary says which it is (``agreement_sample_rate``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

from analytics.schema import EventFilter
from analytics.store import Store
from analytics.store import overview as queries

_Z95 = 1.959963984540054

#: Above this many filtered events, agreement is estimated on a sample of items.
EXACT_EVENT_LIMIT = 1_000_000


def sample_modulus(events: int, *, limit: int = EXACT_EVENT_LIMIT) -> int:
    """The m of a 1-in-m item sample that keeps about ``limit`` of ``events`` events (1 = no sampling)."""
    return max(1, math.ceil(events / limit))


@dataclass(frozen=True)
class OverviewSummary:
    """Headline numbers of a filtered store.

    ``items_multi`` counts items with 2+ label events (exact). ``agreement_items`` counts the items with
    2+ annotators that the agreement was computed on, a 1-in-``1 / agreement_sample_rate`` sample of them
    on large stores. ``percent_agreement`` and its 95% interval are None when there is no such item.
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
    store: Store, flt: EventFilter | None = None, *, exact_event_limit: int = EXACT_EVENT_LIMIT
) -> OverviewSummary:
    """Totals and raw percent agreement (with a 95% CI) of the events that pass ``flt``.

    Agreement is computed on a uniform item sample when more than ``exact_event_limit`` events pass.

    Examples
    --------
    >>> from analytics.store import Store
    >>> overview_summary(Store(":memory:")).events
    0
    """
    counts = queries.totals(store, flt)
    modulus = sample_modulus(counts["events"], limit=exact_event_limit)
    agreement = queries.item_agreement(store, flt, sample_modulus=modulus)
    per_item = queries.labels_per_item(store, flt)
    low, high = mean_interval(agreement["pa_mean"], agreement["pa_sd"], agreement["items_multi"])
    return OverviewSummary(
        events=counts["events"],
        items=counts["items"],
        annotators=counts["annotators"],
        labels=counts["labels"],
        items_multi=int(per_item.loc[per_item["n_labels"] >= 2, "items"].sum()),
        agreement_items=agreement["items_multi"],
        agreement_sample_rate=1 / modulus,
        percent_agreement=agreement["pa_mean"],
        pa_ci_low=low,
        pa_ci_high=high,
        first_at=counts["first_at"],
        last_at=counts["last_at"],
    )


def trend(
    store: Store,
    flt: EventFilter | None = None,
    *,
    days: int = 30,
    last_at: dt.datetime | None = None,
) -> TrendComparison | None:
    """Compare the last ``days`` days of the filtered events with the ``days`` before; None if empty.

    ``last_at`` is the time of the last filtered event when the caller already has it (an
    ``OverviewSummary``), which saves a scan of the events.
    """
    last = last_at if last_at is not None else queries.totals(store, flt)["last_at"]
    if last is None:
        return None
    end = last.date()
    start = end - dt.timedelta(days=days - 1)
    before_end = start - dt.timedelta(days=1)
    before_start = before_end - dt.timedelta(days=days - 1)
    return TrendComparison(
        days=days,
        current=overview_summary(store, window_filter(flt, start, end)),
        previous=overview_summary(store, window_filter(flt, before_start, before_end)),
    )


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

