"""Inter-annotator agreement: chance-corrected coefficients, their intervals, and the Agreement page's report.

- ``coefficients``: percent agreement, Fleiss' kappa, Gwet's AC1, Krippendorff's alpha from events, and the
  label pairs annotators confuse (the front door re-exported here).
- ``estimates``: the same coefficients from label-count tables, with bootstrap (BCa, percentile) intervals
  over items (``AgreementEstimate``).
- ``two_way``: intervals over items *and* annotators (a panel drawn from a larger pool).
- ``cohen``: Cohen's kappa for pairs of annotators, weighted and unweighted.
- ``report``: the Agreement page's service: headline, tables per period and group, annotators (the verdict
  in words is ``analytics.narrative.agreement``).
"""

from analytics.agreement.coefficients import (
    INTERVALS,
    LEVELS,
    METRICS,
    WEIGHTS,
    AgreementEstimate,
    agreement_estimates,
    agreement_estimates_two_way,
    cohens_kappa,
    cohens_kappa_estimate,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    gwet_ac1,
    gwet_ac1_from_counts,
    krippendorff_alpha,
    krippendorff_alpha_from_counts,
    label_confusion,
    label_confusion_from_counts,
    label_counts,
    latest_ratings,
    pairwise_kappa,
    percent_agreement,
    percent_agreement_from_counts,
)

__all__ = [
    "INTERVALS",
    "LEVELS",
    "METRICS",
    "WEIGHTS",
    "AgreementEstimate",
    "agreement_estimates",
    "agreement_estimates_two_way",
    "cohens_kappa",
    "cohens_kappa_estimate",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "gwet_ac1",
    "gwet_ac1_from_counts",
    "krippendorff_alpha",
    "krippendorff_alpha_from_counts",
    "label_confusion",
    "label_confusion_from_counts",
    "label_counts",
    "latest_ratings",
    "pairwise_kappa",
    "percent_agreement",
    "percent_agreement_from_counts",
]
