"""Figures of the Suspects page: the clusters of likely mislabels, one item's labels, the model's opinion."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from charts.theme import ACCENT, MUTED, PALETTE, color_map, plain, styled

#: The highlight of a selected cluster and of the suggested label (the theme's vermillion).
HIGHLIGHT = PALETTE[5]


def cluster_figure(clusters: pd.DataFrame, *, selected: str | None = None) -> go.Figure:
    """Every cluster as one horizontal bar of its items in view, largest on top, each one clickable.

    Parameters
    ----------
    clusters : DataFrame
        One row per cluster: ``cluster_id`` (e.g. ``"7→1 #2"``, which names its pattern), ``items`` (in
        view), ``mean_score`` and, when present, ``size`` (in the whole run), ``context`` and
        ``dominant_guideline_version`` (written on the bar and in its hover).
    selected : str, optional
        A cluster drawn in the highlight colour, the others paler.

    Returns
    -------
    go.Figure
        One bar trace; every bar's ``customdata[0]`` is its ``cluster_id`` (for selection). The bars are
        sorted, labelled with their cluster on the axis and their size and context in text, so no cluster
        hides behind another and none is told apart by colour alone.
    """
    frame = clusters.sort_values(["items", "mean_score", "cluster_id"], ascending=[False, False, True])
    context = _column(frame, "context")
    version = _column(frame, "dominant_guideline_version")
    size = frame["size"] if "size" in frame else frame["items"]
    text = [f"{n:,} · score {s:.1f}" + (f" · mostly {c}" if c != "–" else "")
            for n, s, c in zip(frame["items"], frame["mean_score"], plain(context), strict=True)]
    colors = [HIGHLIGHT if c == selected else (ACCENT if selected is None else _translucent(ACCENT, 0.45))
              for c in frame["cluster_id"]]
    fig = go.Figure(go.Bar(
        x=frame["items"], y=plain(frame["cluster_id"]), orientation="h", marker_color=colors,
        text=text, textposition="outside", cliponaxis=False,
        customdata=list(zip(frame["cluster_id"], size, plain(context), plain(version), strict=True)),
        hovertemplate="<b>%{y}</b><br>%{x} items in view (of %{customdata[1]} in the run)<br>"
                      "context: %{customdata[2]}<br>guideline: %{customdata[3]}<extra></extra>",
    ))
    widest = float(frame["items"].max()) if len(frame) else 1.0
    fig.update_layout(
        hovermode="closest", clickmode="event+select", showlegend=False, bargap=0.25,
        xaxis={"title": "Likely mislabeled items in view", "range": [0, widest * 1.9], "rangemode": "tozero"},
        yaxis={"type": "category", "autorange": "reversed", "title": None},
    )
    return styled(fig, title="Mislabeling patterns (given → suggested): click a bar to filter the table",
                  height=90 + 28 * max(len(frame), 1))


def _translucent(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name not in frame:
        return pd.Series("–", index=frame.index)
    return frame[name].where(frame[name].notna() & (frame[name].astype(str) != ""), "–").astype(str)


def timeline_figure(events: pd.DataFrame, *, given: str | None, suggested: str, order: Sequence[str] = (),
                    cohort_order: Sequence[str] | None = None) -> go.Figure:
    """Every label event of one item: time across, one row per label (a category, in vocabulary order).

    Parameters
    ----------
    events : DataFrame
        ``labeled_at, annotator_id, cohort, label, guideline_version, skill`` and optionally
        ``in_filter`` (``analytics.store.detection.item_events``).
    given : str or None
        The item's given label (None when its annotators reached no consensus).
    suggested : str
        The suggested label.
    order : sequence of str
        The vocabulary: rows follow it; labels outside it come after, sorted.
    cohort_order : sequence of str, optional
        Every cohort of the store in a fixed order, so each cohort keeps its colour
        (``charts.theme.color_map``).

    Returns
    -------
    go.Figure
        One trace per cohort (and one for events outside the filters, drawn hollow). The y-axis is
        categorical: labels are names, never numbers, so "7" and "2.5" cannot appear as positions. The
        given and suggested labels are named on the axis and shaded across the chart. Events of one label
        close in time (within 1/40 of the time span) are stacked in lanes so every event shows.
    """
    frame = events.assign(label=events["label"].astype(str), cohort=events["cohort"].fillna("unknown"))
    if "in_filter" not in frame:
        frame["in_filter"] = True
    present = set(frame["label"]) | {str(suggested)} | ({str(given)} if given is not None else set())
    rows = [str(label) for label in order if str(label) in present]
    rows += sorted(present - set(rows), key=_natural)
    position = {label: i for i, label in enumerate(rows)}
    frame["y"] = frame["label"].map(position).astype(float) + _lanes(frame)
    counts = frame["label"].value_counts()
    ticks = []
    for label in rows:
        role = " · given" if label == str(given) else " · suggested" if label == str(suggested) else ""
        n = int(counts.get(label, 0))
        ticks.append(f"{plain([label])[0]}{role} ({n} label{'' if n == 1 else 's'})")
    colors = color_map(frame["cohort"], order=cohort_order)
    fig = go.Figure()
    bands = ((str(suggested), _translucent(HIGHLIGHT, 0.12)), (str(given), _translucent(MUTED, 0.18)))
    for label, fill in bands:
        if label in position:
            fig.add_shape(type="rect", xref="paper", x0=0, x1=1, y0=position[label] - 0.45,
                          y1=position[label] + 0.45, fillcolor=fill, line_width=0, layer="below")
    for cohort, cohort_rows in frame.groupby("cohort", sort=False):
        for inside, part in cohort_rows.groupby("in_filter", sort=False):
            skill = part["skill"].map(lambda v: "–" if pd.isna(v) else f"{v:.2f}")
            fig.add_trace(go.Scatter(
                x=part["labeled_at"], y=part["y"], mode="markers",
                name=plain([cohort])[0] + ("" if inside else " (outside the filters)"),
                marker={"size": 13, "color": colors[cohort], "symbol": "circle" if inside else "circle-open",
                        "line": {"width": 1 if inside else 2,
                                 "color": "white" if inside else colors[cohort]}},
                customdata=list(zip(plain(part["label"]), plain(part["annotator_id"]),
                                    plain(part["guideline_version"].fillna("–")), skill, strict=True)),
                hovertemplate="%{x|%Y-%m-%d %H:%M}: <b>'%{customdata[0]}'</b><br>by %{customdata[1]} "
                              "(reliability %{customdata[3]})<br>guideline %{customdata[2]}<extra></extra>",
            ))
    fig.update_layout(
        hovermode="closest",
        yaxis={"tickmode": "array", "tickvals": list(range(len(rows))), "ticktext": ticks, "title": None,
               "range": [len(rows) - 0.5, -0.5], "showgrid": False, "zeroline": False},
        xaxis={"title": None},
    )
    return styled(fig, title="Every label this item received", height=140 + 38 * len(rows))


def _natural(label: str) -> tuple:
    """Numbers in numeric order before other labels in text order ("2" before "10")."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _lanes(frame: pd.DataFrame) -> np.ndarray:
    """Vertical offsets that stack events of the same label lying close together in time."""
    stamps = pd.to_datetime(frame["labeled_at"])
    times = (stamps - stamps.min()).dt.total_seconds().to_numpy(dtype=float)
    span = times.max() if len(times) else 0.0
    gap = max(span / 40, 60.0)  # 1/40 of the span, at least a minute
    offsets = np.zeros(len(frame))
    for _, index in frame.groupby("label", sort=False).indices.items():
        ends: list[float] = []  # the last time placed in each lane
        lane_of = np.empty(len(index), dtype=int)
        for j in np.argsort(times[index], kind="stable"):
            t = times[index[j]]
            lane = next((i for i, end in enumerate(ends) if t - end >= gap), len(ends))
            if lane == len(ends):
                ends.append(t)
            ends[lane] = t
            lane_of[j] = lane
        step = min(0.16, 0.8 / max(len(ends), 1))
        # lanes 0, 1, 2, 3, … sit at 0, +1, −1, +2, … steps
        offsets[index] = step * np.where(lane_of % 2 == 1, (lane_of + 1) // 2, -(lane_of // 2))
    return offsets


def model_figure(model_top: list[dict], *, given: str | None) -> go.Figure:
    """The model's most probable classes for one item as bars; the given label's bar is grey."""
    labels = [str(row["label"]) for row in model_top]
    probs = [float(row["prob"]) for row in model_top]
    names = [plain([label])[0] + (" · given" if label == str(given) else "") for label in labels]
    fig = go.Figure(go.Bar(
        x=probs, y=names, orientation="h", text=[f"{p:.2f}" for p in probs], textposition="outside",
        marker_color=[MUTED if label == str(given) else ACCENT for label in labels],
        hovertemplate="'%{y}': %{x:.3f}<extra></extra>",
    ))
    fig.update_layout(xaxis_range=[0, 1.1], xaxis_title="Out-of-fold probability", hovermode="closest",
                      yaxis={"autorange": "reversed", "type": "category", "rangemode": "normal"})
    return styled(fig, title="The model's second opinion", height=200)
