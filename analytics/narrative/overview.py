"""The Overview's verdict in words, for a team lead who reads nothing else: how much was labeled, how well
annotators agree (with the interval), and whether agreement moved against the comparison window, said only
when the change's interval excludes zero. Renders ``analytics.monitoring.overview`` results.
"""

from __future__ import annotations

from analytics.monitoring.overview import BEFORE_FILTER, RECENT, OverviewSummary, TrendComparison


def verdict(summary: OverviewSummary, comparison: TrendComparison | None) -> list[str]:
    """The headline in words, most important first, for a team lead who reads nothing else."""
    if summary.events == 0:
        return ["No label events match the current filters."]
    items = f"{summary.items:,} items"
    multi = f"{summary.items_multi:,}"
    count = summary.item_count
    if count is not None and count.estimated:
        items = (f"about {count.shown().lstrip('≈')} items (estimated from a 1-in-{count.sample_modulus} "
                 f"sample of items, 95% CI {count.low:,}–{count.high:,})")
    if summary.estimated and count is not None:
        multi = "about " + count.shown(summary.items_multi).lstrip("≈")
    lines = [
        f"{summary.events:,} labels from {summary.annotators:,} annotators on {items}; "
        f"{multi} items have 2 or more labels."
    ]
    if summary.pa_ci_low is not None:
        sampled = ""
        if summary.agreement_sample_rate < 1:
            sampled = f", estimated on a 1-in-{round(1 / summary.agreement_sample_rate)} sample of items"
        lines.append(
            f"Raw agreement between annotators is {summary.percent_agreement:.1%} "
            f"(95% CI {summary.pa_ci_low:.1%}–{summary.pa_ci_high:.1%}{sampled})."
        )
    if comparison is not None:
        change = comparison.agreement_change()
        window = (f"the last {comparison.days} days" if comparison.basis == RECENT
                  else f"these {comparison.days} days")
        before = f"the {comparison.days} days before {comparison.current_start:%Y-%m-%d}"
        if not comparison.comparable:
            lines.append(comparison_sentence(comparison))
        elif change is not None and change.significant:
            direction = "up" if change.delta > 0 else "down"
            lines.append(
                f"Agreement is {direction} {change.points().lstrip('+-')} in {window} against {before} "
                f"(95% CI of the change {change.low * 100:+.1f} to {change.high * 100:+.1f} pts)."
            )
        elif change is not None:
            lines.append(
                f"Agreement in {window} is within noise of {before} ({change.points()}, 95% CI of the "
                f"change {change.low * 100:+.1f} to {change.high * 100:+.1f} pts)."
            )
    return lines


def comparison_sentence(comparison: TrendComparison) -> str:
    """The comparison in a full sentence, dates included, or why there is nothing to compare."""
    before = f"{comparison.previous_start:%Y-%m-%d} – {comparison.previous_end:%Y-%m-%d}"
    if comparison.basis == BEFORE_FILTER:
        window = (f"the filtered {comparison.days} days ({comparison.current_start:%Y-%m-%d} – "
                  f"{comparison.current_end:%Y-%m-%d})")
    else:
        window = (f"the last {comparison.days} days of data ({comparison.current_start:%Y-%m-%d} – "
                  f"{comparison.current_end:%Y-%m-%d})")
    if comparison.previous.events == 0:
        return (f"Nothing to compare with: no label events match the filters in the {comparison.days} days "
                f"before {comparison.current_start:%Y-%m-%d} ({before}).")
    return f"Changes compare {window} with the {comparison.days} days before ({before})."
