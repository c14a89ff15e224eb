"""Figures and tables of the Drift page: the label mix over time, a series with its change points, guideline
versions before and after, annotators over time and re-labels by gap; and how each table's columns are
labelled, formatted and explained."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.theme import ACCENT, MUTED, PALETTE, color_map, plain, styled

if TYPE_CHECKING:
    from analytics.monitoring.drift import ChangePoints


def _guideline_lines(fig: go.Figure, guidelines: pd.DataFrame, **where) -> None:
    for row in guidelines.itertuples(index=False):
        fig.add_vline(x=pd.Timestamp(row.effective_at), line_dash="dash", line_color="#8A94A6", **where)
        fig.add_annotation(x=pd.Timestamp(row.effective_at), y=1.0, yref="paper",
                           text=plain([row.version])[0], showarrow=False, yanchor="bottom",
                           font={"size": 11, "color": "#5A6478"})


def label_mix_figure(label_counts: pd.DataFrame, *, guidelines: pd.DataFrame,
                     changes: list[pd.Timestamp] = (), order: list[str] | None = None) -> go.Figure:
    """Each label's share of the labels given per window, stacked, with guideline versions and changes.

    Parameters
    ----------
    label_counts : DataFrame
        ``window, label, n`` (``analytics.store.drift.label_counts_by_window``; pass it through
        ``analytics.monitoring.drift.collapse_labels`` first when a store has many labels).
    guidelines : DataFrame
        ``version, effective_at``: dashed lines.
    changes : list of Timestamp
        Windows where a change point was found: dotted lines.
    order : list of str, optional
        The label vocabulary: each label keeps its colour on every chart (``charts.theme.color_map``).
    """
    frame = label_counts.assign(label=label_counts["label"].astype(str))
    totals = frame.groupby("window")["n"].transform("sum")
    frame = frame.assign(share=frame["n"] / totals)
    colors = color_map(frame["label"], order=order)
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


def series_figure(changes: ChangePoints, *, guidelines: pd.DataFrame, window: str = "week") -> go.Figure:
    """One series: every window's value with its 95% interval, under the segments between the change
    points (their means and 95% intervals) and the changes.

    Parameters
    ----------
    changes : analytics.monitoring.drift.ChangePoints
        Its ``values`` (``window, value, low, high, n``), ``segments`` (``start, end, mean, low, high``),
        ``changes`` (``window``), ``series`` (the title) and ``unit`` (``share``: percent axis).
    guidelines : DataFrame
        ``version, effective_at``: dashed lines.
    window : str
        What a window is, in words (``day``, ``week``, ``month``).
    """
    share = changes.unit == "share"
    number = ".1%" if share else ".3f"
    fig = go.Figure()
    values = changes.values
    if len(values):
        fig.add_trace(go.Scatter(
            x=values["window"], y=values["value"], mode="markers", name=f"each {window} (95% CI)",
            marker={"size": 6, "color": ACCENT},
            error_y={"type": "data", "symmetric": False, "array": values["high"] - values["value"],
                     "arrayminus": values["value"] - values["low"], "color": _faded(ACCENT), "thickness": 1},
            customdata=values["n"],
            hovertemplate="%{x|%Y-%m-%d}: %{y:" + number + "} (n = %{customdata:,.0f})<extra></extra>",
        ))
    for i, segment in enumerate(changes.segments.itertuples(index=False)):
        x = [segment.start, segment.end, segment.end, segment.start]
        fig.add_trace(go.Scatter(
            x=x, y=[segment.high, segment.high, segment.low, segment.low], fill="toself", mode="lines",
            fillcolor=_faded(PALETTE[5]), line={"width": 0}, hoverinfo="skip", legendgroup="segment",
            name="segment mean (95% CI)", showlegend=False,
        ))
        fig.add_trace(go.Scatter(
            x=[segment.start, segment.end], y=[segment.mean, segment.mean], mode="lines",
            line={"color": PALETTE[5], "width": 3}, legendgroup="segment", name="segment mean (95% CI)",
            showlegend=i == 0,
            hovertemplate="segment mean %{y:" + number + "}<extra></extra>",
        ))
    for when in changes.changes["window"]:
        fig.add_vline(x=pd.Timestamp(when), line_dash="dot", line_color=PALETTE[5])
    _guideline_lines(fig, guidelines)
    axis = {"tickformat": ".0%"} if share else {}
    fig.update_layout(yaxis={**axis, "title": None, "rangemode": "normal"}, hovermode="closest")
    name = plain([changes.series])[0]
    return styled(fig, title=f"{name[:1].upper()}{name[1:]}: each {window} and the segments between changes",
                  height=320)


def _faded(color: str, alpha: float = 0.25) -> str:
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


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


# --- tables ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    """How a table column is shown: its label, its kind of number and what it means.

    ``kind``: ``text``; ``date``; ``count`` (whole number); ``share`` (a fraction shown as a percentage);
    ``points`` (a difference of fractions, shown in percentage points with its sign); ``p`` (a p- or
    q-value as text: "0.004", "< 0.001"); ``number`` (three decimals); ``flag`` (yes/no); ``list``.
    """

    key: str
    label: str
    kind: str
    help: str


#: Every table of the Drift page: the columns shown, key columns first, in order.
TABLES = {
    "series": (
        Column("series", "Series", "text", "What is followed per week."),
        Column("changes", "Changes", "count", "Changes reported (0 unless q < the false-discovery rate)."),
        Column("p_value", "p (any change)", "p", "Test of 'no change at all' in the series (bootstrap)."),
        Column("q_value", "q", "p", "Benjamini–Hochberg q-value across all series tested."),
        Column("windows", "Weeks", "count", "Weekly windows in the series."),
        Column("design_effect", "Design effect", "number",
               "φ: how much more a week's share varies than independent labels would (labels of one "
               "item agree); 1 for item-level measures."),
        Column("between_sd", "Week-to-week sd", "points",
               "τ: how much each week departs from its segment's level whatever its size, in points."),
    ),
    "changes": (
        Column("series", "Series", "text", "The series that changed."),
        Column("window", "Date", "date", "First window after the change."),
        Column("before", "Before", "share", "Level of the segment before the change."),
        Column("after", "After", "share", "Level of the segment after the change."),
        Column("change", "Change", "points", "After − before, in percentage points."),
        Column("change_low", "95% CI from", "points",
               "Interval of the change, allowing for the search over dates: excludes 0 exactly when "
               "p < 0.05."),
        Column("change_high", "95% CI to", "points", "Upper end of the interval of the change."),
        Column("p_value", "p", "p", "Bootstrap test of this change against its two neighbouring segments."),
        Column("z", "t", "number", "The change over its standard error."),
        Column("critical", "Critical t", "number", "The t a change needs to be reported (p < 0.05)."),
        Column("windows_before", "Weeks before", "count", "Weeks in the segment before."),
        Column("windows_after", "Weeks after", "count", "Weeks in the segment after."),
    ),
    "guidelines": (
        Column("version", "Version", "text", "The guideline version compared with the one before it."),
        Column("metric", "Metric", "text", "What is compared."),
        Column("before", "Before", "share", "Under the previous version (weeks wholly before)."),
        Column("after", "After", "share", "Under this version (weeks wholly after)."),
        Column("change", "Change", "points", "After − before, in percentage points."),
        Column("change_low", "95% CI from", "points", "Interval of the change."),
        Column("change_high", "95% CI to", "points", "Upper end of the interval of the change."),
        Column("p_value", "p", "p", "Test of the change (weeks as replicates; χ² for the label mix)."),
        Column("q_value", "q", "p", "Benjamini–Hochberg q-value across the rows."),
        Column("significant", "Significant", "flag", "q below the false-discovery rate."),
        Column("cramers_v", "Cramér's V", "number", "Size of a label-mix difference: 0.1 small, 0.3 medium."),
        Column("js_distance", "JS distance", "number", "Jensen–Shannon distance of the two label mixes."),
        Column("n_before", "n before", "count", "Ratings, items or labels behind 'before'."),
        Column("n_after", "n after", "count", "Ratings, items or labels behind 'after'."),
        Column("effective_at", "From", "date", "When the version took effect."),
        Column("previous_version", "Previous", "text", "The version before."),
        Column("test", "Test", "text", "The test behind p."),
    ),
    "annotators": (
        Column("annotator_id", "Annotator", "text", "The annotator."),
        Column("cohort", "Cohort", "text", "Their cohort."),
        Column("flags", "Flags", "list", "declining: agreement falls over time against peers; window drop: "
               "a week far below their usual level."),
        Column("trend_per_30d", "Trend / 30 days", "points",
               "Fitted change of their agreement with the majority per 30 days, relative to their peers."),
        Column("trend_q", "q (trend)", "p", "Benjamini–Hochberg q of a decline, across annotators."),
        Column("agreement", "Agrees with majority", "share", "Share of their ratings equal to the others' "
               "majority."),
        Column("first_half", "First half", "share", "Agreement in the first half of their ratings."),
        Column("second_half", "Second half", "share", "Agreement in the second half of their ratings."),
        Column("loo_items", "Ratings", "count", "Ratings whose item has a majority among the others."),
        Column("drops", "Weeks with a drop", "count", "Weeks flagged far below their usual level."),
        Column("trend_p", "p (trend)", "p", "One-sided Cochran–Armitage test of a decline."),
        Column("ds_trend_per_30d", "Dawid–Skene trend / 30 days", "points",
               "The same trend on their Dawid–Skene accuracy."),
        Column("ds_trend_q", "q (Dawid–Skene)", "p", "q of the Dawid–Skene trend."),
    ),
    "onboarding": (
        Column("cohort", "Cohort", "text", "A cohort that joined after the first week."),
        Column("metric", "Metric", "text", "What is compared."),
        Column("joined", "Joined", "date", "Its first week."),
        Column("annotators", "Annotators", "count", "Its annotators."),
        Column("share_of_ratings", "Share of ratings", "share", "Its share of all ratings in its first "
               "4 weeks."),
        Column("early", "First 4 weeks", "share", "The cohort in its first 4 weeks."),
        Column("rest", "Others then", "share", "Everyone else in the same weeks."),
        Column("vs_rest", "Difference", "points", "First 4 weeks − others then."),
        Column("vs_rest_q", "q", "p", "q of that difference."),
        Column("since", "Since joining", "share", "The cohort over every week since it joined."),
        Column("since_rest", "Others since", "share", "Everyone else over the same weeks."),
        Column("since_vs_rest", "Difference since", "points", "Since joining − others since."),
        Column("since_vs_rest_q", "q since", "p", "q of that difference."),
        Column("later", "Later", "share", "The cohort after its first 4 weeks."),
        Column("vs_later", "Later − first", "points", "A learning curve shows as a positive value."),
        Column("vs_later_q", "q later", "p", "q of that difference."),
        Column("early_n", "n first", "count", "Ratings in its first 4 weeks."),
        Column("since_n", "n since", "count", "Ratings since joining."),
    ),
    "shift": (
        Column("window", "Week", "date", "The week tested."),
        Column("n", "Labels", "count", "Labels given that week."),
        Column("cramers_v", "Cramér's V", "number", "Size of the difference from the reference: about 0.1 "
               "small, 0.3 medium (inflated by small counts)."),
        Column("js_distance", "JS distance", "number", "Jensen–Shannon distance of the two label mixes, "
               "0 to 1."),
        Column("p_value", "p", "p", "χ² test, corrected for labels clustering within items."),
        Column("q_value", "q", "p", "Benjamini–Hochberg q-value across the weeks."),
        Column("significant", "Significant", "flag", "q below the false-discovery rate."),
        Column("statistic", "χ²", "number", "Pearson's χ² (before the correction)."),
        Column("dof", "df", "count", "Degrees of freedom: labels compared − 1."),
        Column("dispersion", "Correction φ", "number", "χ² is divided by φ for the p-value."),
        Column("reference", "Reference from", "date", "First week of the reference."),
        Column("reference_end", "Reference to", "date", "Last week of the reference."),
        Column("reference_n", "Reference labels", "count", "Labels in the reference."),
    ),
}


def p_text(values: Iterable[float]) -> list[str]:
    """p- and q-values as text: three decimals, "< 0.001" below, "" when missing.

    Examples
    --------
    >>> p_text([0.0043, 0.00001, float("nan"), 1.0])
    ['0.004', '< 0.001', '', '1.000']
    """
    return ["" if value is None or value != value else "< 0.001" if value < 0.001 else f"{value:.3f}"
            for value in values]


def table_view(frame: pd.DataFrame, table: str) -> tuple[pd.DataFrame, tuple[Column, ...]]:
    """The columns of ``TABLES[table]`` present in ``frame``, in that order, ready to show: shares and
    points times 100, p-values as text, labels as text; and their ``Column`` specs."""
    columns = tuple(c for c in TABLES[table] if c.key in frame)
    view = pd.DataFrame(index=frame.index)
    for column in columns:
        values = frame[column.key]
        if column.kind in ("share", "points"):
            view[column.key] = pd.to_numeric(values, errors="coerce") * 100
        elif column.kind == "p":
            view[column.key] = p_text(pd.to_numeric(values, errors="coerce"))
        elif column.kind == "text":
            view[column.key] = values.astype("string")
        else:
            view[column.key] = values
    return view.reset_index(drop=True), columns


def column_guide(columns: tuple[Column, ...]) -> str:
    """What each column means, one Markdown line per column (our own words only)."""
    return "\n".join(f"- **{c.label}**: {c.help}" for c in columns)
