"""Combining the signals: the model and the neighbourhood join the annotators as two more annotators of one
Dawid–Skene fit (``MODEL_ANNOTATOR``, ``NEIGHBOUR_ANNOTATOR``); from its posterior come the suspect score
(log10 odds against the given label, ``suspect_scores``), the suggested label (``suggestion_scores``) and
the evidence in words (``explain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from analytics.detection.model import _check_labels

if TYPE_CHECKING:
    from analytics.consensus.dawid_skene import DawidSkene



#: The pseudo-annotators that carry the model's and the neighbourhood's opinion into Dawid–Skene (ids no
#: real annotator can have: the store trims ids and these start with a parenthesis).
MODEL_ANNOTATOR = "(model)"
NEIGHBOUR_ANNOTATOR = "(neighbours)"


_LN10 = np.log(10.0)


def has_consensus(votes: np.ndarray) -> np.ndarray:
    """Whether each row of an (N, K) vote matrix has a consensus: its most voted label holds a strict
    majority of its ratings (more than half).

    Examples
    --------
    >>> has_consensus(np.array([[2, 1, 0], [2, 2, 0], [1, 1, 1], [3, 1, 1], [1, 0, 0]])).tolist()
    [True, False, False, True, True]
    """
    votes = np.asarray(votes)
    return 2 * votes.max(axis=1, initial=0) > votes.sum(axis=1)


def log_posterior(fit: DawidSkene, item_codes: ArrayLike, annotator_codes: ArrayLike, label_codes: ArrayLike,
                  n_items: int) -> np.ndarray:
    """Normalised log-posteriors log P(true class | ratings) of a fitted ``DawidSkene``, in float64.

    Parameters
    ----------
    fit : analytics.consensus.dawid_skene.DawidSkene
        Fitted with ``fit_codes`` on these codes.
    item_codes, annotator_codes, label_codes : array-like of int, shape (R,)
        The ratings it was fitted on.
    n_items : int
        N.

    Returns
    -------
    ndarray of shape (N, K)
        log rho_k + sum over the item's ratings of log pi_j[k, l], normalised so each row's exponentials
        sum to 1. Unlike ``fit.probas_`` (float32 on large fits) it keeps its precision where a
        probability rounds to 0 or 1, which the suspect score needs: its odds run to 10^-30 and beyond.
        A fit that fell back to majority vote (``fit.fallback_``) gives the log of its ``probas_``.
    """
    from scipy.special import logsumexp

    if fit.fallback_ is not None:
        logs = np.log(np.clip(fit.probas_.to_numpy(dtype=float), 1e-300, None))
    else:
        item = np.asarray(item_codes, dtype=np.int64)
        annotator = np.asarray(annotator_codes, dtype=np.int64)
        label = np.asarray(label_codes, dtype=np.int64)
        log_pi = np.log(np.clip(np.asarray(fit.confusions_, dtype=float), 1e-300, None))
        log_rho = np.log(np.clip(fit.priors_.to_numpy(dtype=float), 1e-300, None))
        logs = np.empty((n_items, len(log_rho)))
        for k, prior in enumerate(log_rho):
            logs[:, k] = prior + np.bincount(item, weights=log_pi[annotator, k, label], minlength=n_items)
    return logs - logsumexp(logs, axis=1, keepdims=True)


def suspect_scores(labels: ArrayLike, log_posterior: np.ndarray, *, rule_hits: ArrayLike | None = None,
                   rule_weight: float = 0.5) -> np.ndarray:
    """Suspect score per item: the log10 odds against its given label under the combined evidence.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Given label codes.
    log_posterior : array-like of shape (N, K)
        log P(true class | evidence), rows normalised (``log_posterior``).
    rule_hits : array-like of int, shape (N,), optional
        Rules each item breaks.
    rule_weight : float
        Each hit multiplies the chance that the label is right by (1 − rule_weight).

    Returns
    -------
    ndarray of shape (N,)
        log10((1 − r) / r) with r = (1 − rule_weight)^hits · P(true = given): 0 when the evidence is
        even, +1 when it makes the given label ten times less likely to be right than wrong, −1 when ten
        times more. Computed in logs, so it keeps ranking where the probability has rounded to 1 (a
        saturated probability ties every strong case at the top).

    Notes
    -----
    The posterior treats its sources (ratings, model, neighbours) as independent given the true class,
    as Dawid–Skene does; real sources are correlated, so the odds overstate the certainty. Read the score
    as a ranking of evidence strength, and a run's precision on gold items as how often a flag is right.

    Examples
    --------
    >>> suspect_scores([0, 1], np.log([[0.9, 0.1], [0.6, 0.4]]), rule_hits=[1, 0]).round(3).tolist()
    [0.087, 0.176]
    """
    from scipy.special import logsumexp

    logs = np.asarray(log_posterior, dtype=float)
    labels = _check_labels(labels, len(logs), logs.shape[1])
    at = np.arange(len(labels))
    right = logs[at, labels]
    others = logs.copy()
    others[at, labels] = -np.inf
    wrong = logsumexp(others, axis=1) if logs.shape[1] > 1 else np.full(len(labels), -np.inf)
    if rule_hits is not None:
        hits = np.asarray(rule_hits, dtype=float)
        kept = hits * np.log1p(-rule_weight) if rule_weight < 1 else np.where(hits > 0, -np.inf, 0.0)
        # 1 − r·f = (1 − r) + r·(1 − f): the mass the rules move off the given label joins the rest
        with np.errstate(divide="ignore"):
            moved = right + np.log(-np.expm1(kept))
        wrong = np.logaddexp(wrong, moved)
        right = right + kept
    with np.errstate(invalid="ignore"):
        return (wrong - right) / _LN10


def suggestion_scores(log_posterior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items without a given label: the most probable class and the log10 odds in its favour.

    Parameters
    ----------
    log_posterior : array-like of shape (N, K)
        Normalised log-posteriors.

    Returns
    -------
    (ndarray of int, ndarray of float)
        The class codes, and log10(P(class) / (1 − P(class))): 0 when the evidence is split evenly
        between it and the rest, +2 when it is a hundred times more likely than all others together.

    Examples
    --------
    >>> codes, odds = suggestion_scores(np.log([[0.2, 0.8], [0.5, 0.5]]))
    >>> codes.tolist(), odds.round(3).tolist()
    ([1, 0], [0.602, 0.0])
    """
    logs = np.asarray(log_posterior, dtype=float)
    best = logs.argmax(axis=1)
    # the odds against the best class, turned round (0.0 − x: an even split reads 0, never −0)
    return best, 0.0 - suspect_scores(best, logs)


def explain(*, classes: Sequence, given: int | None, suggested: int, votes: np.ndarray | None = None,
            annotator_prob: float | None = None, model_prob: float | None = None,
            neighbour_counts: np.ndarray | None = None, rules: Sequence[str] = ()) -> str:
    """One item's evidence in words, e.g. "model: 0.93 for '7'; 3 of 4 annotators said '1'; …".

    Parameters
    ----------
    classes : sequence
        Class names by code.
    given : int or None
        Code of the given label; None when the item's annotators reach no consensus (the votes are then
        listed, most voted first).
    suggested : int
        Code of the suggested label.
    votes : ndarray of shape (K,), optional
        The item's ratings per class.
    annotator_prob : float, optional
        Dawid–Skene's posterior of the suggested label.
    model_prob : float, optional
        The model's probability of the suggested label.
    neighbour_counts : ndarray of shape (K,), optional
        Labels among the item's nearest neighbours.
    rules : sequence of str
        Ids of the rules the item breaks.

    Examples
    --------
    >>> explain(classes=["1", "7"], given=0, suggested=1, votes=np.array([3, 1]), model_prob=0.93,
    ...         neighbour_counts=np.array([0, 5]), rules=["R3"])
    "model: 0.93 for '7'; 3 of 4 annotators said '1', 1 said '7'; 5 of 5 nearest neighbours are '7'; rule R3"
    >>> explain(classes=["1", "7", "9"], given=None, suggested=1, votes=np.array([2, 2, 1]))
    "no majority among 5 annotators: '1' ×2, '7' ×2, '9' ×1"
    """
    def row(values: np.ndarray | None) -> np.ndarray:  # an item's K counts as a 1 × K table; none are zeros
        return np.zeros((1, len(classes))) if values is None else np.asarray(values, dtype=float)[None, :]

    return str(_explanations(
        classes, np.array([-1 if given is None else given]), np.array([suggested]), votes=row(votes),
        annotator_prob=np.array([np.nan if annotator_prob is None else annotator_prob]),
        model_prob=np.array([np.nan if model_prob is None else model_prob]),
        neighbour_counts=row(neighbour_counts), rules=[list(rules)])[0])


def _explanations(classes: Sequence[object] | np.ndarray, given: np.ndarray, suggested: np.ndarray, *,
                  votes: np.ndarray, annotator_prob: np.ndarray, model_prob: np.ndarray,
                  neighbour_counts: np.ndarray, rules: list[list[str]]) -> np.ndarray:
    """``explain`` for every item at once, built column-wise (NaN probabilities leave their part out; a
    given code of −1 means no consensus, and the votes are listed instead)."""
    at = np.arange(len(given))
    name = np.array([str(c) for c in classes], dtype=object)
    agreed = given >= 0
    said, suggestion = "'" + name[np.where(agreed, given, 0)] + "'", "'" + name[suggested] + "'"

    def number(values: np.ndarray, fmt: str) -> np.ndarray:
        return np.char.mod(fmt, values).astype(object)

    def when(condition: np.ndarray, text: np.ndarray) -> np.ndarray:
        return np.where(condition, text, "")

    def joined(parts: list[np.ndarray], sep: str) -> np.ndarray:
        text = np.full(len(given), "", dtype=object)
        for part in parts:
            text = np.where(text == "", part, np.where(part == "", text, text + sep + part))
        return text

    model = when(~np.isnan(model_prob),
                 "model: " + number(np.nan_to_num(model_prob), "%.2f") + " for " + suggestion)
    n_votes = votes.sum(axis=1)
    other = votes[at, suggested]
    majority = (number(votes[at, np.where(agreed, given, 0)], "%d") + " of " + number(n_votes, "%d")
                + " annotators said " + said
                + when(other > 0, ", " + number(other, "%d") + " said " + suggestion))
    shown = min(4, votes.shape[1])
    order = np.argsort(-votes, axis=1, kind="stable")[:, :shown]
    counts = np.take_along_axis(votes, order, axis=1)
    listed = joined([when(counts[:, j] > 0, "'" + name[order[:, j]] + "' ×" + number(counts[:, j], "%d"))
                     for j in range(shown)], ", ")
    rest = (votes > 0).sum(axis=1) - (counts > 0).sum(axis=1)
    split = ("no majority among " + number(n_votes, "%d") + " annotators: " + listed
             + when(rest > 0, " and " + number(rest, "%d") + " more"))
    crowd = when(n_votes > 0, np.where(agreed, majority, split)
                 + when(~np.isnan(annotator_prob), " (weighted by reliability: "
                        + number(np.nan_to_num(annotator_prob), "%.2f") + " for " + suggestion + ")"))
    near = neighbour_counts.sum(axis=1)
    neighbours = when(near > 0, number(neighbour_counts[at, suggested], "%d") + " of " + number(near, "%d")
                      + " nearest neighbours are " + suggestion)
    broken = np.array(["; ".join("rule " + r for r in hit) for hit in rules], dtype=object)
    return joined([model, crowd, neighbours, broken], "; ")
