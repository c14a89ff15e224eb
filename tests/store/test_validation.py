"""SQL fragments of ``analytics.store.validation`` evaluated on their own."""

from __future__ import annotations

import duckdb
import pytest

from analytics.store import validation


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("i1", "i1"),
        (" i1 ", "i1"),
        ("s0-c00005-0285733", "s0-c00005-0285733"),
        ("  s0-c00005-0285733", "s0-c00005-0285733"),
        ("a b", "a b"),
        ("\u00a0i2", "i2"),  # no-break space
        ("i3\u3000", "i3"),  # ideographic space
        ("\u2003i4\u202f", "i4"),
        ("é5 ", "é5"),
        ("é5", "é5"),
        ("\ti6\n", "\ti6\n"),  # tabs and newlines are not spaces to trim()
        ("", None),
        ("   ", None),
        ("\u00a0", None),
        (None, None),
    ],
)
def test_text_trims_spaces_like_trim(value, expected):
    con = duckdb.connect()
    got, trimmed = con.execute(
        "SELECT " + validation.text("v") + ", NULLIF(trim(v), '') FROM (SELECT ?::VARCHAR AS v)", [value]
    ).fetchone()
    assert got == trimmed == expected
