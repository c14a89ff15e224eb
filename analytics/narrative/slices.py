"""The Slices page's verdict in words: which subgroups are labeled worse than the rest, by how much and how
sure (BH-adjusted), or why nothing can be said. Renders ``analytics.monitoring.slices`` results; computes
nothing.
"""

from __future__ import annotations

import pandas as pd

from analytics.monitoring.slices import TESTED, SliceDiscovery

#: How each metric reads in a sentence.
METRIC_WORDS = {
    "disagreement": "share of items whose annotators disagree",
    "gold_error": "share of gold items whose majority label is wrong",
    "suspect": "share of items flagged as likely mislabeled",
}


def verdict(
    table: pd.DataFrame, found: SliceDiscovery, *, metric: str, within: str | None = None
) -> list[str]:
    """The slice findings in plain sentences, noisiest first.

    Parameters
    ----------
    table : DataFrame
        ``slice_noise_table``'s output.
    found : SliceDiscovery
        ``discover_slices``'s output on the same cube.
    metric : str
        The metric of both.
    within : str or None
        The slice every item of the cube belongs to (a filter such as ``"source = fax"``): the sentences
        then say that they compare slices within it, not it with the rest.

    Examples
    --------
    >>> import pandas as pd
    >>> from analytics.monitoring.slices import discover_slices, slice_noise_table
    >>> cube = pd.DataFrame({"source": ["fax", "scanner"], "items": [200, 800], "ratings": [600, 2400],
    ...                      "rated_items": [200, 800], "disputed": [120, 160]}).set_index("source")
    >>> table = slice_noise_table(cube)
    >>> print(verdict(table, discover_slices(cube), metric="disagreement")[0])
    source = fax is the noisiest slice: 60.0% (95% CI 53.1%–66.5%) against 20.0% elsewhere, 3.0× (q < 0.001).
    """
    lines = _verdict(table, found, metric=metric)
    if within is not None:
        lines[0] = f"Within {within}: {lines[0][0].lower()}{lines[0][1:]}"
    return lines


def _verdict(table: pd.DataFrame, found: SliceDiscovery, *, metric: str) -> list[str]:
    tested = table[table["status"] == TESTED]
    if tested.empty:
        return [f"No slice is large enough to test ({METRIC_WORDS[metric]}): every slice or its rest has "
                "too few items."]
    significant = tested[tested["significant"]]
    lines = []
    if len(found.found):
        # the discovery's first: most excess noisy items, and not a mere refinement of a noisier slice
        top = found.found.iloc[0]
        lines.append(
            f"{top['slice']} is the noisiest slice: {top['noise_rate']:.1%} (95% CI {top['ci_low']:.1%}–"
            f"{top['ci_high']:.1%}) against {top['rest_rate']:.1%} elsewhere, {top['ratio']:.1f}× "
            f"(q {_q(top['q_value'])}).")
    else:
        lines.append(f"No slice is noisier than the rest after false-discovery control at {found.alpha:.0%} "
                     f"({len(tested):,} slices tested; {METRIC_WORDS[metric]}).")
    lines.append(f"{len(significant):,} of {len(tested):,} slices tested are significantly noisier "
                 f"(Benjamini–Hochberg, FDR {found.alpha:.0%}); overall rate {found.overall_rate:.1%}.")
    deeper = found.found[found.found["depth"] > 1]
    if len(deeper) and len(found.found) > 1:
        shown = [f"{row.slice} ({row.noise_rate:.1%}, {int(row.n):,} items)"
                 for row in deeper.head(3).itertuples()]
        lines.append("Combinations noisier than their parts: " + "; ".join(shown) + ".")
    return lines


def _q(q: float) -> str:
    return "< 0.001" if q < 0.001 else f"= {q:.3f}"
