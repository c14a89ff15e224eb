"""The KPI tiles' compact numbers: a count past 100,000 fits its tile, and the full value is in its help."""

import doctest

import pytest

from ui import kpi_tiles


@pytest.mark.parametrize(
    ("value", "shown"),
    [(99_999, "99,999"), (100_000, "100k"), (285_661, "286k"), (999_499, "999k"), (999_999, "1.00M"),
     (2_849_160, "2.85M"), (10_000_000, "10.0M"), (-254_131, "-254k"), (3_500_000_000, "3.50B")],
)
def test_a_large_count_is_written_in_three_significant_digits(value, shown):
    assert kpi_tiles.compact(value) == shown


def test_examples_in_docstrings_run():
    assert doctest.testmod(kpi_tiles).failed == 0
