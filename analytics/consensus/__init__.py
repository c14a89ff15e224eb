"""Consensus labels from many annotators, with the limits that keep a model inside memory.

- ``coding``: events as integer-coded ratings, and the rule for repeated ratings.
- ``majority``: majority vote (``majority_vote``, ``MajorityVote``) with a deterministic tie rule.
- ``dawid_skene``: the Dawid–Skene model fitted by EM (``DawidSkene``).
- ``chance``: whether the crowd agrees beyond chance without its most-agreeing annotator.
- ``limits``: how much memory and how many confusion cells a model may plan for (``check_model_size``).

``MajorityVote`` and ``DawidSkene`` follow scikit-learn's estimator contract (``get_params``,
``set_params``, ``clone``).
"""

from analytics.consensus.chance import ChanceCheck, chance_check
from analytics.consensus.dawid_skene import DawidSkene
from analytics.consensus.limits import TooManyClasses, check_model_size
from analytics.consensus.majority import MajorityVote, majority_vote

__all__ = ["ChanceCheck", "DawidSkene", "MajorityVote", "TooManyClasses", "chance_check", "check_model_size",
           "majority_vote"]
