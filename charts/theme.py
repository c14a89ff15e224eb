"""The look shared by every LabelWatch figure, in the app and in the standalone report.

Colours are the Okabe–Ito palette, distinguishable with the common colour-vision deficiencies; a category
keeps its colour across charts as long as the set of categories is the same (``color_map``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

#: Okabe & Ito (2008), "Color Universal Design", without black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")
ACCENT = PALETTE[0]
MUTED = "#B8C2CC"
TEXT = "#262730"
GRID = "#E6E9EF"

TEMPLATE = go.layout.Template(
    layout=go.Layout(
        font={"family": "Source Sans Pro, Segoe UI, Helvetica, Arial, sans-serif", "size": 13, "color": TEXT},
        colorway=list(PALETTE),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 8, "r": 8, "t": 48, "b": 8},
        title={"font": {"size": 15}, "x": 0, "xanchor": "left", "xref": "paper"},
        xaxis={"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "automargin": True},
        yaxis={"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "automargin": True,
               "rangemode": "tozero"},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1, "title": None},
        hoverlabel={"font": {"size": 12}},
        hovermode="x unified",
    )
)


def styled(fig: go.Figure, *, title: str, height: int = 340) -> go.Figure:
    """Apply the LabelWatch template, a title and a height to ``fig`` and return it.

    Parameters
    ----------
    fig : go.Figure
        Modified in place.
    title : str
        Shown top left.
    height : int
        Pixels.

    Returns
    -------
    go.Figure
        ``fig``.
    """
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=height)
    return fig


def plain(values: Iterable) -> list[str]:
    """User text made inert for plotly, which reads a few HTML tags (``<b>``, ``<a href>``) in its texts.

    Examples
    --------
    >>> plain(["<b>ann</b>", "7"])
    ['&lt;b&gt;ann&lt;/b&gt;', '7']
    """
    return [html.escape(str(value), quote=False) for value in values]


#: Paul Tol's "muted" scheme (colour-blind safe), for sets of categories larger than ``PALETTE``.
LARGE_PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255",
                 "#AA4499", "#DDDDDD", "#0072B2", "#E69F00")


def color_map(categories: Iterable[str]) -> dict[str, str]:
    """A colour per category, assigned in sorted order so the same categories always get the same colours.

    Up to 8 categories take ``PALETTE``; up to 12 take ``LARGE_PALETTE``, so ten classes never share a
    colour; beyond that colours repeat.

    Examples
    --------
    >>> color_map(["crowd", "expert"])
    {'crowd': '#0072B2', 'expert': '#E69F00'}
    >>> len(set(color_map([str(d) for d in range(10)]).values()))
    10
    """
    names = sorted(set(categories))
    palette = PALETTE if len(names) <= len(PALETTE) else LARGE_PALETTE
    return {name: palette[i % len(palette)] for i, name in enumerate(names)}


def add_ci_band(
    fig: go.Figure,
    x: pd.Series,
    low: pd.Series,
    high: pd.Series,
    *,
    color: str,
    name: str = "95% CI",
    group: str = "ci",
    show_legend: bool | None = None,
) -> None:
    """Add a shaded confidence band to ``fig``: one filled polygon per run of points with both bounds.

    A point without an interval breaks the band instead of being bridged, so the band never claims
    certainty about a period it knows nothing of. Only the first polygon of ``group`` enters the legend
    (``show_legend`` None: only when ``fig`` has no trace yet).
    """
    fill = _rgba(color, 0.18)
    mask = (low.notna() & high.notna()).tolist()
    x, low, high = list(x), list(low), list(high)
    first = not fig.data if show_legend is None else show_legend
    start = None
    for i, flag in enumerate([*mask, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            fig.add_trace(go.Scatter(
                x=[*x[start:i], *x[start:i][::-1]], y=[*high[start:i], *low[start:i][::-1]],
                name=name, fill="toself", fillcolor=fill, mode="lines", line={"width": 1, "color": fill},
                hoverinfo="skip", legendgroup=group, showlegend=first,
            ))
            first, start = False, None


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"
