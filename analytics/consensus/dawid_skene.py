"""The Dawid–Skene model: consensus labels, annotator confusion matrices and class priors by EM.

Input is long-format events (``fit``) or ratings already coded as integers (``fit_codes``), as
``analytics.consensus.coding`` describes them, with its ``repeated`` rule. Everything runs on arrays of
length R (item, annotator and label codes), never on a dense N × M matrix, so sparse crowds of thousands of
annotators with 2–5 labels per item cost O(R × K) per EM iteration.

Ratings that are already integer codes, as ``analytics.store.consensus.coded_ratings`` reads them from the
store (one rating per (item, annotator), sorted by item, then annotator), go to ``DawidSkene.fit_codes``
without any pandas factorisation of strings.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.base import BaseEstimator

from analytics.consensus.chance import chance_check
from analytics.consensus.coding import REPEATED, Ratings, ratings_from_codes, ratings_from_events
from analytics.consensus.limits import check_model_size

__all__ = ["DawidSkene"]

_POOLING = ("none", "shrink", "sparse")
_DTYPES = ("float32", "float64")
_TINY = np.finfo(float).tiny
#: With ``dtype=None``, fits of this many ratings or more compute in float32 (see ``DawidSkene``).
SINGLE_PRECISION_FROM = 1_000_000
#: Ratings per chunk of an EM sweep: a chunk's posteriors (about 20,000 items × K) stay in the CPU cache
#: between the E-step and the M-step. On the 1e6 scale world (K = 10) an iteration takes ~20 ms in chunks of
#: 2^16 ratings and ~60 ms as one pass over all items.
_CHUNK_RATINGS = 2**16
#: Posteriors of one chunk of items: ``(start, stop, rows)`` → its (stop − start) × K block.
_Posteriors = Callable[[int, int, sparse.csr_array], np.ndarray]
#: One chunk of items: its first and past-the-end item, its ratings' incidence rows and their transpose.
_Chunk = tuple[int, int, sparse.csr_array, sparse.csc_array]


class DawidSkene(BaseEstimator):
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
        ``fit_codes`` takes its rows as they are.
    warm_start : bool
        When True, ``fit`` starts from the previous fit's confusions and priors (e.g. after new events
        arrive) instead of from ``init``.
    random_state : int, numpy.random.Generator or None
        Seed for ``init="random"``; unused otherwise.
    dtype : {None, "float32", "float64"}
        Floating-point type of the posteriors and of the EM sweeps (confusions, priors and the objective
        are always accumulated in float64). None picks float32 from ``SINGLE_PRECISION_FROM`` (10^6)
        ratings on, float64 below. float32 halves the memory the sweeps stream through; it moves the
        objective by up to ~2·10^-8 per rating (measured on the 10^6 scale world), so keep ``tol`` at
        10^-7 or above with it, and ask for float64 to reproduce published estimates to many digits.
    n_jobs : int or None
        Threads for the EM sweeps: None or -1 uses every core the process may run on (as DuckDB does), -2
        all but one, and so on; 1 runs in the calling thread. Results agree to rounding whatever the
        number (each thread sums its share of the counts, then the shares are added).

    Attributes
    ----------
    labels_ : Series
        Most probable class per item (index ``item_id``, name ``label``); ties go to the first class in
        sort order (in code order for ``fit_codes``).
    probas_ : DataFrame
        Posterior P(true class | ratings), items × classes; rows sum to 1. Its dtype is ``dtype_``.
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
        The K classes, sorted (in code order for ``fit_codes``).
    annotators_ : Index
        The M annotators, sorted (in code order for ``fit_codes``).
    n_ratings_ : Series
        Ratings per annotator that the model counted.
    pooled_ : Series of bool
        True for annotators whose confusion matrix is the shared one (``pooling="sparse"``).
    n_iter_ : int
        EM iterations run (0 when the fit fell back to majority vote).
    fallback_ : str or None
        ``"majority vote"`` when the ratings agree beyond chance only through one annotator (see Notes),
        else None.
    agreement_beyond_chance_ : ChanceCheck
        The test behind ``fallback_``.
    converged_ : bool
        Whether the ``tol`` criterion was met before ``max_iter``.
    log_likelihood_ : float
        Final log-likelihood of the ratings, ``sum_i log sum_k prior_k prod_r pi[k, given_r]``.
    convergence_ : DataFrame
        One row per iteration: ``iteration, log_likelihood, objective, delta`` (objective change per
        rating; NaN on the first row).
    dtype_ : numpy.dtype
        The floating-point type the fit computed in (see ``dtype``).

    Notes
    -----
    **Model** (Dawid & Skene 1979). Item i has a hidden true class z_i ~ Categorical(rho). Given z_i = k,
    annotator j gives label l with probability pi_j[k, l], independently across ratings. The posterior
    of item i is

        T_ik ∝ rho_k · prod over ratings r of i of pi_{j_r}[k, l_r].

    **EM.** The ratings become a sparse N × (M·K) incidence matrix A (A[i, j·K + l] = number of times
    annotator j gave item i label l), built once with its rows in item order. The E-step is
    log T = A @ log pi + log rho, normalised per item; the M-step counts expected confusions
    n_j[k, l] = sum over ratings of j with label l of T_ik, i.e. Aᵀ @ T, and sets

        pi_j[k, l] = (n_j[k, l] + b_kl) / sum_l' (n_j[k, l'] + b_kl'),
        rho_k = (sum_i T_ik + s/K) / (N + s),

    with pseudo-counts b_kk = s·a and b_kl = s·(1 − a)/(K − 1) for s = ``smoothing``, a =
    ``prior_accuracy``. This is the MAP estimate under Dirichlet(1 + b) priors; EM then increases the
    objective log-likelihood + sum b log pi + sum (s/K) log rho, whose change per rating is the stopping
    criterion (with ``pooling="shrink"`` the prior's centre moves between iterations, so the objective
    is only nearly monotone). Both products cost O(R·K) per iteration; memory is O(R + N·K + M·K²),
    never N × M.

    **One sweep per iteration.** Each iteration walks A once, in chunks of whole items (~65,000 ratings):
    a chunk's E-step and its share of the next M-step's counts (Aᵀ @ T restricted to the chunk) run back
    to back while its posteriors are still in the CPU cache. The E-step normalises without a per-row
    maximum: it subtracts each item's log-normaliser from the previous sweep (on the first sweep, the
    sum of its ratings' mean log-probabilities), so exp never overflows once EM has settled; the rare
    item whose sum still overflows or underflows is redone exactly in float64. The chunks are shared among
    ``n_jobs`` threads: sparse products and ufuncs release the GIL.

    **Sparse annotators.** An annotator with ten ratings cannot pin down K² − K confusion cells: one
    error makes the unsmoothed estimate of that cell 1/(ratings in the row), far above its true rate, and
    EM then trusts that annotator's errors, falling below majority vote (crowd-kit's ``DawidSkene`` does
    on sparse crowds; see ``bench/README.md``). The default pseudo-counts (s = 8, a = 0.7, chosen on
    simulated sparse crowds of K = 2–10 classes) keep a sparse annotator near "70 % right, errors spread
    evenly" until their own ratings say otherwise; a busy annotator's counts dominate. Two options add
    sharing between annotators: ``pooling="shrink"`` keeps the s·a pseudo-counts on each diagonal and
    spreads the s·(1 − a) pseudo-counts of errors the way the crowd's pooled errors go (off-diagonal
    counts of all annotators plus ``b``, recomputed each M-step; empirical-Bayes shrinkage of where errors
    go, useful when the whole crowd shares the same confusions, e.g. 1 vs 7), and ``pooling="sparse"``
    gives all annotators with fewer than ``min_labels`` ratings one shared matrix estimated from their
    pooled counts. Shrinking whole rows toward the pooled matrix, accuracy included, collapsed on sparse
    crowds with spammers who always give one label: every sparse annotator's prior then said "gives that
    label whatever the truth", one class absorbed 92% of the items and accuracy fell from 0.73 (majority
    vote) to 0.43; shrinking only the errors' direction keeps the default's accuracy there and still gains
    on crowds that share their confusions (``tests/analytics/test_consensus.py``).

    **When the ratings cannot identify the classes.** The model learns what a label means from annotators
    who agree with one another. When all agreement beyond chance runs through one annotator (one careful
    annotator among spammers, or one among annotators who never overlap), any relabeling of that
    annotator's classes fits as well, and EM can settle on one that scores below majority vote, far below
    it on some crowds. Before fitting, ``chance_check`` tests whether the pairs of ratings of an item agree
    beyond chance once the most-agreeing annotator is set aside; when they do not (one-sided z < 2.33, at
    least 30 such pairs), the fit falls back to majority vote: ``fallback_`` says so, a ``UserWarning`` is
    issued, ``labels_`` and ``probas_`` are the vote (ties as ``majority_vote``), ``confusions_`` and
    ``priors_`` are estimated against it, and ``n_iter_`` is 0.

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
        dtype: str | None = None,
        n_jobs: int | None = None,
    ) -> None:
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
        self.dtype = dtype
        self.n_jobs = n_jobs

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
        return self._fit(ratings_from_events(events, self.repeated))

    def fit_codes(
        self,
        item_codes: np.ndarray,
        annotator_codes: np.ndarray,
        label_codes: np.ndarray,
        *,
        items: ArrayLike | None = None,
        annotators: ArrayLike | None = None,
        classes: ArrayLike | None = None,
    ) -> DawidSkene:
        """Estimate confusions, priors and posteriors from integer-coded ratings.

        The fast path from the store: ``analytics.store.consensus.coded_ratings`` reads the ratings as
        codes, and nothing here touches the original ids until the results are labeled.

        Parameters
        ----------
        item_codes, annotator_codes, label_codes : array-like of int, shape (R,)
            One row per rating, every row counted (``repeated`` does not apply: the caller decides which
            ratings count). Codes index ``items``, ``annotators`` and ``classes``. Ratings already sorted
            by item code (as the store returns them) skip a sort.
        items, annotators, classes : array-like or None
            The distinct values behind the codes (code c stands for ``items[c]``), which label the
            results; None uses the codes themselves (0 … max code). An item without ratings gets the
            class priors as its posterior.

        Returns
        -------
        DawidSkene
            ``self``, with the fitted attributes set.

        Raises
        ------
        TypeError
            If a code array is not a 1-D array of integers.
        ValueError
            If a hyperparameter is out of range, the arrays differ in length or are empty, or a code falls
            outside its dictionary.

        Examples
        --------
        >>> ds = DawidSkene().fit_codes([0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2], [0, 0, 1, 1, 1, 1],
        ...                             items=["i1", "i2"], classes=["x", "y"])
        >>> ds.labels_.tolist()
        ['x', 'y']
        """
        self._check_params()
        codes = {"item_codes": item_codes, "annotator_codes": annotator_codes, "label_codes": label_codes}
        dictionaries = {"items": items, "annotators": annotators, "classes": classes}
        return self._fit(ratings_from_codes(codes, dictionaries))

    def fit_predict(self, events: pd.DataFrame) -> pd.Series:
        """Fit on ``events`` and return ``labels_``."""
        return self.fit(events).labels_

    def confusion(self, annotator_id: Hashable) -> pd.DataFrame:
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
        if self.repeated not in REPEATED:
            raise ValueError(f"unknown repeated={self.repeated!r}; use one of {', '.join(REPEATED)}")
        if self.dtype is not None and getattr(_dtype_or_none(self.dtype), "name", None) not in _DTYPES:
            raise ValueError(f"dtype must be None, 'float32' or 'float64', got {self.dtype!r}")
        if not (self.n_jobs is None or isinstance(self.n_jobs, int | np.integer) and self.n_jobs != 0):
            raise ValueError(f"n_jobs must be None or a non-zero integer, got {self.n_jobs!r}")

    def _fit(self, r: Ratings) -> DawidSkene:
        n, m, k = len(r.items), len(r.annotators), len(r.classes)
        n_ratings = np.bincount(r.annotator, minlength=m)
        if self.dtype is not None:
            dtype = np.dtype(self.dtype)
        else:
            dtype = np.dtype(np.float32 if len(r.item) >= SINGLE_PRECISION_FROM else np.float64)
        group = self._groups(n_ratings)
        b = self._pseudo_counts(k)
        n_groups = int(group.max()) + 1
        check_model_size("Dawid–Skene", n_items=n, k=k, n_groups=n_groups, itemsize=dtype.itemsize)
        self.agreement_beyond_chance_ = chance_check(r.item, r.annotator, r.given, n, m, k)
        fall_back = self.agreement_beyond_chance_.hinges_on_one
        # column g·K + l of the incidence matrix: an annotator of group g gave label l
        index_type = np.int32 if max(n_groups * k, len(r.item)) < 2**31 else np.int64
        cell = group.astype(index_type)[r.annotator] * index_type(k) + r.given.astype(index_type)
        n_threads = _n_threads(self.n_jobs) if len(r.item) >= 2 * _CHUNK_RATINGS else 1
        pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else contextlib.nullcontext()
        with pool as executor:
            incidence = _Incidence(r.item, cell, n, n_groups * k, k, dtype, executor, n_threads)
            if fall_back:
                votes = self._init_majority(incidence, n, k)
                pi, rho, _ = self._m_step(*incidence.statistics(votes), n_groups, b)
                *_, ll = incidence.sweep(pi, rho)
                incidence.fill(votes)
                history, converged = [(0, ll, ll, np.nan)], True
            else:
                if self.warm_start and hasattr(self, "confusions_"):
                    counts, mass, _ = incidence.sweep(*self._warm_parameters(r, group, b))
                else:
                    counts, mass = incidence.statistics(_INITS[self.init](self, incidence, n, k))
                history, converged, objective = [], False, np.nan
                for iteration in range(1, self.max_iter + 1):
                    pi, rho, pseudo = self._m_step(counts, mass, n_groups, b)
                    counts, mass, ll = incidence.sweep(pi, rho)
                    log_prior = np.sum(pseudo * _log(pi).reshape(-1, k, k).sum(axis=0))
                    log_prior += self.smoothing / k * _log(rho).sum()
                    previous, objective = objective, ll + float(log_prior)
                    delta = (objective - previous) / len(r.item)
                    history.append((iteration, ll, objective, delta))
                    if abs(delta) < self.tol:
                        converged = True
                        break

        confusions = pi.reshape(-1, k, k).transpose(0, 2, 1)[group]  # (M, true, given)
        self._set_results(r, incidence.post, confusions, rho, n_ratings, history, converged)
        self.fallback_ = "majority vote" if fall_back else None
        if fall_back:
            self.n_iter_ = 0
            # Ties between labels go to the label given most often overall, as in ``majority_vote``: the bonus
            # is far below the smallest share gap 1 / (ratings of an item) that separates a real winner.
            overall = np.bincount(r.given, minlength=k) / len(r.given)
            winner = (self.probas_.to_numpy(float) + 1e-9 * overall).argmax(axis=1)
            self.labels_ = pd.Series(r.classes.take(winner), index=r.items, name="label")
            check = self.agreement_beyond_chance_
            warnings.warn(
                "Dawid–Skene fell back to majority vote: apart from one annotator "
                f"({r.annotators[check.best]!r}), the {check.pairs:,.0f} pairs of ratings of an item agree "
                f"no more than chance (z = {check.z:.2f}), so the classes cannot be told apart from the "
                "ratings; labels_ and probas_ are the vote.",
                UserWarning, stacklevel=3,
            )
        return self

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

    # Starting posteriors, as a function from a chunk ``(start, stop, rows)`` to its N_c × K block.

    def _init_majority(self, incidence: _Incidence, n: int, k: int) -> _Posteriors:
        votes_of = incidence.votes_matrix()

        def shares(start: int, stop: int, rows: sparse.csr_array) -> np.ndarray:
            votes = rows @ votes_of
            total = votes.sum(axis=1, keepdims=True)
            return np.divide(votes, total, out=np.full_like(votes, 1.0 / k), where=total > 0)

        return shares

    def _init_random(self, incidence: _Incidence, n: int, k: int) -> _Posteriors:
        post = np.random.default_rng(self.random_state).dirichlet(np.ones(k), size=n)
        return lambda start, stop, rows: post[start:stop]

    def _m_step(self, counts: np.ndarray, mass: np.ndarray, n_groups: int,
                b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confusions as a (groups·K given) × K true table of P(given | true), the class priors, and the
        pseudo-counts used (K given × K true, the same for every group)."""
        k = counts.shape[1]
        counts = counts.reshape(n_groups, k, k)  # expected counts (group, given, true)
        pseudo = b.T
        if self.pooling == "shrink" and self.smoothing > 0 and k > 1:
            # The diagonal keeps the prior accuracy; only where errors go follows the crowd's pooled errors.
            pooled = (counts.sum(axis=0) + b.T) * (1 - np.eye(k))
            errors = pooled / pooled.sum(axis=0, keepdims=True)
            pseudo = self.smoothing * (self.prior_accuracy * np.eye(k) + (1 - self.prior_accuracy) * errors)
        counts = counts + pseudo
        totals = counts.sum(axis=1, keepdims=True)
        pi = np.divide(counts, totals, out=np.full_like(counts, 1.0 / k), where=totals > 0)
        class_mass = mass + self.smoothing / k
        return pi.reshape(n_groups * k, k), class_mass / class_mass.sum(), pseudo

    def _warm_parameters(self, r: Ratings, group: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
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

    def _set_results(self, r: Ratings, post: np.ndarray, confusions: np.ndarray, rho: np.ndarray,
                     n_ratings: np.ndarray, history: list[tuple[int, float, float, float]],
                     converged: bool) -> None:
        self.classes_ = r.classes.to_numpy()
        self.annotators_ = r.annotators
        self.dtype_ = post.dtype
        self.probas_ = pd.DataFrame(post, index=r.items, columns=r.classes.rename("label"), copy=False)
        self.labels_ = pd.Series(r.classes.take(post.argmax(axis=1)), index=r.items, name="label")
        self.confusions_ = confusions
        self.priors_ = pd.Series(rho, index=r.classes.rename("label"), name="prior")
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


class _Incidence:
    """The N × C incidence matrix of the ratings (C = groups·K cells), cut into chunks of whole items.

    Holds the posteriors of the latest sweep (``post``, N × K) and each item's log-normaliser, which the
    next sweep subtracts before exponentiating. The chunks are split into contiguous parts, one per thread
    of ``executor``; sparse products and ufuncs release the GIL, so the parts run in parallel.
    """

    def __init__(self, item: np.ndarray, cell: np.ndarray, n_items: int, n_cells: int, k: int,
                 dtype: np.dtype, executor: ThreadPoolExecutor | None = None, n_threads: int = 1) -> None:
        if len(item) > 1 and not (item[1:] >= item[:-1]).all():
            order = np.argsort(item, kind="stable")
            item, cell = item[order], cell[order]
        indptr = np.zeros(n_items + 1, dtype=cell.dtype)
        np.cumsum(np.bincount(item, minlength=n_items), out=indptr[1:])
        data = np.ones(len(cell), dtype=dtype)
        self.n_cells, self.k, self.dtype, self.executor = n_cells, k, dtype, executor
        # Fewer, larger chunks when the crowd is so large that each chunk's C × K counts would dominate.
        n_chunks = max(1, min(len(cell) // _CHUNK_RATINGS, len(cell) // (4 * n_cells)))
        stops = np.unique(np.searchsorted(indptr, np.linspace(0, len(cell), n_chunks + 1)[1:]))
        stops[-1] = n_items  # items without ratings after the last rated one join the last chunk
        chunks = []
        for start, stop in zip(np.r_[0, stops[:-1]].tolist(), stops.tolist(), strict=True):
            first, last = indptr[start], indptr[stop]
            rows = sparse.csr_array(
                (data[first:last], cell[first:last], indptr[start:stop + 1] - first),
                shape=(stop - start, n_cells),
            )
            chunks.append((start, stop, rows, rows.T))
        n_parts = min(len(chunks), n_threads if executor is not None else 1)
        bounds = np.linspace(0, len(chunks), n_parts + 1).round().astype(int)
        self.parts = [chunks[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        self.ones = np.ones(max(stop - start for start, stop, _, _ in chunks), dtype=dtype)
        self.ones_k = np.ones(k, dtype=dtype)
        self.post = np.empty((n_items, k), dtype=dtype)
        self.log_norm = None

    def _each_part(self, work: Callable[[list[_Chunk]], tuple]) -> list[tuple]:
        if self.executor is None or len(self.parts) == 1:
            return [work(part) for part in self.parts]
        return list(self.executor.map(work, self.parts))

    def votes_matrix(self) -> np.ndarray:
        """C × K indicator of the label behind each cell: ``rows @ votes_matrix()`` counts votes."""
        votes = np.zeros((self.n_cells, self.k), dtype=self.dtype)
        votes[np.arange(self.n_cells), np.arange(self.n_cells) % self.k] = 1
        return votes

    def fill(self, posterior_of: _Posteriors) -> None:
        """Set ``post`` to the chunk posteriors ``posterior_of(start, stop, rows)``."""
        for part in self.parts:
            for start, stop, rows, _ in part:
                self.post[start:stop] = posterior_of(start, stop, rows)

    def statistics(self, posterior_of: _Posteriors) -> tuple[np.ndarray, np.ndarray]:
        """The M-step's counts (C × K, float64) and class mass (K) from chunk posteriors
        ``posterior_of(start, stop, rows)``."""

        def work(part: list[_Chunk]) -> tuple[np.ndarray, np.ndarray]:
            counts, mass = np.zeros((self.n_cells, self.k)), np.zeros(self.k)
            for start, stop, rows, cols in part:
                post = np.asarray(posterior_of(start, stop, rows), dtype=self.dtype)
                counts += cols @ post
                mass += post.T @ self.ones[:stop - start]
            return counts, mass

        counts, mass = zip(*self._each_part(work), strict=True)
        return sum(counts), sum(mass)

    def sweep(self, pi: np.ndarray, rho: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """E-step under (pi, rho) into ``post``, fused with the next M-step's counts.

        Returns the counts (C × K), the class mass (K) and the log-likelihood under (pi, rho).
        """
        log_pi, log_rho = _log(pi), _log(rho)
        weights, log_prior = log_pi.astype(self.dtype), log_rho.astype(self.dtype)
        first = self.log_norm is None
        if first:  # no normalisers yet: shift by the mean log-probabilities of each item's ratings
            mean_log_pi = log_pi.mean(axis=1).astype(self.dtype)
            self.log_norm = np.empty(len(self.post))
        smallest = np.finfo(self.dtype).tiny

        def work(part: list[_Chunk]) -> tuple[np.ndarray, np.ndarray, float]:
            counts, mass, log_likelihood = np.zeros((self.n_cells, self.k)), np.zeros(self.k), 0.0
            with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
                for start, stop, rows, cols in part:
                    shift, post = self.log_norm[start:stop], self.post[start:stop]
                    if first:
                        shift[:] = rows @ mean_log_pi + log_rho.mean()
                    joint = rows @ weights
                    joint -= shift[:, None]
                    joint += log_prior
                    np.exp(joint, out=joint)
                    total = joint @ self.ones_k
                    np.divide(joint, total[:, None], out=post)
                    shift += np.log(total)
                    unsafe = ~(total >= smallest) | np.isinf(total)
                    if unsafe.any():
                        self._exact_rows(np.flatnonzero(unsafe), rows, log_pi, log_rho, post, shift)
                    log_likelihood += float(shift.sum())
                    counts += cols @ post
                    mass += post.T @ self.ones[:stop - start]
            return counts, mass, log_likelihood

        counts, mass, log_likelihood = zip(*self._each_part(work), strict=True)
        return sum(counts), sum(mass), sum(log_likelihood)

    @staticmethod
    def _exact_rows(which: np.ndarray, rows: sparse.csr_array, log_pi: np.ndarray, log_rho: np.ndarray,
                    post: np.ndarray, log_norm: np.ndarray) -> None:
        """Float64 log-sum-exp with the row maximum, for the rows whose shifted sum left the safe range."""
        joint = rows[which] @ log_pi + log_rho
        top = joint.max(axis=1, keepdims=True)
        joint = np.exp(joint - top)
        total = joint.sum(axis=1, keepdims=True)
        post[which] = joint / total
        log_norm[which] = (top + np.log(total))[:, 0]


def _n_threads(n_jobs: int | None) -> int:
    """Threads for ``n_jobs``, in the convention of scikit-learn (-1 all cores, -2 all but one, …)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if n_jobs is None:
        return cores
    return int(n_jobs) if n_jobs > 0 else max(1, cores + 1 + int(n_jobs))


def _dtype_or_none(value: object) -> np.dtype | None:
    try:
        return np.dtype(value)
    except TypeError:
        return None


def _log(p: np.ndarray) -> np.ndarray:
    """Log of probabilities, with zeros clipped to the smallest positive float (no -inf, no warning)."""
    return np.log(np.maximum(p, _TINY))
