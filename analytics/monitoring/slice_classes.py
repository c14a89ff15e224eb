"""Slice × class label noise: the noise rate of every cell of an attribute's value and a class (the items'
majority label), beside the class's own rate, for the Slices page's heatmap.

It reads the same slice cube as ``analytics.monitoring.slices`` (``analytics.store.slices.slice_cube``) and
makes the same assumption: items are independent Bernoulli trials, each counting once, noisy or not; the
intervals are Wilson score intervals on items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.core.stats import success_rate, wilson_interval
from analytics.monitoring.slices import _ratio, _validate


def slice_class_heatmap(
    counts: pd.DataFrame,
    *,
    metric: str = "disagreement",
    attributes: list[str] | None = None,
    min_items: int = 10,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Noise rate of every slice × class cell (class: the items' majority label), for a heatmap.

    Parameters
    ----------
    counts : DataFrame
        A slice cube with its ``label`` column.
    metric : {"disagreement", "gold_error", "suspect"}
        Which noise rate.
    attributes : list of str, optional
        The attributes to show (default: every attribute of the cube).
    min_items : int
        Cells with fewer measured items keep their counts but get no rate (NaN), so a colour never rests
        on a handful of items.
    confidence : float
        Coverage of the Wilson intervals.

    Returns
    -------
    DataFrame
        ``attribute, value, label, n, errors, noise_rate, ci_low, ci_high, class_rate, ratio``, one row per
        cell with at least one measured item, sorted by attribute, value, label; ``label`` None is the
        cube's pooled other classes (``slice_cube``'s ``max_classes``), sorted last. ``class_rate`` is the
        class's rate over all items and ``ratio`` = ``noise_rate / class_rate``: colouring by the ratio
        shows where a slice is noisy beyond what its classes explain (a slice rich in a hard class is not
        itself a problem).

    Notes
    -----
    The class of an item is its majority label, which noise itself can change: a noisy slice moves some
    items into the class they are confused with. Read a hot cell as "items that ended up labeled k".

    Examples
    --------
    >>> cube = pd.DataFrame({"source": ["fax", "fax", "scanner"], "label": ["1", "7", "1"],
    ...                      "items": [20, 20, 40], "ratings": [60, 60, 120], "rated_items": [20, 20, 40],
    ...                      "disputed": [10, 4, 8]}).set_index("source")
    >>> slice_class_heatmap(cube)[["value", "label", "noise_rate"]].values.tolist()
    [['fax', '1', 0.5], ['fax', '7', 0.2], ['scanner', '1', 0.2]]
    """
    n_column, x_column, known = _validate(counts, metric, min_items)
    if "label" not in counts.columns:
        raise ValueError("counts lacks the column 'label' (the majority label of each cell)")
    chosen = known if attributes is None else list(attributes)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown attributes {unknown}; the cube has {known}")
    columns = ["attribute", "value", "label", "n", "errors", "noise_rate", "ci_low", "ci_high",
               "class_rate", "ratio"]
    # classes by code, so the pooled other classes (label None, see slice_cube) form a class of their own
    codes, classes = pd.factorize(counts["label"].to_numpy(dtype=object), use_na_sentinel=False)
    by_class = counts.groupby(codes, sort=True)[[n_column, x_column]].sum()
    class_rate = pd.Series(success_rate(by_class[x_column], by_class[n_column]), index=by_class.index)
    frames = []
    for attribute in chosen:
        cells = (counts.groupby([counts.index.get_level_values(attribute), codes], dropna=True)
                 [[n_column, x_column]].sum())
        cells.index.names = ["value", "code"]
        cells = cells.reset_index().rename(columns={n_column: "n", x_column: "errors"})
        frames.append(cells[cells["n"] > 0].assign(attribute=attribute))
    if not frames:
        return pd.DataFrame({column: [] for column in columns})
    cells = pd.concat(frames, ignore_index=True)
    labels = np.asarray(classes, dtype=object)[cells["code"].to_numpy()]
    cells["label"] = [None if pd.isna(label) else label for label in labels]
    n, x = cells["n"].to_numpy(float), cells["errors"].to_numpy(float)
    cells["noise_rate"] = np.where(n >= min_items, success_rate(x, n), np.nan)
    low, high = wilson_interval(x, n, confidence=confidence)
    cells["ci_low"] = np.where(n >= min_items, low, np.nan)
    cells["ci_high"] = np.where(n >= min_items, high, np.nan)
    cells["class_rate"] = cells["code"].map(class_rate).astype(float)
    cells["ratio"] = _ratio(cells["noise_rate"], cells["class_rate"])
    cells = cells.sort_values(["attribute", "value", "label"], na_position="last")
    return cells.reset_index(drop=True)[columns]
