"""HyperLogLog registers and Ertl's estimator (analytics.core.hyperloglog) against independent computations.

The SQL registers are checked against the same registers computed in Python integers from DuckDB's hashes;
σ and τ against their series summed term by term; the estimate against known numbers of distinct values:
exact (after rounding) while the values fall in distinct registers, within four standard errors
(4 × 1.04/√m = 3.3%) at every size, and unbiased over many independent sketches (the classic estimator's
bias near 2.5m, where it switches to linear counting, is what Ertl's estimator removes).
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.core import hyperloglog as hll
from analytics.core.hyperloglog import M, P, Q

SE = 1.04 / math.sqrt(M)


def _registers(hashes: np.ndarray) -> np.ndarray:
    """The m registers of 64-bit ``hashes``, in plain Python integers (the reference)."""
    registers = [0] * M
    for h in map(int, hashes):
        rest = h >> P
        rho = Q + 1 if rest == 0 else (rest & -rest).bit_length()  # trailing zeros + 1
        registers[h & (M - 1)] = max(registers[h & (M - 1)], rho)
    return np.array(registers)


def _histogram(registers: np.ndarray) -> np.ndarray:
    return np.bincount(registers, minlength=Q + 2)


def _random_hashes(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)


def test_sql_registers_equal_the_registers_computed_from_the_hashes():
    con = duckdb.connect()
    register, rho = hll.register_sql("hash(v)")
    con.execute("CREATE TABLE t AS SELECT 'item-' || i AS v FROM range(30000) r(i)")
    con.execute("INSERT INTO t SELECT v FROM t WHERE hash(v) % 3 = 0")  # repeats count once
    hashes = np.array([h for (h,) in con.execute("SELECT hash(v) FROM t").fetchall()], dtype=np.uint64)
    rows = con.execute("SELECT " + register + " AS r, max(" + rho + ") AS rho FROM t GROUP BY r").fetchall()
    from_sql = np.zeros(M, dtype=int)
    for r, value in rows:
        from_sql[r] = value
    reference = _registers(hashes)
    np.testing.assert_array_equal(from_sql, reference)
    assert reference.max() > 10 and (reference == 0).sum() > 0  # deep and empty registers both checked
    # the all-zero rest of a hash offers Q + 1
    top = hll.register_sql("x")[1]
    assert con.execute("SELECT " + top + " FROM (SELECT ?::UBIGINT AS x)", [1 << 3]).fetchone()[0] == Q + 1
    assert con.execute("SELECT " + top + " FROM (SELECT ?::UBIGINT AS x)", [1 << (P + 4)]).fetchone()[0] == 5


@pytest.mark.parametrize("x", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_sigma_and_tau_equal_their_series(x):
    sigma = x + sum(x ** (2**k) * 2 ** (k - 1) for k in range(1, 60))
    tau = (1 - x - sum((1 - x ** (2.0**-k)) ** 2 * 2.0**-k for k in range(1, 80))) / 3
    assert hll._sigma(x) == pytest.approx(sigma, rel=1e-12, abs=1e-300)
    assert hll._tau(x) == pytest.approx(tau, rel=1e-9, abs=1e-15)
    assert hll._sigma(1.0) == math.inf and hll._tau(1.0) == 0.0


def test_values_in_distinct_registers_are_counted_exactly():
    hashes = _random_hashes(40, seed=1)
    assert len(set(map(int, hashes & np.uint64(M - 1)))) == 40
    for n in (0, 1, 2, 3, 10, 40):
        assert round(hll.estimate(_histogram(_registers(hashes[:n])))) == n


@pytest.mark.parametrize("n", [1_000, 10_000, 40_000, 100_000, 1_000_000])
def test_the_estimate_is_within_four_standard_errors(n):
    registers = np.zeros(M, dtype=np.int64)
    hashes = _random_hashes(n, seed=n)
    rest = hashes >> np.uint64(P)
    lowest = rest & (~rest + np.uint64(1))  # the lowest set bit (0 when rest is 0)
    rho = np.where(rest == 0, Q + 1, np.log2(np.maximum(lowest, 1).astype(float)).astype(int) + 1)
    np.maximum.at(registers, (hashes & np.uint64(M - 1)).astype(np.int64), rho)
    if n <= 10_000:  # the vectorised registers above are the reference's
        np.testing.assert_array_equal(registers, _registers(hashes))
    assert abs(hll.estimate(_histogram(registers)) / n - 1) < 4 * SE


def test_the_estimate_is_unbiased_where_the_classic_one_switches_estimators():
    """400 sketches of 2.5m values: the mean relative error is within 3 standard errors of the mean."""
    n, trials = int(2.5 * M), 400
    rng = np.random.default_rng(7)
    errors = []
    for _ in range(trials):
        hashes = rng.integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)
        rest = hashes >> np.uint64(P)
        lowest = rest & (~rest + np.uint64(1))
        rho = np.where(rest == 0, Q + 1, np.log2(np.maximum(lowest, 1).astype(float)).astype(int) + 1)
        registers = np.zeros(M, dtype=np.int64)
        np.maximum.at(registers, (hashes & np.uint64(M - 1)).astype(np.int64), rho)
        errors.append(hll.estimate(_histogram(registers)) / n - 1)
    assert abs(np.mean(errors)) < 3 * SE / math.sqrt(trials)
    assert np.std(errors) == pytest.approx(SE, rel=0.2)


def test_estimates_per_group_read_the_register_counts_and_fill_the_empty_ones():
    one = _histogram(_registers(_random_hashes(5_000, seed=2)))
    two = _histogram(_registers(_random_hashes(300, seed=3)))
    rows = [(g, k, c) for g, hist in (("a", one), ("b", two)) for k, c in enumerate(hist) if k and c]
    frame = hll.estimates(pd.DataFrame(rows, columns=["g", "rho", "registers"]), ["g"])
    assert frame["g"].tolist() == ["a", "b"]
    assert frame["items"].tolist() == [round(hll.estimate(one)), round(hll.estimate(two))]


def test_a_histogram_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="summing to"):
        hll.estimate([1, 2, 3])
