"""Inter-annotator agreement of label events: percent agreement, Cohen's, Fleiss', Krippendorff's and Gwet's
coefficients, and the label pairs annotators confuse.

Input is long-format label events, a DataFrame with columns ``item_id, annotator_id, label`` (plus optional
``labeled_at``); each annotator counts once per item, with their latest label (``latest_ratings``, documented
in ``analytics.core.ratings``). This module is the front door: everything the Agreement page and the CLI need.

- Many annotators per item (percent agreement, Fleiss' kappa, Gwet's AC1, Krippendorff's alpha) need only how
  many annotators gave each label to each item: events become the label-count table of ``label_counts`` and go
  to ``analytics.agreement.estimates``, which takes the store's SQL-aggregated count tables just the same (the
  ``*_from_counts`` functions) and adds confidence intervals (``agreement_estimates``).
- Two annotators (Cohen's kappa, ``pairwise_kappa``) need who said what: ``analytics.agreement.cohen``.
- Intervals over items *and* annotators (a panel drawn from a larger pool) need who said what too:
  ``analytics.agreement.two_way.agreement_estimates_two_way``, re-exported here.

No path builds an items × annotators matrix.

Glossary: N items, M annotators, K labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.agreement.cohen import WEIGHTS, cohens_kappa, cohens_kappa_estimate, pairwise_kappa
from analytics.agreement.estimates import (
    INTERVALS,
    METRICS,
    AgreementEstimate,
    agreement_estimates,
    fleiss_kappa_from_counts,
    gwet_ac1_from_counts,
    krippendorff_alpha_from_counts,
    percent_agreement_from_counts,
)
from analytics.agreement.two_way import agreement_estimates_two_way
from analytics.core.ratings import LEVELS, label_counts, label_patterns, latest_ratings

__all__ = [
    "INTERVALS", "LEVELS", "METRICS", "WEIGHTS", "AgreementEstimate", "agreement_estimates",
    "agreement_estimates_two_way", "cohens_kappa",
    "cohens_kappa_estimate", "fleiss_kappa", "fleiss_kappa_from_counts", "gwet_ac1", "gwet_ac1_from_counts",
    "krippendorff_alpha", "krippendorff_alpha_from_counts", "label_confusion", "label_confusion_from_counts",
    "label_counts", "latest_ratings", "pairwise_kappa", "percent_agreement", "percent_agreement_from_counts",
]


def percent_agreement(events: pd.DataFrame) -> float:
    """Raw percent agreement: the share of agreeing pairs of ratings of the same item, averaged over items.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)

    Returns
    -------
    float
        In [0, 1]; nan when no item has two or more ratings.

    Notes
    -----
    P = mean over items i with m_i ≥ 2 ratings of P_i = Σ_k n_ik (n_ik − 1) / (m_i (m_i − 1)), with n_ik the
    annotators who gave label k to item i. Items with a single rating have no pair and are left out. Not
    chance-corrected: two annotators guessing among K balanced labels agree 1/K of the time. It is the
    observed agreement p_a of Fleiss' kappa and Gwet's AC1 below.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5),
    378–382.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2], "annotator_id": ["a", "b", "a", "b"],
    ...                        "label": ["x", "x", "x", "y"]})
    >>> percent_agreement(events)
    0.5
    """
    return percent_agreement_from_counts(label_counts(events))


def fleiss_kappa(events: pd.DataFrame) -> float:
    """Fleiss' kappa for any number of annotators per item, unequal numbers allowed.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)

    Returns
    -------
    float
        κ ≤ 1; nan when chance agreement is 1 (every rating has the same label: nothing to correct for, and
        0/0 is not perfect agreement) or no item has two ratings.

    Notes
    -----
    κ = (p_a − p_e) / (1 − p_e), with p_a the percent agreement over items with m_i ≥ 2 ratings (see
    ``percent_agreement``) and p_e = Σ_k π_k², π_k = (1/N) Σ_i n_ik / m_i over all N rated items. This is the
    generalisation to unequal numbers of ratings of Gwet (2014), as R's irrCAC ``fleiss.kappa.raw``: each
    item's agreement P_i counts equally, and items rated once still enter the label shares π_k, so no rating
    is dropped. With the same number of ratings for every item it is exactly Fleiss' (1971) kappa (and
    statsmodels' ``fleiss_kappa``). Other generalisations, such as that of Fleiss, Levin & Paik (2003,
    ch. 18), weight items by their number of ratings; all agree when that number is constant. The annotators
    may differ from item to item.

    Read it like Cohen's kappa: 0 is chance-level agreement, 1 perfect; Landis & Koch's bands
    (0.41–0.60 moderate, 0.61–0.80 substantial, > 0.80 almost perfect) are conventions.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters. Psychological Bulletin 76(5),
    378–382.
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.
    Fleiss, J. L., Levin, B. & Paik, M. C. (2003). Statistical Methods for Rates and Proportions, 3rd ed.
    Wiley, ch. 18.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": ["x", "x", "y", "y", "x", "y"]})
    >>> round(fleiss_kappa(events), 4)
    0.3333
    """
    return fleiss_kappa_from_counts(label_counts(events))


def gwet_ac1(events: pd.DataFrame, *, n_categories: int | None = None) -> float:
    """Gwet's AC1 for any number of annotators per item, missing ratings allowed.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)
    n_categories : int, optional
        K, the number of labels annotators could choose from; defaults to the labels observed. Pass the
        vocabulary size when some labels were never used (AC1 depends on K).

    Returns
    -------
    float
        AC1 ≤ 1; nan with fewer than two categories or no item with two ratings.

    Notes
    -----
    AC1 = (p_a − p_e) / (1 − p_e), with p_a as in ``fleiss_kappa`` and p_e = Σ_k π_k (1 − π_k) / (K − 1),
    π_k = (1/N) Σ_i n_ik / m_i over the N rated items (Gwet 2008, multiple raters; Gwet 2014 with missing
    ratings). Chance agreement is largest when labels are balanced and small when one label dominates, so AC1
    does not collapse as kappa does when agreement is high on a rare-positive task (the "kappa paradox").

    References
    ----------
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high agreement.
    British Journal of Mathematical and Statistical Psychology 61, 29–48.
    Gwet, K. L. (2014). Handbook of Inter-Rater Reliability, 4th ed. Advanced Analytics.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": ["x", "x", "y", "y", "x", "y"]})
    >>> round(gwet_ac1(events), 4)
    0.3333
    """
    return gwet_ac1_from_counts(label_counts(events), n_categories=n_categories)


def krippendorff_alpha(events: pd.DataFrame, *, level: str, order: Sequence | None = None) -> float:
    """Krippendorff's alpha at a level of measurement, missing ratings allowed.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)
    level : {'nominal', 'ordinal', 'interval', 'ratio'}
        Required. Ordinal and interval need numeric labels or ``order``; ratio needs numbers ≥ 0.
    order : sequence, optional
        Labels from lowest to highest (ordinal and interval); interval then scores them 1, 2, …, len(order).
        Ignored at the nominal level.

    Returns
    -------
    float
        α ≤ 1; nan when the pairable ratings hold a single value (no disagreement is possible: 0/0).

    Notes
    -----
    α = 1 − D_o / D_e = 1 − (n − 1) Σ_ck o_ck δ²_ck / Σ_ck n_c n_k δ²_ck, from the coincidence matrix
    o_ck = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1) over items u with m_u ≥ 2 ratings (the others are not
    pairable and are left out), n_c = Σ_k o_ck, n = Σ_c n_c. Differences δ²: nominal [c ≠ k]; ordinal
    (Σ_{g=c..k} n_g − (n_c + n_k)/2)² on ranks; interval (c − k)²; ratio ((c − k)/(c + k))².

    Read α ≥ 0.800 as reliable and 0.667 ≤ α < 0.800 as allowing tentative conclusions only (Krippendorff
    2004, ch. 11); α = 0 is chance level, α < 0 systematic disagreement.

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability. Annenberg School for Communication,
    University of Pennsylvania, Departmental Papers 43.
    Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology, 2nd ed. Sage, ch. 11.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": [1, 1, 2, 2, 3, 2]})
    >>> round(krippendorff_alpha(events, level="interval"), 4)
    0.7059
    """
    return krippendorff_alpha_from_counts(label_counts(events), level=level, order=order)


def label_confusion(counts_or_events: pd.DataFrame) -> pd.DataFrame:
    """Which labels different annotators give to the same item, against what chance would give.

    Parameters
    ----------
    counts_or_events : DataFrame
        Label events (``item_id, annotator_id, label``) or a label-count table (``item_id, label, n``).

    Returns
    -------
    DataFrame with columns ``label_a, label_b, pairs, expected, lift, items``
        One row per ordered pair of labels that occur in items with 2+ ratings (both directions, diagonal
        included). ``pairs`` is Krippendorff's coincidence o_ab; ``expected`` the coincidence expected by
        chance from the label margins, n_a (n_b − [a = b]) / (n − 1); ``lift`` = pairs / expected; ``items``
        the number of items where a and b were both given (for a = b, by two or more annotators).

    Notes
    -----
    Each pairable rating contributes one unit spread over its m_u − 1 partners, so an item rated twice adds
    1 to o_ab and 1 to o_ba, and items with many ratings do not dominate. Off the diagonal, lift > 1 marks
    labels confused more than their frequencies explain (a systematic confusion such as 1 ↔ 7), lift < 1
    labels annotators keep apart; on the diagonal it is agreement beyond chance per label.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": ["1", "7", "7", "1", "4", "4"]})
    >>> table = label_confusion(events)
    >>> table.loc[(table.label_a == "1") & (table.label_b == "7"), ["pairs", "items"]].to_numpy().tolist()
    [[2.0, 2.0]]

    References
    ----------
    Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability (coincidence and expected
    coincidence matrices).
    """
    if "annotator_id" in counts_or_events.columns:
        return label_confusion_from_counts(label_counts(counts_or_events))
    return label_confusion_from_counts(counts_or_events)


#: Up to this many labels in use, ``label_confusion`` lists every pair of them (zeros included); beyond,
#: only the pairs that occur, so a store of thousands of labels never builds a K × K table.
FULL_GRID_LABELS = 200


def label_confusion_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """``label_confusion`` of a label-count table (``item_id, label, n``).

    Counted per occurring pair of labels (O(pairs), no K × K matrix); with more than ``FULL_GRID_LABELS``
    labels in use the pairs that never occur are left out.
    """
    pt = label_patterns(counts)
    columns = ["label_a", "label_b", "pairs", "expected", "lift", "items"]
    m = pt.ratings
    pattern, c, k, n_c, n_k = pt.label_pairs()
    keep = m[pattern] >= 2
    pattern, c, k, n_c, n_k = pattern[keep], c[keep], k[keep], n_c[keep], n_k[keep]
    ordered = n_c * n_k - np.where(c == k, n_c, 0.0)
    weight = pt.weight[pattern]
    coincidence = weight * ordered / np.maximum(m[pattern] - 1, 1)
    marginals = np.bincount(c, weights=coincidence, minlength=pt.n_labels)
    used = np.flatnonzero(marginals > 0)
    if used.size == 0:
        return pd.DataFrame({name: pd.Series(dtype=float) for name in columns})
    cells, at = np.unique(c.astype(np.int64) * pt.n_labels + k, return_inverse=True)
    pairs = np.bincount(at, weights=coincidence, minlength=cells.size)
    items = np.bincount(at, weights=weight * (ordered > 0), minlength=cells.size)
    a, b = np.divmod(cells, pt.n_labels)
    occurring = pairs > 0
    a, b, pairs, items = a[occurring], b[occurring], pairs[occurring], items[occurring]
    if used.size <= FULL_GRID_LABELS:
        grid_a, grid_b = (x.ravel() for x in np.meshgrid(used, used, indexing="ij"))
        found = pd.Series(np.arange(a.size), index=a * pt.n_labels + b)
        row = found.reindex(grid_a * pt.n_labels + grid_b).to_numpy()
        hit = ~np.isnan(row)
        full_pairs, full_items = np.zeros(grid_a.size), np.zeros(grid_a.size)
        full_pairs[hit], full_items[hit] = pairs[row[hit].astype(np.int64)], items[row[hit].astype(np.int64)]
        a, b, pairs, items = grid_a, grid_b, full_pairs, full_items
    total = marginals.sum()
    expected = (marginals[a] * marginals[b] - np.where(a == b, marginals[a], 0.0)) / (total - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = pairs / expected
    return pd.DataFrame({
        "label_a": pt.labels[a], "label_b": pt.labels[b], "pairs": pairs, "expected": expected,
        "lift": lift, "items": items.astype(np.int64),
    })




