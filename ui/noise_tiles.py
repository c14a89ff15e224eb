"""The Overview's label-noise tiles: disagreement rate, Krippendorff's alpha, suspect rate and consensus
against gold, each in the comparison window with its interval and its change against the window before."""

from __future__ import annotations

import streamlit as st

from analytics.monitoring.indicators import (
    NO_GOLD,
    NO_PAIRS,
    NO_RUN,
    NOT_SCORED,
    Indicator,
    NoiseTrend,
)
from analytics.monitoring.overview import TrendComparison
from analytics.narrative import overview as overview_words

#: What each tile measures, for its help.
DEFINITIONS = {
    "disagreement": "Of the items with two or more ratings in the window, the share whose ratings are not "
    "unanimous (the Slices page's disagreement rate). Wilson 95% interval. Lower is better.",
    "alpha": "Krippendorff's alpha (nominal) of the window's ratings: agreement corrected for chance, 1 "
    "perfect, 0 chance level. 95% interval: BCa bootstrap over items, as on the Agreement page. Higher is "
    "better.",
    "suspects": "Of the items labeled in the window that the latest detection run scored, the share it flags "
    "as likely mislabeled (the Suspects page's flags). One run read on each window's items: a change says "
    "the items labeled lately look better or worse to the same detector. Wilson 95% interval. Lower is "
    "better.",
    "gold": "The labels checked against held-out data: of the items with a gold label labeled in the window, "
    "the share whose consensus (majority) label is one of their gold labels. An accuracy, not a probability "
    "calibration. Wilson 95% interval. Higher is better.",
}
#: Why a tile has no value, and what to do.
MISSING = {
    NO_RUN: "No detection run yet: run it on the Suspects page or with `python -m analytics score`.",
    NOT_SCORED: "The latest detection run scored none of these items: run detection again.",
    NO_GOLD: "No gold item labeled in this window: import gold labels to check the labels against them.",
    NO_PAIRS: "No item has two or more ratings in this window.",
}


def show(trend: NoiseTrend | None, comparison: TrendComparison | None, *, key: str) -> None:
    """Four ``st.metric`` tiles, one per indicator of ``trend``, and a line saying what they compare.

    Parameters
    ----------
    trend : NoiseTrend or None
        ``analytics.monitoring.indicators.noise_trend``; None shows nothing.
    comparison : TrendComparison or None
        The windows behind ``trend``.
    key : str
        Key of the tiles' container.

    Notes
    -----
    Each value is the window's, with its 95% interval and the items it rests on under it. The change is
    green or red, with an arrow, only when its 95% interval (MOVER) excludes zero: green when it goes the
    good way for its indicator (down for disagreement and suspects, up for alpha and gold). Within noise it
    is grey and arrowless and the tile says so. Without the data (no detection run, no gold) the tile shows
    "n/a" and why, never a number made up.
    """
    if trend is None or comparison is None:
        return
    with st.container(key=f"{key}_tiles"):
        st.caption("**Label noise.** " + overview_words.noise_window_sentence(comparison))
        columns = st.columns(len(trend.indicators), border=True, gap="small")
        for column, indicator in zip(columns, trend.indicators, strict=True):
            _tile(column, indicator)


def _tile(column: st.delta_generator.DeltaGenerator, indicator: Indicator) -> None:
    now = indicator.current
    change = indicator.change()
    significant = change is not None and change.significant
    colour = "off"
    if significant:
        colour = "normal" if indicator.higher_is_better else "inverse"
    delta = None if change is None else overview_words.indicator_change(change, share=indicator.share)
    column.metric(
        overview_words.INDICATOR_NAMES[indicator.key],
        overview_words.indicator_value(indicator, None if now is None else now.value),
        delta, delta_color=colour, delta_arrow="auto" if significant else "off",
        help=_help(indicator),
    )
    if now is None:
        column.caption(MISSING.get(indicator.missing, f"No value: {indicator.missing}."))
        return
    unit = "gold items" if indicator.key == "gold" else "items"
    column.caption(f"95% CI {overview_words.indicator_value(indicator, now.low)}–"
                   f"{overview_words.indicator_value(indicator, now.high)} · {now.n:,} {unit}")
    if change is None:
        column.caption("Nothing to compare with in the window before.")
    elif not significant:
        column.caption("Change within noise.")


def _help(indicator: Indicator) -> str:
    text = DEFINITIONS[indicator.key]
    change = indicator.change()
    if change is not None:
        text += (f" Change {overview_words.indicator_change(change, share=indicator.share)}, "
                 f"{overview_words.change_interval(change, share=indicator.share)} (MOVER, the windows "
                 "taken as independent samples of items): "
                 + ("a real change." if change.significant else "within noise."))
    before = indicator.previous
    if before is not None:
        text += (f" The window before: {overview_words.indicator_value(indicator, before.value)} "
                 f"({before.n:,} items).")
    return text
