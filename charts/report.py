"""The stakeholder report: one standalone HTML file that opens offline.

It holds, in order: the verdict of the latest (or a chosen) impact analysis in words; labeling activity and
agreement over time; the drift and slice findings; what the remediation changed; the measured effect with
its intervals, overall, per class and per subgroup, and the calibration of both arms — with the same figures
as the app (``charts``). Plotly's JavaScript is inlined once; the file makes no request to the network and
every stored string is escaped.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analytics.impact.ab import ImpactResult
from analytics.monitoring import overview, summary
from analytics.narrative import impact as words
from analytics.store import Store
from analytics.store import overview as overview_queries
from charts import impact as impact_charts
from charts import overview as overview_charts

__all__ = ["build_report"]

_STYLE = """
body { font-family: 'Source Sans Pro', 'Segoe UI', Helvetica, Arial, sans-serif; color: #262730;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 1.9rem; margin-bottom: .2rem; } h2 { font-size: 1.35rem; margin-top: 2.2rem;
     border-bottom: 1px solid #E6E9EF; padding-bottom: .3rem; }
.meta { color: #5A6270; font-size: .9rem; } .verdict li { margin: .35rem 0; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #E6E9EF; padding: .3rem .7rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 3) -> str:
    if frame is None or frame.empty:
        return "<p class='meta'>No data.</p>"
    head = "".join(f"<th>{_e(name)}</th>" for name in columns.values())
    rows = []
    for record in frame[list(columns)].itertuples(index=False):
        cells = []
        for value in record:
            if isinstance(value, float):
                value = "" if value != value else f"{value:.{digits}f}"
            cells.append(f"<td>{_e(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class _Figures:
    """Figures as HTML ``div``s; the first carries plotly's JavaScript, inlined."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, fig: go.Figure) -> str:
        include = self.first
        self.first = False
        return pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=include,
            config={"displaylogo": False},
            default_width="100%",
        )


def build_report(
    store: Store, result: ImpactResult | None, *, title: str = "Label quality and remediation impact"
) -> str:
    """The report of ``store`` with the analysis ``result`` (None: the report says none was run yet)."""
    figure = _Figures()
    facts = summary.store_summary(store)
    totals = facts["store"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<h1>{_e(title)}</h1>",
        f"<p class='meta'>{_e(totals['path'])} · generated {_e(now)} · LabelWatch</p>",
    ]
    parts.append("<h2>Verdict</h2>")
    if result is None:
        parts.append(
            "<p>No before/after analysis has been run on this store yet (Impact page, or "
            "<code>python -m analytics impact A B</code>).</p>"
        )
    else:
        parts.append(
            "<ul class='verdict'>"
            + "".join(f"<li>{_e(line)}</li>" for line in words.verdict(result))
            + "</ul>"
        )
    parts.append("<h2>Labeling activity</h2>")
    parts.append(
        f"<p>{totals['events']:,} labels on {totals['items']:,} items by {totals['annotators']:,} "
        f"annotators, {_e(totals['first_at'])} to {_e(totals['last_at'])}.</p>"
    )
    activity = overview_queries.activity(store, None, grain="week")
    parts.append(figure(overview_charts.activity_figure(activity, metric="events", grain="week")))
    parts.append("<h2>Quality trends</h2>")
    agreement = overview.agreement_by_period(store, None, grain="week")
    parts.append(figure(overview_charts.agreement_figure(agreement, grain="week")))
    parts.append("<h2>Drift and slice findings</h2>")
    changes = facts["drift"].get("change_points") or []
    parts.append(
        "<ul>"
        + "".join(
            f"<li>{_e(c['series'])} changed on {_e(str(c['date'])[:10])}: {c['before']:.3f} → "
            f"{c['after']:.3f} (95% CI of the change {c['change_low']:+.3f} to {c['change_high']:+.3f}, "
            f"p = {c['p_value']:.3f})</li>"
            for c in changes
        )
        + "</ul>"
        if changes
        else "<p>No change point.</p>"
    )
    noisy = [s for s in facts["slices"] if s.get("significant")]
    parts.append(
        "<ul>"
        + "".join(
            f"<li>{_e(s['attribute'])} = {_e(s['value'])}: {s['metric']} {s['noise_rate']:.1%} (95% CI "
            f"{s['ci_low']:.1%} to {s['ci_high']:.1%}) against {s['rest_rate']:.1%} elsewhere, q = "
            f"{s['q_value']:.2g}</li>"
            for s in noisy
        )
        + "</ul>"
        if noisy
        else "<p>No slice is significantly noisier than the rest.</p>"
    )
    if result is not None:
        parts += _effect(result, figure)
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_STYLE}</style>"
        f"</head><body>\n{body}\n</body></html>\n"
    )


def _effect(result: ImpactResult, figure: _Figures) -> list[str]:
    parts = ["<h2>What was changed</h2>"]
    if result.changes.empty:
        parts.append("<p>The arms are imported predictions; no action lies between them.</p>")
    else:
        parts.append(figure(impact_charts.changes_figure(result.changes)))
    parts.append(f"<h2>Measured effect ({_e(result.arm_a)} → {_e(result.arm_b)})</h2>")
    delta = {
        "metric": "metric",
        "a": "A",
        "b": "B",
        "delta": "B − A",
        "ci_low": "95% CI low",
        "ci_high": "95% CI high",
        "n": "items",
    }
    if not result.label_quality.empty:
        parts.append("<h3>Labels against gold</h3>" + _table(result.label_quality, delta))
        parts.append(
            figure(
                impact_charts.forest_figure(
                    result.label_slices, label=["key", "value"], title="Label accuracy by slice: B − A"
                )
            )
        )
    if not result.model_quality.empty:
        parts.append(
            "<h3>A model trained on each arm, on the held-out set</h3>" + _table(result.model_quality, delta)
        )
        parts.append(
            figure(impact_charts.forest_figure(result.per_class, label="label", title="F1 per class: B − A"))
        )
        parts.append(
            figure(
                impact_charts.forest_figure(
                    result.subgroups, label=["key", "value"], title="Model accuracy by subgroup: B − A"
                )
            )
        )
        parts.append(figure(impact_charts.reliability_figure(result.reliability)))
        model = result.summary.get("model", {})
        parts.append(
            f"<p class='meta'>Model: {_e(model)}; held-out items: {result.summary.get('held_out', 0):,}"
            f" ({result.summary.get('held_out_touched', 0):,} touched by the remediation left out).</p>"
        )
    return parts
