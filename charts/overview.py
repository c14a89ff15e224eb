"""Figures of the Overview page, built from the frames of ``analytics.store.overview``.

Every builder accepts an empty frame and returns an empty figure with its axes titled, so a caller never
needs a special case to draw one.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts import theme

#: Axis titles of the activity metrics.
ACTIVITY_METRICS = {
    "events": "Label events",
    "items": "Items labeled",
    "annotators": "Active annotators",
    "labels": "Distinct labels used",
}

#: Axis titles of the time grains.
GRAIN_TITLES = {"day": "Day", "week": "Week (starting Monday)", "month": "Month"}


def activity_figure(frame: pd.DataFrame, *, metric: str = "events", grain: str = "day") -> go.Figure:
    """One line per annotator cohort: ``metric`` per period.

    Parameters
    ----------
    frame : DataFrame
        ``period, cohort`` and the metric columns (``analytics.store.overview.activity``).
    metric : {"events", "items", "annotators", "labels"}
        Which count to draw.
    grain : {"day", "week", "month"}
        The period length, for the x-axis title.

    Returns
    -------
    go.Figure
        A ``Scatter`` trace per cohort, named after it.

    Notes
    -----
    Lines rather than stacked bars: items, annotators and labels are distinct counts, which do not add up
    across cohorts (one item labeled by two cohorts counts once in each).
    """
    if metric not in ACTIVITY_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(ACTIVITY_METRICS)}")
    colors = theme.color_map(frame["cohort"])
    fig = go.Figure()
    for cohort, rows in frame.groupby("cohort", sort=True):
        fig.add_trace(go.Scatter(
            x=rows["period"], y=rows[metric], name=str(cohort),
            mode="lines" if grain == "day" else "lines+markers",
            line={"color": colors[cohort], "width": 2},
            hovertemplate="%{y:,}<extra>" + str(cohort) + "</extra>",
        ))
    fig.update_xaxes(title_text=GRAIN_TITLES[grain])
    fig.update_yaxes(title_text=ACTIVITY_METRICS[metric])
    fig.update_layout(showlegend=True)  # name the cohort even when the filters leave only one
    return theme.styled(fig, title=f"{ACTIVITY_METRICS[metric]} per {grain}, by annotator cohort")


def agreement_figure(frame: pd.DataFrame, *, grain: str = "week") -> go.Figure:
    """Raw percent agreement per period as a line inside its shaded 95% confidence band.

    Parameters
    ----------
    frame : DataFrame
        ``period, items_multi, pa_mean, ci_low, ci_high`` (``ui.loaders.agreement_over_time``).
    grain : {"day", "week", "month"}
        The period length, for the x-axis title.

    Returns
    -------
    go.Figure
        One filled ``95% CI`` polygon per run of consecutive periods that have an interval (only the first
        in the legend), then the mean (``Raw agreement``) as the last trace. The y-axis runs from 0 to 100%.

    Notes
    -----
    A period without an interval (fewer than two items rated by 2+ annotators) breaks the band instead of
    being bridged, so the band never claims certainty about a period it knows nothing of.
    """
    fig = go.Figure()
    theme.add_ci_band(fig, frame["period"], frame["ci_low"], frame["ci_high"], color=theme.ACCENT)
    fig.add_trace(go.Scatter(
        x=frame["period"], y=frame["pa_mean"], name="Raw agreement", mode="lines+markers",
        line={"color": theme.ACCENT, "width": 2}, customdata=frame[["items_multi", "ci_low", "ci_high"]],
        hovertemplate=(
            "%{y:.1%} (95% CI %{customdata[1]:.1%}–%{customdata[2]:.1%})"
            "<br>%{customdata[0]:,} items with 2+ annotators<extra></extra>"
        ),
    ))
    fig.update_xaxes(title_text=GRAIN_TITLES[grain])
    fig.update_yaxes(title_text="Raw agreement", tickformat=".0%", range=[0, 1.02], rangemode="normal")
    return theme.styled(fig, title=f"Raw agreement between annotators per {grain}, with 95% CI")


def label_distribution_figure(frame: pd.DataFrame) -> go.Figure:
    """Bar of label events per label, most frequent first.

    Parameters
    ----------
    frame : DataFrame
        ``label, events, share`` (``analytics.store.overview.label_distribution``).

    Returns
    -------
    go.Figure
        One ``Bar`` trace; the x-axis is categorical so numeric labels ("1", "7") stay labels.
    """
    fig = go.Figure(go.Bar(
        x=frame["label"].astype(str), y=frame["events"], customdata=frame[["share"]],
        marker_color=theme.ACCENT, name="Label events",
        hovertemplate="%{y:,} events (%{customdata[0]:.1%})<extra>%{x}</extra>",
    ))
    fig.update_xaxes(title_text="Label", type="category")
    fig.update_yaxes(title_text="Label events")
    fig.update_layout(hovermode="closest")
    return theme.styled(fig, title="Label distribution")


def labels_per_item_figure(frame: pd.DataFrame, *, estimated: bool = False) -> go.Figure:
    """Bar of items by how many label events they carry; items with 2+ labels in the accent colour.

    Parameters
    ----------
    frame : DataFrame
        ``n_labels, items`` (``OverviewSummary.labels_per_item``; re-labels count as labels).
    estimated : bool
        The counts are a sample's shares scaled to all items (large stores): said in the title and hover.

    Returns
    -------
    go.Figure
        One ``Bar`` trace; items with a single label are muted, since agreement needs two.
    """
    colors = [theme.ACCENT if n >= 2 else theme.MUTED for n in frame["n_labels"]]
    about = "≈" if estimated else ""
    fig = go.Figure(go.Bar(
        x=frame["n_labels"].astype(str), y=frame["items"], marker_color=colors, name="Items",
        hovertemplate=about + "%{y:,} items with %{x} label(s)<extra></extra>",
    ))
    fig.update_xaxes(title_text="Labels per item", type="category")
    fig.update_yaxes(title_text="Items")
    fig.update_layout(hovermode="closest")
    title = "Labels per item (estimated from a sample of items)" if estimated else "Labels per item"
    return theme.styled(fig, title=title)
