"""Consensus labels from many annotators: majority vote and Dawid–Skene, with memory limits.
"""

from analytics.consensus.dawid_skene import (
    ChanceCheck,
    DawidSkene,
    chance_check,
    majority_vote,
)

__all__ = [
    "majority_vote",
    "DawidSkene",
    "ChanceCheck",
    "chance_check",
]
