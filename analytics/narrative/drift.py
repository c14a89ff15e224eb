"""Drift findings in words: what changed, when, by how much and how sure, for team leads who read the
verdict first (``what_changed``), and which reference a distribution shift compares with
(``shift_reference``). Computes nothing: it renders ``analytics.monitoring.drift.DriftFindings``.
"""

from __future__ import annotations

import pandas as pd

from analytics.monitoring.drift.findings import DriftFindings
from analytics.monitoring.drift.series import GRAIN_DAYS

#: Smallest Cramér's V of a distribution shift that ``what_changed`` reports (half Cohen's "small", 0.1).
MIN_CRAMERS_V = 0.05


def _pct(value: float, precise: bool = False) -> str:
    return f"{value:.1%}" if precise else f"{value:.0%}"


def _points(change: float) -> str:
    return f"{100 * change:+.1f} points"


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _value(value: float, unit: str, precise: bool) -> str:
    return _pct(value, precise) if unit == "share" else f"{value:.3f}"


def _change(row: object, unit: str) -> str:
    if unit == "share":
        return (f"{100 * row.change:+.1f} points, 95% CI {100 * row.change_low:+.1f} to "
                f"{100 * row.change_high:+.1f}")
    return f"{row.change:+.3f}, 95% CI {row.change_low:+.3f} to {row.change_high:+.3f}"


def _context(when: pd.Timestamp, findings: DriftFindings) -> str:
    """What else happened within a window (at least a week) of ``when``, in words."""
    tolerance = pd.Timedelta(days=max(GRAIN_DAYS[findings.grain], 7))
    events = [(pd.Timestamp(g.effective_at), f"guideline {g.version} took effect")
              for g in findings.guideline_dates.itertuples()]
    events += [(pd.Timestamp(c.joined), f"cohort {c.cohort} joined")
               for c in findings.onboarding.drop_duplicates("cohort").itertuples()]
    notes = []
    for at, what in events:
        days = (at.normalize() - when.normalize()).days
        if abs(at - when) > tolerance:
            continue
        if days == 0:
            notes.append(what)
        else:
            notes.append(f"{abs(days)} day{'s' if abs(days) > 1 else ''} {'before' if days > 0 else 'after'} "
                         f"{what} on {at:%Y-%m-%d}")
    return f" ({'; '.join(notes)})" if notes else ""


def shift_reference(shift: pd.DataFrame) -> str:
    """The reference of a ``shift_table`` in words, e.g. "baseline 2026-02-23 to 2026-03-16 (1,234 labels)".

    Examples
    --------
    >>> table = pd.DataFrame({"reference": [pd.Timestamp("2026-03-02")],
    ...                       "reference_end": [pd.Timestamp("2026-03-23")], "reference_n": [1500.0]})
    >>> shift_reference(table)
    'baseline 2026-03-02 to 2026-03-23 (1,500 labels)'
    """
    if shift.empty or shift["reference"].isna().all():
        return "declared distribution"
    first, last = (shift[column].dropna().iloc[0] for column in ("reference", "reference_end"))
    n = shift["reference_n"].dropna()
    labels = f" ({n.iloc[0]:,.0f} labels)" if len(n) and n.nunique() == 1 else ""
    if len(set(shift["reference"])) > 1:
        return "previous window"
    if first == last:
        return f"window of {_date(first)}{labels}"
    return f"baseline {_date(first)} to {_date(last)}{labels}"


def _date(value: object) -> str:
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except (TypeError, ValueError):
        return str(value)


def what_changed(findings: DriftFindings, *, limit: int | None = None) -> list[str]:
    """The findings of ``drift_findings`` in plain sentences, most telling first.

    Parameters
    ----------
    findings : DriftFindings
    limit : int or None
        Keep at most this many sentences.

    Returns
    -------
    list of str
        Change points by date (with the guideline version or cohort that coincides), guideline versions,
        annotators, cohorts, re-tests and the label distribution; one sentence saying nothing drifted when
        nothing did. Significant but negligible effects are left out: guideline changes smaller than
        ``findings.min_change`` and distribution shifts with Cramér's V below ``MIN_CRAMERS_V``.

    Examples
    --------
    On the demo, drawn on days, a change point reads: "On 2026-05-29 (3 days before guideline v2 took
    effect on 2026-06-01) the share of '7' among all labels fell from 13.7% to 9.7% (change -3.9 points,
    95% CI -6.6 to -1.3; p = 0.002)." The interval allows for the search over dates, and excludes 0 exactly
    when p < 0.05.
    """
    lines: list[tuple[pd.Timestamp, str]] = []
    for result in findings.change_points:
        for row in result.changes.itertuples():
            when = pd.Timestamp(row.window)
            before, after = (_value(v, result.unit, abs(row.change) < 0.05) for v in (row.before, row.after))
            lines.append((when, f"On {when:%Y-%m-%d}{_context(when, findings)} the {result.series} "
                                f"{'rose' if row.change > 0 else 'fell'} from {before} to {after} (change "
                                f"{_change(row, result.unit)}; {_p(row.p_value)})."))
    sentences = [text for _, text in sorted(lines, key=lambda pair: pair[0])]
    for row in findings.guidelines[findings.guidelines["significant"]].itertuples():
        start = f"guideline {row.version} (from {pd.Timestamp(row.effective_at):%Y-%m-%d})"
        if (row.cramers_v < MIN_CRAMERS_V) if row.metric == "label distribution" else (
                abs(row.change) < findings.min_change):
            continue
        if row.metric == "label distribution":
            sentences.append(
                f"The label distribution under {start} differs from {row.previous_version}'s (Cramér's V "
                f"{row.cramers_v:.3f}, Jensen–Shannon distance {row.js_distance:.3f}; {_p(row.p_value)}).")
        else:
            sentences.append(
                f"Under {start} {row.metric} was {_pct(row.after)} against {_pct(row.before)} under "
                f"{row.previous_version} (change {_points(row.change)}; {_p(row.p_value)}).")
    for row in findings.annotators.annotators.itertuples():
        if row.declining:
            sentences.append(
                f"Annotator {row.annotator_id} ({row.cohort}) is declining: their agreement with the "
                f"majority went from {_pct(row.first_half)} to {_pct(row.second_half)} between the halves "
                f"of their work, {_points(row.trend_per_30d)} per 30 days relative to their peers "
                f"(q = {row.trend_q:.3g}).")
    joined = set()
    for row in findings.onboarding.itertuples():
        # a cohort that gave under 1% of the ratings in its first weeks is announced only by its effects
        if row.cohort not in joined and row.share_of_ratings >= 0.01:
            joined.add(row.cohort)
            sentences.append(
                f"Cohort {row.cohort} ({row.annotators} annotators) joined on "
                f"{pd.Timestamp(row.joined):%Y-%m-%d} and gave {_pct(row.share_of_ratings)} of the ratings "
                "in its first weeks.")
        if row.vs_rest_q < findings.fdr:
            sentences.append(
                f"In its first weeks cohort {row.cohort}'s {row.metric} was {_pct(row.early)}, against "
                f"{_pct(row.rest)} for the other annotators at the time (change {_points(row.vs_rest)}; "
                f"{_p(row.vs_rest_p)}).")
        if row.since_vs_rest_q < findings.fdr:
            sentences.append(
                f"Since joining, cohort {row.cohort}'s {row.metric} was {_pct(row.since)}, against "
                f"{_pct(row.since_rest)} for the other annotators (change {_points(row.since_vs_rest)}; "
                f"{_p(row.since_vs_rest_p)}).")
        if row.vs_later_q < findings.fdr:
            sentences.append(
                f"Cohort {row.cohort}'s {row.metric} changed after onboarding: {_pct(row.early)} in its "
                f"first weeks, {_pct(row.later)} later ({_p(row.vs_later_p)}).")
    retest = findings.retest
    if retest is not None and retest.pairs:
        grows = "grows" if retest.trend_p < findings.fdr else "does not grow significantly"
        sentences.append(
            f"Re-labels of an item by the same annotator changed the label in "
            f"{_pct(retest.changed / retest.pairs)} of {retest.pairs} pairs; the rate {grows} with the time "
            f"between them ({_p(retest.trend_p)}).")
    shifted = findings.shift[findings.shift["significant"] & (findings.shift["cramers_v"] >= MIN_CRAMERS_V)]
    if len(shifted):
        worst = shifted.sort_values("cramers_v").iloc[-1]
        sentences.append(
            f"The label distribution of {len(shifted)} of {len(findings.shift)} windows differs from the "
            f"{shift_reference(findings.shift)}'s; the largest shift is the window of "
            f"{pd.Timestamp(worst['window']):%Y-%m-%d} (Cramér's V {worst['cramers_v']:.3f}, Jensen–Shannon "
            f"distance {worst['js_distance']:.3f}).")
    if not sentences:
        sentences.append(
            "Nothing drifted: no change point, guideline effect, declining annotator, cohort effect or "
            "shifted label distribution passes the false-discovery control.")
    return sentences[:limit] if limit is not None else sentences
