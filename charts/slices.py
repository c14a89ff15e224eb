"""Figures of the Slices page: the forest plot of slice noise rates and the slice × class heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.theme import ACCENT, MUTED, PALETTE, plain, styled


def forest_figure(table: pd.DataFrame, *, metric_title: str, limit: int = 25) -> go.Figure:
    """Each tested slice's noise rate with its 95% interval, noisiest first, against the rest's rate.

    Parameters
    ----------
    table : DataFrame
        ``analytics.monitoring.slices.slice_noise_table``:
        ``slice, noise_rate, ci_low, ci_high, rest_rate, q_value,
        significant, status, n``.
    metric_title : str
        The x-axis title (what the rate measures).
    limit : int
        Slices shown (the table keeps them all).

    Returns
    -------
    go.Figure
        Significant slices (after FDR control) in the accent colour, the others grey; a tick marks the rate
        of the rest of the items.
    """
    shown = table[table["status"] == "tested"].head(limit).iloc[::-1]
    names = plain(shown["slice"])
    colors = [ACCENT if significant else MUTED for significant in shown["significant"]]
    q = shown["q_value"].map(lambda v: "< 0.001" if v < 0.001 else f"{v:.3f}")
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=shown["noise_rate"], y=names, mode="markers", name="slice (95% CI)",
        marker={"size": 10, "color": colors},
        error_x={"type": "data", "symmetric": False, "array": shown["ci_high"] - shown["noise_rate"],
                 "arrayminus": shown["noise_rate"] - shown["ci_low"], "color": "#8A94A6", "thickness": 1.5},
        customdata=np.column_stack([shown["n"], q, shown["ci_low"], shown["ci_high"]]),
        hovertemplate="<b>%{y}</b><br>%{x:.1%} (95% CI %{customdata[2]:.1%}–%{customdata[3]:.1%})<br>"
                      "%{customdata[0]:,} items · q %{customdata[1]}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=shown["rest_rate"], y=names, mode="markers", name="rest of the items",
        marker={"symbol": "line-ns-open", "size": 14, "color": PALETTE[5], "line": {"width": 2}},
        hovertemplate="rest: %{x:.1%}<extra></extra>",
    ))
    fig.update_layout(hovermode="closest", xaxis={"title": metric_title, "tickformat": ".0%"},
                      yaxis={"title": None, "rangemode": "normal"})
    return styled(fig, title="Noise rate by slice, with 95% intervals (blue: significant after FDR control)",
                  height=max(300, 60 + 26 * len(shown)))


#: Column title of the pooled classes beyond the cube's ``max_classes`` (``label`` None).
OTHER_CLASSES = "other classes"


def heatmap_figure(
    cells: pd.DataFrame, *, metric_title: str, classes: int | None = None, max_classes: int | None = None
) -> go.Figure:
    """Slice × class: the noise rate of each cell, coloured by its ratio to the class's overall rate.

    Parameters
    ----------
    cells : DataFrame
        ``analytics.monitoring.slice_classes.slice_class_heatmap``:
        ``attribute, value, label, n, noise_rate, class_rate,
        ratio`` (cells too small for a rate have NaN; ``label`` missing for the pooled other classes).
    metric_title : str
        Named in the hover.
    classes, max_classes : int or None
        How many classes the ratings use and how many the cube keeps apart (``slice_cube``'s ``attrs``),
        for the title's note when some are pooled.

    Returns
    -------
    go.Figure
        One ``Heatmap``: a row per slice, a column per class (the pooled other classes last, titled
        ``OTHER_CLASSES``). The colour is log2 of the ratio on a fixed scale from ¼× (blue) through 1×
        (white) to 4× (red), so the same colour means the same ratio on every store and filter.
    """
    label = cells["label"].astype(object)
    pooled = label.isna().to_numpy()
    rows = list(dict.fromkeys(cells["attribute"].astype(str) + " = " + cells["value"].astype(str)))
    named = sorted({str(v) for v in label[~pooled]})
    row_of = {name: i for i, name in enumerate(rows)}
    col_of = {name: i for i, name in enumerate(named)}
    shape = (len(rows), len(named) + int(pooled.any()))
    ratio, rate, n = (np.full(shape, np.nan) for _ in range(3))
    r = [row_of[f"{a} = {v}"] for a, v in zip(cells["attribute"].astype(str), cells["value"].astype(str),
                                               strict=True)]
    c = [len(named) if p else col_of[str(v)] for v, p in zip(label, pooled, strict=True)]
    ratio[r, c] = cells["ratio"].to_numpy(float)
    rate[r, c] = cells["noise_rate"].to_numpy(float)
    n[r, c] = cells["n"].to_numpy(float)
    text = np.where(np.isnan(rate), "", np.char.mod("%.0f%%", 100 * np.nan_to_num(rate)))
    columns = plain(named) + ([OTHER_CLASSES] if pooled.any() else [])
    fig = go.Figure(go.Heatmap(
        z=np.log2(np.clip(ratio, 0.125, 8)),  # a class with no noise: ⅛× and below
        x=columns, y=plain(rows),
        # a fixed scale, ¼× to 4× (beyond: the end colours): a 1.1× cell stays pale whatever the others
        text=text, texttemplate="%{text}", colorscale="RdBu_r", zmin=-2, zmax=2,
        colorbar={"title": "vs class", "tickvals": [-2, -1, 0, 1, 2],
                  "ticktext": ["¼×", "½×", "1×", "2×", "4×"]},
        customdata=np.dstack([rate, n]),
        hovertemplate="%{y}, class %{x}<br>" + metric_title + ": %{customdata[0]:.1%} of %{customdata[1]:,} "
                      "items<extra></extra>",
    ))
    fig.update_layout(hovermode="closest", xaxis={"title": "class (majority label)", "type": "category"},
                      yaxis={"title": None, "autorange": "reversed", "rangemode": "normal"})
    title = "Slice × class: noise rate, coloured by its ratio to the class's rate"
    if pooled.any() and classes and max_classes:
        title += (f"<br><sup>The {max_classes} most rated of {classes:,} classes apart; the other "
                  f"{classes - max_classes:,} pooled as \"{OTHER_CLASSES}\".</sup>")
    fig = styled(fig, title=title, height=max(300, 80 + 28 * len(rows)))
    if pooled.any():
        fig.update_layout(margin={"t": 72})
    return fig
