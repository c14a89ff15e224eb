"""The Overview's KPI tiles: headline counts and raw agreement, each with its change and its frame."""

from __future__ import annotations

import math

import streamlit as st

from analytics.monitoring.overview import RECENT, AgreementChange, OverviewSummary, TrendComparison
from analytics.narrative import overview as overview_words

#: (summary field, tile label, what it counts) of the count tiles, in display order.
COUNT_TILES = (
    ("events", "Label events", "Label events that match the filters (re-labels included)."),
    ("items", "Items", "Distinct items with at least one matching label event."),
    ("annotators", "Annotators", "Distinct annotators with at least one matching label event."),
    ("items_multi", "Items with 2+ labels", "Items with two or more matching label events."),
)


def show(summary: OverviewSummary, comparison: TrendComparison | None, *, key: str) -> None:
    """Five ``st.metric`` tiles (events, items, annotators, items with 2+ labels, raw agreement) and a line
    saying what their changes compare.

    Parameters
    ----------
    summary : OverviewSummary
        Totals over the filtered events (the tile values).
    comparison : TrendComparison or None
        The two windows behind the deltas (``analytics.monitoring.overview.trend``); None hides the deltas.
    key : str
        Key of the tiles' container.

    Notes
    -----
    Each delta has its frame on the tile ("vs the 30 days before 2026-06-01"): with no date filter the
    values are totals and the deltas compare the last 30 days with the 30 before; under a date filter
    the values are the window's and the deltas compare it with the window of equal length before it.
    Count deltas are grey: more or fewer labels is neither good nor bad by itself. The agreement delta
    is green or red, with an arrow, only when its 95% interval (Newcombe) excludes no change; within
    noise it is grey and arrowless, and its points are rounded to what the interval supports.
    Estimates (large stores) are rounded to the digits their sample supports and marked "≈".
    """
    with st.container(key=f"{key}_tiles"):
        columns = st.columns(len(COUNT_TILES) + 1, border=True, gap="small")
        for column, (field, label, counts) in zip(columns, COUNT_TILES, strict=False):
            value, full, delta = _count(summary, comparison, field)
            column.metric(label, value, delta, delta_color="off",
                          help=counts + f" {full}." + _estimate_help(summary, field))
            if delta is not None:
                column.caption(comparison.versus())
        change = comparison.agreement_change() if comparison else None
        significant = change is not None and change.significant
        columns[-1].metric(
            "Raw agreement", _percent(summary.percent_agreement),
            None if change is None else change.points(),
            delta_color="normal" if significant else "off", delta_arrow="auto" if significant else "off",
            help=_agreement_help(summary, change),
        )
        if change is not None:
            columns[-1].caption(comparison.versus() + ("" if significant else ": within noise"))
        if summary.pa_ci_low is not None:
            columns[-1].caption(f"95% CI {summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}")
        if comparison is not None:
            st.caption(overview_words.comparison_sentence(comparison) + _frame(comparison))


def _count(
    summary: OverviewSummary, comparison: TrendComparison | None, field: str
) -> tuple[str, str, str | None]:
    """The tile's value (compact past 100,000, so it fits the tile), the value in full and the delta, as
    text rounded to what an estimate supports."""
    value = getattr(summary, field)
    count = summary.item_count
    estimated = summary.items_estimated if field == "items" else field == "items_multi" and summary.estimated
    full = count.shown(value) if estimated and count is not None else f"{value:,}"
    about = "≈" if full.startswith("≈") else ""
    shown = about + compact(int(full.lstrip("≈").replace(",", "")))
    delta = comparison.delta(field) if comparison else None
    if delta is None:
        return shown, full, None
    if estimated and count is not None and count.estimated:
        delta = round(delta / count.unit) * count.unit
    return shown, full, "0" if delta == 0 else f"{delta:+,}"


def compact(value: int) -> str:
    """A count in at most five characters past 100,000 (three significant digits and k, M or B).

    Examples
    --------
    >>> [compact(v) for v in (7_240, 99_999, 285_661, 999_999, 2_850_000, 10_000_000)]
    ['7,240', '99,999', '286k', '1.00M', '2.85M', '10.0M']
    """
    if abs(value) < 100_000:
        return f"{value:,}"
    for size, suffix in ((10**3, "k"), (10**6, "M"), (10**9, "B")):
        scaled = float(f"{value / size:.3g}")  # 999.9k rounds to 1000k: then the next unit
        if abs(scaled) < 1000 or suffix == "B":
            break
    digits = max(0, 2 - math.floor(math.log10(abs(scaled))))
    return f"{scaled:.{digits}f}{suffix}"


def _frame(comparison: TrendComparison) -> str:
    if not comparison.comparable:
        return ""
    if comparison.basis == RECENT:
        return (" The tiles' values are totals over all the data the filters keep; the changes under them "
                "compare the two windows.")
    return " The tiles' values cover the filtered window; the changes compare it with the window before."


def _estimate_help(summary: OverviewSummary, field: str) -> str:
    if field == "items" and summary.items_estimated:
        count = summary.item_count
        return (f" Estimated on this large store ({count.method}): 95% CI {count.low:,}–{count.high:,}.")
    if field == "items_multi" and summary.estimated:
        return (f" Estimated on this large store: the share of a uniform 1-in-"
                f"{round(1 / summary.agreement_sample_rate)} sample of items, times the items.")
    return ""


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _agreement_help(summary: OverviewSummary, change: AgreementChange | None) -> str:
    text = (
        "Mean share of agreeing annotator pairs per item, over items with 2+ annotators; not corrected for "
        "chance."
    )
    if summary.pa_ci_low is None:
        return text + " Needs at least one item with 2+ annotators."
    interval = f"{summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}"
    text += f" 95% CI {interval} (Wilson, n = {summary.agreement_items:,} items"
    if summary.agreement_sample_rate < 1:
        text += f", a 1-in-{round(1 / summary.agreement_sample_rate)} sample of items"
    text += ")."
    if change is not None:
        text += (f" Change {change.delta * 100:+.2f} pts, 95% CI {change.low * 100:+.2f} to "
                 f"{change.high * 100:+.2f} pts (Newcombe): "
                 + ("a real change." if change.significant else "within noise."))
    return text
