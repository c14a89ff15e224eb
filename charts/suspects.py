"""Figures of the Suspects page: the cluster map, one item's labeling timeline, the model's opinion."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from charts.theme import MUTED, PALETTE, color_map, plain, styled


def cluster_figure(summary: pd.DataFrame, *, selected: str | None = None) -> go.Figure:
    """Clusters as bubbles: size (items) against mean suspect score, coloured by pattern.

    Parameters
    ----------
    summary : DataFrame
        ``analytics.clusters`` summary: ``cluster_id, pattern, size, mean_score`` and, when present,
        ``context`` and ``dominant_guideline_version`` (shown on hover).
    selected : str, optional
        A cluster drawn with a dark outline.

    Returns
    -------
    go.Figure
        One trace per pattern; every point's ``customdata[0]`` is its ``cluster_id`` (for selection).
    """
    fig = go.Figure()
    colors = color_map(summary["pattern"].astype(str)) if len(summary) else {}
    biggest = float(summary["size"].max()) if len(summary) else 1.0
    for pattern, rows in summary.groupby("pattern", sort=True):
        context = rows["context"].fillna("–") if "context" in rows else pd.Series("–", index=rows.index)
        version = (rows["dominant_guideline_version"].fillna("–") if "dominant_guideline_version" in rows
                   else pd.Series("–", index=rows.index))
        fig.add_trace(go.Scatter(
            x=rows["size"], y=rows["mean_score"], mode="markers", name=plain([pattern])[0],
            customdata=list(zip(rows["cluster_id"], plain(rows["cluster_id"]), plain(context), plain(version),
                                strict=True)),
            marker={"size": 12 + 30 * (rows["size"] / biggest) ** 0.5, "color": colors[str(pattern)],
                    "opacity": 0.8,
                    "line": {"width": [3 if c == selected else 1 for c in rows["cluster_id"]],
                             "color": ["#262730" if c == selected else "white" for c in rows["cluster_id"]]}},
            hovertemplate="<b>%{customdata[1]}</b><br>%{x} items, mean score %{y:.2f}<br>"
                          "context: %{customdata[2]}<br>guideline: %{customdata[3]}<extra></extra>",
        ))
    # flagged items score above 0.5 (another label is more probable than the given one): zoom on that
    lowest = min(0.5, float(summary["mean_score"].min()) - 0.05) if len(summary) else 0.0
    fig.update_layout(hovermode="closest", xaxis_title="Items in the cluster",
                      yaxis_title="Mean suspect score", yaxis_range=[lowest, 1.02],
                      xaxis_type="log" if biggest > 50 else "linear", clickmode="event+select")
    return styled(fig, title="Mislabeling patterns: select a cluster to filter the page", height=380)


def timeline_figure(events: pd.DataFrame, *, given: str, suggested: str) -> go.Figure:
    """Every label event of one item on a time axis, one row per label given, coloured by cohort.

    Parameters
    ----------
    events : DataFrame
        ``labeled_at, annotator_id, cohort, label, guideline_version, skill`` (``item_events``).
    given, suggested : str
        The item's given and suggested labels, named on the y-axis.

    Returns
    -------
    go.Figure
    """
    fig = go.Figure()
    frame = events.assign(label=events["label"].astype(str), cohort=events["cohort"].fillna("unknown"))
    labels = sorted(set(frame["label"]) | {str(given), str(suggested)})
    shown = dict(zip(labels, plain(labels), strict=True))
    names = {label: shown[label] + (" (given)" if label == str(given) else " (suggested)"
                                    if label == str(suggested) else "") for label in labels}
    colors = color_map(frame["cohort"])
    for cohort, rows in frame.groupby("cohort", sort=True):
        skill = rows["skill"].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
        fig.add_trace(go.Scatter(
            x=rows["labeled_at"], y=rows["label"].map(names), mode="markers", name=plain([cohort])[0],
            marker={"size": 14, "color": colors[str(cohort)], "line": {"width": 1, "color": "white"}},
            customdata=list(zip(plain(rows["annotator_id"]), plain(rows["guideline_version"].fillna("–")),
                                skill, strict=True)),
            hovertemplate="%{x|%Y-%m-%d %H:%M}: <b>%{y}</b><br>by %{customdata[0]} (reliability "
                          "%{customdata[2]})<br>guideline %{customdata[1]}<extra></extra>",
        ))
    fig.update_layout(hovermode="closest", yaxis={"categoryorder": "array",
                                                  "categoryarray": [names[label] for label in labels],
                                                  "title": None, "rangemode": "normal"})
    return styled(fig, title="Every label this item received", height=260)


def model_figure(model_top: list[dict], *, given: str) -> go.Figure:
    """The model's most probable classes for one item as bars; the given label's bar is grey."""
    labels = [str(row["label"]) for row in model_top]
    probs = [float(row["prob"]) for row in model_top]
    fig = go.Figure(go.Bar(
        x=probs, y=plain(labels), orientation="h", text=[f"{p:.2f}" for p in probs], textposition="outside",
        marker_color=[MUTED if label == str(given) else PALETTE[0] for label in labels],
        hovertemplate="'%{y}': %{x:.3f}<extra></extra>",
    ))
    fig.update_layout(xaxis_range=[0, 1.1], xaxis_title="Out-of-fold probability", hovermode="closest",
                      yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal"})
    return styled(fig, title="The model's second opinion", height=200)
