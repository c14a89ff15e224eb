"""Alerts in words: each rule as the team reads it (``rule_words``), what it found (``finding``), the verdict
over all rules (``headline``) and where the rules came from (``source_words``). Renders
``analytics.monitoring.alerts`` results; computes nothing.

The sentences carry stored text (slice values, annotator ids, labels) and the rule's own description: they
are plain text, for ``st.text``, a terminal, JSON, or Markdown only through ``ui.safe_text.md``.
"""

from __future__ import annotations

from analytics.monitoring.alerts import (
    ALERTS_ENV,
    ALERTS_FILE_NAME,
    BORDERLINE,
    BREACHED,
    NO_ANNOTATOR,
    NO_DATA,
    NO_EVENTS,
    NO_GOLD,
    NO_RUN,
    NOT_SCORED,
    AlertConfig,
    AlertReport,
    AlertRule,
    Evaluation,
    Hit,
)
from analytics.narrative.slices import METRIC_WORDS

#: Names of the agreement metrics.
AGREEMENT_NAMES = {"krippendorff_alpha": "Krippendorff's alpha", "fleiss_kappa": "Fleiss' kappa",
                   "gwet_ac1": "Gwet's AC1", "percent_agreement": "raw percent agreement"}
#: How each status reads in a list of rules.
STATUS_WORDS = {BREACHED: "BREACHED", BORDERLINE: "borderline", "ok": "ok", NO_DATA: "not evaluated"}
#: What to do about missing data, by ``Evaluation.missing``.
_REMEDY = {
    NO_RUN: "run detection first (python -m analytics score, or the Suspects page)",
    NOT_SCORED: "the latest detection run predates these labels; run detection again",
    NO_GOLD: "import gold labels (ingest --kind gold)",
    NO_EVENTS: "import label events",
    NO_ANNOTATOR: "annotators need 20 ratings of items with a majority among the others to be tested",
}
#: Where the example file lives, for the sentences that point to it.
EXAMPLE_FILE = "data/alerts.example.toml"


def rule_words(rule: AlertRule) -> str:
    """The rule in words, e.g. "Krippendorff's alpha below 0.6 (its whole 95% interval)".

    Examples
    --------
    >>> from analytics.monitoring.alerts import DEFAULT_RULES
    >>> for rule in DEFAULT_RULES[:2]:
    ...     print(rule_words(rule))
    Krippendorff's alpha below 0.6 (its whole 95% interval)
    a slice with significantly more than 10% of items flagged as likely mislabeled (Benjamini–Hochberg, FDR \
5%)
    """
    window = f" in the last {rule.days} days" if rule.days else ""
    how = " (its whole 95% interval)" if rule.test == "interval" else " (the estimate)"
    if rule.kind == "agreement_below":
        minimum = _coefficient(rule.metric, rule.threshold, threshold=True)
        return f"{AGREEMENT_NAMES[rule.metric]}{window} below {minimum}{how}"
    if rule.kind == "suspect_rate_above":
        return f"the share of items flagged as likely mislabeled{window} above {_limit(rule.threshold)}{how}"
    if rule.kind == "gold_accuracy_below":
        return (f"majority labels matching gold{window} on fewer than {_limit(rule.threshold)} of gold "
                f"items{how}")
    if rule.kind == "slice_noise_above":
        what = METRIC_WORDS[rule.metric].removeprefix("share of ")
        scope = "a slice or pair of slices" if rule.pairs else "a slice"
        return (f"{scope} with significantly more than {_limit(rule.threshold)} of {what} "
                f"(Benjamini–Hochberg, FDR {rule.fdr:.0%})")
    if rule.kind == "change_point":
        names = [_SERIES_WORDS[s] for s in rule.series]
        series = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        way = "worsened" if rule.direction == "worse" else "changed"
        return f"a change point in the last {rule.within_days} days where {series} {way}"
    flags = " or ".join(f"'{flag}'" for flag in rule.flags)
    many = "an annotator" if rule.min_annotators == 1 else f"{rule.min_annotators} or more annotators"
    return f"{many} flagged {flags}"


_SERIES_WORDS = {"agreement": "percent agreement", "majority": "agreement with the majority",
                 "gold": "gold accuracy", "suspects": "the suspect rate", "labels": "a label share"}


def finding(evaluation: Evaluation) -> str:
    """What the rule found, in one or more sentences (see the module docstring for the quoting)."""
    rule, status = evaluation.rule, evaluation.status
    if status == NO_DATA:
        remedy = _REMEDY.get(evaluation.missing)
        return f"Not evaluated: {evaluation.missing}" + (f"; {remedy}." if remedy else ".")
    return _FINDERS[rule.kind](evaluation)


def line(evaluation: Evaluation) -> str:
    """One rule's status line: ``[STATUS] id: finding``."""
    return f"[{STATUS_WORDS[evaluation.status]}] {evaluation.rule.id}: {finding(evaluation)}"


def headline(report: AlertReport) -> str:
    """The verdict over every rule, e.g. "1 of 4 alerts breached: declining-annotator."

    Examples
    --------
    >>> from analytics.monitoring.alerts import AlertConfig, AlertReport
    >>> headline(AlertReport(AlertConfig((), "alerts.toml"), ()))
    'No alert rule is declared (alerts.toml is empty).'
    """
    total = len(report.evaluations)
    if total == 0:
        return f"No alert rule is declared ({report.config.source} is empty)."
    breached = [e.rule.id for e in report.breached]
    parts = []
    if breached:
        parts.append(f"{len(breached)} of {total} alert{'s' if total != 1 else ''} breached: "
                     f"{', '.join(breached)}.")
    else:
        parts.append(f"No alert breached ({total} rule{'s' if total != 1 else ''} checked).")
    borderline = [e.rule.id for e in report.with_status(BORDERLINE)]
    if borderline:
        parts.append(f"Borderline (the threshold is within the noise): {', '.join(borderline)}.")
    missing = [e.rule.id for e in report.with_status(NO_DATA)]
    if missing:
        parts.append(f"Not evaluated for lack of data: {', '.join(missing)}.")
    return " ".join(parts)


def source_words(config: AlertConfig) -> str:
    """Where the rules came from, in a sentence."""
    if config.defaults:
        return (f"No alerts file (${ALERTS_ENV}, or {ALERTS_FILE_NAME} beside the store): the "
                f"{len(config.rules)} built-in default rules apply; {EXAMPLE_FILE} writes them out to copy "
                "and edit.")
    return f"Alert rules from {config.source}."


# --- one sentence per kind ------------------------------------------------------------------------------


def _agreement_below(e: Evaluation) -> str:
    metric = e.rule.metric
    name = AGREEMENT_NAMES[metric]
    value = _coefficient(metric, e.value)
    interval = f" ({e.n:,} items)"
    if e.low is not None and e.high is not None:
        interval = f" (95% CI {_coefficient(metric, e.low)}–{_coefficient(metric, e.high)}, {e.n:,} items)"
    subject = f"{name[0].upper()}{name[1:]}{_window(e)} is {value}{interval}"
    return subject + _verdict(e, _coefficient(metric, e.rule.threshold, threshold=True), below=True)


def _suspect_rate_above(e: Evaluation) -> str:
    return (f"The latest detection run flags {_pct(e.value)} of {e.n:,} items{_window(e)} as likely "
            f"mislabeled (95% CI {_pct(e.low)}–{_pct(e.high)})"
            + _verdict(e, _limit(e.rule.threshold), below=False))


def _gold_accuracy_below(e: Evaluation) -> str:
    return (f"The majority label matches gold on {_pct(e.value)} of {e.n:,} gold items{_window(e)} (95% CI "
            f"{_pct(e.low)}–{_pct(e.high)})" + _verdict(e, _limit(e.rule.threshold), below=True))


def _verdict(e: Evaluation, threshold: str, *, below: bool) -> str:
    side, other = ("below", "above") if below else ("above", "below")
    limit = "minimum" if below else "maximum"
    if e.status == BREACHED:
        whole = " with its whole interval" if e.rule.test == "interval" else ""
        return f": {side} the {limit} of {threshold}{whole}."
    if e.status == BORDERLINE:
        return f": the {limit} of {threshold} lies within its interval, so it may be {side} it."
    return f": {other} the {limit} of {threshold}."


def _slice_noise_above(e: Evaluation) -> str:
    rule = e.rule
    what = METRIC_WORDS[rule.metric]
    breached = [h for h in e.hits if h.breached]
    near = [h for h in e.hits if not h.breached]
    if breached:
        text = (f"{len(breached)} of {e.n:,} slices tested {'is' if len(breached) == 1 else 'are'} "
                f"significantly above {_limit(rule.threshold)} ({what}; Benjamini–Hochberg, FDR "
                f"{rule.fdr:.0%}): "
                + "; ".join(map(_slice_hit, breached[:5])) + ".")
    else:
        text = f"No slice of the {e.n:,} tested is significantly above {_limit(rule.threshold)} ({what})."
    if near:
        text += (" Above it without enough evidence: " + "; ".join(map(_slice_hit, near[:3]))
                 + (f" and {len(near) - 3} more" if len(near) > 3 else "") + ".")
    return text


def _slice_hit(h: Hit) -> str:
    return (f"{h.subject} {_pct(h.value)} (95% CI {_pct(h.low)}–{_pct(h.high)}, {h.n:,} items, "
            f"q {_q(h.q_value)})")


def _change_point(e: Evaluation) -> str:
    since, _ = e.window
    if not e.hits:
        return (f"No change point since {since:%Y-%m-%d} (the last {e.rule.within_days} days of data) in the "
                f"{e.n:,} series followed.")
    shown = [f"on {h.when:%Y-%m-%d} the {h.subject} {'rose' if h.value > 0 else 'fell'} from "
             f"{_pct(h.before)} to {_pct(h.after)} (change {100 * h.value:+.1f} points, 95% CI "
             f"{100 * h.low:+.1f} to {100 * h.high:+.1f}; {_p(h.p_value)})" for h in e.hits[:3]]
    more = f"; and {len(e.hits) - 3} more" if len(e.hits) > 3 else ""
    count = f"{len(e.hits)} new change{'s' if len(e.hits) != 1 else ''}"
    return f"{count} since {since:%Y-%m-%d}: " + "; ".join(shown) + more + "."


def _annotator_flag(e: Evaluation) -> str:
    rule = e.rule
    flags = " or ".join(f"'{flag}'" for flag in rule.flags)
    if not e.hits:
        return f"None of the {e.n:,} annotators tested is flagged {flags}."
    shown = "; ".join(map(_annotator_hit, e.hits[:5]))
    shown += f"; and {len(e.hits) - 5} more" if len(e.hits) > 5 else ""
    verb = "is" if len(e.hits) == 1 else "are"
    count = f"{len(e.hits)} of {e.n:,} annotators tested {verb} flagged {flags}"
    if e.status == BORDERLINE:
        count += f", fewer than the {rule.min_annotators} the rule needs"
    return f"{count}: {shown}."


def _annotator_hit(h: Hit) -> str:
    cohort = f" ({h.cohort})" if h.cohort else ""
    text = f"{h.subject}{cohort}, {', '.join(h.flags)}"
    if "declining" in h.flags and h.before is not None and h.after is not None:
        text += (f": agreement with the majority fell from {_pct(h.before)} in the first half of their "
                 f"ratings to {_pct(h.after)} in the second (q {_q(h.q_value)})")
    else:
        text += f": agreement with the majority {_pct(h.value)} (95% CI {_pct(h.low)}–{_pct(h.high)})"
    return text


_FINDERS = {
    "agreement_below": _agreement_below,
    "suspect_rate_above": _suspect_rate_above,
    "gold_accuracy_below": _gold_accuracy_below,
    "slice_noise_above": _slice_noise_above,
    "change_point": _change_point,
    "annotator_flag": _annotator_flag,
}


def _window(e: Evaluation) -> str:
    if e.window is None:
        return ""
    start, end = e.window
    return f" in the last {e.rule.days} days ({start:%Y-%m-%d} – {end:%Y-%m-%d})"


def _coefficient(metric: str, value: float, *, threshold: bool = False) -> str:
    if metric == "percent_agreement":
        return _limit(value) if threshold else _pct(value)
    return f"{value:g}" if threshold else f"{value:.3f}"


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _limit(value: float) -> str:
    """A threshold share as a percentage, as written: "10%", "2.5%"."""
    return f"{100 * value:g}%"


def _q(q: float | None) -> str:
    return "n/a" if q is None else "< 0.001" if q < 0.001 else f"= {q:.3f}"


def _p(p: float | None) -> str:
    return "p n/a" if p is None else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
