"""Annotator reliability: how far each annotator can be trusted, with intervals and flags that survive
multiple testing.

Every rate here is a binomial proportion with a Wilson interval (``analytics.core.stats.wilson_interval``):

- *agreement with the majority*: of the annotator's items whose other raters have a single most frequent
  label (the leave-one-out majority), the share where the annotator gave that label. Leaving the annotator
  out keeps a prolific annotator from agreeing with themself through the majority.
- *gold accuracy*: share of their ratings of gold items that equal the gold label.
- *re-test consistency*: share of their repeated labels of an item that repeat their previous label.

Flags (each names the evidence it rests on):

- ``near chance``: the upper bound of the agreement interval lies below the midpoint between chance
  agreement (Σ_k p_k², p_k the label shares: what a random labeler scores) and the pooled agreement of all
  annotators — a spammer or a broken integration looks like this whatever their volume.
- ``below peers``: agreement lower than the pooled agreement of everyone else (one-sided two-proportion
  z-test), significant after Benjamini–Hochberg across the annotators tested.
- ``declining``: agreement in the second half of the annotator's own ratings (by time) lower than in the
  first half (one-sided two-proportion z-test), significant after Benjamini–Hochberg.
Annotators with fewer than ``min_items`` majority-comparable items are not tested (no flag either way).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.core.stats import bh_qvalues, one_sided_lower_p, success_rate, wilson_interval

#: Columns of ``annotator_table``, in display order.
COLUMNS = (
    "annotator_id", "cohort", "events", "items", "loo_agreement", "loo_low", "loo_high", "loo_items",
    "agreement_with_others", "gold_accuracy", "gold_low", "gold_high", "gold_n", "retest_consistency",
    "retest_n", "first_half", "second_half", "change", "change_q", "below_peers_q", "ds_skill", "flags",
    "first_at", "last_at", "gold_correct", "retest_same",
)


def annotator_table(
    stats_frame: pd.DataFrame,
    *,
    halves: pd.DataFrame | None = None,
    label_shares: pd.Series | None = None,
    skills: pd.Series | None = None,
    min_items: int = 20,
    fdr: float = 0.05,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per annotator: reliability rates with intervals, change over time, and flags.

    Parameters
    ----------
    stats_frame : DataFrame
        ``analytics.store.agreement.annotator_stats`` (one row per annotator).
    halves : DataFrame or None
        The same split ``by="half"`` (``grp`` 0 / 1): enables ``first_half``, ``second_half``, ``change``
        and the ``declining`` flag.
    label_shares : Series or None
        Share of each label among all ratings, for the chance level of ``near chance``; None skips it.
    skills : Series or None
        Dawid–Skene ``skills_`` by annotator (expected accuracy), shown as ``ds_skill``.
    min_items : int
        Annotators with fewer leave-one-out-comparable items are not tested.
    fdr : float
        Benjamini–Hochberg false-discovery rate of the ``below peers`` and ``declining`` flags.
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    DataFrame
        ``COLUMNS``, least reliable (lowest agreement) first; ``flags`` is a list of strings.

    Examples
    --------
    >>> frame = pd.DataFrame({"annotator_id": ["a"], "cohort": ["crowd"], "events": [30], "items": [30],
    ...     "shared_items": [30], "agree_pairs": [40], "other_pairs": [60], "loo_items": [30],
    ...     "loo_agree": [24], "gold_n": [0], "gold_correct": [0], "retest_n": [0], "retest_same": [0],
    ...     "first_at": [None], "last_at": [None]})
    >>> round(float(annotator_table(frame)["loo_agreement"].iloc[0]), 2)
    0.8
    """
    table = stats_frame.copy()
    if table.empty:
        return pd.DataFrame({column: [] for column in COLUMNS})
    loo_n, loo_x = table["loo_items"].to_numpy(float), table["loo_agree"].to_numpy(float)
    table["loo_agreement"] = success_rate(loo_x, loo_n)
    table["loo_low"], table["loo_high"] = wilson_interval(loo_x, loo_n, confidence=confidence)
    table["agreement_with_others"] = success_rate(table["agree_pairs"], table["other_pairs"])
    gold_n = table["gold_n"].to_numpy(float)
    table["gold_accuracy"] = success_rate(table["gold_correct"], gold_n)
    table["gold_low"], table["gold_high"] = wilson_interval(
        table["gold_correct"], gold_n, confidence=confidence
    )
    table["retest_consistency"] = success_rate(table["retest_same"], table["retest_n"])
    tested = loo_n >= min_items

    # below peers: each annotator against everyone else pooled
    rest_x, rest_n = loo_x.sum() - loo_x, loo_n.sum() - loo_n
    table["below_peers_q"] = bh_qvalues(one_sided_lower_p(loo_x, loo_n, rest_x, rest_n), tested, fdr)

    table["first_half"] = table["second_half"] = table["change"] = table["change_q"] = np.nan
    if halves is not None and not halves.empty:
        wide = halves.pivot_table(index="annotator_id", columns="grp", values=["loo_agree", "loo_items"],
                                  aggfunc="sum", fill_value=0)
        wide = wide.reindex(table["annotator_id"]).fillna(0)
        x0, n0 = _column(wide, "loo_agree", 0), _column(wide, "loo_items", 0)
        x1, n1 = _column(wide, "loo_agree", 1), _column(wide, "loo_items", 1)
        table["first_half"], table["second_half"] = success_rate(x0, n0), success_rate(x1, n1)
        table["change"] = table["second_half"] - table["first_half"]
        both = (n0 >= min_items / 2) & (n1 >= min_items / 2)
        table["change_q"] = bh_qvalues(one_sided_lower_p(x1, n1, x0, n0), both, fdr)

    pooled = loo_x.sum() / loo_n.sum() if loo_n.sum() else np.nan
    threshold = np.nan
    if label_shares is not None and len(label_shares):
        chance = float((label_shares.to_numpy(float) ** 2).sum())
        threshold = (chance + pooled) / 2
    table["ds_skill"] = (
        table["annotator_id"].map(skills).astype(float) if skills is not None else np.nan
    )
    flags = []
    for row in table.itertuples(index=False):
        found = []
        if row.loo_items >= min_items and row.loo_high < threshold:
            found.append("near chance")
        if row.below_peers_q < fdr:
            found.append("below peers")
        if row.change_q < fdr:
            found.append("declining")
        flags.append(found)
    table["flags"] = flags
    return table.sort_values(["loo_agreement", "annotator_id"], na_position="last").reset_index(drop=True)[
        list(COLUMNS)
    ]


def cohort_table(stats_frame: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Pooled reliability per cohort: ``cohort, annotators, items, loo_items, loo_agreement, loo_low,
    loo_high, gold_accuracy, gold_low, gold_high, gold_n``, least reliable first.

    ``items`` counts the cohort's ratings, ``loo_items`` those of an item with a leave-one-out majority
    (the rate's denominator). Pooling sums the annotators' counts, so a cohort's rate weighs each rating
    equally; the interval treats ratings as independent, which understates the spread between the cohort's
    annotators.
    """
    sums = stats_frame.groupby("cohort", sort=True).agg(
        annotators=("annotator_id", "count"), items=("items", "sum"), loo_agree=("loo_agree", "sum"),
        loo_items=("loo_items", "sum"), gold_correct=("gold_correct", "sum"), gold_n=("gold_n", "sum"),
    ).reset_index()
    sums["loo_agreement"] = success_rate(sums["loo_agree"], sums["loo_items"])
    sums["loo_low"], sums["loo_high"] = wilson_interval(sums["loo_agree"], sums["loo_items"],
                                                        confidence=confidence)
    sums["gold_accuracy"] = success_rate(sums["gold_correct"], sums["gold_n"])
    sums["gold_low"], sums["gold_high"] = wilson_interval(sums["gold_correct"], sums["gold_n"],
                                                          confidence=confidence)
    columns = ["cohort", "annotators", "items", "loo_items", "loo_agreement", "loo_low", "loo_high",
               "gold_accuracy", "gold_low", "gold_high", "gold_n"]
    return sums.sort_values("loo_agreement").reset_index(drop=True)[columns]


def _column(wide: pd.DataFrame, value: str, group: int) -> np.ndarray:
    return wide[(value, group)].to_numpy(float) if (value, group) in wide.columns else np.zeros(len(wide))


