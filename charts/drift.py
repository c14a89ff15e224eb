"""Figures of the Drift page: the label mix over time, a series with its change points, guideline versions
before and after, annotators over time and re-labels by gap."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.theme import ACCENT, MUTED, PALETTE, add_ci_band, color_map, plain, styled


def _guideline_lines(fig: go.Figure, guidelines: pd.DataFrame, **where) -> None:
    for row in guidelines.itertuples(index=False):
        fig.add_vline(x=pd.Timestamp(row.effective_at), line_dash="dash", line_color="#8A94A6", **where)
        fig.add_annotation(x=pd.Timestamp(row.effective_at), y=1.0, yref="paper",
                           text=plain([row.version])[0], showarrow=False, yanchor="bottom",
                           font={"size": 11, "color": "#5A6478"})


def label_mix_figure(label_counts: pd.DataFrame, *, guidelines: pd.DataFrame,
                     changes: list[pd.Timestamp] = ()) -> go.Figure:
    """Each label's share of the labels given per window, stacked, with guideline versions and changes.

    Parameters
    ----------
    label_counts : DataFrame
        ``window, label, n`` (``analytics.store.drift.label_counts_by_window``).
    guidelines : DataFrame
        ``version, effective_at``: dashed lines.
    changes : list of Timestamp
        Windows where a change point was found: dotted lines.
    """
    frame = label_counts.assign(label=label_counts["label"].astype(str))
    totals = frame.groupby("window")["n"].transform("sum")
    frame = frame.assign(share=frame["n"] / totals)
    colors = color_map(frame["label"])
    fig = go.Figure()
    for label, rows in frame.groupby("label", sort=True):
        fig.add_trace(go.Scatter(
            x=rows["window"], y=rows["share"], name=plain([label])[0], stackgroup="mix", mode="lines",
            line={"width": 0.5, "color": colors[label]}, customdata=rows["n"],
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%} (%{customdata:,} labels)<extra>%{fullData.name}</extra>",
        ))
    _guideline_lines(fig, guidelines)
    for when in changes:
        fig.add_vline(x=pd.Timestamp(when), line_dash="dot", line_color=PALETTE[5])
    fig.update_layout(yaxis={"tickformat": ".0%", "range": [0, 1], "title": "share of labels"},
                      hovermode="x unified")
    return styled(fig, title="Label mix over time (dashed: guideline versions, dotted: detected changes)",
                  height=380)


def series_figure(values: pd.DataFrame | None, changes, *, title: str, unit: str,
                  guidelines: pd.DataFrame) -> go.Figure:
    """One quality series with its interval, the detected segments' means and the change points.

    Parameters
    ----------
    values : DataFrame or None
        ``window, value, low, high`` per window (None: only the segments are drawn).
    changes : analytics.drift.ChangePoints
        Its ``segments`` (``start, end, mean, low, high``) and ``changes`` (``window``).
    title, unit : str
        The series in words; ``share`` formats the axis in percent.
    guidelines : DataFrame
        ``version, effective_at``.
    """
    fig = go.Figure()
    if values is not None and len(values):
        add_ci_band(fig, values["window"], values["low"], values["high"], color=ACCENT, name="95% CI")
        fig.add_trace(go.Scatter(x=values["window"], y=values["value"], mode="lines+markers", name=title,
                                 line={"color": ACCENT}, marker={"size": 5}))
    for segment in changes.segments.itertuples(index=False):
        fig.add_trace(go.Scatter(
            x=[segment.start, segment.end], y=[segment.mean, segment.mean], mode="lines", showlegend=False,
            line={"color": PALETTE[5], "width": 3}, hovertemplate="segment mean %{y:.3f}<extra></extra>",
        ))
    for when in changes.changes["window"]:
        fig.add_vline(x=pd.Timestamp(when), line_dash="dot", line_color=PALETTE[5])
    _guideline_lines(fig, guidelines)
    axis = {"tickformat": ".0%"} if unit == "share" else {}
    fig.update_layout(yaxis={**axis, "title": None, "rangemode": "normal"}, hovermode="x unified")
    name = plain([title])[0]
    return styled(fig, title=f"{name[:1].upper()}{name[1:]}: segments and change points", height=300)


def guideline_figure(comparison: pd.DataFrame) -> go.Figure:
    """Every metric before (grey) and after (blue) each guideline version, with 95% intervals."""
    frame = comparison.dropna(subset=["before", "after"])
    rows = plain(frame["version"].astype(str) + ": " + frame["metric"].astype(str))
    fig = go.Figure()
    for side, color in (("before", MUTED), ("after", ACCENT)):
        fig.add_trace(go.Scatter(
            x=frame[side], y=rows, mode="markers", name=side, marker={"size": 11, "color": color},
            error_x={"type": "data", "symmetric": False, "array": frame[f"{side}_high"] - frame[side],
                     "arrayminus": frame[side] - frame[f"{side}_low"], "color": color},
        ))
    fig.update_layout(hovermode="closest", xaxis={"title": "value (shares in 0–1)"},
                      yaxis={"title": None, "autorange": "reversed", "rangemode": "normal"})
    return styled(fig, title="Each metric before and after each guideline version (95% intervals)",
                  height=max(280, 70 + 34 * len(frame)))


def annotators_figure(windows: pd.DataFrame, annotators: list[str], *, flagged: set[str]) -> go.Figure:
    """Small multiples: each annotator's agreement with the majority per window against their peers'.

    Parameters
    ----------
    windows : DataFrame
        ``AnnotatorDrift.windows``: ``window, annotator_id, agreement, low, high, peer_agreement, drop``.
    annotators : list of str
        The annotators to draw, in order (flagged ones first, say).
    flagged : set of str
        Drawn in the warning colour.
    """
    columns = 3
    rows = max(1, -(-len(annotators) // columns))
    fig = make_subplots(rows=rows, cols=columns, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=plain(annotators), vertical_spacing=0.08 if rows > 1 else 0.2)
    for i, annotator in enumerate(annotators):
        row, col = i // columns + 1, i % columns + 1
        own = windows[windows["annotator_id"] == annotator].sort_values("window")
        color = PALETTE[5] if annotator in flagged else ACCENT
        fig.add_trace(go.Scatter(x=own["window"], y=own["peer_agreement"], mode="lines", showlegend=False,
                                 line={"color": MUTED, "dash": "dot"},
                                 hovertemplate="peers %{y:.0%}<extra></extra>"), row=row, col=col)
        fig.add_trace(go.Scatter(
            x=own["window"], y=own["agreement"], mode="lines+markers", showlegend=False,
            line={"color": color}, marker={"size": 5},
            error_y={"type": "data", "symmetric": False, "array": own["high"] - own["agreement"],
                     "arrayminus": own["agreement"] - own["low"], "color": color, "thickness": 1},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.0%}<extra></extra>"), row=row, col=col)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05])
    fig.update_layout(hovermode="closest")
    return styled(fig, title="Agreement with the majority per window (dotted: the annotator's peers; "
                  "orange: flagged)", height=120 + 190 * rows)


def retest_figure(by_gap: pd.DataFrame) -> go.Figure:
    """Share of re-labels that changed, by days between the two labels, with 95% intervals."""
    fig = go.Figure(go.Bar(
        x=by_gap["gap"].astype(str), y=by_gap["change_rate"], marker_color=ACCENT,
        error_y={"type": "data", "symmetric": False, "array": by_gap["high"] - by_gap["change_rate"],
                 "arrayminus": by_gap["change_rate"] - by_gap["low"]},
        customdata=by_gap["pairs"],
        hovertemplate="%{x}: %{y:.0%} of %{customdata:,} re-labels<extra></extra>",
    ))
    fig.update_layout(hovermode="closest", xaxis={"title": "days between the two labels", "type": "category"},
                      yaxis={"tickformat": ".0%", "title": "changed"})
    return styled(fig, title="Test–retest: how often the same annotator changes their label", height=300)
