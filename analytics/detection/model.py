"""The model's second opinion: out-of-fold predicted probabilities from the items' features (a standardised
logistic regression, stratified K-fold so row i is never fitted on item i's own label), an imported model's
probabilities assessed against the given labels (accuracy, Cohen's κ, log loss; too weak below
``MIN_MODEL_KAPPA``), and cleanlab's confident learning on them (``find_label_issues``).

Glossary (cleanlab's): N items, K classes; ``labels`` (N,) integer codes 0 … K − 1 of the given labels;
``pred_probs`` (N, K) out-of-sample probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

#: cleanlab's ``filter_by`` methods that ``find_label_issues`` accepts.
FILTER_BY = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given",
             "low_normalized_margin", "low_self_confidence")

#: A model whose out-of-fold predictions agree with the given labels less than this (Cohen's κ, chance
#: corrected) is too weak to be a useful second opinion: κ < 0.2 is "slight" agreement (Landis & Koch).
MIN_MODEL_KAPPA = 0.2

_EPS = 1e-6




@dataclasses.dataclass(frozen=True)
class ModelOpinion:
    """Out-of-sample class probabilities of a model, and how good a second opinion they are.

    Attributes
    ----------
    pred_probs : ndarray of shape (N, K)
        Rows sum to 1; row i never saw item i's label.
    source : str
        ``"cross-validated"`` (fitted here) or ``"imported"`` (the user's own model).
    model : str
        What produced them (the pipeline, or the imported ``model_version``).
    n_splits, random_state : int or None
        The cross-validation, for a cross-validated model.
    accuracy : float
        Share of items whose most probable class is the given label.
    baseline_accuracy : float
        The same for always guessing the most common given label.
    kappa : float
        Cohen's κ between the model's most probable class and the given labels.
    log_loss : float
        Mean −log pred_probs[i, labels[i]].
    too_weak : bool
        κ < ``MIN_MODEL_KAPPA``: the model's opinion should not be trusted.
    verdict : str
        The above in one sentence.
    """

    pred_probs: np.ndarray
    source: str
    model: str
    n_splits: int | None
    random_state: int | None
    accuracy: float
    baseline_accuracy: float
    kappa: float
    log_loss: float
    too_weak: bool
    verdict: str

    def provenance(self) -> dict:
        """Everything but the probabilities, for a detection run's stored parameters."""
        fields = dataclasses.asdict(self)
        fields.pop("pred_probs")
        return fields


def _check_labels(labels: ArrayLike, n: int | None = None, n_classes: int | None = None) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be a 1-D array of integer class codes 0 … K − 1")
    if n is not None and len(labels) != n:
        raise ValueError(f"labels has {len(labels)} rows, expected {n}")
    if labels.size and (labels.min() < 0 or (n_classes is not None and labels.max() >= n_classes)):
        top = "K − 1" if n_classes is None else n_classes - 1
        raise ValueError(f"labels must be class codes in 0 … {top}")
    return labels


def _check_pred_probs(pred_probs: ArrayLike, n: int) -> np.ndarray:
    p = np.asarray(pred_probs, dtype=float)
    if p.ndim != 2 or p.shape[0] != n:
        raise ValueError(f"pred_probs must have shape (N, K) with N = {n}, got {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("pred_probs must be finite and non-negative")
    return p


def assess_model(pred_probs: ArrayLike, labels: ArrayLike, *, source: str = "imported", model: str = "",
                 n_splits: int | None = None, random_state: int | None = None,
                 min_kappa: float = MIN_MODEL_KAPPA) -> ModelOpinion:
    """Wrap out-of-sample probabilities with their quality against the given labels.

    Parameters
    ----------
    pred_probs : array-like of shape (N, K)
        Probabilities; rows are clipped to [0, 1] and renormalised (exported probabilities often sum to
        1 ± 1e-5).
    labels : array-like of int, shape (N,)
        Given label codes.
    source, model, n_splits, random_state
        Provenance, stored with a detection run.
    min_kappa : float
        The κ below which the model is reported as too weak.

    Returns
    -------
    ModelOpinion

    Examples
    --------
    >>> opinion = assess_model([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]], [0, 1, 1], model="mine")
    >>> round(opinion.accuracy, 3), opinion.too_weak
    (0.667, False)
    """
    labels = _check_labels(labels)
    p = np.clip(_check_pred_probs(pred_probs, len(labels)), 0, 1)
    total = p.sum(axis=1, keepdims=True)
    p = np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)
    k = p.shape[1]
    predicted = p.argmax(axis=1)
    accuracy = float(np.mean(predicted == labels)) if len(labels) else float("nan")
    shares = np.bincount(labels, minlength=k) / max(len(labels), 1)
    baseline = float(shares.max()) if len(labels) else float("nan")
    chance = float(shares @ (np.bincount(predicted, minlength=k) / max(len(labels), 1)))
    kappa = (accuracy - chance) / (1 - chance) if chance < 1 else float("nan")
    log_loss = float(-np.mean(np.log(np.maximum(p[np.arange(len(labels)), labels], _EPS))))
    too_weak = not kappa >= min_kappa
    verdict = (
        f"The model agrees with the given labels on {accuracy:.1%} of items (always guessing the most common "
        f"label: {baseline:.1%}; Cohen's κ = {kappa:.2f}): "
        + ("too weak to be a useful second opinion." if too_weak else "a useful second opinion.")
    )
    return ModelOpinion(p, source, model, n_splits, random_state, accuracy, baseline, float(kappa), log_loss,
                        too_weak, verdict)


def out_of_fold_probabilities(features: ArrayLike, labels: ArrayLike, *, n_classes: int | None = None,
                              n_splits: int = 5,
                              random_state: int = 0, C: float = 1.0,
                              progress: Callable[[float, str], None] | None = None) -> ModelOpinion:
    """Cross-validated class probabilities from the items' features: the model's second opinion.

    Parameters
    ----------
    features : array-like of shape (N, d)
        Numeric features per item (missing values are not allowed).
    labels : array-like of int, shape (N,)
        Given label codes 0 … K − 1, the training targets.
    n_classes : int, optional
        K; defaults to ``labels.max() + 1``.
    n_splits : int
        Folds of the stratified k-fold (≥ 2); lowered to the size of the rarest class when that is smaller.
    random_state : int
        Seed of the fold assignment.
    C : float
        Inverse regularisation strength of the logistic regression.
    progress : callable, optional
        Called as ``progress(fraction_done, message)`` after each fold.

    Returns
    -------
    ModelOpinion
        ``source="cross-validated"``.

    Notes
    -----
    The pipeline is ``StandardScaler`` → multinomial ``LogisticRegression`` (scikit-learn), fitted k
    times, each time on k − 1 folds, predicting the held-out fold: every row of ``pred_probs`` comes from
    a model that never saw that item's label, as confident learning requires (Northcutt et al. 2021). A
    class missing from a fold's training part gets probability 0 there before the rows are smoothed by
    1e-6 and renormalised. Linear and fast (about 1 s per fold for 10⁵ items × 64 features); a richer
    model can be imported as predictions instead.

    References
    ----------
    C. Northcutt, L. Jiang, I. Chuang (2021), "Confident Learning: Estimating Uncertainty in Dataset
    Labels", JAIR 70:1373–1411.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> x, y = load_digits(return_X_y=True)
    >>> opinion = out_of_fold_probabilities(x, y, random_state=0)
    >>> opinion.pred_probs.shape, opinion.accuracy > 0.9
    ((1797, 10), True)
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(features, dtype=float)
    labels = _check_labels(labels, len(x) if x.ndim == 2 else None, n_classes)
    if x.ndim != 2:
        raise ValueError(f"features must have shape (N, d), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features must be finite (no missing values)")
    k = int(n_classes if n_classes is not None else labels.max() + 1)
    present = np.bincount(labels, minlength=k)
    splits = int(min(n_splits, present[present > 0].min()))
    if splits < 2:
        raise ValueError("every class needs at least 2 items for cross-validation")
    pred_probs = np.zeros((len(x), k))
    folds = StratifiedKFold(n_splits=splits, shuffle=True, random_state=random_state)
    for fold, (train, test) in enumerate(folds.split(x, labels), start=1):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))
        model.fit(x[train], labels[train])
        pred_probs[np.ix_(test, model.classes_)] = model.predict_proba(x[test])
        if progress is not None:
            progress(fold / splits, f"model: fold {fold} of {splits}")
    pred_probs += _EPS
    pred_probs /= pred_probs.sum(axis=1, keepdims=True)
    description = f"StandardScaler + LogisticRegression(C={C:g}), {splits}-fold stratified cross-validation"
    return assess_model(pred_probs, labels, source="cross-validated", model=description, n_splits=splits,
                        random_state=random_state)


def find_label_issues(labels: ArrayLike, pred_probs: ArrayLike, *, filter_by: str = "prune_by_noise_rate",
                      **kwargs: object) -> pd.DataFrame:
    """Confident learning on the given labels: which look wrong, how good each label looks, and a fix.

    Parameters
    ----------
    labels : array-like of int, shape (N,)
        Given label codes 0 … K − 1.
    pred_probs : array-like of shape (N, K)
        Out-of-sample predicted probabilities (clipped to [0, 1]).
    filter_by : str
        cleanlab's method, one of ``FILTER_BY``.
    **kwargs
        Passed to ``cleanlab.filter.find_label_issues`` (e.g. ``frac_noise``, ``min_examples_per_class``).

    Returns
    -------
    DataFrame
        One row per item, ranked (issues first, then by label quality, worst first): ``item`` (row of
        the input), ``is_label_issue`` (bool), ``label_quality`` (cleanlab's self-confidence score
        pred_probs[i, labels[i]], in [0, 1]: low is suspicious), ``given_label`` and ``suggested_label``
        (the most probable class; codes).

    Notes
    -----
    cleanlab (Apache-2.0 from 2.8 on) estimates the joint distribution of given and true labels from the
    confident joint and flags, per ``filter_by``, the items most likely mislabeled; ``prune_by_noise_rate``
    removes from each off-diagonal cell of the joint the items with the largest margin for the other class.
    Run single-process (``n_jobs=1``) so it is safe inside the app's threads.

    Examples
    --------
    >>> issues = find_label_issues([0, 0, 1, 1, 1], [[.9, .1], [.8, .2], [.2, .8], [.9, .1], [.1, .9]])
    >>> issues.loc[issues.is_label_issue, "item"].tolist()
    [3]
    """
    from cleanlab.filter import find_label_issues as cleanlab_issues
    from cleanlab.rank import get_label_quality_scores

    if filter_by not in FILTER_BY:
        raise ValueError(f"unknown filter_by={filter_by!r}; use one of {', '.join(FILTER_BY)}")
    labels = _check_labels(labels)
    p = np.clip(_check_pred_probs(pred_probs, len(labels)), 0, 1)
    issue = cleanlab_issues(labels, p, filter_by=filter_by, n_jobs=kwargs.pop("n_jobs", 1), **kwargs)
    quality = get_label_quality_scores(labels, p)
    frame = pd.DataFrame({"item": np.arange(len(labels)), "is_label_issue": issue, "label_quality": quality,
                          "given_label": labels, "suggested_label": p.argmax(axis=1)})
    return frame.sort_values(["is_label_issue", "label_quality", "item"], ascending=[False, True, True],
                             ignore_index=True)
