"""SQL fragments of ``analytics.store.validation`` evaluated on their own, and the plausible time range."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from analytics.ingest import pipeline as ingest
from analytics.store import Store, validation


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01 00:00:00"),
        ("2024-05-01 10:30", "2024-05-01 10:30:00"),
        ("2024-05-01T10:30:00Z", "2024-05-01 10:30:00"),
        ("2024-05-01T10:30:00.123456789Z", "2024-05-01 10:30:00.123456"),
        ("2024-05-01T10:30:00+02:00", "2024-05-01 08:30:00"),
        ("2024-05-01 10:30:00+0530", "2024-05-01 05:00:00"),
        ("2024-05-01T10:30:00+14:00", "2024-04-30 20:30:00"),  # the largest offset in use (Kiribati)
        ("2024-05-01T10:30:00-12:00", "2024-05-01 22:30:00"),
        ("2024-05-01 10:30:00 UTC", "2024-05-01 10:30:00"),
        ("0044-03-15 (BC)", None),
        ("epoch", None),
        ("infinity", None),
        ("-infinity", None),
        ("today", None),
        ("2024-05-01T10:30:00+25:00", None),
        ("2024-05-01T10:30:00+15:00", None),
        ("2024-02-30", None),
        ("1714559400", None),
        (" 2024-05-01", None),
    ],
)
def test_timestamp_text_is_iso_8601_with_an_offset_that_exists(value, expected):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    got = con.execute(
        "SELECT CAST(" + validation.timestamp("v") + " AS VARCHAR) FROM (SELECT ?::VARCHAR AS v)", [value]
    ).fetchone()[0]
    assert got == expected


def test_the_plausible_range_comes_from_arguments_then_environment_then_defaults(monkeypatch):
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    default = ingest.time_range(environ={})
    assert default.earliest == dt.datetime(1990, 1, 1)
    assert dt.timedelta(hours=23) < default.latest - now <= dt.timedelta(days=1)
    environment = {"LABELWATCH_EARLIEST": "2015-01-01", "LABELWATCH_LATEST": "2025-12-31T12:00:00+01:00"}
    assert ingest.time_range(environ=environment) == ingest.TimeRange(
        dt.datetime(2015, 1, 1), dt.datetime(2025, 12, 31, 11)
    )
    chosen = ingest.time_range("2020-01-01", dt.date(2021, 1, 1), environ=environment)
    assert chosen == ingest.TimeRange(dt.datetime(2020, 1, 1), dt.datetime(2021, 1, 1))
    assert str(chosen) == "from 2020-01-01 00:00 to 2021-01-01 00:00 UTC"
    monkeypatch.setenv("LABELWATCH_EARLIEST", "2001-02-03")
    assert ingest.time_range().earliest == dt.datetime(2001, 2, 3)


@pytest.mark.parametrize(
    ("earliest", "latest", "message"),
    [
        ("yesterday", None, "--earliest / LABELWATCH_EARLIEST: 'yesterday' is not a date or time"),
        ("2020-01-01", "2019-01-01", "is not a range within 1900-01-01 and 2200-01-01"),
        ("1850-01-01", None, "is not a range within 1900-01-01 and 2200-01-01"),
        (None, "2300-01-01", "is not a range within"),
    ],
)
def test_a_wrong_plausible_range_is_refused_naming_the_setting(earliest, latest, message):
    with pytest.raises(ValueError, match=message):
        ingest.time_range(earliest, latest, environ={})


def test_imports_reject_times_outside_the_chosen_range_naming_it(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("item_id,annotator_id,label,labeled_at\ni1,a1,cat,2014-12-31\ni2,a1,cat,2015-06-01\n"
                    "i3,a1,cat,2016-01-02\n")
    window = ingest.time_range("2015-01-01", "2016-01-01")
    with Store(tmp_path / "store.duckdb") as store:
        report = ingest.ingest(store, path, timestamps=window)
        assert report.rows_accepted == 1
        assert report.rejects.row_number.tolist() == [2, 4]
        assert report.rejects.reason[0] == (
            "timestamp out of range: column 'labeled_at': expected a time from 2015-01-01 00:00 to "
            "2016-01-01 00:00 UTC (the plausible range for imports), got '2014-12-31'"
        )
        assert store.scalar("SELECT min(labeled_at) FROM label_events") == dt.datetime(2015, 6, 1)
