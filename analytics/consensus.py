"""Consensus labels from many annotators: majority vote and the Dawid–Skene model.

Both take long-format events, one row per label given: ``item_id, annotator_id, label`` (plus optional
``labeled_at``). Glossary: N items, M annotators, K classes, R ratings (rows that count after the
``repeated`` rule below).

Repeated ratings. ``repeated="latest"`` (the default) keeps one rating per (item, annotator): the latest
by ``labeled_at`` when that column exists (missing times count as oldest; equal times keep the later
row), else the last row in input order. ``repeated="all"`` counts every row as a rating, as Dawid and
Skene (1979) did with their observer who rated each patient three times.

Everything runs on arrays of length R (item, annotator and label codes), never on a dense N × M matrix,
so sparse crowds of thousands of annotators with 2–5 labels per item cost O(R × K) per EM iteration.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import sparse

__all__ = ["majority_vote", "DawidSkene"]

REQUIRED_COLUMNS = ("item_id", "annotator_id", "label")
_REPEATED = ("latest", "all")
_POOLING = ("none", "shrink", "sparse")
_TINY = np.finfo(float).tiny


@dataclasses.dataclass(frozen=True)
class _Ratings:
    """Ratings as integer codes; ``items``, ``annotators`` and ``classes`` hold the sorted originals."""

    item: np.ndarray
    annotator: np.ndarray
    given: np.ndarray
    items: pd.Index
    annotators: pd.Index
    classes: pd.Index


def _ratings(events: pd.DataFrame, repeated: str) -> _Ratings:
    """Validate ``events`` once and encode them; the only place that reads the caller's frame."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame, got {type(events).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events is missing required column(s): {', '.join(missing)}")
    if repeated not in _REPEATED:
        raise ValueError(f"unknown repeated={repeated!r}; use one of {', '.join(_REPEATED)}")
    if len(events) == 0:
        raise ValueError("events is empty: consensus needs at least one rating")
    for column in REQUIRED_COLUMNS:
        n_null = int(events[column].isna().sum())
        if n_null:
            raise ValueError(f"events column {column!r} has {n_null} missing value(s)")
    codes, uniques = {}, {}
    for column in REQUIRED_COLUMNS:
        try:
            codes[column], uniques[column] = pd.factorize(events[column], sort=True)
        except TypeError as error:
            message = f"events column {column!r} mixes values that cannot be sorted: {error}"
            raise ValueError(message) from None
    item, annotator, given = (np.asarray(codes[c], dtype=np.int64) for c in REQUIRED_COLUMNS)
    if repeated == "latest":
        keep = _latest(events, item * len(uniques["annotator_id"]) + annotator)
        item, annotator, given = item[keep], annotator[keep], given[keep]
    return _Ratings(item, annotator, given, *(pd.Index(uniques[c], name=c) for c in REQUIRED_COLUMNS))


def _latest(events: pd.DataFrame, pair: np.ndarray) -> np.ndarray:
    """Row positions that survive ``repeated="latest"``: the last row per pair in (time, position) order."""
    position = np.arange(len(pair))
    if "labeled_at" in events.columns:
        try:
            stamps = pd.to_datetime(events["labeled_at"], utc=True).dt.tz_localize(None)
        except (TypeError, ValueError) as error:
            raise ValueError(f"events column 'labeled_at' is not a timestamp: {error}") from None
        time = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)  # NaT is the smallest int64
        order = np.lexsort((position, time, pair))
    else:
        order = np.argsort(pair, kind="stable")
    last = np.r_[pair[order][1:] != pair[order][:-1], True]
    return np.sort(order[last])


def _vote_counts(r: _Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (item, class) pairs sorted by item then class, with their vote counts."""
    k = len(r.classes)
    pair, count = np.unique(r.item * k + r.given, return_counts=True)
    return pair // k, pair % k, count


def majority_vote(events: pd.DataFrame, *, repeated: str = "latest") -> pd.DataFrame:
    """The most frequent label of each item, with a deterministic tie rule.

    Parameters
    ----------
    events : DataFrame
        Long-format events: ``item_id, annotator_id, label`` and optionally ``labeled_at``.
    repeated : {"latest", "all"}
        Which ratings count when an annotator labeled an item more than once (see the module docstring).

    Returns
    -------
    DataFrame
        One row per item, sorted by ``item_id``: ``item_id``, ``label`` (the winner), ``support`` (share
        of the item's ratings that gave the winner, in (0, 1]) and ``n_ratings`` (ratings of the item).

    Raises
    ------
    ValueError
        If a required column is missing (the message names it), a value is missing, or events is empty.

    Notes
    -----
    Ties between labels with the same number of votes on an item go to the label given most often in
    the whole of ``events`` (after the ``repeated`` rule); if that ties too, to the smallest label in
    sort order. The rule depends only on the data, never on row order or chance. It is a plug-in Bayes
    rule with the label frequencies standing in for the class priors: right when classes are
    imbalanced, but when annotators over-report one class its excess comes from errors, and ties then
    go the wrong way more often than not (Snow et al.'s RTE: 65 of 800 items tie 5–5, 15 of them go
    right). ``DawidSkene`` estimates priors and annotator bias instead.

    ``support`` ≤ 0.5 marks items without a clear majority (0.5 on a 2-vs-2 split of four ratings).

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 1, 2, 2], "annotator_id": list("abcab"),
    ...                        "label": ["cat", "cat", "dog", "dog", "cat"]})
    >>> majority_vote(events)
       item_id label   support  n_ratings
    0        1   cat  0.666667          3
    1        2   cat  0.500000          2
    """
    r = _ratings(events, repeated)
    item, cls, count = _vote_counts(r)
    overall = np.bincount(r.given, minlength=len(r.classes))
    order = np.lexsort((cls, -overall[cls], -count, item))  # the last key sorts first
    first = order[np.r_[True, item[order][1:] != item[order][:-1]]]
    n_ratings = np.bincount(r.item, minlength=len(r.items))
    return pd.DataFrame({
        "item_id": r.items.to_numpy(),
        "label": r.classes.to_numpy()[cls[first]],
        "support": count[first] / n_ratings,
        "n_ratings": n_ratings,
    })


class DawidSkene:
    """Dawid–Skene consensus: per-annotator confusion matrices and true-class posteriors by EM.

    Parameters
    ----------
    max_iter : int
        Maximum number of EM iterations (one M-step and one E-step each).
    tol : float
        Stop when the objective (below) changes by less than ``tol`` per rating between iterations.
    init : {"majority", "random"}
        Starting posteriors: each item's soft majority vote (share of its ratings per class), or random
        posteriors drawn from a flat Dirichlet with ``random_state``.
    smoothing : float
        Dirichlet pseudo-counts added to every confusion row (in total over its K cells) and to the class
        priors (in total over the K classes): about the number of ratings an annotator needs in a class
        before their own counts outweigh the prior. 0 gives the maximum-likelihood estimates of the paper.
    prior_accuracy : float
        Share of a confusion row's pseudo-counts on its diagonal; the rest is spread evenly over the K − 1
        wrong labels. Above 1/K it encodes "annotators are better than chance".
    pooling : {"none", "shrink", "sparse"}
        How annotators with few ratings borrow strength beyond ``smoothing`` (see Notes).
    min_labels : int
        With ``pooling="sparse"``, annotators with fewer ratings than this share one confusion matrix.
    repeated : {"latest", "all"}
        Which ratings count when an annotator labeled an item more than once (see the module docstring).
    warm_start : bool
        When True, ``fit`` starts from the previous fit's confusions and priors (e.g. after new events
        arrive) instead of from ``init``.
    random_state : int, numpy.random.Generator or None
        Seed for ``init="random"``; unused otherwise.

    Attributes
    ----------
    labels_ : Series
        Most probable class per item (index ``item_id``, name ``label``); ties go to the first class in
        sort order.
    probas_ : DataFrame
        Posterior P(true class | ratings), items × classes; rows sum to 1.
    confusions_ : ndarray of shape (M, K, K)
        ``confusions_[j, k, l]`` = P(annotator j gives class l | true class k); every row sums to 1.
        Axis 0 follows ``annotators_``, axes 1 and 2 follow ``classes_``; ``confusion(annotator_id)``
        returns one as a labeled DataFrame.
    priors_ : Series
        Class prior P(true class), indexed by class.
    skills_ : Series
        Expected accuracy of each annotator on an item drawn from the priors,
        ``sum_k priors_[k] * confusions_[j, k, k]``; 1/K is what uniformly random answers score.
    classes_ : ndarray
        The K classes, sorted.
    annotators_ : Index
        The M annotators, sorted.
    n_ratings_ : Series
        Ratings per annotator that the model counted.
    pooled_ : Series of bool
        True for annotators whose confusion matrix is the shared one (``pooling="sparse"``).
    n_iter_ : int
        EM iterations run.
    converged_ : bool
        Whether the ``tol`` criterion was met before ``max_iter``.
    log_likelihood_ : float
        Final log-likelihood of the ratings, ``sum_i log sum_k prior_k prod_r pi[k, given_r]``.
    convergence_ : DataFrame
        One row per iteration: ``iteration, log_likelihood, objective, delta`` (objective change per
        rating; NaN on the first row).

    Notes
    -----
    **Model** (Dawid & Skene 1979). Item i has a hidden true class z_i ~ Categorical(rho). Given z_i = k,
    annotator j gives label l with probability pi_j[k, l], independently across ratings. The posterior
    of item i is

        T_ik ∝ rho_k · prod over ratings r of i of pi_{j_r}[k, l_r].

    **EM.** The ratings become a sparse N × (M·K) incidence matrix A (A[i, j·K + l] = number of times
    annotator j gave item i label l), built once. The E-step is log T = A @ log pi + log rho, normalised
    per item with log-sum-exp; the M-step counts expected confusions n_j[k, l] = sum over ratings of j
    with label l of T_ik, i.e. Aᵀ @ T, and sets

        pi_j[k, l] = (n_j[k, l] + b_kl) / sum_l' (n_j[k, l'] + b_kl'),
        rho_k = (sum_i T_ik + s/K) / (N + s),

    with pseudo-counts b_kk = s·a and b_kl = s·(1 − a)/(K − 1) for s = ``smoothing``, a =
    ``prior_accuracy``. This is the MAP estimate under Dirichlet(1 + b) priors; EM then increases the
    objective log-likelihood + sum b log pi + sum (s/K) log rho, whose change per rating is the stopping
    criterion (with ``pooling="shrink"`` the prior's centre moves between iterations, so the objective
    is only nearly monotone). Both products cost O(R·K) per iteration; memory is O(R + N·K + M·K²),
    never N × M.

    **Sparse annotators.** An annotator with ten ratings cannot pin down K² − K confusion cells: one
    error makes the unsmoothed estimate of that cell 1/(ratings in the row), far above its true rate, and
    EM then trusts that annotator's errors, falling below majority vote (crowd-kit's ``DawidSkene`` does
    on sparse crowds; see ``bench/README.md``). The default pseudo-counts (s = 8, a = 0.7, chosen on
    simulated sparse crowds of K = 2–10 classes) keep a sparse annotator near "70 % right, errors spread
    evenly" until their own ratings say otherwise; a busy annotator's counts dominate. Two options add
    sharing between annotators: ``pooling="shrink"`` centres every annotator's s pseudo-counts on the
    crowd's pooled confusion matrix (all counts plus ``b``, recomputed each M-step; empirical-Bayes
    shrinkage, useful when the whole crowd shares the same confusions, e.g. 1 vs 7), and
    ``pooling="sparse"`` gives all annotators with fewer than ``min_labels`` ratings one shared matrix
    estimated from their pooled counts.

    **Warm start.** The previous fit's confusion of a returning annotator and the priors seed the first
    E-step; new annotators start from the previous crowd-wide average, classes not seen before from the
    smoothing prior. The fit then runs to convergence as usual.

    References
    ----------
    A. P. Dawid and A. M. Skene (1979), "Maximum likelihood estimation of observer error-rates using the
    EM algorithm", Journal of the Royal Statistical Society, Series C (Applied Statistics) 28(1):20–28.
    Crowd-Kit (Toloka), ``crowdkit.aggregation.DawidSkene``: the peer measured in ``bench/consensus.py``.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2], "annotator_id": list("abcabc"),
    ...                        "label": ["x", "x", "y", "y", "y", "y"]})
    >>> ds = DawidSkene().fit(events)
    >>> ds.labels_.tolist()
    ['x', 'y']
    """

    def __init__(
        self,
        *,
        max_iter: int = 100,
        tol: float = 1e-7,
        init: str = "majority",
        smoothing: float = 8.0,
        prior_accuracy: float = 0.7,
        pooling: str = "none",
        min_labels: int = 10,
        repeated: str = "latest",
        warm_start: bool = False,
        random_state: int | np.random.Generator | None = None,
    ):
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.smoothing = smoothing
        self.prior_accuracy = prior_accuracy
        self.pooling = pooling
        self.min_labels = min_labels
        self.repeated = repeated
        self.warm_start = warm_start
        self.random_state = random_state

    # --- public API ---------------------------------------------------------------------------------

    def fit(self, events: pd.DataFrame) -> DawidSkene:
        """Estimate confusions, priors and posteriors from ``events``.

        Parameters
        ----------
        events : DataFrame
            Long-format events: ``item_id, annotator_id, label`` and optionally ``labeled_at``.

        Returns
        -------
        DawidSkene
            ``self``, with the fitted attributes set.

        Raises
        ------
        ValueError
            If a hyperparameter is out of range, a required column is missing (the message names it), a
            value is missing, or events is empty.
        """
        self._check_params()
        r = _ratings(events, self.repeated)
        n, m, k = len(r.items), len(r.annotators), len(r.classes)
        n_ratings = np.bincount(r.annotator, minlength=m)
        group = self._groups(n_ratings)
        b = self._pseudo_counts(k)
        n_groups = int(group.max()) + 1
        # incidence[i, g·K + l] = number of ratings of item i in which an annotator of group g gave label l
        cell = group[r.annotator] * k + r.given
        incidence = sparse.csr_array((np.ones(len(cell)), (r.item, cell)), shape=(n, n_groups * k))
        incidence_t = incidence.T.tocsr()

        if self.warm_start and hasattr(self, "confusions_"):
            pi, rho = self._warm_parameters(r, group, b)
            log_post, ll = _e_step(incidence, _log(pi), _log(rho))
            post = np.exp(log_post)
        else:
            post = self._initial_posteriors(r, n, k)

        history, converged, objective = [], False, np.nan
        for iteration in range(1, self.max_iter + 1):
            pi, rho, pseudo = self._m_step(post, incidence_t, n_groups, b)
            log_pi, log_rho = _log(pi), _log(rho)
            log_post, ll = _e_step(incidence, log_pi, log_rho)
            post = np.exp(log_post)
            log_prior = np.sum(pseudo * log_pi.reshape(-1, k, k).sum(axis=0))
            log_prior += self.smoothing / k * log_rho.sum()
            previous, objective = objective, ll + float(log_prior)
            delta = (objective - previous) / len(r.item)
            history.append((iteration, ll, objective, delta))
            if abs(delta) < self.tol:
                converged = True
                break

        confusions = pi.reshape(-1, k, k).transpose(0, 2, 1)[group]  # (M, true, given)
        self._set_results(r, post, confusions, rho, n_ratings, history, converged)
        return self

    def fit_predict(self, events: pd.DataFrame) -> pd.Series:
        """Fit on ``events`` and return ``labels_``."""
        return self.fit(events).labels_

    def confusion(self, annotator_id) -> pd.DataFrame:
        """One annotator's confusion matrix as a DataFrame: rows true class, columns label given."""
        j = self.annotators_.get_loc(annotator_id)
        return pd.DataFrame(self.confusions_[j], index=pd.Index(self.classes_, name="true_label"),
                            columns=pd.Index(self.classes_, name="given_label"))

    # --- private helpers ----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if not (isinstance(self.max_iter, int | np.integer) and self.max_iter >= 1):
            raise ValueError(f"max_iter must be an integer ≥ 1, got {self.max_iter!r}")
        if not self.tol >= 0:
            raise ValueError(f"tol must be ≥ 0, got {self.tol!r}")
        if self.init not in _INITS:
            raise ValueError(f"unknown init={self.init!r}; use one of {', '.join(_INITS)}")
        if not self.smoothing >= 0:
            raise ValueError(f"smoothing must be ≥ 0, got {self.smoothing!r}")
        if not 0 <= self.prior_accuracy <= 1:
            raise ValueError(f"prior_accuracy must be in [0, 1], got {self.prior_accuracy!r}")
        if self.pooling not in _POOLING:
            raise ValueError(f"unknown pooling={self.pooling!r}; use one of {', '.join(_POOLING)}")
        if not (isinstance(self.min_labels, int | np.integer) and self.min_labels >= 0):
            raise ValueError(f"min_labels must be an integer ≥ 0, got {self.min_labels!r}")

    def _groups(self, n_ratings: np.ndarray) -> np.ndarray:
        """Confusion-matrix index of each annotator: their own, or one shared by the sparse ones."""
        m = len(n_ratings)
        if self.pooling != "sparse":
            return np.arange(m)
        few = n_ratings < self.min_labels
        group = np.cumsum(~few) - 1
        group[few] = (~few).sum()
        return group

    def _pseudo_counts(self, k: int) -> np.ndarray:
        """b[k, l], the Dirichlet pseudo-counts of confusion row k (true class), cell l (given)."""
        if k == 1:
            return np.full((1, 1), float(self.smoothing))
        off = self.smoothing * (1 - self.prior_accuracy) / (k - 1)
        return np.full((k, k), off) + np.eye(k) * (self.smoothing * self.prior_accuracy - off)

    def _initial_posteriors(self, r: _Ratings, n: int, k: int) -> np.ndarray:
        return _INITS[self.init](self, r, n, k)

    def _init_majority(self, r: _Ratings, n: int, k: int) -> np.ndarray:
        votes = np.bincount(r.item * k + r.given, minlength=n * k).reshape(n, k).astype(float)
        return votes / votes.sum(axis=1, keepdims=True)

    def _init_random(self, r: _Ratings, n: int, k: int) -> np.ndarray:
        return np.random.default_rng(self.random_state).dirichlet(np.ones(k), size=n)

    def _m_step(self, post, incidence_t, n_groups, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confusions as a (groups·K given) × K true table of P(given | true), the class priors, and the
        pseudo-counts used (K given × K true, the same for every group)."""
        k = post.shape[1]
        counts = (incidence_t @ post).reshape(n_groups, k, k)  # expected counts (group, given, true)
        pseudo = b.T
        if self.pooling == "shrink" and self.smoothing > 0:
            pooled = counts.sum(axis=0) + b.T
            pseudo = self.smoothing * pooled / pooled.sum(axis=0, keepdims=True)
        counts = counts + pseudo
        totals = counts.sum(axis=1, keepdims=True)
        pi = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
        class_mass = post.sum(axis=0) + self.smoothing / k
        return pi.reshape(n_groups * k, k), class_mass / class_mass.sum(), pseudo

    def _warm_parameters(self, r: _Ratings, group: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        """The previous fit's confusions and priors, re-indexed onto this fit's annotators and classes."""
        k = len(r.classes)
        old = pd.Index(self.classes_).get_indexer(r.classes)
        shared = old >= 0
        default = b / b.sum(axis=1, keepdims=True) if self.smoothing > 0 else np.full((k, k), 1.0 / k)
        average = np.average(self.confusions_, axis=0, weights=self.n_ratings_.to_numpy())
        base = default.copy()
        base[np.ix_(shared, shared)] = average[np.ix_(old[shared], old[shared])]
        matrices = np.broadcast_to(base, (len(r.annotators), k, k)).copy()
        seen = self.annotators_.get_indexer(r.annotators)
        returning = np.flatnonzero(seen >= 0)
        block = self.confusions_[seen[returning]][:, old[shared]][:, :, old[shared]]
        matrices[np.ix_(returning, np.flatnonzero(shared), np.flatnonzero(shared))] = block
        matrices /= matrices.sum(axis=2, keepdims=True)
        n_groups = group.max() + 1
        grouped = np.zeros((n_groups, k, k))
        np.add.at(grouped, group, matrices)
        grouped /= grouped.sum(axis=2, keepdims=True)
        rho = np.where(shared, self.priors_.to_numpy()[np.maximum(old, 0)], 1.0 / k)
        return grouped.transpose(0, 2, 1).reshape(n_groups * k, k), rho / rho.sum()

    def _set_results(self, r, post, confusions, rho, n_ratings, history, converged) -> None:
        classes = r.classes.to_numpy()
        self.classes_ = classes
        self.annotators_ = r.annotators
        self.probas_ = pd.DataFrame(post, index=r.items, columns=pd.Index(classes, name="label"))
        self.labels_ = pd.Series(classes[post.argmax(axis=1)], index=r.items, name="label")
        self.confusions_ = confusions
        self.priors_ = pd.Series(rho, index=pd.Index(classes, name="label"), name="prior")
        diagonal = np.diagonal(confusions, axis1=1, axis2=2)
        self.skills_ = pd.Series(diagonal @ rho, index=r.annotators, name="skill")
        self.n_ratings_ = pd.Series(n_ratings, index=r.annotators, name="n_ratings")
        pooled = n_ratings < self.min_labels if self.pooling == "sparse" else np.zeros(len(n_ratings), bool)
        self.pooled_ = pd.Series(pooled, index=r.annotators, name="pooled")
        columns = ["iteration", "log_likelihood", "objective", "delta"]
        self.convergence_ = pd.DataFrame(history, columns=columns)
        self.n_iter_ = len(history)
        self.converged_ = converged
        self.log_likelihood_ = float(history[-1][1])


_INITS = {"majority": DawidSkene._init_majority, "random": DawidSkene._init_random}


def _e_step(incidence, log_pi, log_rho) -> tuple[np.ndarray, float]:
    """Log posteriors (N × K) and the log-likelihood of the ratings under (log_pi, log_rho)."""
    log_joint = incidence @ log_pi + log_rho  # sum over an item's ratings of log P(given | true class)
    top = log_joint.max(axis=1, keepdims=True)
    norm = top + np.log(np.exp(log_joint - top).sum(axis=1, keepdims=True))
    return log_joint - norm, float(norm.sum())




def _log(p: np.ndarray) -> np.ndarray:
    """Log of probabilities, with zeros clipped to the smallest positive float (no -inf, no warning)."""
    return np.log(np.maximum(p, _TINY))
