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


#: Dash pattern and marker of a partial period (not every day of it in the data or the date filter).
PARTIAL_DASH, PARTIAL_SYMBOL = "dot", "circle-open"


def _partial(frame: pd.DataFrame) -> pd.Series:
    """The frame's ``partial`` column, or all False when it has none."""
    if "partial" in frame.columns:
        return frame["partial"].fillna(False).astype(bool)
    return pd.Series(False, index=frame.index)


def _add_line(fig: go.Figure, x: pd.Series, y: pd.Series, partial: pd.Series, *, name: str, color: str,
              markers: bool, hovertemplate: str, customdata: pd.DataFrame | None = None) -> None:
    """One series as a solid line over complete periods, dotted into each partial period, hollow there.

    Three traces sharing one legend entry: the solid line (complete periods), a dotted line through each
    partial point and its neighbours (no hover), and the partial points as hollow markers (with hover).
    """
    x, y, partial = x.reset_index(drop=True), y.reset_index(drop=True), partial.reset_index(drop=True)
    data = None if customdata is None else customdata.reset_index(drop=True)
    fig.add_trace(go.Scatter(
        x=x, y=y.where(~partial), name=name, mode="lines+markers" if markers else "lines",
        legendgroup=name, line={"color": color, "width": 2}, customdata=data, hovertemplate=hovertemplate,
    ))
    if not partial.any():
        return
    near = partial | partial.shift(1, fill_value=False) | partial.shift(-1, fill_value=False)
    fig.add_trace(go.Scatter(
        x=x, y=y.where(near), name=name, mode="lines", legendgroup=name, showlegend=False,
        line={"color": color, "width": 2, "dash": PARTIAL_DASH}, hoverinfo="skip",
    ))
    fig.add_trace(go.Scatter(
        x=x[partial], y=y[partial], name=name, mode="markers", legendgroup=name, showlegend=False,
        marker={"symbol": PARTIAL_SYMBOL, "size": 10, "color": color, "line": {"width": 2, "color": color}},
        customdata=None if data is None else data[partial],
        hovertemplate=hovertemplate.replace("<extra>", " (partial period)<extra>", 1),
    ))


def _partial_note(fig: go.Figure, frame: pd.DataFrame, grain: str) -> str:
    """A legend entry for partial periods and the title's note, or "" when every period is complete."""
    partial = _partial(frame)
    if not partial.any():
        return ""
    fig.add_trace(go.Scatter(
        x=[None], y=[None], mode="lines+markers", name=f"partial {grain}",
        line={"color": theme.MUTED, "dash": PARTIAL_DASH},
        marker={"symbol": PARTIAL_SYMBOL, "size": 9, "color": theme.MUTED}, hoverinfo="skip",
    ))
    starts = sorted(pd.to_datetime(frame.loc[partial, "period"]).dt.date.unique())
    when = ", ".join(f"{day:%Y-%m-%d}" for day in starts[:3])
    return (f"<br><sup>Hollow, dotted: partial {grain} (from {when}); not all its days are in the data or "
            f"the date filter, so it does not compare with a full {grain}.</sup>")


def activity_figure(
    frame: pd.DataFrame, *, metric: str = "events", grain: str = "day", order: list | None = None,
    estimated_items: bool = False,
) -> go.Figure:
    """One line per annotator cohort: ``metric`` per period, partial periods dotted.

    Parameters
    ----------
    frame : DataFrame
        ``period, cohort`` and the metric columns (``analytics.store.overview.activity``), with an optional
        ``partial`` column (``analytics.monitoring.periods.partial_periods``).
    metric : {"events", "items", "annotators", "labels"}
        Which count to draw.
    grain : {"day", "week", "month"}
        The period length, for the x-axis title.
    order : list, optional
        Every cohort of the store in a fixed order (``ui.loaders.cohort_order``), so a cohort keeps its
        colour whatever the filter leaves (``charts.theme.color_map``).
    estimated_items : bool
        The ``items`` counts are HyperLogLog estimates (large stores): said on the axis, with their 95%
        margin when ``frame.attrs["items_rse"]`` gives their relative standard error, and in the hover.

    Returns
    -------
    go.Figure
        A ``Scatter`` trace per cohort, named after it; with partial periods, one more dotted trace per
        cohort (no legend entry of its own) and a grey legend entry "partial <grain>".

    Notes
    -----
    Lines rather than stacked bars: items, annotators and labels are distinct counts, which do not add up
    across cohorts (one item labeled by two cohorts counts once in each). A partial period (a week cut
    by the end of the data or by the date filter) is drawn hollow at the end of a dotted segment and
    named in the title, so its lower count does not read as a drop.
    """
    if metric not in ACTIVITY_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(ACTIVITY_METRICS)}")
    colors = theme.color_map(frame["cohort"], order=order)
    approx = estimated_items and metric == "items"
    fig = go.Figure()
    partial = _partial(frame)
    hover = ("≈" if approx else "") + "%{y:,}<extra>%{fullData.name}</extra>"
    for cohort in colors:
        rows = frame[frame["cohort"] == cohort]
        name = theme.plain([cohort])[0]
        _add_line(
            fig, rows["period"], rows[metric], partial.loc[rows.index], name=name, color=colors[cohort],
            markers=grain != "day", hovertemplate=hover,
        )
    note = _partial_note(fig, frame, grain)
    fig.update_xaxes(title_text=GRAIN_TITLES[grain])
    rse = frame.attrs.get("items_rse")
    about = (" (estimated" + (f", ±{1.96 * rse:.0%} at 95%" if rse else "") + ")") if approx else ""
    fig.update_yaxes(title_text=ACTIVITY_METRICS[metric] + about)
    fig.update_layout(showlegend=True)  # name the cohort even when the filters leave only one
    return _with_note(theme.styled(fig, title=f"{ACTIVITY_METRICS[metric]} per {grain}, by annotator cohort"
                                   + note), note)


def agreement_figure(frame: pd.DataFrame, *, grain: str = "week") -> go.Figure:
    """Raw agreement per period as a line inside its shaded 95% confidence band, partial periods dotted.

    Parameters
    ----------
    frame : DataFrame
        ``period, items_multi, pa_mean, ci_low, ci_high`` (``ui.loaders.agreement_over_time``), with an
        optional ``partial`` column.
    grain : {"day", "week", "month"}
        The period length, for the x-axis title.

    Returns
    -------
    go.Figure
        One filled ``95% CI`` polygon per run of consecutive periods that have an interval (only the first
        in the legend), then the mean (``Raw agreement``); with partial periods, a dotted trace into them
        and a "partial <grain>" legend entry. The y-axis runs from 0 to 100%.

    Notes
    -----
    A period without an interval (no item rated by 2+ annotators) breaks the band instead of being
    bridged, so the band never claims certainty about a period it knows nothing of.
    """
    fig = go.Figure()
    theme.add_ci_band(fig, frame["period"], frame["ci_low"], frame["ci_high"], color=theme.ACCENT)
    _add_line(
        fig, frame["period"], frame["pa_mean"], _partial(frame), name="Raw agreement", color=theme.ACCENT,
        markers=True, customdata=frame[["items_multi", "ci_low", "ci_high"]],
        hovertemplate=(
            "%{y:.1%} (95% CI %{customdata[1]:.1%}–%{customdata[2]:.1%})"
            "<br>%{customdata[0]:,} items with 2+ annotators<extra></extra>"
        ),
    )
    note = _partial_note(fig, frame, grain)
    fig.update_xaxes(title_text=GRAIN_TITLES[grain])
    fig.update_yaxes(title_text="Raw agreement", tickformat=".0%", range=[0, 1.02], rangemode="normal")
    return _with_note(theme.styled(fig, title=f"Raw agreement between annotators per {grain}, with 95% CI"
                                   + note), note)


def _with_note(fig: go.Figure, note: str) -> go.Figure:
    """Room above the plot for a title's second line."""
    if note:
        fig.update_layout(margin={"t": 72})
    return fig


#: Labels the label distribution draws apart, most frequent first; the others share one bar.
MAX_LABEL_BARS = 30
#: Bar title of the pooled labels beyond ``MAX_LABEL_BARS``, after their number.
OTHER_LABELS = "other labels"


def label_distribution_figure(frame: pd.DataFrame, *, limit: int = MAX_LABEL_BARS) -> go.Figure:
    """Bar of label events per label, most frequent first; past ``limit`` labels, the rest in one bar.

    Parameters
    ----------
    frame : DataFrame
        ``label, events, share`` (``analytics.store.overview.label_distribution``), most frequent first.
    limit : int
        Labels drawn apart.

    Returns
    -------
    go.Figure
        One ``Bar`` trace; the x-axis is categorical so numeric labels ("1", "7") stay labels, and the
        labels are escaped for plotly (``charts.theme.plain``), as stored text. With more than ``limit``
        labels, a last grey bar "<n> other labels" holds the events of the others, and the title says so.

    Notes
    -----
    A store with thousands of classes would otherwise get a bar per class: slivers no one can read or
    hover, and a figure the browser struggles with. The pooled bar keeps the total, so no event leaves the
    chart; the page's CSV download keeps every label.
    """
    shown, rest = frame.iloc[:limit], frame.iloc[limit:]
    x, y = theme.plain(shown["label"]), shown["events"].tolist()
    share, colors = shown["share"].tolist(), [theme.ACCENT] * len(shown)
    note = ""
    if len(rest):
        x.append(f"{len(rest):,} {OTHER_LABELS}")
        y.append(int(rest["events"].sum()))
        share.append(float(rest["share"].sum()))
        colors.append(theme.MUTED)
        note = (f"<br><sup>The {limit} most frequent of {len(frame):,} labels apart; the other "
                f"{len(rest):,} pooled in the grey bar.</sup>")
    fig = go.Figure(go.Bar(
        x=x, y=y, customdata=[[s] for s in share], marker_color=colors, name="Label events",
        hovertemplate="%{y:,} events (%{customdata[0]:.1%})<extra>%{x}</extra>",
    ))
    fig.update_xaxes(title_text="Label", type="category")
    fig.update_yaxes(title_text="Label events")
    fig.update_layout(hovermode="closest")
    return _with_note(theme.styled(fig, title="Label distribution" + note), note)


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
