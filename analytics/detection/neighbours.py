"""Neighbours in feature space: each item's k nearest items (exact below ``EXACT_NEIGHBOURS_BELOW`` items,
an inverted-file search above, never a quadratic distance matrix) and the votes of their given labels.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import ArrayLike

from analytics.detection.model import _check_labels

#: Below this many items neighbours are found exactly (brute force); above, by an inverted-file search.
EXACT_NEIGHBOURS_BELOW = 20_000




@dataclasses.dataclass(frozen=True)
class Neighbours:
    """The k nearest other items of every item (Euclidean, in standardised feature space).

    ``indices[i]`` are row numbers, nearest first, never i itself; ``distances`` match. ``exact`` tells
    whether they came from a brute-force search or the inverted-file approximation.
    """

    indices: np.ndarray
    distances: np.ndarray
    exact: bool


def nearest_neighbours(features: ArrayLike, *, k: int = 10, exact_below: int = EXACT_NEIGHBOURS_BELOW,
                       n_cells: int | None = None, n_probe: int = 3, random_state: int = 0) -> Neighbours:
    """The ``k`` nearest neighbours of every item, in time linear in N for large N.

    Parameters
    ----------
    features : array-like of shape (N, d)
        Numeric features; each column is standardised first (constant columns dropped).
    k : int
        Neighbours per item (fewer when N ≤ k).
    exact_below : int
        Below this N, a brute-force search (scikit-learn ``NearestNeighbors``): exact, O(N²) time.
    n_cells, n_probe : int
        The inverted file: k-means cuts the space into ``n_cells`` cells (default ⌈√N⌉), and an item's
        neighbours are searched among the members of the ``n_probe`` cells whose centres are nearest to
        its own cell's centre.
    random_state : int
        Seed of the k-means.

    Returns
    -------
    Neighbours

    Notes
    -----
    The inverted file (as in FAISS's IVF index) with C = √N cells of about √N items each costs
    O(N · C · d) to assign the items to cells (k-means is fitted on a sample of 40 items per cell) and
    O(N · n_probe · N / C · d) to search: O(N^1.5 · d) in all, where a brute-force search is O(N² · d). It
    is an approximation: a true neighbour in a cell that is not probed is missed. On the demo's digit images
    recall@10 against the exact search is measured in ``tests/analytics/test_detection.py``.

    Examples
    --------
    >>> nn = nearest_neighbours([[0.0], [0.1], [5.0], [5.2]], k=1)
    >>> nn.indices.ravel().tolist()
    [1, 0, 3, 2]
    """
    x = np.asarray(features, dtype=np.float32)  # single precision: half the memory of the copies below
    if x.ndim != 2:
        raise ValueError(f"features must have shape (N, d), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("features must be finite (no missing values)")
    n = len(x)
    k = min(int(k), max(n - 1, 0))
    if k < 1:
        return Neighbours(np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0)), True)
    scale = x.std(axis=0, dtype=np.float64)
    keep = scale > 0
    z = x[:, keep] - x[:, keep].mean(axis=0, dtype=np.float64).astype(np.float32)
    z /= scale[keep].astype(np.float32)
    if n < exact_below:
        from sklearn.neighbors import NearestNeighbors

        distances, indices = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(z).kneighbors(z)
        return Neighbours(*_drop_self(indices, distances, k), exact=True)
    return _inverted_file(z, k, n_cells, n_probe, random_state)


def _drop_self(indices: np.ndarray, distances: np.ndarray, k: int,
               rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Remove each row's own index (``rows``, default 0 … n − 1) from its k + 1 nearest, wherever ties put
    it."""
    own = indices == (np.arange(len(indices)) if rows is None else rows)[:, None]
    missing = ~own.any(axis=1)
    own[missing, -1] = True  # a duplicate point came first: drop the farthest instead
    keep = ~own
    return indices[keep].reshape(len(indices), k), distances[keep].reshape(len(indices), k)


def _inverted_file(z: np.ndarray, k: int, n_cells: int | None, n_probe: int,
                   random_state: int) -> Neighbours:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.neighbors import NearestNeighbors

    n = len(z)
    n_cells = max(1, min(n, int(np.ceil(np.sqrt(n)))) if n_cells is None else int(n_cells))
    rng = np.random.default_rng(random_state)
    sample = z[rng.choice(n, min(n, 40 * n_cells), replace=False)]
    kmeans = MiniBatchKMeans(n_clusters=n_cells, batch_size=max(1024, 4 * n_cells), n_init=1, max_iter=5,
                             random_state=random_state).fit(sample)
    cell = kmeans.predict(z)
    centres = kmeans.cluster_centers_
    probe = min(n_probe, n_cells)
    centre_sq = (centres ** 2).sum(axis=1)
    between = centre_sq[:, None] + centre_sq[None, :] - 2 * centres @ centres.T
    np.fill_diagonal(between, -1.0)  # a cell's own members first, even if another centre coincides
    nearest_cells = np.argsort(between, axis=1)[:, :probe]
    order = np.argsort(cell, kind="stable")
    starts = np.searchsorted(cell[order], np.arange(n_cells + 1))
    members = [order[starts[c]:starts[c + 1]] for c in range(n_cells)]
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.full((n, k), np.inf)
    for c in range(n_cells):
        queries = members[c]
        if not len(queries):
            continue
        candidates = np.concatenate([members[j] for j in nearest_cells[c]])  # the cell's own first
        m = min(k + 1, len(candidates))
        indices[queries] = queries[:, None]  # a tiny neighbourhood: pad with the item at infinite distance
        if m < 2:
            continue
        # scikit-learn's brute-force k-nearest search (chunked, multithreaded) within the probed cells
        found_d, found = NearestNeighbors(n_neighbors=m, algorithm="brute").fit(z[candidates]).kneighbors(
            z[queries])
        keep, kept_d = _drop_self(candidates[found], found_d, m - 1, rows=queries)
        indices[queries, :m - 1] = keep
        distances[queries, :m - 1] = kept_d
    return Neighbours(indices, distances, exact=False)


def neighbour_votes(labels: ArrayLike, neighbours: Neighbours, n_classes: int) -> np.ndarray:
    """(N, K) counts of the given labels among each item's neighbours (finite distances only)."""
    labels = _check_labels(labels, len(neighbours.indices), n_classes)
    votes = np.zeros((len(labels), n_classes))
    if neighbours.indices.size:
        valid = np.isfinite(neighbours.distances)
        rows = np.repeat(np.arange(len(labels)), neighbours.indices.shape[1])[valid.ravel()]
        np.add.at(votes, (rows, labels[neighbours.indices[valid]]), 1)
    return votes
