"""Worked examples and reference implementations shared by the agreement tests.

Datasets are transcribed from their publications (source named at each); the reference implementations are
written from the definitions, loop by loop, independently of the vectorised code under test.
"""

import itertools

import numpy as np
import pandas as pd

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School for Communication
# Departmental Papers 43: the reliability data with missing values (observers A–D × units 1–12, values 1–5).
# The same data (unit 12's lone value under another rater) is the 4-rater example of Gwet (2014), Handbook
# of Inter-Rater Reliability, 4th ed., shipped with R's irrCAC as `cac.raw4raters`.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Fleiss (1971), Psychological Bulletin 76(5), 378-382, Table 1: 30 patients, 6 psychiatrists each, 5
# diagnoses (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other), as R irr's
# `diagnoses` (raters need not be the same across patients).
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]


def wide_to_events(matrix, *, by_rows_are_items=False):
    """Events of a coders × units matrix (None = not rated); units × raters when ``by_rows_are_items``."""
    grid = np.array(matrix, dtype=object)
    if by_rows_are_items:
        grid = grid.T
    rows = [
        {"item_id": unit, "annotator_id": f"coder-{coder}", "label": grid[coder, unit]}
        for coder, unit in itertools.product(range(grid.shape[0]), range(grid.shape[1]))
        if grid[coder, unit] is not None
    ]
    return pd.DataFrame(rows)


def table_to_events(table):
    """Events of two annotators from a K × K contingency table (rows: annotator a, columns: b)."""
    rows, item = [], 0
    for (i, j), count in np.ndenumerate(np.asarray(table)):
        for _ in range(count):
            rows += [(item, "a", i), (item, "b", j)]
            item += 1
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])


def units_of(events):
    """Each item's list of labels, independently of the code under test."""
    return [list(group) for _, group in events.groupby("item_id")["label"]]


def naive_alpha(units, level):
    """Krippendorff's alpha straight from the 2011 definitions: pair by pair, unit by unit."""
    values = sorted({v for unit in units for v in unit})
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    o = [[0.0] * k for _ in range(k)]
    for unit in units:
        m = len(unit)
        for i, j in itertools.permutations(range(m), 2):
            o[index[unit[i]]][index[unit[j]]] += 1 / (m - 1)
    n_c = [sum(row) for row in o]
    n = sum(n_c)

    def delta(c, d):
        if level == "nominal":
            return float(c != d)
        if level == "ordinal":
            low, high = min(c, d), max(c, d)
            return (sum(n_c[low:high + 1]) - (n_c[c] + n_c[d]) / 2) ** 2
        a, b = values[c], values[d]
        return (a - b) ** 2 if level == "interval" else ((a - b) / (a + b)) ** 2 if a + b else 0.0

    observed = sum(o[c][d] * delta(c, d) for c in range(k) for d in range(k)) / n
    expected = sum(n_c[c] * n_c[d] * delta(c, d) for c in range(k) for d in range(k)) / (n * (n - 1))
    return 1 - observed / expected


def naive_pi_coefficients(units):
    """(percent agreement, Fleiss' kappa, AC1) by Gwet's (2014) formulas for missing ratings, item by item."""
    categories = sorted({v for unit in units for v in unit})
    rated = [u for u in units if u]
    multi = [u for u in rated if len(u) >= 2]
    pa = sum(sum(u.count(c) * (u.count(c) - 1) for c in categories) / (len(u) * (len(u) - 1))
             for u in multi) / len(multi)
    pi = [sum(u.count(c) / len(u) for u in rated) / len(rated) for c in categories]
    pe_fleiss = sum(p * p for p in pi)
    pe_ac1 = sum(p * (1 - p) for p in pi) / (len(categories) - 1)
    return pa, (pa - pe_fleiss) / (1 - pe_fleiss), (pa - pe_ac1) / (1 - pe_ac1)


def random_events(seed, *, n_items=80, n_annotators=12, k=5, max_ratings=5, p_error=0.3):
    """Sparse crowd: each item rated by 1..max_ratings random annotators, each right w.p. 1 − p_error."""
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(n_items):
        truth = rng.integers(1, k + 1)
        raters = rng.choice(n_annotators, size=rng.integers(1, max_ratings + 1), replace=False)
        for rater in raters:
            label = truth if rng.random() > p_error else rng.integers(1, k + 1)
            rows.append((f"item-{item}", f"ann-{rater}", int(label)))
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
