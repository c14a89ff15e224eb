"""Suspected mislabels: a model's second opinion, neighbours and votes combined into a score, the run that
stores them, and the clusters a user drills into.

- ``model``: the model's out-of-fold second opinion and confident learning.
- ``neighbours``: nearest neighbours in feature space and their votes.
- ``combine``: the signals combined in one Dawid–Skene fit: suspect score, suggestion, evidence in words.
- ``run``: one detection run over every item, with each item's status.
- ``clusters``: groups of suspects that share a pattern (given label, suggestion, slice).
- ``suspects``: the service that runs detection on the store and reads it back for the Suspects page.
"""

from analytics.core.schema import HOLDS, MISLABELED, NO_CONSENSUS, STATUSES
from analytics.detection.combine import (
    MODEL_ANNOTATOR,
    NEIGHBOUR_ANNOTATOR,
    explain,
    has_consensus,
    log_posterior,
    suggestion_scores,
    suspect_scores,
)
from analytics.detection.model import (
    FILTER_BY,
    MIN_MODEL_KAPPA,
    ModelOpinion,
    assess_model,
    find_label_issues,
    out_of_fold_probabilities,
)
from analytics.detection.neighbours import (
    EXACT_NEIGHBOURS_BELOW,
    Neighbours,
    nearest_neighbours,
    neighbour_votes,
)
from analytics.detection.run import Detection, majority_codes, ranking_quality, score_items

__all__ = [
    "FILTER_BY",
    "MIN_MODEL_KAPPA",
    "EXACT_NEIGHBOURS_BELOW",
    "MODEL_ANNOTATOR",
    "NEIGHBOUR_ANNOTATOR",
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
