"""Suspected mislabels grouped into mislabeling patterns and clusters, each with a summary to act on.

A detection run flags suspects: items whose given label a second opinion doubts, each with a suggested label
and a score. One by one they hide the systematic part of label noise (annotators who keep calling a 1 a 7, a
guideline version that taught the wrong rule, a source whose scans are hard to read). Grouped, each such
cause shows up as one cluster that can be reviewed, and often fixed, at once:

1. *pattern*: the pair (given label → suggested label), e.g. ``1→7``;
2. *split* (optional, ``by=``): values of context columns the suspects carry, e.g. the guideline version;
3. *cluster*: a region of feature space within a pattern (and split).

Every cluster is then described by its items' label events (time span, guideline versions, the annotators
and cohort who gave the doubted label) and slice attributes (the slice it over-represents, and the share of
that slice it holds). ``cluster_suspects`` documents the method.

Glossary: N suspects, d feature dimensions, k clusters of a group.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import pairwise_distances
from threadpoolctl import threadpool_limits

from analytics.core.ratings import latest_ratings, require_columns

SUSPECT_COLUMNS = ("item_id", "given_label", "suggested_label", "score")
EVENT_COLUMNS = ("item_id", "annotator_id", "label")
ATTRIBUTE_COLUMNS = ("item_id", "key", "value")
SLICE_SIZE_COLUMNS = ("key", "value", "items")
ASSIGNMENT_COLUMNS = ("item_id", "cluster_id", "pattern")
#: Columns of ``Clusters.summary``, in display order.
SUMMARY_COLUMNS = (
    "cluster_id", "pattern", "split", "given_label", "suggested_label", "size", "mean_score", "max_score",
    "representative_item", "first_at", "last_at", "guideline_versions", "dominant_guideline_version",
    "top_annotators", "top_cohort", "top_cohort_share", "context", "context_share", "context_lift",
    "slice_share",
)
#: The pattern (and split value) that pools the patterns (split values) smaller than ``min_cluster_size``.
OTHER = "other"
#: At most this many suspects of a group fit the PCA and k-means (every suspect is then assigned).
FIT_SAMPLE = 10_000
#: At most this many suspects of a group enter the silhouette (its cost is quadratic in them).
SILHOUETTE_SAMPLE = 2_000
_N_INIT = 3


@dataclass(frozen=True)
class Clusters:
    """Suspects grouped into mislabeling patterns and clusters: the result of ``cluster_suspects``.

    Attributes
    ----------
    assignments : DataFrame with columns ``item_id, cluster_id, pattern``
        One row per suspect, in the order of the input.
    summary : DataFrame with columns ``SUMMARY_COLUMNS``
        One row per cluster, largest first (``cluster_suspects`` describes each column).
    params : dict
        The options used, the feature shape, and under ``groups`` for each group (pattern, or
        ``pattern | split``) the number of clusters found (``k``), the silhouette of the best partition
        tried (``silhouette``) and that of the reference cloud (``reference``); nan where none was tried.
    """

    assignments: pd.DataFrame
    summary: pd.DataFrame
    params: dict

    def members(self, cluster_id: str) -> pd.Series:
        """The ``item_id`` of the suspects of one cluster, for the drill-down; ``KeyError`` if unknown."""
        mask = self.assignments["cluster_id"] == cluster_id
        if not mask.any():
            raise KeyError(f"no cluster {cluster_id!r}")
        return self.assignments.loc[mask, "item_id"].reset_index(drop=True)


def cluster_suspects(
    suspects: pd.DataFrame,
    *,
    features: np.ndarray | None = None,
    events: pd.DataFrame | None = None,
    attributes: pd.DataFrame | None = None,
    slice_sizes: pd.DataFrame | None = None,
    by: Sequence[str] = (),
    min_cluster_size: int = 5,
    max_clusters_per_pattern: int = 8,
    min_silhouette: float = 0.25,
    min_silhouette_gain: float = 0.1,
    max_dims: int = 10,
    standardize: bool = False,
    n_top: int = 3,
    random_state: int = 0,
) -> Clusters:
    """Group suspects into mislabeling patterns, split each by feature space, and summarise every cluster.

    Parameters
    ----------
    suspects : DataFrame with columns ``item_id, given_label, suggested_label, score``
        One row per suspect (``item_id`` unique), ``score`` any real number, higher meaning more likely
        mislabeled (a detection run's log10 odds against the given label); any other columns may serve as
        ``by``.
    features : array of shape (N, d), optional
        Feature vectors row-aligned with ``suspects`` (embeddings, pixels, ...). None: one cluster per group.
    events : DataFrame with columns ``item_id, annotator_id, label``, optional
        The suspects' label events, optionally with ``labeled_at``, ``guideline_version`` and ``cohort``
        (events of other items are ignored). Each annotator counts once per item, with their latest label;
        ``label`` is compared with ``given_label`` as text.
    attributes : DataFrame with columns ``item_id, key, value``, optional
        Slice attributes of the suspects in long form (e.g. ``source = fax``).
    slice_sizes : DataFrame with columns ``key, value, items``, optional
        Items of each slice in the whole dataset, for ``slice_share``.
    by : sequence of str
        Columns of ``suspects`` to split each pattern by before clustering, e.g. ``("guideline_version",)``.
    min_cluster_size : int
        Smallest pattern, split value and feature cluster that stands alone (see Notes).
    max_clusters_per_pattern : int
        Most feature clusters per group; 1 turns the feature split off.
    min_silhouette : float
        Smallest silhouette that accepts a feature split (Kaufman & Rousseeuw: below 0.25 no substantial
        structure).
    min_silhouette_gain : float
        Smallest excess of that silhouette over the silhouette the same procedure reaches on a cloud without
        structure (see Notes); if either is unmet, the group stays one cluster.
    max_dims : int
        Features are reduced to at most this many principal components before clustering.
    standardize : bool
        Scale each feature to unit variance within the group first: for features in different units
        (tabular). Leave it off for embeddings and pixels, whose dimensions share a scale (see Notes).
    n_top : int
        Annotators listed in ``top_annotators``.
    random_state : int
        Seed of the samples, PCA and k-means; equal inputs and seed give equal results.

    Returns
    -------
    Clusters
        ``assignments`` (``item_id, cluster_id, pattern`` per suspect, input order), ``summary`` (one row per
        cluster, largest first) and ``params``. Cluster ids read ``"1→7 #2"``: the group, then the rank of
        the cluster in it by size (ties: higher mean score first). Summary columns:

        - ``pattern``, ``split`` (the ``by`` values, ``"col=value, ..."``, or ``other``; None without ``by``),
          ``given_label``, ``suggested_label`` (None in ``other`` when its suspects differ);
        - ``size``, ``mean_score``, ``max_score``; ``representative_item``: the suspect nearest the cluster's
          centroid in the space clustered (ties, and no features: the highest score, then the smallest id);
        - from ``events``: ``first_at``, ``last_at`` (range of ``labeled_at`` over the cluster's events),
          ``guideline_versions`` (share of the cluster's events with a version, per version:
          ``"v1 (92%), v2 (8%)"``),
          ``dominant_guideline_version``; ``top_annotators``: the annotators whose (latest) label on the
          cluster's items is the given label, by the number of such items (``"ann-014 (12), ann-031 (9)"``);
          ``top_cohort`` and ``top_cohort_share``: the cohort giving most of those labels, and its share
          (of the labels by annotators whose cohort is known);
        - from ``attributes``: ``context`` (``"source = fax"``), the slice that sets the cluster apart from
          all suspects (see Notes), ``context_share`` (the cluster's share in it), ``context_lift``; from
          ``slice_sizes``: ``slice_share``, the cluster's items in that slice over all items of the slice.

        A column whose input is not given is left empty (None, NaN, NaT).

    Raises
    ------
    ValueError
        A frame lacks a column (named), ``item_id`` repeats in ``suspects``, ``features`` is not (N, d) or
        holds NaN or infinity, or an option is out of range.

    Notes
    -----
    *Patterns.* Suspects are grouped by (given → suggested label), compared as text. Patterns with fewer than
    ``min_cluster_size`` suspects are pooled into one pattern ``other``: a handful of scattered confusions is
    not a systematic problem, and one bubble for all of them keeps the view readable. ``other`` may itself
    be smaller than ``min_cluster_size``. With ``by``, each pattern is split by those columns' values, and
    values held by fewer than ``min_cluster_size`` of its suspects are pooled into the split ``other``.

    *Feature clusters.* Within a group of n suspects, features are centred (with ``standardize``, z-scored)
    and, above ``max_dims`` dimensions, projected on their first ``max_dims`` principal components. With
    k_max = min(``max_clusters_per_pattern``, n // ``min_cluster_size``) ≥ 2, k-means (k-means++, best of 3
    starts) cuts the group into k_max clusters, fitted on at most ``FIT_SAMPLE`` suspects and applied to all.
    These are merged pairwise by Ward's criterion (the pair whose merge adds least within-cluster sum of
    squares, n_a n_b / (n_a + n_b) · ‖c_a − c_b‖²) down to two, giving nested partitions for every k; in
    each, clusters smaller than ``min_cluster_size`` are merged, smallest first, into the one with the
    nearest centroid (so a few outliers join their neighbours rather than make a cluster). The partition
    with the highest silhouette, over at most ``SILHOUETTE_SAMPLE`` suspects, wins (ties: fewer clusters).
    Cost is O(n · d · k_max) per group plus fixed samples, on one thread: 1e5 suspects take about 2–3 s,
    with no n × n matrix.

    k-means cuts any cloud, so whether to split at all is decided against a reference: the same procedure
    run on a Gaussian cloud with the group's variance along each principal axis (the same shape, without
    clusters; the gap statistic's idea, with this Gaussian in place of its uniform box). The group is split
    only if its silhouette reaches ``min_silhouette`` and beats the reference's by ``min_silhouette_gain``.
    A raw threshold alone would not do: a structureless cloud cut in two scores about 0.55 on a line, 0.33
    in a plane and 0.07 in ten dimensions, while real clusters in high dimensions score low too (digits 0
    and 1 of sklearn's ``load_digits``: 0.49, reference 0.25). On Gaussian clouds of any dimension the gain
    stays within ±0.02 (uniform ones, flatter, reach about 0.07; on a line with few points more), while
    pairs of digits gain 0.07–0.24. Read the silhouette (in ``params``) as Kaufman & Rousseeuw do: above 0.7
    strong structure, 0.5–0.7 reasonable, 0.25–0.5 weak (in high dimensions, often all there is). Clusters
    of a pattern that differ in feature space point to different causes (a stroke style, a device, a
    template).

    ``standardize`` is off by default because z-scores shrink exactly the directions that separate clusters
    (their spread is mostly between clusters) and inflate near-constant ones (blank border pixels): two
    blobs 18 standard deviations apart in 16 dimensions score a silhouette of about 0.8 unscaled and 0.5
    z-scored. Turn it on when features come in different units, or a large-unit feature rules the distances.

    *Context.* For each slice s (key = value) and cluster c, with n_cs of the cluster's n_c items in s and
    n_s of all N suspects, lift = (n_cs / n_c) / (n_s / N): how much more common s is in the cluster than
    among all suspects. ``context`` is the slice with lift > 1 that maximises n_cs · ln(lift) (items times
    log-lift), so a value most of the cluster shares beats a rare value that one item happens to carry; it
    is None when no slice is over-represented (e.g. one cluster holds every suspect). ``slice_share`` =
    n_cs / (items of s in the dataset): the part of that slice's problem the cluster explains.

    References
    ----------
    Arthur, D. & Vassilvitskii, S. (2007). k-means++: the advantages of careful seeding. SODA, 1027–1035.
    Ward, J. H. (1963). Hierarchical grouping to optimize an objective function. JASA 58, 236–244.
    Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and validation of cluster
    analysis. J. Comput. Appl. Math. 20, 53–65. Kaufman, L. & Rousseeuw, P. J. (1990). Finding Groups in
    Data. Wiley, ch. 2.
    Tibshirani, R., Walther, G. & Hastie, T. (2001). Estimating the number of clusters in a data set via the
    gap statistic. JRSS B 63(2), 411–423.

    Examples
    --------
    >>> suspects = pd.DataFrame({"item_id": range(12), "given_label": [1] * 10 + [3] * 2,
    ...                          "suggested_label": [7] * 10 + [8] * 2, "score": np.linspace(0.5, 0.9, 12)})
    >>> features = np.repeat([[0.0, 0.0], [10.0, 10.0], [5.0, 0.0]], [5, 5, 2], axis=0)
    >>> result = cluster_suspects(suspects, features=features, min_cluster_size=3)
    >>> result.summary[["cluster_id", "size"]].to_numpy().tolist()
    [['1→7 #1', 5], ['1→7 #2', 5], ['other #1', 2]]
    """
    by = [by] if isinstance(by, str) else list(by)
    x = _validate(suspects, features, events, attributes, slice_sizes, by, min_cluster_size,
                  max_clusters_per_pattern, max_dims, n_top)
    pattern, split, group = _groups(suspects, by, min_cluster_size)
    n = len(suspects)
    label = np.zeros(n, dtype=np.int64)  # the cluster's number (1 = largest) within its group
    distance = np.zeros(n)
    scores = suspects["score"].to_numpy(float)
    chosen: dict[str, dict] = {}
    order = pd.DataFrame({"group": group, "item_id": suspects["item_id"].to_numpy()})
    order = order.sort_values(["group", "item_id"], kind="stable")  # results do not depend on row order
    # One thread: the pieces are small, and OpenMP threads spinning against another busy process made
    # 1e5 suspects take 70 s instead of 2.7 s on two shared cores.
    with threadpool_limits(limits=1):
        for name, rows in order.groupby("group", sort=False).indices.items():
            rows = order.index.to_numpy()[rows]
            rng = np.random.default_rng([random_state, zlib.crc32(str(name).encode())])
            label[rows], distance[rows], chosen[name] = _cluster_group(
                None if x is None else x[rows], scores[rows], rng=rng, min_size=min_cluster_size,
                max_k=max_clusters_per_pattern, min_silhouette=min_silhouette, min_gain=min_silhouette_gain,
                max_dims=max_dims, standardize=standardize,
            )
    cluster_id = group + " #" + label.astype(str)
    assignments = pd.DataFrame({"item_id": suspects["item_id"].reset_index(drop=True),
                                "cluster_id": cluster_id, "pattern": pattern})
    members = assignments.assign(
        split=split, given_label=suspects["given_label"].to_numpy(),
        suggested_label=suspects["suggested_label"].to_numpy(), score=scores, distance=distance,
        rank=np.argsort(order.index.to_numpy()) if n else np.zeros(0, dtype=np.int64),
    )
    summary = _summary(members)
    summary = summary.join(_event_summary(events, members, n_top=n_top), on="cluster_id")
    summary = summary.join(_context(attributes, slice_sizes, members), on="cluster_id")
    summary = summary.sort_values(["size", "mean_score", "cluster_id"], ascending=[False, False, True])
    params = {
        "min_cluster_size": min_cluster_size, "max_clusters_per_pattern": max_clusters_per_pattern,
        "min_silhouette": min_silhouette, "min_silhouette_gain": min_silhouette_gain, "max_dims": max_dims,
        "standardize": standardize, "n_top": n_top, "random_state": random_state, "by": by,
        "features": None if x is None else tuple(x.shape),
        "fit_sample": FIT_SAMPLE, "silhouette_sample": SILHOUETTE_SAMPLE, "groups": chosen,
    }
    return Clusters(assignments=assignments, summary=summary.reset_index(drop=True)[list(SUMMARY_COLUMNS)],
                    params=params)


def _validate(suspects: pd.DataFrame, features: np.ndarray | None, events: pd.DataFrame | None,
              attributes: pd.DataFrame | None, slice_sizes: pd.DataFrame | None, by: list[str],
              min_cluster_size: int, max_clusters: int, max_dims: int, n_top: int) -> np.ndarray | None:
    require_columns(suspects, SUSPECT_COLUMNS + tuple(by), "suspects")
    optional = ((events, EVENT_COLUMNS, "events"), (attributes, ATTRIBUTE_COLUMNS, "attributes"),
                (slice_sizes, SLICE_SIZE_COLUMNS, "slice_sizes"))
    for frame, columns, what in optional:
        if frame is not None:
            require_columns(frame, columns, what)
    repeated = suspects["item_id"].duplicated()
    if repeated.any():
        raise ValueError(f"suspects holds item_id {suspects['item_id'][repeated].iloc[0]!r} more than once; "
                         "expected one row per suspect")
    for name, value in (("min_cluster_size", min_cluster_size), ("max_clusters_per_pattern", max_clusters),
                        ("max_dims", max_dims), ("n_top", n_top)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if features is None:
        return None
    x = np.asarray(features, dtype=float)
    if x.ndim != 2 or x.shape[0] != len(suspects):
        raise ValueError(f"features must have shape (len(suspects), d) = ({len(suspects)}, d), row-aligned "
                         f"with suspects; got {x.shape}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(f"features holds NaN or infinite values in {int(bad.sum())} row(s), first at "
                         f"row {int(np.argmax(bad))}")
    return x


def _groups(suspects: pd.DataFrame, by: list[str], min_size: int) -> tuple[np.ndarray, ...]:
    """Pattern, split and group (pattern, or ``pattern | split``) of every suspect, small ones pooled."""
    pattern = _pooled(suspects["given_label"].astype(str) + "→" + suspects["suggested_label"].astype(str),
                      min_size)
    if not by:
        return pattern.to_numpy(object), np.full(len(suspects), None, dtype=object), pattern.to_numpy(object)
    parts = [col + "=" + suspects[col].astype(str) for col in by]
    split = parts[0].str.cat(parts[1:], sep=", ") if len(parts) > 1 else parts[0]
    split = split.where(_sizes(pattern + " | " + split) >= min_size, OTHER)
    return pattern.to_numpy(object), split.to_numpy(object), (pattern + " | " + split).to_numpy(object)


def _sizes(values: pd.Series) -> pd.Series:
    return values.map(values.value_counts())


def _pooled(values: pd.Series, min_size: int) -> pd.Series:
    return values.where(_sizes(values) >= min_size, OTHER)


def _cluster_group(x: np.ndarray | None, scores: np.ndarray, *, rng: np.random.Generator, min_size: int,
                   max_k: int, min_silhouette: float, min_gain: float, max_dims: int,
                   standardize: bool) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Feature clusters of one group: numbers 1..k by size, distance to own centroid, and the choice made
    (k, silhouette of the best partition, silhouette of the reference)."""
    n = len(scores)
    if x is None:
        return np.ones(n, dtype=np.int64), np.zeros(n), {"k": 1, "silhouette": np.nan, "reference": np.nan}
    fit = _sample(rng, n, FIT_SAMPLE)
    seed = int(rng.integers(2**31 - 1))
    z = _reduce(x, fit, max_dims=max_dims, standardize=standardize, seed=seed)
    labels, silhouette, reference = np.zeros(n, dtype=np.int64), np.nan, np.nan
    max_k = min(max_k, n // min_size, len(np.unique(z[fit], axis=0)))
    if max_k >= 2:
        check = _sample(rng, n, SILHOUETTE_SAMPLE)
        silhouette, best = _best_partition(z, fit, check, max_k=max_k, min_size=min_size, seed=seed)
        # the same procedure on a cloud without structure: a Gaussian with the group's principal variances
        variances = np.linalg.eigvalsh(np.atleast_2d(np.cov(z[fit], rowvar=False)))
        cloud = rng.standard_normal((len(check), z.shape[1])) * np.sqrt(np.clip(variances, 0, None))
        everything = np.arange(len(cloud))
        reference, _ = _best_partition(cloud, everything, everything, max_k=max_k,
                                       min_size=max(1, min_size * len(check) // n), seed=seed)
        if silhouette >= min_silhouette and silhouette - reference >= min_gain:
            labels = best
    ids, labels = np.unique(labels, return_inverse=True)
    centroids = _centroids(z, labels, range(len(ids)))
    distance = np.linalg.norm(z - centroids[labels], axis=1)
    # number clusters by size, then mean score, then first suspect in item order
    sizes = np.bincount(labels)
    mean_score = np.bincount(labels, weights=np.nan_to_num(scores)) / sizes
    first = np.array([np.flatnonzero(labels == i)[0] for i in range(len(ids))])
    rank = np.lexsort((first, -mean_score, -sizes))
    number = np.empty(len(ids), dtype=np.int64)
    number[rank] = np.arange(1, len(ids) + 1)
    return number[labels], distance, {"k": len(ids), "silhouette": silhouette, "reference": reference}


def _best_partition(z: np.ndarray, fit: np.ndarray, check: np.ndarray, *, max_k: int, min_size: int,
                    seed: int) -> tuple[float, np.ndarray | None]:
    """k-means into ``max_k``, Ward's merges down to 2, small clusters absorbed: the partition with the
    highest silhouette on the ``check`` rows (the first maximum: fewest clusters), or (nan, None)."""
    with warnings.catch_warnings():
        # duplicate points can leave fewer distinct clusters than asked for; the empty ones just drop out
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = KMeans(n_clusters=max_k, n_init=_N_INIT, random_state=seed).fit(z[fit]).predict(z)
    levels = _ward_levels(z, start)
    finest = levels[-1]
    # distance sums to the finest clusters, once; a coarser level adds up the columns it merges
    sums = pairwise_distances(z[check]) @ _onehot(finest[check], finest.max() + 1)
    best, best_value = None, np.nan
    for level in levels:
        level = _merge_small(z, level, min_size)
        merged_into = np.zeros(finest.max() + 1, dtype=np.int64)
        merged_into[finest] = level
        value = _silhouette(sums @ _onehot(merged_into, level.max() + 1), level[check])
        if value > best_value or (np.isnan(best_value) and not np.isnan(value)):
            best, best_value = level, value
    return best_value, best


def _sample(rng: np.random.Generator, n: int, cap: int) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, size=cap, replace=False))


def _silhouette(sums: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a sample (Rousseeuw 1987); nan with fewer than two clusters in it.

    ``sums[i, j]`` is the summed distance from sampled point i to the sampled points of cluster j, ``labels``
    the sampled points' clusters. s_i = (b_i − a_i) / max(a_i, b_i), a_i the mean distance to the rest of its
    cluster, b_i the smallest mean distance to another cluster; 0 for a point alone in its cluster (as
    sklearn's ``silhouette_score``).
    """
    counts = np.bincount(labels, minlength=sums.shape[1]).astype(float)
    if np.count_nonzero(counts) < 2:
        return np.nan
    rows = np.arange(len(labels))
    own = counts[labels]
    a = sums[rows, labels] / np.maximum(own - 1, 1)
    means = sums / np.where(counts > 0, counts, 1.0)
    means[:, counts == 0] = np.inf
    means[rows, labels] = np.inf
    b = means.min(axis=1)
    top = np.maximum(a, b)
    s = np.divide(b - a, top, out=np.zeros_like(a), where=(own > 1) & (top > 0))
    return float(s.mean())


def _reduce(x: np.ndarray, fit: np.ndarray, *, max_dims: int, standardize: bool, seed: int) -> np.ndarray:
    """Centred (z-scored) features on the first ``max_dims`` principal components of the fit sample."""
    z = x - x.mean(axis=0)
    if standardize:
        scale = x.std(axis=0)
        z /= np.where(scale > 0, scale, 1.0)
    dims = min(max_dims, len(fit) - 1)
    if z.shape[1] > max_dims and dims >= 1:
        z = PCA(n_components=dims, random_state=seed).fit(z[fit]).transform(z)
    return z


def _onehot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


def _centroids(z: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    return np.stack([z[labels == i].mean(axis=0) for i in ids])


def _merge_small(z: np.ndarray, labels: np.ndarray, min_size: int) -> np.ndarray:
    """Merge clusters smaller than ``min_size``, smallest first, into the one with the nearest centroid."""
    labels = labels.copy()
    while True:
        ids, sizes = np.unique(labels, return_counts=True)
        if len(ids) < 2 or sizes.min() >= min_size:
            return labels
        centroids = _centroids(z, labels, ids)
        small = int(np.argmin(sizes))
        gaps = np.linalg.norm(centroids - centroids[small], axis=1)
        gaps[small] = np.inf
        labels[labels == ids[small]] = ids[int(np.argmin(gaps))]


def _ward_levels(z: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Nested partitions from ``labels`` down to two clusters by Ward's criterion, fewest clusters first."""
    ids, labels, sizes = np.unique(labels, return_inverse=True, return_counts=True)
    centroids, sizes = _centroids(z, labels, range(len(ids))), sizes.astype(float)
    owner = np.arange(len(ids))  # the live cluster each starting cluster has merged into
    live = list(range(len(ids)))
    levels = [labels]
    while len(live) > 2:
        _, a, b = min((_ward_cost(sizes[a], sizes[b], centroids[a], centroids[b]), a, b)
                      for i, a in enumerate(live) for b in live[i + 1:])
        centroids[a] = (sizes[a] * centroids[a] + sizes[b] * centroids[b]) / (sizes[a] + sizes[b])
        sizes[a] += sizes[b]
        owner[owner == b] = a
        live.remove(b)
        levels.append(owner[labels])
    return levels[::-1]


def _ward_cost(n_a: float, n_b: float, c_a: np.ndarray, c_b: np.ndarray) -> float:
    """Increase of the within-cluster sum of squares when clusters a and b merge (Ward 1963)."""
    return n_a * n_b / (n_a + n_b) * float(np.sum((c_a - c_b) ** 2))


def _summary(members: pd.DataFrame) -> pd.DataFrame:
    """Size, scores, labels and representative of every cluster (one row per cluster)."""
    grouped = members.groupby("cluster_id", sort=False)
    summary = grouped.agg(pattern=("pattern", "first"), split=("split", "first"), size=("item_id", "size"),
                          mean_score=("score", "mean"), max_score=("score", "max"))
    for column in ("given_label", "suggested_label"):
        single = grouped[column].nunique(dropna=False) == 1
        summary[column] = grouped[column].first().astype(object).where(single, None)
    nearest = members.sort_values(["cluster_id", "distance", "score", "rank"],
                                  ascending=[True, True, False, True])
    summary["representative_item"] = nearest.drop_duplicates("cluster_id").set_index("cluster_id")["item_id"]
    return summary.reset_index()


def _event_summary(events: pd.DataFrame | None, members: pd.DataFrame, *, n_top: int) -> pd.DataFrame:
    """Time span, guideline versions, annotators and cohort of every cluster's label events."""
    out = pd.DataFrame(index=pd.Index(members["cluster_id"].unique(), name="cluster_id"))
    out["first_at"] = out["last_at"] = pd.NaT
    for column in ("guideline_versions", "dominant_guideline_version", "top_annotators", "top_cohort"):
        out[column] = None
    out["top_cohort_share"] = np.nan
    if events is None:
        return out
    joined = events.merge(members[["item_id", "cluster_id"]], on="item_id")  # drops other items' events
    if "labeled_at" in joined.columns:
        at = joined["labeled_at"]
        if not (pd.api.types.is_datetime64_any_dtype(at) or pd.api.types.is_numeric_dtype(at)):
            at = pd.to_datetime(at, utc=True, format="mixed")
        span = at.groupby(joined["cluster_id"]).agg(["min", "max"])
        out["first_at"], out["last_at"] = span["min"], span["max"]
    if "guideline_version" in joined.columns:
        versions = joined.groupby(["cluster_id", "guideline_version"]).size()
        versions = _ranked(versions, top=None, as_share=True)
        out["guideline_versions"], out["dominant_guideline_version"] = versions["text"], versions["name"]
    ratings = latest_ratings(joined).merge(members[["item_id", "cluster_id", "given_label"]], on="item_id")
    blamed = ratings.loc[ratings["label"].astype(str) == ratings["given_label"].astype(str)]
    annotators = _ranked(blamed.groupby(["cluster_id", "annotator_id"]).size(), top=n_top, as_share=False)
    out["top_annotators"] = annotators["text"]
    if "cohort" in joined.columns:
        cohort_of = joined.dropna(subset=["cohort"]).drop_duplicates("annotator_id").set_index("annotator_id")
        cohorts = blamed["annotator_id"].map(cohort_of["cohort"])
        top = _ranked(cohorts.groupby(blamed["cluster_id"]).value_counts(), top=1, as_share=True)
        out["top_cohort"], out["top_cohort_share"] = top["name"], top["share"]
    return out


def _ranked(counts: pd.Series, *, top: int | None, as_share: bool) -> pd.DataFrame:
    """From counts indexed by (cluster_id, name): per cluster the text ``"a (12), b (9)"`` (or shares
    ``"a (92%)"``) of the ``top`` most frequent names, and the first name with its share."""
    table = counts.rename("n").reset_index()
    table.columns = ["cluster_id", "name", "n"]
    table["share"] = table["n"] / table.groupby("cluster_id")["n"].transform("sum")
    table["key"] = table["name"].astype(str)
    table = table.sort_values(["cluster_id", "n", "key"], ascending=[True, False, True])
    if top is not None:
        table = table.groupby("cluster_id", sort=False).head(top)
    amounts = [f"{s:.0%}" for s in table["share"]] if as_share else table["n"].astype(str)
    table["text"] = table["key"] + " (" + pd.Series(amounts, index=table.index) + ")"
    first = table.drop_duplicates("cluster_id").set_index("cluster_id")[["name", "share"]]
    return first.assign(text=table.groupby("cluster_id", sort=False)["text"].agg(", ".join))


def _context(attributes: pd.DataFrame | None, slice_sizes: pd.DataFrame | None,
             members: pd.DataFrame) -> pd.DataFrame:
    """The slice each cluster over-represents most among all suspects: share, lift and slice share."""
    columns = ["context", "context_share", "context_lift", "slice_share"]
    out = pd.DataFrame(index=pd.Index(members["cluster_id"].unique(), name="cluster_id"), columns=columns)
    out["context"] = None
    out[columns[1:]] = np.nan
    if attributes is None or attributes.empty:
        return out
    tagged = (attributes[list(ATTRIBUTE_COLUMNS)].drop_duplicates()
              .merge(members[["item_id", "cluster_id"]], on="item_id"))
    table = tagged.groupby(["cluster_id", "key", "value"]).size().rename("n").reset_index()
    table = table.join(tagged.groupby(["key", "value"]).size().rename("n_slice"), on=["key", "value"])
    cluster_size = table["cluster_id"].map(members["cluster_id"].value_counts())
    table = table.loc[table["n"] * len(members) > table["n_slice"] * cluster_size]  # lift > 1, exactly
    cluster_size = cluster_size[table.index]
    table["context_share"] = table["n"] / cluster_size
    table["context_lift"] = table["context_share"] / (table["n_slice"] / len(members))
    table["weight"] = table["n"] * np.log(table["context_lift"])
    table["key_text"], table["value_text"] = table["key"].astype(str), table["value"].astype(str)
    table = table.sort_values(["cluster_id", "weight", "n", "key_text", "value_text"],
                              ascending=[True, False, False, True, True]).drop_duplicates("cluster_id")
    table["context"] = table["key_text"] + " = " + table["value_text"]
    if slice_sizes is not None:
        items = slice_sizes.groupby(["key", "value"])["items"].sum()
        table["slice_share"] = table["n"] / table.join(items, on=["key", "value"])["items"]
    table = table.set_index("cluster_id")
    out.loc[table.index, "context"] = table["context"]
    for column in columns[1:]:
        if column in table.columns:
            out.loc[table.index, column] = table[column].astype(float)
    return out
