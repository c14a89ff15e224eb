"""The look shared by every LabelWatch figure, in the app and in the standalone report.

Colours (``PALETTE``) are twelve mid-to-dark hues built from the Okabe–Ito and Paul Tol schemes: each stands
out from the white background by at least 3:1 (WCAG 2.1's contrast for graphical objects), and any two stay
apart for people with normal vision and with simulated protanopia, deuteranopia and tritanopia (Machado et
al. 2009), so ten classes get ten readable colours. A category keeps its colour whatever other categories a
chart shows when the chart passes the same ``order`` to ``color_map`` (e.g. the store's cohorts in the
order they first appeared).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

#: Categorical colours, in the order ``color_map`` hands them out. The first eight are the most distinct
#: subset; blue (0) is the accent and vermillion (5) the highlight of every page. Okabe–Ito's blue, bluish
#: green, reddish purple and vermillion and Tol's indigo and wine, plus hues chosen to keep every colour at
#: 3:1 or more against white and every pair distinct under simulated colour-vision deficiencies
#: (``tests/charts/test_theme.py`` checks both). Okabe–Ito's orange, sky blue and yellow and Tol's pale
#: colours are left out: they fall below 3:1 on white.
PALETTE = ("#0072B2", "#009E73", "#CA78A6", "#332288", "#9F9254", "#D55E00", "#AF5623", "#882255",
           "#9B5B7F", "#004488", "#6496C9", "#796F3F")
ACCENT = PALETTE[0]
#: De-emphasised marks (the "before" side, results that are not significant): grey at 3.1:1 on white.
MUTED = "#8C939B"
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


#: The same colours: one palette serves every number of categories, so a ninth category never recolours
#: the first eight.
LARGE_PALETTE = PALETTE


def color_map(categories: Iterable, *, order: Iterable | None = None) -> dict:
    """A colour per category, stable across charts and across changes in which categories are present.

    Parameters
    ----------
    categories : iterable
        The categories a chart draws (repeats are fine).
    order : iterable, optional
        Every category that could ever be drawn, in a fixed order: the n-th gets ``PALETTE[n]``, whether or
        not the others are present, so filtering a chart or adding a new category never moves a colour.
        Pass the store's cohorts in the order they first appeared (``analytics.store.agreement.cohort_order``,
        cached as ``ui.loaders.cohort_order``), or a fixed list such as the label vocabulary. Categories
        missing from ``order`` follow it, sorted.

    Returns
    -------
    dict
        Category (as given) to colour; beyond 12 positions colours repeat.

    Notes
    -----
    Without ``order`` the categories are taken in sorted order: stable for a fixed set, but a new name
    sorting before others shifts their colours, so charts of open-ended sets (cohorts, annotators) should
    pass ``order``.

    Examples
    --------
    >>> color_map(["crowd", "expert"])
    {'crowd': '#0072B2', 'expert': '#009E73'}
    >>> color_map(["expert"], order=["crowd", "vendor", "expert"])
    {'expert': '#CA78A6'}
    >>> len(set(color_map([str(d) for d in range(10)]).values()))
    10
    """
    present = list(dict.fromkeys(categories))
    ranked = list(dict.fromkeys(order)) if order is not None else []
    position = {name: i for i, name in enumerate(ranked)}
    extra = [name for name in present if name not in position]
    try:
        extra = sorted(extra)
    except TypeError:  # categories of mixed types: keep their first-seen order
        pass
    position.update({name: len(ranked) + i for i, name in enumerate(extra)})
    return {name: PALETTE[position[name] % len(PALETTE)] for name in sorted(present, key=position.get)}


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
    fill = rgba(color, 0.18)
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


def rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` as a CSS ``rgba()`` colour: ``rgba("#ff0000", 0.5)`` -> ``rgba(255, 0, 0, 0.5)``."""
    red, green, blue = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"
