"""The Agreement page's headline tiles: alpha, Fleiss' kappa and AC1, each with its CI and 30-day change."""

from __future__ import annotations

import math

import streamlit as st

from analytics.agreement.estimates import AgreementEstimate
from analytics.agreement.report import HEADLINE_METRICS, METRIC_NAMES, Headline

_HELP = {
    "krippendorff_alpha": "Chance-corrected agreement for any number of annotators, missing ratings and "
    "levels of measurement. Read ≥ 0.8 as reliable, ≥ 0.667 as tentative (Krippendorff 2004).",
    "fleiss_kappa": "Chance-corrected agreement of many annotators on nominal labels; chance from the "
    "pooled label shares. 0.61–0.80 is 'substantial', > 0.80 'almost perfect' (Landis & Koch, a convention). "
    "Agreement is observed on the items rated twice or more, as for alpha; the chance term also counts the "
    "items rated once (as R's irrCAC does), hence the second item count.",
    "gwet_ac1": "Like kappa, but its chance term stays small when one label dominates, so it does not "
    "collapse on skewed label mixes (Gwet 2008). Items rated once enter its chance term, as for kappa.",
}


def show(head: Headline, *, key: str) -> None:
    """Three ``st.metric`` tiles, each with its 95% CI, what the CI resamples, the items it rests on, the
    change of the last ``head.days`` days, and a note when the value or its interval needs one.

    Parameters
    ----------
    head : Headline
        From ``analytics.agreement.report.headline``.
    key : str
        Key of the tiles' container.
    """
    columns = st.container(key=f"{key}_tiles").columns(len(HEADLINE_METRICS), border=True, gap="small")
    for column, metric in zip(columns, HEADLINE_METRICS, strict=True):
        estimate = head.overall.get(metric)
        value = "n/a" if estimate is None or math.isnan(estimate.value) else f"{estimate.value:.3f}"
        change, separated = head.change(metric), head.separated(metric)
        # A change within noise is grey and without an arrow: only intervals that separate earn a colour.
        column.metric(
            METRIC_NAMES[metric], value, None if change is None else f"{change:+.3f}",
            delta_color="normal" if separated else "off", delta_arrow="auto" if separated else "off",
            help=_HELP[metric] + f" Delta: last {head.days} days against the {head.days} days before"
            + ("." if separated else "; grey when the two 95% intervals overlap (within noise)."),
        )
        if estimate is None:
            continue
        column.caption(caption(estimate, annotators=head.annotators))
        if estimate.note:
            column.caption(estimate.note)


def caption(estimate: AgreementEstimate, *, annotators: int = 0) -> str:
    """The tile's line under the value: interval and what it resamples, then the items behind the value.

    Examples
    --------
    >>> from analytics.agreement.estimates import AgreementEstimate
    >>> caption(AgreementEstimate("fleiss_kappa", 0.7, 0.6, 0.8, 0.05, 0.95, "bootstrap BCa over items",
    ...                           448, 504, n_boot=200, n_pairable=49, resampled="items"))
    '95% CI 0.600–0.800 over items (BCa, 200 resamples) · 49 items rated 2+ times (chance from 448)'
    """
    parts = []
    if not math.isnan(estimate.ci_low):
        how = "BCa" if "BCa" in estimate.method else "percentile"
        panel = f", {annotators:,} annotators" if estimate.resampled == "items and annotators" else ""
        parts.append(f"95% CI {estimate.ci_low:.3f}–{estimate.ci_high:.3f} over {estimate.resampled} "
                     f"({how}, {estimate.n_boot} resamples{panel})")
    items = f"{estimate.n_pairable:,} items rated 2+ times"
    if estimate.n_items != estimate.n_pairable:
        # Fleiss' kappa and AC1 take their chance term from every rated item, single ratings included.
        items += f" (chance from {estimate.n_items:,})"
    parts.append(items)
    return " · ".join(parts)
