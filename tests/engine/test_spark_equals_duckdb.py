"""On the 1e6-event lake, every aggregation's Spark result equals DuckDB's: counts exactly, floats to 1e-9.

Both engines run the same query (``analytics.engine.aggregations``), Spark's text transpiled by sqlglot,
so a function that transpiles to something else (the environment notes list such cases) shows here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.consensus.dawid_skene import DawidSkene
from analytics.engine import statistics

#: Results whose row order the query does not fix are compared sorted by these columns.
KEYS = {
    "label_counts": ["item_id", "label"],
    "annotator_tallies": ["annotator_id"],
    "window_label_counts": ["window", "label"],
}


def assert_same_frames(spark: pd.DataFrame, duck: pd.DataFrame, keys: list[str] | None = None) -> None:
    """Same columns and dtypes; integers and text equal, floats equal to a relative 1e-9."""
    assert list(spark.columns) == list(duck.columns)
    assert spark.dtypes.to_dict() == duck.dtypes.to_dict()
    if keys:
        spark = spark.sort_values(keys, kind="stable").reset_index(drop=True)
        duck = duck.sort_values(keys, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9, atol=0)
    exact = [c for c in duck.columns if not pd.api.types.is_float_dtype(duck[c])]
    pd.testing.assert_frame_equal(spark[exact], duck[exact], check_exact=True)


#: Spark tests that take over 30 s here (local mode, two cores shared with other work).
SLOW = {"annotator_tallies"}


@pytest.mark.parametrize("aggregation", [pytest.param(a, marks=pytest.mark.slow) if a in SLOW else a
                                         for a in sorted(KEYS)])
def test_each_aggregation_is_the_same_on_spark_and_duckdb(spark, duck, aggregation):
    expected = getattr(duck, aggregation)()
    assert len(expected) > 0
    assert_same_frames(getattr(spark, aggregation)(), expected, KEYS[aggregation])


def test_the_slice_cube_is_the_same_on_spark_and_duckdb(spark, duck):
    expected = duck.slice_cube()
    assert expected.index.names == ["region", "source"] and expected["items"].sum() > 0
    assert_same_frames(spark.slice_cube().reset_index(), expected.reset_index(), ["region", "source"])


@pytest.mark.slow
def test_dawid_skene_passes_are_the_same_on_spark_and_duckdb(spark, duck):
    """Start, two EM passes and the posteriors: every number the SQL produces reaches the fit."""
    on_spark = statistics.fit_dawid_skene(spark.engine, DawidSkene(max_iter=2))
    on_duck = statistics.fit_dawid_skene(duck.engine, DawidSkene(max_iter=2))
    assert on_spark.n_iter_ == on_duck.n_iter_ == 2
    np.testing.assert_allclose(on_spark.confusions_, on_duck.confusions_, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(on_spark.priors_, on_duck.priors_, rtol=1e-9)
    np.testing.assert_allclose(on_spark.convergence_[["log_likelihood", "objective"]],
                               on_duck.convergence_[["log_likelihood", "objective"]], rtol=1e-9)
    pd.testing.assert_frame_equal(on_spark.probas_, on_duck.probas_, check_exact=False, rtol=1e-9, atol=1e-12)
    pd.testing.assert_series_equal(on_spark.labels_, on_duck.labels_)
