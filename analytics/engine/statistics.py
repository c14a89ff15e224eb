"""LabelWatch's statistics of a lake, from the small results of the engine's aggregations.

The engine (DuckDB or Spark, ``analytics.engine.engines``) does the heavy grouping; everything statistical
is the existing code, called unchanged on those results:

- agreement: ``analytics.agreement.*_from_counts`` on the per-item label counts;
- annotator reliability: ``analytics.monitoring.annotators.annotator_table`` on the per-annotator tallies;
- label drift: ``analytics.monitoring.drift.distribution.shift_table`` on the per-window label counts;
- slice noise: ``analytics.monitoring.slices.slice_noise_table`` on the slice cube;
- consensus: ``analytics.consensus.dawid_skene.DawidSkene``'s M-step, objective and results, with the
  E-step and the M-step's sums in SQL (``fit_dawid_skene``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from analytics import agreement
from analytics.consensus.coding import Ratings
from analytics.consensus.dawid_skene import DawidSkene, _log
from analytics.engine import aggregations as agg
from analytics.engine.engines import Engine
from analytics.monitoring.annotators import annotator_table
from analytics.monitoring.drift.distribution import shift_table
from analytics.monitoring.slices import slice_noise_table

__all__ = ["LakeStatistics", "agreement_summary", "annotator_reliability", "label_drift", "lake_statistics",
           "slice_cube", "slice_noise", "fit_dawid_skene"]

def agreement_summary(counts: pd.DataFrame) -> dict[str, float]:
    """Percent agreement, Fleiss' kappa, Gwet's AC1 and Krippendorff's alpha (nominal) of a count table.

    Parameters
    ----------
    counts : DataFrame
        ``item_id, label, n``: ``aggregations.label_counts`` from an engine.

    Returns
    -------
    dict
        ``items, ratings, percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha``; the
        coefficients are ``analytics.agreement``'s ``*_from_counts`` (definitions and how to read them
        there).

    Examples
    --------
    >>> counts = pd.DataFrame({"item_id": [1, 1, 2], "label": ["x", "y", "x"], "n": [2, 1, 2]})
    >>> summary = agreement_summary(counts)
    >>> summary["items"], summary["ratings"], round(summary["percent_agreement"], 4)
    (2, 5, 0.6667)
    """
    return {
        "items": int(counts["item_id"].nunique()),
        "ratings": int(counts["n"].sum()),
        "percent_agreement": agreement.percent_agreement_from_counts(counts),
        "fleiss_kappa": agreement.fleiss_kappa_from_counts(counts),
        "gwet_ac1": agreement.gwet_ac1_from_counts(counts),
        "krippendorff_alpha": agreement.krippendorff_alpha_from_counts(counts, level="nominal"),
    }


def annotator_reliability(tallies: pd.DataFrame, counts: pd.DataFrame, **options: object) -> pd.DataFrame:
    """``annotator_table`` of the lake: reliability rates, intervals and flags per annotator.

    Parameters
    ----------
    tallies : DataFrame
        ``aggregations.annotator_tallies`` from an engine.
    counts : DataFrame
        ``aggregations.label_counts`` from the same engine: its label shares set the chance level of the
        ``near chance`` flag.
    **options
        Passed to ``analytics.monitoring.annotators.annotator_table`` (``min_items``, ``fdr``,
        ``confidence``). No ``halves``: the lake path has no split by time, so ``declining`` is not
        evaluated.

    Returns
    -------
    DataFrame
        ``annotator_table``'s columns, least reliable first.
    """
    shares = counts.groupby("label")["n"].sum()
    return annotator_table(tallies, label_shares=shares / shares.sum(), **options)


def label_drift(window_counts: pd.DataFrame, *, grain: str = "week", **options: object) -> pd.DataFrame:
    """``shift_table`` of the per-window label counts (``aggregations.window_label_counts(grain)``).

    ``options`` go to ``analytics.monitoring.drift.distribution.shift_table`` (``reference``, ``fdr``, …).
    """
    return shift_table(window_counts, grain=grain, **options)


def slice_cube(engine: Engine, *, max_values: int = 50) -> pd.DataFrame:
    """The lake's slice cube for ``metric="disagreement"``, shaped as ``slice_noise_table`` reads it.

    Parameters
    ----------
    engine : Engine
        Runs ``aggregations.attribute_values`` and ``aggregations.slice_cube``.
    max_values : int
        Attributes with more distinct values than this (ids, free text) are left out, as in
        ``analytics.store.slices.slice_cube``.

    Returns
    -------
    DataFrame
        One row per combination of the kept attributes' values; the index has one level per attribute,
        named by its key and sorted by key (a plain ``Index`` for one attribute; a ``RangeIndex`` when no
        attribute is kept), None where an item lacks it; columns ``items, ratings, rated_items,
        disputed`` (int64). Unlike the store's cube there is no majority-label column and no gold or
        suspect counts: the lake path measures disagreement only.
    """
    values = engine.run(agg.attribute_values())
    distinct = values.groupby("key")["value"].nunique()
    keys = sorted(str(key) for key in distinct.index[distinct <= max_values])
    cube = engine.run(agg.slice_cube(len(keys)), {f"key{i}": key for i, key in enumerate(keys)})
    cube = cube.rename(columns={f"a{i}": key for i, key in enumerate(keys)})
    counts = cube.drop(columns=keys).astype(np.int64)
    if not keys:
        return counts
    levels = [cube[key].astype(object).where(cube[key].notna(), None) for key in keys]
    index = (pd.Index(levels[0], name=keys[0], dtype=object) if len(keys) == 1
             else pd.MultiIndex.from_arrays(levels, names=keys))
    return counts.set_axis(index, axis=0)


def slice_noise(cube: pd.DataFrame, **options: object) -> pd.DataFrame:
    """``slice_noise_table(cube, metric="disagreement", **options)``: which slices disagree more."""
    return slice_noise_table(cube, metric="disagreement", **options)


def fit_dawid_skene(engine: Engine, model: DawidSkene | None = None, *,
                    with_posteriors: bool = True) -> DawidSkene:
    """Fit Dawid–Skene on the lake's ratings with the E-step and the M-step's sums in SQL.

    Parameters
    ----------
    engine : Engine
        Runs ``aggregations.ds_initial_counts``, one ``aggregations.ds_pass`` per EM iteration and, with
        ``with_posteriors``, ``aggregations.ds_posteriors``.
    model : DawidSkene or None
        The hyperparameters (``max_iter, tol, smoothing, prior_accuracy, pooling, min_labels``); None uses
        ``DawidSkene()``'s defaults. The fitted attributes are set on it and it is returned.
    with_posteriors : bool
        Also read each item's posteriors (N × K rows) to set ``probas_`` and ``labels_``; False keeps the
        result small (confusions, priors, skills), and leaves those two None.

    Returns
    -------
    DawidSkene
        ``model``, fitted: the attributes of ``DawidSkene.fit`` on the same ratings, with ``dtype_`` float64.

    Raises
    ------
    ValueError
        For options the SQL path does not implement (below), or a lake without ratings.

    Notes
    -----
    The EM loop is ``DawidSkene``'s: start from each item's share of votes (``init="majority"``), then per
    iteration the M-step (``DawidSkene._m_step``, with its pseudo-counts and pooling) on the counts Σ T_ik
    of (annotator, true class, label) and the class mass Σ_i T_ik, the E-step under the new confusions and
    priors, the objective (log-likelihood plus the log prior of the pseudo-counts) and the stopping rule
    |Δ objective| / R < ``tol``. Only the E-step and the sums run in the engine, in float64; the M-step
    works on M × K × K numbers. With ``pooling="sparse"`` the per-annotator counts are summed into the
    shared matrix here, as the in-memory fit does with its incidence columns. The result equals
    ``DawidSkene(dtype="float64").fit`` on the same ratings to rounding (``tests/engine``).

    Not implemented here, so refused: ``init="random"``, ``warm_start``, ``repeated="all"`` (the lake's
    ratings are the latest per item and annotator), ``dtype="float32"``. The chance check before fitting
    (``chance_check``, which needs every rating in memory) is not run: the fit never falls back to
    majority vote, ``fallback_`` is None and ``agreement_beyond_chance_`` is None. Check it in memory on a
    sample when one annotator may carry all the agreement.
    """
    ds = model if model is not None else DawidSkene()
    ds._check_params()
    refused = {"init": ("majority", ds.init), "warm_start": (False, ds.warm_start),
               "repeated": ("latest", ds.repeated)}
    bad = [f"{name}={value!r}" for name, (wanted, value) in refused.items() if value != wanted]
    if ds.dtype not in (None, "float64") and np.dtype(ds.dtype) != np.float64:
        bad.append(f"dtype={ds.dtype!r}")
    if bad:
        raise ValueError(f"the SQL Dawid–Skene fit does not implement {', '.join(bad)}; "
                         "use DawidSkene.fit on the ratings in memory")

    labels = engine.run(agg.class_labels())["label"]
    if not len(labels):
        raise ValueError("the lake has no ratings: consensus needs at least one rating")
    classes = pd.Index(sorted(labels), dtype="str", name="label")
    k = len(classes)
    codes = {"ds_classes": pd.DataFrame({"label": classes.to_numpy(object), "code": np.arange(k)})}
    counts, mass, _ = _statistics(engine.run(agg.ds_initial_counts(k), tables=codes), k)
    annotators = pd.Index(sorted(counts["annotator_id"].unique()), dtype="str", name="annotator_id")
    n_ratings = _n_ratings(counts, annotators, k)
    group = ds._groups(n_ratings)
    n_groups, b = int(group.max()) + 1, ds._pseudo_counts(k)
    table = _count_table(counts, annotators, classes, group, n_groups)
    total_ratings = int(n_ratings.sum())

    history, converged, objective = [], False, np.nan
    for iteration in range(1, ds.max_iter + 1):
        pi, rho, pseudo = ds._m_step(table, mass, n_groups, b)
        tables, params = _parameters(pi, rho, group, annotators, classes)
        counts, mass, ll = _statistics(engine.run(agg.ds_pass(k), params, tables), k)
        table = _count_table(counts, annotators, classes, group, n_groups)
        log_prior = np.sum(pseudo * _log(pi).reshape(-1, k, k).sum(axis=0))
        log_prior += ds.smoothing / k * _log(rho).sum()
        previous, objective = objective, ll + float(log_prior)
        delta = (objective - previous) / total_ratings
        history.append((iteration, ll, objective, delta))
        if abs(delta) < ds.tol:
            converged = True
            break

    if with_posteriors:
        post = engine.run(agg.ds_posteriors(k), params, tables)
        items = pd.Index(post["item_id"], dtype="str", name="item_id")
        posteriors = post[[f"p{c}" for c in range(k)]].to_numpy(np.float64)
    else:
        items, posteriors = pd.Index([], dtype="str", name="item_id"), np.empty((0, k))
    confusions = pi.reshape(-1, k, k).transpose(0, 2, 1)[group]
    empty = np.empty(0, dtype=np.int64)
    ds._set_results(Ratings(empty, empty, empty, items, annotators, classes), posteriors, confusions, rho,
                    n_ratings, history, converged)
    if not with_posteriors:
        ds.probas_ = ds.labels_ = None
    ds.fallback_ = None
    ds.agreement_beyond_chance_ = None
    return ds


def _statistics(rows: pd.DataFrame, k: int) -> tuple[pd.DataFrame, np.ndarray, float]:
    """A Dawid–Skene query's rows as (annotator, label) counts, the class mass and the log-likelihood
    (NaN when the query has none)."""
    values = [f"v{c}" for c in range(k)]
    total = rows[rows["part"] == "mass"]
    mass, ll = total[values].to_numpy(np.float64)[0], float(total["log_likelihood"].iloc[0])
    return rows[rows["part"] == "count"], mass, ll


def _n_ratings(counts: pd.DataFrame, annotators: pd.Index, k: int) -> np.ndarray:
    """Ratings per annotator: their start counts summed over classes (each rating's shares sum to 1)."""
    per_row = counts[[f"v{c}" for c in range(k)]].to_numpy(np.float64).sum(axis=1)
    totals = pd.Series(per_row).groupby(counts["annotator_id"].to_numpy(object)).sum().reindex(annotators)
    return np.rint(totals.to_numpy(np.float64)).astype(np.int64)


def _count_table(counts: pd.DataFrame, annotators: pd.Index, classes: pd.Index, group: np.ndarray,
                 n_groups: int) -> np.ndarray:
    """The M-step's counts as ``DawidSkene`` holds them: (groups·K given) × K true, summed per group."""
    k = len(classes)
    cell = group[annotators.get_indexer(counts["annotator_id"])] * k + classes.get_indexer(counts["label"])
    table = np.zeros((n_groups * k, k))
    np.add.at(table, cell, counts[[f"v{c}" for c in range(k)]].to_numpy(np.float64))
    return table


def _parameters(pi: np.ndarray, rho: np.ndarray, group: np.ndarray, annotators: pd.Index,
                classes: pd.Index) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """``ds_confusion`` (log P(label | true class k) per annotator and label, one column per k) and the
    log priors ``lr0 …`` for the next pass."""
    k = len(classes)
    log_pi = _log(pi).reshape(-1, k, k)[group]  # (annotator, given, true)
    j, given = np.meshgrid(np.arange(len(annotators)), np.arange(k), indexing="ij")
    confusion = pd.DataFrame({
        "annotator_id": annotators.to_numpy(object)[j.ravel()],
        "label": classes.to_numpy(object)[given.ravel()],
        **{f"lp{c}": log_pi[:, :, c].ravel() for c in range(k)},
    })
    return {"ds_confusion": confusion}, {f"lr{c}": float(v) for c, v in enumerate(_log(rho))}


@dataclasses.dataclass(frozen=True)
class LakeStatistics:
    """Every statistic of ``lake_statistics``, with what it was computed on and how long each step took.

    ``agreement`` is ``agreement_summary``; ``annotators`` ``annotator_reliability``; ``drift``
    ``label_drift``; ``slices`` ``slice_noise``; ``consensus`` the fitted ``DawidSkene`` (no posteriors);
    ``annotators`` carries the fit's ``skills_`` as ``ds_skill``; ``seconds`` maps each step (``label
    counts``, ``annotator tallies``, ``window label counts``, ``slice cube``, ``Dawid–Skene``) to its
    wall-clock time (the engine's work and the transfer of its result).
    """

    engine: str
    grain: str
    agreement: dict[str, float]
    annotators: pd.DataFrame
    drift: pd.DataFrame
    slices: pd.DataFrame
    consensus: DawidSkene
    seconds: dict[str, float]

    def flagged(self) -> pd.DataFrame:
        """The annotators with at least one flag."""
        return self.annotators[self.annotators["flags"].map(len) > 0]

    def shifted(self) -> pd.DataFrame:
        """The windows whose label mix shifted (their test significant after the multiple-testing control)."""
        return self.drift[self.drift["significant"]]

    def noisy(self) -> pd.DataFrame:
        """The slices significantly noisier than the rest."""
        return self.slices[self.slices["significant"]]


def lake_statistics(engine: Engine, *, grain: str = "week",
                    consensus: DawidSkene | None = None) -> LakeStatistics:
    """Run every aggregation on ``engine`` and compute the statistics from the results.

    Parameters
    ----------
    engine : Engine
        DuckDB or Spark over the lake.
    grain : {"day", "week", "month"}
        Window of the label-drift table.
    consensus : DawidSkene or None
        Hyperparameters of the Dawid–Skene fit (``fit_dawid_skene``); None uses the defaults.

    Returns
    -------
    LakeStatistics
    """
    seconds = {}

    def timed(step: str, work: Callable[[], object]) -> object:
        started = time.perf_counter()
        result = work()
        seconds[step] = time.perf_counter() - started
        return result

    counts = timed("label counts", lambda: engine.run(agg.label_counts()))
    tallies = timed("annotator tallies", lambda: engine.run(agg.annotator_tallies()))
    windows = timed("window label counts", lambda: engine.run(agg.window_label_counts(grain)))
    cube = timed("slice cube", lambda: slice_cube(engine))
    model = timed("Dawid–Skene", lambda: fit_dawid_skene(engine, consensus, with_posteriors=False))
    return LakeStatistics(
        engine=engine.name, grain=grain, agreement=agreement_summary(counts),
        annotators=annotator_reliability(tallies, counts, skills=model.skills_),
        drift=label_drift(windows, grain=grain),
        slices=slice_noise(cube), consensus=model, seconds=seconds,
    )
