"""Figures of the Impact page and the report: forest plots of B − A with paired intervals, the reliability
diagrams of both arms side by side, and what the remediation changed."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.theme import ACCENT, MUTED, PALETTE, plain, styled

__all__ = ["changes_figure", "forest_figure", "reliability_figure"]

WORSE = PALETTE[5]


def forest_figure(
    table: pd.DataFrame,
    *,
    label: str | list[str],
    title: str,
    what: str = "B − A",
    higher_is_better: bool = True,
) -> go.Figure:
    """One row per line of ``table`` (columns ``delta, ci_low, ci_high`` and ``label``, or several label
    columns joined with " = "): the difference as a dot with its interval; a difference whose interval
    excludes zero in the good direction is drawn in the accent colour, in the bad direction in vermillion,
    and grey otherwise. Zero is a vertical line."""
    columns = [label] if isinstance(label, str) else list(label)
    names = plain(table[columns].astype(str).agg(" = ".join, axis=1)) if len(table) else []
    good = (table["ci_low"] > 0) if higher_is_better else (table["ci_high"] < 0)
    bad = (table["ci_high"] < 0) if higher_is_better else (table["ci_low"] > 0)
    colours = [ACCENT if g else WORSE if b else MUTED for g, b in zip(good, bad, strict=True)]
    fig = go.Figure(
        go.Scatter(
            x=table["delta"],
            y=names,
            mode="markers",
            marker={"color": colours, "size": 10},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": table["ci_high"] - table["delta"],
                "arrayminus": table["delta"] - table["ci_low"],
                "color": "#5A6270",
                "thickness": 1.5,
            },
            customdata=table[["ci_low", "ci_high"]].to_numpy() if len(table) else None,
            hovertemplate="%{y}: %{x:+.3f} (95% CI %{customdata[0]:+.3f} to %{customdata[1]:+.3f})"
            "<extra></extra>",
        )
    )
    fig.add_vline(x=0, line={"color": "#262730", "width": 1})
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(title_text=what, zeroline=False)
    return styled(fig, title=title, height=max(220, 90 + 34 * len(table)))


def reliability_figure(table: pd.DataFrame, *, title: str = "Calibration before and after") -> go.Figure:
    """The reliability diagrams of arm A and arm B side by side: accuracy against mean confidence per
    confidence bin (bins without items left out), the diagonal of perfect calibration, marker size by
    items."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("A (before)", "B (after)"), shared_yaxes=True)
    for col, (arm, colour) in enumerate((("A", MUTED), ("B", ACCENT)), start=1):
        rows = table[(table["arm"] == arm) & (table["n"] > 0)] if len(table) else table
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[0, 1],
                mode="lines",
                line={"color": "#B8BEC7", "dash": "dot"},
                hoverinfo="skip",
                showlegend=False,
            ),
            row=1,
            col=col,
        )
        if len(rows):
            fig.add_trace(
                go.Scatter(
                    x=rows["mean_confidence"],
                    y=rows["accuracy"],
                    mode="lines+markers",
                    name=f"arm {arm}",
                    line={"color": colour},
                    marker={"size": 6 + 14 * (rows["n"] / rows["n"].max()) ** 0.5},
                    customdata=rows[["n"]].to_numpy(),
                    showlegend=False,
                    hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata[0]} items)"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(range=[0, 1], title_text="mean confidence", row=1, col=col)
    fig.update_yaxes(range=[0, 1.02], title_text="accuracy", row=1, col=1)
    fig = styled(fig, title=title, height=380)
    fig.update_layout(margin={"t": 84})  # room for the subplot titles under the figure's own
    return fig


def changes_figure(changes: pd.DataFrame, *, title: str = "What the remediation changed") -> go.Figure:
    """Actions between the arms by source (review, each policy, each campaign), stacked by kind."""
    fig = go.Figure()
    if len(changes):
        for n, (action, rows) in enumerate(changes.groupby("action", sort=True)):
            fig.add_trace(
                go.Bar(
                    x=rows["n"],
                    y=plain(rows["source"]),
                    name=str(action),
                    orientation="h",
                    marker={"color": PALETTE[n % len(PALETTE)]},
                    hovertemplate="%{y}: %{x:,} " + str(action) + "<extra></extra>",
                )
            )
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text="items")
    fig.update_yaxes(type="category")
    return styled(
        fig, title=title, height=max(220, 120 + 40 * changes["source"].nunique()) if len(changes) else 220
    )
