"""Figures of the Agreement page, from the frames of ``analytics.agreement.coefficients`` and
``analytics.monitoring.annotators``.

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

#: Background of heatmap cells without a value: a grey that no colour scale of this module contains.
NO_DATA = "#D0D3D8"


#: A period whose coefficient rests on fewer items rated twice or more is drawn as a hollow point, off the
#: line: one or two items read 0 or 1 and would otherwise swing the line.
MIN_PERIOD_ITEMS = 10


def over_time_figure(
    frame: pd.DataFrame,
    *,
    grain: str = "week",
    guidelines: pd.DataFrame | None = None,
    series: str = "metric",
    order: list | None = None,
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
        Column that splits the lines (``metric``, or ``cohort`` for one metric by cohort).
    order : list, optional
        Every value ``series`` can take, in a fixed order, so each keeps its colour (``theme.color_map``):
        the store's cohorts in first-seen order for ``series="cohort"``; the coefficients by default.

    Returns
    -------
    go.Figure
        Per series a band (legend group = series) then the line; then one line shape per guideline.
    """
    fig = go.Figure()
    if order is None and series == "metric":
        order = list(METRIC_TITLES)
    colors = theme.color_map(frame[series].astype(str), order=order) if len(frame) else {}
    rated = frame["n_pairable"] if "n_pairable" in frame else frame["n_items"]
    thin = rated.fillna(0) < MIN_PERIOD_ITEMS
    for name, rows in frame.groupby(series, sort=True):
        few = thin.loc[rows.index].to_numpy()
        label = theme.plain([METRIC_TITLES.get(str(name), str(name))])[0]
        # The band follows the line: a thin period's interval (often -1 to 1) would paint the whole plot.
        theme.add_ci_band(
            fig,
            rows["period"],
            rows["ci_low"].where(~few),
            rows["ci_high"].where(~few),
            color=colors[str(name)],
            name=f"{label} 95% CI",
            group=str(name),
            show_legend=False,
        )
        customdata = np.stack([interval_texts(rows), rows["n_items"].astype(int)], axis=-1)
        hover = "%{y:.3f} (%{customdata[0]}; %{customdata[1]} items)<extra>" + label + "</extra>"
        # The line joins only periods resting on enough items; the others stay visible as hollow points.
        fig.add_trace(
            go.Scatter(
                x=rows["period"],
                y=rows["value"].where(~few),
                name=label,
                mode="lines+markers",
                legendgroup=str(name),
                line={"color": colors[str(name)], "width": 2},
                customdata=customdata,
                hovertemplate=hover,
            )
        )
        if few.any():
            values = rows["value"][few]
            fig.add_trace(
                go.Scatter(
                    x=rows["period"][few],
                    y=values,
                    name=f"{label}, under {MIN_PERIOD_ITEMS} items",
                    mode="markers",
                    error_y={"type": "data", "symmetric": False, "thickness": 1, "width": 0,
                             "array": (rows["ci_high"][few] - values).fillna(0).to_numpy(),
                             "arrayminus": (values - rows["ci_low"][few]).fillna(0).to_numpy(),
                             "color": theme.rgba(colors[str(name)], 0.45)},
                    legendgroup=str(name),
                    showlegend=False,
                    marker={"color": "white", "size": 8, "line": {"color": colors[str(name)], "width": 2}},
                    customdata=customdata[few],
                    hovertemplate=hover,
                )
            )
    _guideline_markers(fig, guidelines)
    fig.update_xaxes(title_text=GRAIN_TITLES.get(grain, grain))
    # Coefficients below chance are negative: the axis reaches down to the lowest value or band edge
    # (a thin period's whisker may run past it; its hover gives the interval).
    shown = pd.concat([frame["value"], frame["ci_low"].where(~thin)]).to_numpy(dtype=float)
    lowest = np.nanmin(shown, initial=0.0) if len(frame) else 0.0
    bottom = max(-1.05, min(-0.05, lowest - 0.05))
    fig.update_yaxes(title_text="Coefficient (1 = perfect, 0 = chance)", range=[bottom, 1.05],
                     rangemode="normal")
    fig.update_layout(showlegend=True)
    note = f"hollow points: fewer than {MIN_PERIOD_ITEMS} items rated twice or more" if thin.any() else ""
    return theme.styled(fig, title=f"Chance-corrected agreement per {grain}, with 95% CIs over items"
                        + (f" ({note})" if note else ""), height=380)


def interval_texts(rows: pd.DataFrame) -> list[str]:
    """Hover words for each row's interval: "95% CI a–b over items", or why there is none (``note``).

    Examples
    --------
    >>> interval_texts(pd.DataFrame({"ci_low": [0.5, np.nan], "ci_high": [0.7, np.nan],
    ...                              "note": ["", "All 3 items rated twice or more are unanimous."]}))
    ['95% CI 0.500–0.700 over items', 'no interval: All 3 items rated twice or more are unanimous.']
    """
    notes = rows["note"] if "note" in rows else pd.Series("", index=rows.index)
    return [f"95% CI {low:.3f}–{high:.3f} over items" if np.isfinite(low) else
            "no interval" + (f": {note}" if note else "")
            for low, high, note in zip(rows["ci_low"], rows["ci_high"], notes.fillna(""), strict=True)]


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
            text="guideline " + theme.plain([row.version])[0],
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 11},
        )


def annotator_figure(table: pd.DataFrame, *, cohort_order: list | None = None,
                       min_items: int = 20) -> go.Figure:
    """Each annotator's agreement with the others' majority against their volume, with Wilson intervals.

    Parameters
    ----------
    table : DataFrame
        ``annotator_id, cohort, items, loo_items, loo_agreement, loo_low, loo_high, flags``
        (``analytics.monitoring.annotators.annotator_table``).
    cohort_order : list, optional
        The store's cohorts in a fixed order (``analytics.store.agreement.cohort_order``): a cohort keeps
        its colour whoever else is drawn.
    min_items : int
        Annotators with fewer majority-comparable items (not tested for flags) are drawn as open circles.

    Returns
    -------
    go.Figure
        One ``Scatter`` trace per cohort with error bars; flagged annotators are drawn as crosses.

    Notes
    -----
    The x-axis is logarithmic from 1 item to above the busiest annotator whatever the data: volumes span
    orders of magnitude, and an annotator with a couple of items must not change the axis the others are
    read on. Spammers sit near chance whatever their volume; a cohort trained to a different standard forms
    its own cloud below the others.
    """
    fig = go.Figure()
    colors = theme.color_map(table["cohort"], order=cohort_order) if len(table) else {}
    comparable = table["loo_items"] if "loo_items" in table else table["items"]
    for cohort, rows in table.groupby("cohort", sort=True):
        # The legend shows a trace's first marker: put a plain circle first.
        rows = rows.assign(_flagged=rows["flags"].str.len() > 0, _few=comparable.loc[rows.index] < min_items)
        rows = rows.sort_values(["_flagged", "_few"], kind="stable")
        flagged, few = rows["_flagged"], rows["_few"]
        name = theme.plain([cohort])[0]
        fig.add_trace(
            go.Scatter(
                x=rows["items"],
                y=rows["loo_agreement"],
                name=name,
                mode="markers",
                marker={
                    "color": colors[cohort],
                    "size": 9,
                    "symbol": np.where(flagged, "x", np.where(few, "circle-open", "circle")),
                    "line": {"width": np.where(few, 2, 0), "color": colors[cohort]},
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
                customdata=np.stack([theme.plain(rows["annotator_id"]),
                                     theme.plain(rows["flags"].str.join(", ")),
                                     comparable.loc[rows.index].astype(int)], axis=-1),
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{y:.1%} agree with the others' majority on %{customdata[2]} "
                    "items with a majority (%{x:,} rated)<br>%{customdata[1]}<extra>" + name + "</extra>"
                ),
            )
        )
    busiest = float(table["items"].max()) if len(table) else 10.0
    fig.update_xaxes(title_text="Items rated (log scale)", type="log",
                     range=[-0.05, np.log10(max(busiest, 10.0)) + 0.15])
    fig.update_yaxes(
        title_text="Agreement with the others' majority",
        tickformat=".0%",
        range=[0, 1.02],
        rangemode="normal",
    )
    fig.update_layout(hovermode="closest", showlegend=True)
    return theme.styled(
        fig,
        title=(f"Annotators: agreement with the leave-one-out majority (95% Wilson CI); ✕ flagged, "
               f"○ fewer than {min_items} items with a majority (not tested)"),
        height=420,
    )


def pairwise_figure(frame: pd.DataFrame, *, annotators: list | None = None,
                    flagged: dict | None = None, min_overlap: int = 5) -> go.Figure:
    """Heatmap of Cohen's kappa for every pair of annotators who rated enough items in common.

    Parameters
    ----------
    frame : DataFrame
        ``annotator_a, annotator_b, n_items, kappa`` (``analytics.agreement.coefficients.pairwise_kappa``);
        each pair once.
    annotators : list, optional
        The annotators to show, in this order (``analytics.agreement.report.heatmap_annotators``: flagged
        first); by default those of ``frame``, sorted. An annotator without any pair still gets a row.
    flagged : dict, optional
        Annotator to their flags (a list); flagged annotators' names are marked "⚑" and their flags shown
        on hover.
    min_overlap : int
        The overlap rule behind ``frame``, for the legend of blank cells.

    Returns
    -------
    go.Figure
        One symmetric ``Heatmap`` on a grey background: a grey cell is a pair with fewer than
        ``min_overlap`` shared items (or the diagonal), never a kappa value; the Viridis scale from −1 to 1
        holds neither grey nor white, so κ = 0 (teal) cannot be mistaken for "no data".
    """
    names = list(annotators) if annotators is not None else sorted(
        set(frame["annotator_a"]) | set(frame["annotator_b"]))
    flagged = flagged or {}
    index = {name: i for i, name in enumerate(names)}
    kappa = np.full((len(names), len(names)), np.nan)
    overlap = np.zeros((len(names), len(names)), dtype=int)
    for row in frame.itertuples(index=False):
        if row.annotator_a in index and row.annotator_b in index:
            i, j = index[row.annotator_a], index[row.annotator_b]
            kappa[i, j] = kappa[j, i] = row.kappa
            overlap[i, j] = overlap[j, i] = row.n_items
    labels = [text + (" ⚑" if flagged.get(name) else "") for name, text in zip(names, theme.plain(names),
                                                                              strict=True)]
    flags = theme.plain(", ".join(flagged.get(name) or []) for name in names)
    notes = np.array([[f"{flags[i]} / {flags[j]}".strip(" /") for j in range(len(names))]
                      for i in range(len(names))], dtype=object).reshape(len(names), len(names))
    fig = go.Figure(
        go.Heatmap(
            z=kappa,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="Viridis",
            xgap=1,
            ygap=1,
            customdata=np.stack([overlap.astype(object), notes], axis=-1) if names else None,
            colorbar={"title": {"text": "kappa"}},
            hoverongaps=False,
            hovertemplate=("%{y} × %{x}<br>kappa %{z:.2f} on %{customdata[0]:,} shared items"
                           "<br>%{customdata[1]}<extra></extra>"),
        )
    )
    fig.update_xaxes(type="category", tickangle=-60, showgrid=False)
    fig.update_yaxes(type="category", autorange="reversed", showgrid=False, rangemode="normal")
    fig.update_layout(hovermode="closest", plot_bgcolor=NO_DATA)
    return theme.styled(
        fig, title=(f"Cohen's kappa between annotator pairs; grey: fewer than {min_overlap} shared items; "
                    "⚑ flagged annotators, shown first"),
        height=max(360, 18 * len(names) + 140),
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
            x=theme.plain(matrix.columns),
            y=theme.plain(matrix.index),
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
    return theme.styled(fig, title=theme.plain([title])[0], height=420)


#: Labels drawn in the label-confusion heatmap at most (those in the most pairs); the table keeps all.
MAX_CONFUSION_LABELS = 30


def label_confusion_figure(frame: pd.DataFrame) -> go.Figure:
    """Heatmap of how much more often two labels meet on one item than chance predicts (lift).

    Parameters
    ----------
    frame : DataFrame
        ``label_a, label_b, pairs, expected, lift`` (``analytics.agreement.coefficients.label_confusion``).

    Returns
    -------
    go.Figure
        A ``Heatmap`` of log2 lift off the diagonal (the diagonal, agreement, is blank): red cells are label
        pairs that annotators confuse more than chance.
    """
    shown = frame.groupby(frame["label_a"].astype(str))["pairs"].sum()
    total_labels = len(shown)
    if total_labels > MAX_CONFUSION_LABELS:  # a readable grid: the labels paired most often
        kept = set(shown.nlargest(MAX_CONFUSION_LABELS).index)
        frame = frame[frame["label_a"].astype(str).isin(kept) & frame["label_b"].astype(str).isin(kept)]
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
            x=theme.plain(labels),
            y=theme.plain(labels),
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
    fig.update_layout(hovermode="closest", plot_bgcolor=NO_DATA)
    subset = (f"; the {MAX_CONFUSION_LABELS} labels in most pairs of {total_labels:,}, all in the CSV"
              if total_labels > MAX_CONFUSION_LABELS else "")
    return theme.styled(
        fig, title=("Label confusion: label pairs given to the same item, against chance "
                    f"(grey: the diagonal, or no pair{subset})"),
        height=420,
    )


def group_figure(frame: pd.DataFrame, *, title: str) -> go.Figure:
    """Coefficients per group (guideline version, cohort) as points with 95% error bars, one colour per
    coefficient.

    Parameters
    ----------
    frame : DataFrame
        ``grp, metric, value, ci_low, ci_high, n_items`` (``analytics.agreement.report.estimates_frame``).
    title : str
        Figure title.
    """
    fig = go.Figure()
    colors = theme.color_map(frame["metric"], order=list(METRIC_TITLES)) if len(frame) else {}
    for metric, rows in frame.groupby("metric", sort=True):
        label = METRIC_TITLES.get(str(metric), str(metric))
        fig.add_trace(go.Scatter(
            x=theme.plain(rows["grp"]), y=rows["value"], name=label, mode="markers",
            marker={"color": colors[metric], "size": 10},
            error_y={"type": "data", "symmetric": False, "array": rows["ci_high"] - rows["value"],
                     "arrayminus": rows["value"] - rows["ci_low"], "color": colors[metric]},
            customdata=np.stack([interval_texts(rows), rows["n_items"].astype(int)], axis=-1),
            hovertemplate=("%{x}: %{y:.3f} (%{customdata[0]}; %{customdata[1]} items)<extra>" + label
                           + "</extra>"),
        ))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title_text="Coefficient", range=[-0.05, 1.02], rangemode="normal")
    fig.update_layout(hovermode="closest", scattermode="group", showlegend=True)
    return theme.styled(fig, title=title)
