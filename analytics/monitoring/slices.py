"""Slice-level label noise: which slices of the data (``source = fax``, ``source = fax & region = north``)
are noisier than the rest, with intervals and tests that survive multiple testing.

Every function reads a *slice cube* (``analytics.store.slices.slice_cube``): one row per combination of
attribute values and majority label, indexed by the attribute values (one index level per attribute, named
by its key; None/NaN where items lack it), with a ``label`` column and per-item counts. Summing its rows over
some attributes gives every slice of those attributes exactly, so nothing here touches items or SQL.

Noise metrics (``METRICS``): each is a share of items, an item counting once, noisy or not:

- ``disagreement``: items whose ratings are not unanimous, of the items with two or more ratings;
- ``gold_error``: items whose majority label is not their gold label, of the items with gold;
- ``suspect``: items a detection run flagged, of the items it scored.

Why per item and not per rating: ratings of one item share its difficulty, its slice and often its
annotators, so they are not independent; a binomial test over ratings would count m correlated ratings as
m independent trials and overstate the evidence by the design effect 1 + (m − 1)ρ. Items are the sampled
unit, and treating *items* as independent Bernoulli trials is the assumption every interval and test here
makes. It also gives the three metrics one unit and one denominator, so slices can be compared across them.
The price: the chance that m ratings are unanimous falls with m, so a slice whose items get more ratings
looks more disputed at the same per-rating error rate (``mean_ratings`` is reported beside each rate to
show when that happens); and the share of disputed items saturates, so it understates a ratio of error
rates (on the demo, fax's 3× error rate per rating shows as 1.9× more disputed items).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from analytics.core.stats import bh_qvalues, success_rate, wilson_interval

#: Metric name -> (column of the cube counting the items measured, column counting the noisy ones).
METRICS = {
    "disagreement": ("rated_items", "disputed"),
    "gold_error": ("gold_items", "gold_errors"),
    "suspect": ("scored", "flagged"),
}

#: Columns of ``slice_noise_table`` and of ``SliceDiscovery.found`` / ``.tested``, in display order.
TABLE_COLUMNS = (
    "slice", "attribute", "value", "depth", "items", "mean_ratings", "n", "errors", "noise_rate", "ci_low",
    "ci_high", "rest_n", "rest_rate", "ratio", "excess", "p_value", "q_value", "significant", "status",
)

#: ``status`` values; only ``tested`` rows have a p-value and belong to the Benjamini–Hochberg family.
TESTED, TOO_SMALL, REST_TOO_SMALL = "tested", "too small", "rest too small"
_STATUS_ORDER = {TESTED: 0, REST_TOO_SMALL: 1, TOO_SMALL: 2}

def slice_noise_table(
    counts: pd.DataFrame,
    *,
    metric: str = "disagreement",
    pairs: bool = False,
    min_items: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Noise rate of every slice with a Wilson interval, a test against the rest and BH q-values.

    Parameters
    ----------
    counts : DataFrame
        A slice cube (``analytics.store.slices.slice_cube``): index levels named by attribute, columns
        ``items``, ``ratings`` and the two columns of ``metric`` (``METRICS``).
    metric : {"disagreement", "gold_error", "suspect"}
        Which noise rate.
    pairs : bool
        Also every pair of values of two different attributes (``source = fax & region = north``), in the
        same table and the same multiple-testing family.
    min_items : int
        Size guard: a slice with fewer measured items (the metric's denominator), or whose rest has fewer,
        is reported with ``status`` ``"too small"`` (``"rest too small"``) and not tested, so it does not
        count in the Benjamini–Hochberg family either.
    alpha : float
        False-discovery rate: ``significant`` is ``q_value ≤ alpha``.
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    DataFrame
        ``TABLE_COLUMNS``, one row per slice with at least one measured item: tested slices noisiest first
        (by ``noise_rate``), then the untested ones. ``slice`` reads ``"source = fax & region = north"``;
        ``attribute`` and ``value`` hold the keys and values joined by ``" & "``; ``depth`` is 1 for a
        single attribute, 2 for a pair. ``items`` counts all the slice's items and ``mean_ratings`` their
        ratings per item; ``n`` and ``errors`` are the metric's measured and noisy items; ``rest_n`` and
        ``rest_rate`` describe every other item of the cube (including items without the attribute);
        ``ratio`` is ``noise_rate / rest_rate``; ``excess`` is ``errors − n × overall rate``, the noisy
        items the slice holds beyond its share. ``p_value``, ``q_value`` are NaN and ``significant`` False
        for untested slices.

    Raises
    ------
    ValueError
        Unknown metric (the message lists the valid ones), a missing count column, or bad options.

    Notes
    -----
    *Rate and interval.* With x noisy of n measured items, the rate is p̂ = x/n and the Wilson score
    interval (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n) (``analytics.core.stats.wilson_interval``).

    *Test.* One-sided Fisher exact test of the 2 × 2 table (slice, rest) × (noisy, clean), H1: the slice
    is noisier than the rest. Conditional on the margins, the slice's noisy count is hypergeometric, and
    p = P(Y ≥ x) with Y ~ Hypergeometric(N measured items, E noisy among them, n drawn): its survival
    function, evaluated for all slices at once. It is exact at any size, so the guard is about power and
    readability, not validity; being discrete it is conservative (its p-values are stochastically larger
    than uniform under H0). The test is one-sided because the question is "which slices are noisier"; a
    cleaner slice shows as ``ratio`` < 1 with a large p-value.

    *Multiple testing.* Benjamini–Hochberg over every tested slice (``multipletests(method="fdr_bh")``).
    BH is proven under independence and positive regression dependence; here the values of one attribute
    share the rest (negatively dependent tests) and a pair is nested in its two single slices (positively
    dependent). Benjamini & Yekutieli show that arbitrary dependence can inflate the FDR by at most
    Σ_{i≤m} 1/i. In simulations with no slice effect (``tests/analytics/test_slices.py``: 3 attributes,
    9 single slices and 26 pairs, 120 worlds) 6 worlds had any discovery, 5 % as nominal; with one
    slice 1.6× noisier the mean false-discovery proportion was 3 %.

    *Independence.* Items are assumed independent given their slice; see the module docstring for why the
    unit is the item.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22,
    209–212. Agresti, A. (2013). Categorical Data Analysis, 3rd ed., §3.5 (Fisher's exact test). Benjamini,
    Y. & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57, 289–300. Benjamini, Y. &
    Yekutieli, D. (2001). The control of the false discovery rate in multiple testing under dependency.
    Annals of Statistics 29, 1165–1188.

    Examples
    --------
    >>> cube = pd.DataFrame({"source": ["fax", "scanner"], "items": [100, 400], "ratings": [300, 1200],
    ...                      "rated_items": [100, 400], "disputed": [60, 80]}).set_index("source")
    >>> table = slice_noise_table(cube, min_items=30)
    >>> table[["slice", "noise_rate", "rest_rate", "significant"]].values.tolist()
    [['source = fax', 0.6, 0.2, True], ['source = scanner', 0.2, 0.6, False]]
    """
    n_column, x_column, attributes = _validate(counts, metric, min_items)
    _check_alpha(alpha)
    depths = (1, 2) if pairs else (1,)
    groups = [combo for depth in depths for combo in itertools.combinations(attributes, depth)]
    rows = pd.concat([_sums(counts, keys, n_column, x_column) for keys in groups] or [_EMPTY_SUMS],
                     ignore_index=True)
    table = _score(rows, _totals(counts, n_column, x_column), min_items=min_items, confidence=confidence)
    table = _adjust(table, alpha)
    order = table["status"].map(_STATUS_ORDER)
    table = table.assign(_order=order).sort_values(["_order", "noise_rate", "slice"],
                                                   ascending=[True, False, True], na_position="last")
    return table.reset_index(drop=True)[list(TABLE_COLUMNS)]


@dataclasses.dataclass(frozen=True)
class SliceDiscovery:
    """What ``discover_slices`` found, with the search behind it.

    Attributes
    ----------
    found : DataFrame
        The combinations that survive FDR control (and, when ``drop_explained``, are not explained by a
        broader one), most excess noisy items first: ``TABLE_COLUMNS`` plus ``explained_by``.
    tested : DataFrame
        Every combination tested (the Benjamini–Hochberg family), in search order, same columns.
    metric : str
    overall_rate : float
        Noise rate of all items of the cube.
    alpha, min_items, max_depth : float, int, int
        The search's options.
    candidates : int
        Combinations whose counts were looked at (tested or too small); the pruning skipped the rest.
    """

    found: pd.DataFrame
    tested: pd.DataFrame
    metric: str
    overall_rate: float
    alpha: float
    min_items: int
    max_depth: int
    candidates: int


def discover_slices(
    counts: pd.DataFrame,
    *,
    metric: str = "disagreement",
    max_depth: int = 3,
    min_items: int = 30,
    alpha: float = 0.05,
    confidence: float = 0.95,
    drop_explained: bool = True,
) -> SliceDiscovery:
    """Search attribute combinations for the noisiest slices; keep those that survive FDR control.

    Parameters
    ----------
    counts : DataFrame
        A slice cube (see ``slice_noise_table``).
    metric : {"disagreement", "gold_error", "suspect"}
        Which noise rate.
    max_depth : int
        Most conditions in a combination (1 = single slices only).
    min_items : int
        Support threshold: combinations with fewer measured items are neither tested nor extended.
    alpha : float
        False-discovery rate over every combination tested, at every depth.
    confidence : float
        Coverage of the Wilson intervals.
    drop_explained : bool
        Leave out a surviving combination whose excess one of its generalisations explains (Notes).

    Returns
    -------
    SliceDiscovery

    Notes
    -----
    *Search* (level-wise, as Apriori and subgroup discovery do). Depth 1 looks at every single slice; a
    combination of depth d + 1 is a candidate only when each of its d + 1 sub-combinations one condition
    shorter has at least ``min_items`` measured items. Support never grows under refinement, so this
    pruning is exact: it skips only combinations too small to test. Each candidate large enough (and with
    a large enough rest) is scored like a row of ``slice_noise_table`` (one-sided Fisher test against all
    other items), and Benjamini–Hochberg runs over every combination tested, at every depth.

    The pruning looks only at sizes, never at noise, and that is what keeps the FDR. Pruning also by the
    rate (extending only combinations noisier than average, a common subgroup-discovery heuristic) picks
    the family after looking at the outcomes: the children of slices that are noisy by chance get tested
    and inherit their luck. In 200 simulated worlds with no slice effect (3 attributes, depth 3) that
    search made a false discovery in 23 (11.5 %, against 5 % nominal); with size-only pruning 7 of 120
    worlds had one (5.8 %, within the binomial spread of 5 %; ``tests/analytics/test_slices.py``). The
    price is a larger family (every large enough combination of up to ``max_depth`` attributes: 59 there),
    so keep ``max_depth`` small when there are many attributes.

    *Ranking* by ``excess`` = x − n p₀ (p₀ the overall rate): the noisy items a slice holds beyond its
    share, N times the weighted relative accuracy of subgroup discovery. It trades size against lift, so a
    large slice three times as noisy ranks above a small corner of it.

    *Explained refinements.* A combination C of depth ≥ 2 that survives is *explained* by a parent P (C
    without one of its conditions) when, within P, C is not noisier than the rest of P: the one-sided
    Fisher test of C against P ∖ C has p > ``alpha``. When ``source = fax`` is noisy, ``source = fax &
    region = north`` survives too, but only through fax; ``explained_by`` names the parent with the largest
    such p. This screen is a descriptive filter (Bayardo's minimum improvement with a test), applied after
    and outside the FDR family.

    References
    ----------
    Klösgen, W. (1996). Explora: a multipattern and multistrategy discovery assistant. In Advances in
    Knowledge Discovery and Data Mining, 249–271. Lavrač, N., Kavšek, B., Flach, P. & Todorovski, L.
    (2004). Subgroup discovery with CN2-SD. JMLR 5, 153–188. Bayardo, R. J., Agrawal, R. & Gunopulos, D.
    (2000). Constraint-based rule mining in large, dense databases. Data Mining and Knowledge Discovery 4,
    217–240. Chung, Y., Kraska, T., Polyzotis, N., Tae, K. H. & Whang, S. E. (2019). Slice Finder:
    automated data slicing for model validation. ICDE, 1550–1553. Benjamini & Hochberg (1995), see
    ``slice_noise_table``.

    Examples
    --------
    >>> cube = pd.DataFrame({"source": ["fax", "fax", "scanner", "scanner"],
    ...                      "region": ["north", "south"] * 2, "items": [50, 50, 200, 200],
    ...                      "ratings": [150, 150, 600, 600], "rated_items": [50, 50, 200, 200],
    ...                      "disputed": [30, 30, 40, 40]}).set_index(["source", "region"])
    >>> found = discover_slices(cube, min_items=30).found
    >>> found["slice"].tolist()
    ['source = fax']
    """
    n_column, x_column, attributes = _validate(counts, metric, min_items)
    _check_alpha(alpha)
    if int(max_depth) != max_depth or max_depth < 1:
        raise ValueError("max_depth must be a whole number ≥ 1")
    totals = _totals(counts, n_column, x_column)
    overall = totals[1] / totals[0] if totals[0] else np.nan
    position = {attribute: i for i, attribute in enumerate(attributes)}

    levels = []
    frame = pd.concat([_sums(counts, (a,), n_column, x_column) for a in attributes] or [_EMPTY_SUMS],
                      ignore_index=True)
    for depth in range(1, int(max_depth) + 1):
        scored = _score(frame, totals, min_items=min_items, confidence=confidence)
        levels.append(scored)
        extendable = scored.loc[scored["n"] >= min_items, "conditions"]
        if depth == 1:
            singles = list(extendable)
        if depth == max_depth:
            break
        frame = _candidates(counts, set(extendable), singles, position, n_column, x_column)
        if frame.empty:
            break

    everything = _adjust(pd.concat(levels, ignore_index=True), alpha)
    everything["explained_by"] = None
    survivors = everything.index[everything["significant"]]
    everything.loc[survivors, "explained_by"] = _explained(everything, survivors, alpha)
    tested = everything[everything["status"] == TESTED]
    found = everything.loc[survivors]
    if drop_explained:
        found = found[found["explained_by"].isna()]
    columns = [*TABLE_COLUMNS, "explained_by"]
    found = found.sort_values(["excess", "slice"], ascending=[False, True])
    return SliceDiscovery(
        found=found.reset_index(drop=True)[columns],
        tested=tested.reset_index(drop=True)[columns],
        metric=metric,
        overall_rate=float(overall),
        alpha=float(alpha),
        min_items=int(min_items),
        max_depth=int(max_depth),
        candidates=len(everything),
    )


# --- internals -------------------------------------------------------------------------------------------

_EMPTY_SUMS = pd.DataFrame({"conditions": pd.Series([], dtype=object), "items": [], "ratings": [], "n": [],
                            "errors": []})


def _validate(counts: pd.DataFrame, metric: str, min_items: int) -> tuple[str, str, list[str]]:
    """The metric's (n, errors) columns and the cube's attributes, after checking the inputs."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    n_column, x_column = METRICS[metric]
    missing = [column for column in ("items", "ratings", n_column, x_column) if column not in counts.columns]
    if missing:
        raise ValueError(f"counts lacks the column(s) {', '.join(missing)} (see slice_cube)")
    if int(min_items) != min_items or min_items < 1:
        raise ValueError("min_items must be a whole number ≥ 1")
    if (counts[x_column] > counts[n_column]).any() or (counts[x_column] < 0).any():
        raise ValueError(f"{x_column} must lie between 0 and {n_column} in every row")
    return n_column, x_column, [name for name in counts.index.names if name is not None]


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError("alpha must lie strictly between 0 and 1")


def _totals(counts: pd.DataFrame, n_column: str, x_column: str) -> tuple[int, int]:
    return int(counts[n_column].sum()), int(counts[x_column].sum())


def _sums(counts: pd.DataFrame, keys: tuple[str, ...], n_column: str, x_column: str) -> pd.DataFrame:
    """``conditions, items, ratings, n, errors`` of every combination of values of ``keys``.

    Items lacking one of the keys belong to no combination of them (NaN groups are dropped).
    """
    wanted = list(dict.fromkeys(["items", "ratings", n_column, x_column]))
    grouped = counts[wanted].groupby(level=list(keys), dropna=True, sort=True).sum()
    values = grouped.index.to_list()
    if len(keys) == 1 and not isinstance(grouped.index, pd.MultiIndex):
        values = [(value,) for value in values]
    return pd.DataFrame({
        "conditions": [tuple(zip(keys, map(str, combo), strict=True)) for combo in values],
        "items": grouped["items"].to_numpy(np.int64),
        "ratings": grouped["ratings"].to_numpy(np.int64),
        "n": grouped[n_column].to_numpy(np.int64),
        "errors": grouped[x_column].to_numpy(np.int64),
    })


def _candidates(counts: pd.DataFrame, extendable: set, singles: list, position: dict, n_column: str,
                x_column: str) -> pd.DataFrame:
    """Counts of the next level's candidates: extendable combinations joined with one more single slice.

    A combination grows only by attributes after its last one (each set is built once), and is kept only
    when every sub-combination one condition shorter is extendable.
    """
    wanted: dict[tuple[str, ...], set] = {}
    for parent in extendable:
        for single in singles:
            if position[single[0][0]] <= position[parent[-1][0]]:
                continue
            child = parent + single
            if all(child[:i] + child[i + 1:] in extendable for i in range(len(child) - 1)):
                wanted.setdefault(tuple(key for key, _ in child), set()).add(child)
    frames = []
    for keys, children in sorted(wanted.items()):
        sums = _sums(counts, keys, n_column, x_column)
        frames.append(sums[sums["conditions"].isin(children)])
    return pd.concat(frames, ignore_index=True) if frames else _EMPTY_SUMS


def _score(rows: pd.DataFrame, totals: tuple[int, int], *, min_items: int, confidence: float) -> pd.DataFrame:
    """Rates, interval, rest, ratio, excess, status and one-sided Fisher p-value of each combination."""
    total_n, total_x = totals
    rows = rows[rows["n"] > 0]
    conditions = rows["conditions"].tolist()
    n, x = rows["n"].to_numpy(float), rows["errors"].to_numpy(float)
    rest_n, rest_x = total_n - n, total_x - x
    rate, rest_rate = success_rate(x, n), success_rate(rest_x, rest_n)
    low, high = wilson_interval(x, n, confidence=confidence)
    status = np.where(n < min_items, TOO_SMALL, np.where(rest_n < min_items, REST_TOO_SMALL, TESTED))
    return pd.DataFrame({
        "conditions": conditions,
        "slice": [" & ".join(f"{key} = {value}" for key, value in c) for c in conditions],
        "attribute": [" & ".join(key for key, _ in c) for c in conditions],
        "value": [" & ".join(value for _, value in c) for c in conditions],
        "depth": [len(c) for c in conditions],
        "items": rows["items"].to_numpy(np.int64),
        "mean_ratings": success_rate(rows["ratings"], rows["items"]),
        "n": n.astype(np.int64),
        "errors": x.astype(np.int64),
        "noise_rate": rate,
        "ci_low": low,
        "ci_high": high,
        "rest_n": rest_n.astype(np.int64),
        "rest_rate": rest_rate,
        "ratio": _ratio(rate, rest_rate),
        "excess": x - n * (total_x / total_n if total_n else np.nan),
        "p_value": np.where(status == TESTED, _fisher_greater(x, n, rest_x, rest_n), np.nan),
        "status": status,
    })


def _adjust(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Benjamini–Hochberg q-values over the tested rows, and ``significant``."""
    tested = (table["status"] == TESTED).to_numpy()
    table = table.copy()
    table["q_value"] = bh_qvalues(table["p_value"].to_numpy(float), tested, alpha)
    table["significant"] = (table["q_value"] <= alpha).to_numpy() & tested
    return table


def _explained(table: pd.DataFrame, rows: pd.Index, alpha: float) -> list:
    """For each row of ``rows``, the parent whose within-parent test has the largest p > alpha (or None)."""
    counted = dict(zip(table["conditions"], zip(table["n"], table["errors"], strict=True), strict=True))
    labels = dict(zip(table["conditions"], table["slice"], strict=True))
    explained = []
    for conditions in table.loc[rows, "conditions"]:
        n, x = counted[conditions]
        best, best_p = None, alpha
        for i in range(len(conditions) if len(conditions) > 1 else 0):
            parent = conditions[:i] + conditions[i + 1:]
            parent_n, parent_x = counted[parent]
            p = float(_fisher_greater(x, n, parent_x - x, parent_n - n))
            if p > best_p:
                best, best_p = labels[parent], p
        explained.append(best)
    return explained


def _fisher_greater(x: ArrayLike, n: ArrayLike, rest_x: ArrayLike, rest_n: ArrayLike) -> np.ndarray:
    """One-sided Fisher exact p-value, H1: x/n > rest_x/rest_n, as P(X ≥ x), X hypergeometric.

    Equals ``scipy.stats.fisher_exact([[x, n - x], [rest_x, rest_n - rest_x]], alternative="greater")``.
    """
    x, n, rest_x, rest_n = (np.asarray(a, dtype=float) for a in (x, n, rest_x, rest_n))
    p = stats.hypergeom.sf(x - 1, n + rest_n, x + rest_x, n)
    return np.clip(np.where(np.isfinite(p), p, 1.0), 0.0, 1.0)


def _ratio(rate: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """``rate / reference``; inf when only the reference is 0, NaN when both are."""
    rate, reference = np.asarray(rate, dtype=float), np.asarray(reference, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return rate / reference


def without_attribute(counts: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """The cube with ``attribute``'s index level removed (its rows kept, so every count stays exact).

    For a filter on ``attribute`` = v every item of the cube has that value: its slice is the whole cube,
    with no rest to test against, and its other values are empty. Dropping the level leaves the slices of
    the other attributes, compared within v. A cube without the attribute is returned as it is.

    Examples
    --------
    >>> cube = pd.DataFrame({"source": ["fax", "fax"], "region": ["north", "south"], "items": [5, 7],
    ...                      "ratings": [10, 14], "rated_items": [5, 7], "disputed": [1, 2]})
    >>> without_attribute(cube.set_index(["source", "region"]), "source").index.names
    FrozenList(['region'])
    """
    names = [name for name in counts.index.names if name is not None]
    if attribute not in names:
        return counts
    if len(names) == 1:
        return counts.reset_index(drop=True)
    return counts.droplevel(attribute)
