"""The Overview's alerts: which alert thresholds are breached, in words, and every rule with its status."""

from __future__ import annotations

import streamlit as st

from analytics.monitoring.alerts import BORDERLINE, BREACHED, NO_DATA, AlertReport
from analytics.narrative import alerts as alert_words
from ui.safe_text import md

#: The status of a rule, as the list of rules shows it.
BADGES = {BREACHED: ":red-badge[Breached]", BORDERLINE: ":orange-badge[Borderline]",
          "ok": ":green-badge[OK]", NO_DATA: ":gray-badge[Not evaluated]"}


def show(report: AlertReport | None, error: str | None, *, key: str, filtered: bool = False) -> None:
    """The verdict over the alert rules, the breached (else borderline) ones in words, and every rule.

    Parameters
    ----------
    report : AlertReport or None
        ``analytics.monitoring.alerts.evaluate`` on the whole store; None with ``error``.
    error : str or None
        Why the alerts file cannot be used (it names the file, the rule and the key).
    key : str
        Key of the panel's container.
    filtered : bool
        The page's sidebar filters narrow its other numbers: say under the verdict that alerts cover the
        whole store.

    Notes
    -----
    The rules' ids and descriptions come from the user's file and the findings carry stored text (slice
    values, annotator ids, labels): every one reaches Markdown through ``md``. Breaches are warnings, not
    errors: the page works, the labels need attention.
    """
    with st.container(key=f"{key}_alerts"):
        if error is not None:
            st.error("The alerts file cannot be used, so no alert is evaluated: " + md(error))
            return
        breached, borderline = report.with_status(BREACHED), report.with_status(BORDERLINE)
        headline = md(alert_words.headline(report))
        if breached:
            st.warning(headline + "\n\n" + _bullets(breached), icon=":material/notifications_active:")
        elif borderline:
            st.info(headline + "\n\n" + _bullets(borderline), icon=":material/notifications:")
        elif report.evaluations:
            st.success(headline, icon=":material/check_circle:")
        else:
            st.info(headline, icon=":material/notifications_off:")
        if filtered:
            st.caption("Alerts cover the whole store, as `python -m analytics check` does: the sidebar "
                       "filters do not apply to them.")
        if not report.evaluations:
            st.caption(md(alert_words.source_words(report.config)))
            return
        with st.expander(f"Alert rules ({len(report.evaluations)})", expanded=False):
            for evaluation in report.evaluations:
                rule = evaluation.rule
                described = f" — {md(rule.description)}" if rule.description else ""
                st.markdown(f"{BADGES[evaluation.status]} **{md(rule.id)}**: "
                            f"{md(alert_words.rule_words(rule))}{described}")
                st.caption(md(alert_words.finding(evaluation)))
            st.caption(md(alert_words.source_words(report.config)) + " " + _scope(report))


def _bullets(evaluations: tuple) -> str:
    return "\n".join(f"- **{md(e.rule.id)}**: {md(alert_words.finding(e))}" for e in evaluations)


def _scope(report: AlertReport) -> str:
    text = ("Evaluated on the whole store, as `python -m analytics check` evaluates them: the sidebar "
            "filters do not apply.")
    if report.sample_modulus > 1:
        text += (f" On this large store the inputs are read on a 1-in-{report.sample_modulus} sample of "
                 "items, as on the Agreement page; `check` reads every item.")
    return text
