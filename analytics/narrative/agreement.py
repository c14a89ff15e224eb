"""The Agreement page in words: the verdict (``verdict``) on the headline coefficients, the flagged
annotators and the cohorts, from the results of ``analytics.agreement.report``."""

from __future__ import annotations

import math

import pandas as pd

from analytics.agreement.report import Headline

#: A cohort with fewer ratings of majority-comparable items is named, not compared.
MIN_COHORT_ITEMS = 20
#: (flag, words for one annotator, words for several) of the verdict, most serious first.
_FLAG_WORDS = (
    ("near chance", "annotator labels near chance", "annotators label near chance"),
    ("declining", "annotator is declining", "annotators are declining"),
    ("below peers", "annotator agrees less than their peers", "annotators agree less than their peers"),
)

def verdict(head: Headline, table: pd.DataFrame, cohorts: pd.DataFrame) -> list[str]:
    """The page's findings in words, most important first.

    Cohorts are compared only when their intervals support it: the least reliable cohort is named when its
    interval of agreement with the majority lies wholly below that of another cohort (the one whose lower
    bound is highest); a cohort with fewer than ``MIN_COHORT_ITEMS`` majority-comparable ratings is named as
    too small to compare, so a handful of imported rows can never decide the sentence.
    """
    alpha = head.overall.get("krippendorff_alpha")
    if alpha is None or math.isnan(alpha.value):
        reason = alpha.note if alpha is not None and alpha.note else (
            "Not enough items rated by two or more annotators to measure agreement.")
        return [reason]
    if math.isnan(alpha.ci_low):
        lines = [f"Krippendorff's alpha ({head.level}) is {alpha.value:.3f} on {alpha.n_pairable:,} items "
                 f"rated twice or more, without an interval. {alpha.note}".rstrip()]
    else:
        reading = (
            "reliable (≥ 0.8)" if alpha.ci_low >= 0.8 else
            "tentative at best (below 0.8)" if alpha.ci_low >= 0.667 else
            "not reliable enough for conclusions (below 0.667)" if alpha.ci_high < 0.667 else
            "around the 0.667 threshold for tentative conclusions"
        )
        lines = [
            f"Krippendorff's alpha ({head.level}) is {alpha.value:.3f} "
            f"(95% CI {alpha.ci_low:.3f}–{alpha.ci_high:.3f} over {alpha.resampled or 'items'}, "
            f"{alpha.n_pairable:,} items rated twice or more): {reading}."
        ]
    change = head.change("krippendorff_alpha")
    if change is not None:
        separated = head.separated("krippendorff_alpha")
        shown = f"{abs(change):.3f}"  # "down 0.000" would name a direction it cannot show
        moved = (f"{'up' if change > 0 else 'down'} {shown}" if shown != "0.000"
                 else "unchanged to three decimals")
        lines.append(
            f"Over the last {head.days} days it is {moved} against the {head.days} days before"
            + (" (intervals do not overlap)." if separated else ", within noise (intervals overlap).")
        )
    for flag, one, many in _FLAG_WORDS:
        names = table.loc[table["flags"].map(lambda found, flag=flag: flag in found), "annotator_id"].tolist()
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            lines.append(f"{len(names)} " + (one if len(names) == 1 else many) + f": {shown}.")
    lines.extend(_cohort_lines(cohorts))
    return lines


def _cohort_lines(cohorts: pd.DataFrame) -> list[str]:
    rated = cohorts[cohorts["loo_agreement"].notna()]  # a cohort with no comparable item has no rate
    items = rated["loo_items"] if "loo_items" in rated else pd.Series(MIN_COHORT_ITEMS, index=rated.index)
    small, rated = rated[items < MIN_COHORT_ITEMS], rated[items >= MIN_COHORT_ITEMS]
    lines = []
    if len(rated) > 1:
        worst = rated.loc[rated["loo_agreement"].idxmin()]
        best = rated.drop(index=worst.name).sort_values("loo_low").iloc[-1]
        if worst.loo_high < best.loo_low:
            lines.append(
                f"Least reliable cohort: {worst.cohort} ({worst.loo_agreement:.0%} agreement with the "
                f"majority, 95% CI {worst.loo_low:.0%}–{worst.loo_high:.0%}), against "
                f"{best.loo_agreement:.0%} ({best.loo_low:.0%}–{best.loo_high:.0%}) for {best.cohort}."
            )
        else:
            lines.append("No cohort agrees with the majority clearly less than another "
                         "(95% intervals overlap).")
    if len(small):
        shown = ", ".join(f"{row.cohort} ({int(row.loo_items)})" for row in small.itertuples())
        lines.append(f"Too few rated items to compare (fewer than {MIN_COHORT_ITEMS} with a majority): "
                     f"{shown}.")
    return lines
