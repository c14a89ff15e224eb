"""The Overview's KPI tiles: headline counts and raw agreement, each with its change over the last 30 days."""

from __future__ import annotations

import streamlit as st

from analytics.overview import OverviewSummary, TrendComparison

#: (summary field, tile label) of the count tiles, in display order.
COUNT_TILES = (
    ("events", "Label events"),
    ("items", "Items"),
    ("annotators", "Annotators"),
    ("items_multi", "Items with 2+ labels"),
)
#: Count tiles that are estimates on large stores (``OverviewSummary.estimated``).
ESTIMATED_TILES = ("items", "items_multi")
_ESTIMATE_HELP = (
    " Estimated on this large store: items by HyperLogLog (about 2% error), items with 2+ labels from a "
    "uniform sample of items."
)


def show(summary: OverviewSummary, comparison: TrendComparison | None, *, key: str) -> None:
    """Five ``st.metric`` tiles: events, items, annotators, items with 2+ labels, raw agreement.

    Parameters
    ----------
    summary : OverviewSummary
        Totals over the filtered events (the tile values).
    comparison : TrendComparison or None
        Last ``days`` days against the ``days`` before (the deltas); None hides the deltas.
    key : str
        Key of the tiles' container.

    Notes
    -----
    Values are totals over the whole filtered window; deltas compare the two most recent 30-day windows,
    so a tile reads "this many in total, and this much more (or less) lately than the month before".
    Count deltas are grey: more or fewer labels is neither good nor bad by itself.
    """
    days = comparison.days if comparison else 30
    versus = f"last {days} days vs the {days} before"
    columns = st.container(key=f"{key}_tiles").columns(len(COUNT_TILES) + 1, border=True, gap="small")
    for column, (field, label) in zip(columns, COUNT_TILES, strict=False):
        delta = comparison.delta(field) if comparison else None
        about = "≈" if summary.estimated and field in ESTIMATED_TILES else ""
        column.metric(
            label, f"{about}{getattr(summary, field):,}", None if delta is None else f"{delta:+,}",
            delta_color="off", help=f"Delta: {versus}." + (_ESTIMATE_HELP if about else ""),
        )
    columns[-1].metric(
        "Raw agreement", _percent(summary.percent_agreement), _points(comparison),
        help=_agreement_help(summary),
    )
    if summary.pa_ci_low is not None:
        columns[-1].caption(f"95% CI {summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _points(comparison: TrendComparison | None) -> str | None:
    delta = comparison.delta("percent_agreement") if comparison else None
    return None if delta is None else f"{delta * 100:+.1f} pts"


def _agreement_help(summary: OverviewSummary) -> str:
    text = (
        "Mean share of agreeing annotator pairs per item, over items with 2+ annotators; not corrected for "
        "chance."
    )
    if summary.pa_ci_low is None:
        return text + " Needs at least two items with 2+ annotators."
    interval = f"{summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}"
    text += f" 95% CI {interval} (n = {summary.agreement_items:,} items"
    if summary.agreement_sample_rate < 1:
        text += f", a 1-in-{round(1 / summary.agreement_sample_rate)} sample of items"
    return text + ")."
