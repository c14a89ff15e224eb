"""Suspected mislabels: a model's second opinion, neighbours and votes combined into a score, the run that
stores them, and the clusters a user drills into.

- ``signals``: out-of-fold model probabilities, neighbour votes, consensus and the suspect score.
- ``clusters``: groups of suspects that share a pattern (given label, suggestion, slice).
- ``suspects``: the service that runs detection on the store and reads it back for the Suspects page.
"""

from analytics.detection.signals import (
    FILTER_BY,
    HOLDS,
    MISLABELED,
    NO_CONSENSUS,
    STATUSES,
    Detection,
    ModelOpinion,
    Neighbours,
    assess_model,
    explain,
    find_label_issues,
    has_consensus,
    log_posterior,
    majority_codes,
    nearest_neighbours,
    neighbour_votes,
    out_of_fold_probabilities,
    ranking_quality,
    score_items,
    suggestion_scores,
    suspect_scores,
)

__all__ = [
    "FILTER_BY",
    "ModelOpinion",
    "Neighbours",
    "Detection",
    "out_of_fold_probabilities",
    "assess_model",
    "find_label_issues",
    "nearest_neighbours",
    "neighbour_votes",
    "majority_codes",
    "has_consensus",
    "log_posterior",
    "suspect_scores",
    "suggestion_scores",
    "explain",
    "score_items",
    "ranking_quality",
    "MISLABELED",
    "NO_CONSENSUS",
    "HOLDS",
    "STATUSES",
]
