"""The Agreement page's headline tiles: alpha, Fleiss' kappa and AC1, each with its CI and 30-day change."""

from __future__ import annotations

import math

import streamlit as st

from analytics.agreement_report import HEADLINE_METRICS, METRIC_NAMES, Headline

_HELP = {
    "krippendorff_alpha": "Chance-corrected agreement for any number of annotators, missing ratings and "
    "levels of measurement. Read ≥ 0.8 as reliable, ≥ 0.667 as tentative (Krippendorff 2004).",
    "fleiss_kappa": "Chance-corrected agreement of many annotators on nominal labels; chance from the "
    "pooled label shares. 0.61–0.80 is 'substantial', > 0.80 'almost perfect' (Landis & Koch, a convention).",
    "gwet_ac1": "Like kappa, but its chance term stays small when one label dominates, so it does not "
    "collapse on skewed label mixes (Gwet 2008).",
}


def show(head: Headline, *, key: str) -> None:
    """Three ``st.metric`` tiles with the 95% CI below and the change of the last ``head.days`` days.

    Parameters
    ----------
    head : Headline
        From ``analytics.agreement_report.headline``.
    key : str
        Key of the tiles' container.
    """
    columns = st.container(key=f"{key}_tiles").columns(len(HEADLINE_METRICS), border=True, gap="small")
    for column, metric in zip(columns, HEADLINE_METRICS, strict=True):
        estimate = head.overall.get(metric)
        value = "n/a" if estimate is None or math.isnan(estimate.value) else f"{estimate.value:.3f}"
        change = head.change(metric)
        column.metric(
            METRIC_NAMES[metric], value, None if change is None else f"{change:+.3f}",
            help=_HELP[metric] + f" Delta: last {head.days} days against the {head.days} days before.",
        )
        if estimate is not None and not math.isnan(estimate.ci_low):
            column.caption(
                f"95% CI {estimate.ci_low:.3f}–{estimate.ci_high:.3f} · {estimate.n_items:,} items · "
                f"bootstrap ({estimate.n_boot} resamples of items)"
            )
