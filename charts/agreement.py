"""Figures of the Agreement page, from the frames of ``analytics.agreement`` and ``analytics.annotators``.

Every builder accepts an empty frame and returns a figure with its axes titled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts import theme
from charts.overview import GRAIN_TITLES

#: Display names of the agreement coefficients.
METRIC_TITLES = {
    "krippendorff_alpha": "Krippendorff's alpha",
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
    "percent_agreement": "Raw agreement",
}

#: Diverging scale for coefficients in [-1, 1]: red below zero, white at zero, blue up to 1.
_KAPPA_SCALE = [[0.0, "#D55E00"], [0.5, "#FFFFFF"], [1.0, "#0072B2"]]


def over_time_figure(
    frame: pd.DataFrame,
    *,
    grain: str = "week",
    guidelines: pd.DataFrame | None = None,
    series: str = "metric",
) -> go.Figure:
    """Agreement coefficients per period, each inside its 95% band, with guideline versions marked.

    Parameters
    ----------
    frame : DataFrame
        ``period, value, ci_low, ci_high, n_items`` and the ``series`` column naming each line.
    grain : {"day", "week", "month"}
        Period length, for the x-axis title.
    guidelines : DataFrame or None
        ``version, effective_at``: a dotted vertical line and a label at each version's start.
    series : str
        Column that splits the lines (``metric``, or ``group`` for one metric by cohort).

    Returns
    -------
    go.Figure
        Per series a band (legend group = series) then the line; then one line shape per guideline.
    """
    fig = go.Figure()
    colors = theme.color_map(frame[series].astype(str)) if len(frame) else {}
    for name, rows in frame.groupby(series, sort=True):
        label = METRIC_TITLES.get(str(name), str(name))
        theme.add_ci_band(
            fig,
            rows["period"],
            rows["ci_low"],
            rows["ci_high"],
            color=colors[str(name)],
            name=f"{label} 95% CI",
            group=str(name),
            show_legend=False,
        )
        fig.add_trace(
            go.Scatter(
                x=rows["period"],
                y=rows["value"],
                name=label,
                mode="lines+markers",
                legendgroup=str(name),
                line={"color": colors[str(name)], "width": 2},
                customdata=rows[["ci_low", "ci_high", "n_items"]],
                hovertemplate=(
                    "%{y:.3f} (95% CI %{customdata[0]:.3f}–%{customdata[1]:.3f}, %{customdata[2]:,} items)"
                    "<extra>" + label + "</extra>"
                ),
            )
        )
    _guideline_markers(fig, guidelines)
    fig.update_xaxes(title_text=GRAIN_TITLES.get(grain, grain))
    fig.update_yaxes(
        title_text="Coefficient (1 = perfect, 0 = chance)", range=[-0.05, 1.02], rangemode="normal"
    )
    fig.update_layout(showlegend=True)
    return theme.styled(fig, title=f"Chance-corrected agreement per {grain}, with 95% CIs", height=380)


def _guideline_markers(fig: go.Figure, guidelines: pd.DataFrame | None) -> None:
    if guidelines is None:
        return
    for row in guidelines.itertuples(index=False):
        fig.add_vline(
            x=pd.Timestamp(row.effective_at).to_pydatetime(),
            line={"dash": "dot", "color": theme.TEXT, "width": 1},
        )
        fig.add_annotation(
            x=pd.Timestamp(row.effective_at).to_pydatetime(),
            y=1.0,
            yref="paper",
            text=f"guideline {row.version}",
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 11},
        )


def reliability_figure(table: pd.DataFrame) -> go.Figure:
    """Each annotator's agreement with the others' majority against their volume, with Wilson intervals.

    Parameters
    ----------
    table : DataFrame
        ``annotator_id, cohort, items, loo_agreement, loo_low, loo_high, flags``
        (``analytics.annotators.reliability_table``).

    Returns
    -------
    go.Figure
        One ``Scatter`` trace per cohort with error bars; flagged annotators are drawn as crosses.

    Notes
    -----
    Spammers sit near chance whatever their volume; a cohort trained to a different standard forms its own
    cloud below the others.
    """
    fig = go.Figure()
    colors = theme.color_map(table["cohort"]) if len(table) else {}
    for cohort, rows in table.groupby("cohort", sort=True):
        flagged = rows["flags"].str.len() > 0
        fig.add_trace(
            go.Scatter(
                x=rows["items"],
                y=rows["loo_agreement"],
                name=str(cohort),
                mode="markers",
                marker={
                    "color": colors[cohort],
                    "size": 9,
                    "symbol": np.where(flagged, "x", "circle"),
                    "line": {"width": 0},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": rows["loo_high"] - rows["loo_agreement"],
                    "arrayminus": rows["loo_agreement"] - rows["loo_low"],
                    "thickness": 1,
                    "width": 0,
                    "color": colors[cohort],
                },
                customdata=np.stack([rows["annotator_id"], rows["flags"].str.join(", ")], axis=-1),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{y:.1%} agree with the others' majority on %{x:,} items"
                    "<br>%{customdata[1]}<extra>" + str(cohort) + "</extra>"
                ),
            )
        )
    fig.update_xaxes(title_text="Items rated", type="log")
    fig.update_yaxes(
        title_text="Agreement with the others' majority",
        tickformat=".0%",
        range=[0, 1.02],
        rangemode="normal",
    )
    fig.update_layout(hovermode="closest", showlegend=True)
    return theme.styled(
        fig, title="Annotators: agreement with the leave-one-out majority (95% Wilson CI)", height=400
    )


def pairwise_figure(frame: pd.DataFrame) -> go.Figure:
    """Heatmap of Cohen's kappa for every pair of annotators who rated enough items in common.

    Parameters
    ----------
    frame : DataFrame
        ``annotator_a, annotator_b, n_items, kappa`` (``analytics.agreement.pairwise_kappa``); each pair once.

    Returns
    -------
    go.Figure
        One symmetric ``Heatmap``; pairs below the overlap rule are blank.
    """
    names = sorted(set(frame["annotator_a"]) | set(frame["annotator_b"]))
    index = {name: i for i, name in enumerate(names)}
    kappa = np.full((len(names), len(names)), np.nan)
    overlap = np.zeros((len(names), len(names)), dtype=int)
    for row in frame.itertuples(index=False):
        i, j = index[row.annotator_a], index[row.annotator_b]
        kappa[i, j] = kappa[j, i] = row.kappa
        overlap[i, j] = overlap[j, i] = row.n_items
    fig = go.Figure(
        go.Heatmap(
            z=kappa,
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale=_KAPPA_SCALE,
            customdata=overlap,
            colorbar={"title": {"text": "kappa"}},
            hoverongaps=False,
            hovertemplate="%{y} × %{x}<br>kappa %{z:.2f} on %{customdata:,} shared items<extra></extra>",
        )
    )
    fig.update_xaxes(type="category", tickangle=-60, showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False, rangemode="normal")
    fig.update_layout(hovermode="closest")
    return theme.styled(
        fig, title="Cohen's kappa between annotator pairs", height=max(360, 18 * len(names) + 140)
    )


def confusion_figure(matrix: pd.DataFrame, *, title: str) -> go.Figure:
    """Heatmap of a confusion matrix: rows = true class, columns = label given, cells = row shares.

    Parameters
    ----------
    matrix : DataFrame
        Square, rows and columns the classes, each row summing to 1 (a Dawid–Skene confusion matrix).
    title : str
        Figure title.
    """
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(dtype=float),
            x=[str(c) for c in matrix.columns],
            y=[str(i) for i in matrix.index],
            zmin=0,
            zmax=1,
            colorscale="Blues",
            texttemplate="%{z:.2f}",
            colorbar={"title": {"text": "share"}},
            hovertemplate="true %{y}, labeled %{x}: %{z:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="Label given", type="category", showgrid=False)
    fig.update_yaxes(
        title_text="True class (estimated)",
        type="category",
        autorange="reversed",
        showgrid=False,
        rangemode="normal",
    )
    fig.update_layout(hovermode="closest")
    return theme.styled(fig, title=title, height=420)


def label_confusion_figure(frame: pd.DataFrame) -> go.Figure:
    """Heatmap of how much more often two labels meet on one item than chance predicts (lift).

    Parameters
    ----------
    frame : DataFrame
        ``label_a, label_b, pairs, expected, lift`` (``analytics.agreement.label_confusion``).

    Returns
    -------
    go.Figure
        A ``Heatmap`` of log2 lift off the diagonal (the diagonal, agreement, is blank): red cells are label
        pairs that annotators confuse more than chance.
    """
    off = frame[frame["label_a"] != frame["label_b"]]
    labels = sorted(set(frame["label_a"].astype(str)) | set(frame["label_b"].astype(str)))
    grid = off.assign(label_a=off["label_a"].astype(str), label_b=off["label_b"].astype(str))
    lift = grid.pivot_table(index="label_a", columns="label_b", values="lift", aggfunc="first")
    pairs = grid.pivot_table(index="label_a", columns="label_b", values="pairs", aggfunc="first")
    lift = lift.reindex(index=labels, columns=labels)
    pairs = pairs.reindex(index=labels, columns=labels)
    with np.errstate(divide="ignore"):
        z = np.log2(lift.to_numpy(dtype=float))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=labels,
            y=labels,
            zmid=0,
            colorscale=[[0, "#FFFFFF"], [0.5, "#FFFFFF"], [1, "#D55E00"]],
            customdata=np.stack([lift.to_numpy(dtype=float), pairs.to_numpy(dtype=float)], axis=-1),
            colorbar={"title": {"text": "log2 lift"}},
            hoverongaps=False,
            hovertemplate=(
                "%{y} with %{x}: %{customdata[1]:,.0f} pairs, %{customdata[0]:.1f}× chance<extra></extra>"
            ),
        )
    )
    fig.update_xaxes(title_text="Label", type="category", showgrid=False)
    fig.update_yaxes(
        title_text="Label", type="category", autorange="reversed", showgrid=False, rangemode="normal"
    )
    fig.update_layout(hovermode="closest")
    return theme.styled(
        fig, title="Label confusion: label pairs given to the same item, against chance", height=420
    )


def group_figure(frame: pd.DataFrame, *, title: str) -> go.Figure:
    """Coefficients per group (guideline version, cohort) as points with 95% error bars, one colour per
    coefficient.

    Parameters
    ----------
    frame : DataFrame
        ``grp, metric, value, ci_low, ci_high, n_items`` (``analytics.agreement_report.estimates_frame``).
    title : str
        Figure title.
    """
    fig = go.Figure()
    colors = theme.color_map(frame["metric"]) if len(frame) else {}
    for metric, rows in frame.groupby("metric", sort=True):
        label = METRIC_TITLES.get(str(metric), str(metric))
        fig.add_trace(go.Scatter(
            x=rows["grp"].astype(str), y=rows["value"], name=label, mode="markers",
            marker={"color": colors[metric], "size": 10},
            error_y={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["value"],
                     "arrayminus": rows["value"] - rows["ci_low"], "color": colors[metric]},
            customdata=rows[["ci_low", "ci_high", "n_items"]],
            hovertemplate=(
                "%{x}: %{y:.3f} (95% CI %{customdata[0]:.3f}–%{customdata[1]:.3f}, %{customdata[2]:,} items)"
                "<extra>" + label + "</extra>"
            ),
        ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="Coefficient", range=[-0.05, 1.02], rangemode="normal")
    fig.update_layout(hovermode="closest", scattermode="group", showlegend=True)
    return theme.styled(fig, title=title)
