"""The Overview's verdict in words, for a team lead who reads nothing else: how much was labeled, how well
annotators agree (with the interval), and whether agreement moved against the comparison window, said only
when the change's interval excludes zero. Renders ``analytics.monitoring.overview`` results.
"""

from __future__ import annotations

from analytics.monitoring.indicators import Change, Indicator, NoiseTrend
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


#: The label-noise indicators' names (``analytics.monitoring.indicators.INDICATORS``), as tiles and
#: sentences say them.
INDICATOR_NAMES = {"disagreement": "Disagreement rate", "alpha": "Krippendorff's alpha",
                   "suspects": "Suspect rate", "gold": "Consensus matches gold"}


def indicator_value(indicator: Indicator, value: float | None) -> str:
    """A value of an indicator as shown: a share in percent, alpha with three decimals, "n/a" when None."""
    if value is None:
        return "n/a"
    return f"{value:.1%}" if indicator.share else f"{value:.3f}"


def indicator_change(change: Change, *, share: bool) -> str:
    """A change as shown on a tile: "+1.2 pts" for a share, "+0.031" for alpha; "0.0 pts" (no sign) when it
    rounds to nothing.

    Examples
    --------
    >>> from analytics.monitoring.indicators import Change
    >>> [indicator_change(Change(d, -1, 1, False), share=True) for d in (0.0123, -0.0004)]
    ['+1.2 pts', '0.0 pts']
    """
    shown = f"{100 * change.delta:+.1f}" if share else f"{change.delta:+.3f}"
    if float(shown) == 0:
        shown = shown.lstrip("+-")
    return f"{shown} pts" if share else shown


def change_interval(change: Change, *, share: bool) -> str:
    """The change's 95% interval in words: "95% CI of the change -3.0 to +2.4 pts"."""
    if share:
        return f"95% CI of the change {100 * change.low:+.1f} to {100 * change.high:+.1f} pts"
    return f"95% CI of the change {change.low:+.3f} to {change.high:+.3f}"


def noise_window_sentence(comparison: TrendComparison) -> str:
    """What the label-noise tiles compare, dates included."""
    now = f"{comparison.current_start:%Y-%m-%d} – {comparison.current_end:%Y-%m-%d}"
    before = f"{comparison.previous_start:%Y-%m-%d} – {comparison.previous_end:%Y-%m-%d}"
    window = (f"the last {comparison.days} days of data" if comparison.basis == RECENT
              else f"the filtered {comparison.days} days")
    return (f"Values: {window} ({now}); changes: against the {comparison.days} days before ({before}), "
            "coloured and with an arrow only when their 95% interval excludes zero.")


def noise_sentence(trend: NoiseTrend | None, comparison: TrendComparison | None) -> str | None:
    """The label-noise indicators in one sentence for the verdict: which moved, which way, and how sure.

    None without a comparison. Indicators without data are left out; a change is named only when its 95%
    interval excludes zero, and an indicator without a value in the window before is said to have nothing to
    compare with.
    """
    if trend is None or comparison is None:
        return None
    window = (f"the last {comparison.days} days" if comparison.basis == RECENT
              else f"these {comparison.days} days")
    moved, steady, alone = [], [], []
    for indicator in trend.indicators:
        if indicator.current is None:
            continue
        name = INDICATOR_NAMES[indicator.key]
        name = name if indicator.key == "alpha" else name[0].lower() + name[1:]
        value = indicator_value(indicator, indicator.current.value)
        change = indicator.change()
        if change is None:
            alone.append(f"{name} {value}")
        elif change.significant:
            way = "up" if change.delta > 0 else "down"
            shown = indicator_change(change, share=indicator.share).lstrip("+-")
            moved.append(f"{name} {way} {shown} to {value} ({'better' if change.better else 'worse'})")
        else:
            steady.append(f"{name} {value}")
    before = f"the {comparison.days} days before"
    if not moved and not steady:
        return (f"Label noise in {window}: " + ", ".join(alone) + "; nothing to compare with before."
                if alone else None)
    if moved:
        text = f"Label noise in {window} against {before}: " + "; ".join(moved)
        text += "; within noise: " + ", ".join(steady) if steady else ""
    else:
        text = f"Label noise in {window} is within noise of {before}: " + ", ".join(steady)
    if alone:
        text += "; nothing to compare with before: " + ", ".join(alone)
    return text + "."
