"""``analytics.core.exports``: every table export in CSV, Parquet and JSON Lines says the same thing.

Exact bytes for a small frame of every kind of column; round trips of the store's own tables (a dataset
version, the audit trail, a campaign's items, a run's suspects, read from a copy of the demo store with its
remediation round) read back equal to the frame with timestamps in UTC; formulas neutralised in CSV only;
the format picked from a file's extension, and refused with a clear message.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analytics.core import exports
from analytics.core.csv_export import FORMULA_STARTS
from analytics.remediation import audit, campaigns, versions
from analytics.store import Store
from analytics.store import detection as detection_queries
from analytics.store import remediation as remediation_sql


def _small() -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": pd.array(["a", None, "=SUM(A1)"], dtype="string"),
        "at": pd.to_datetime(["2026-11-21 09:00:00.123456", None, "2026-11-22 00:00:00.000000"]),
        "paris": pd.to_datetime(["2026-11-21 10:00:00"] * 3).tz_localize("Europe/Paris"),
        "n": [1, 2, 3],
        "maybe": pd.array([1, None, 3], dtype="Int64"),
        "p": [0.1, np.nan, 1 / 3],
        "ok": [True, False, True],
        "who": [np.array(["x", "y"], dtype=object), [], None],
        "votes": [{"3": 2}, {}, None],
    })


def test_json_lines_write_one_object_per_row_with_utc_times_and_null_for_missing():
    lines = exports.to_bytes(_small(), "jsonl").decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 4
    assert [json.loads(line) for line in lines[:3]] == [
        {"item_id": "a", "at": "2026-11-21T09:00:00.123456Z", "paris": "2026-11-21T09:00:00.000000Z", "n": 1,
         "maybe": 1, "p": 0.1, "ok": True, "who": ["x", "y"], "votes": {"3": 2}},
        {"item_id": None, "at": None, "paris": "2026-11-21T09:00:00.000000Z", "n": 2, "maybe": None,
         "p": None, "ok": False, "who": [], "votes": {}},
        {"item_id": "=SUM(A1)", "at": "2026-11-22T00:00:00.000000Z", "paris": "2026-11-21T09:00:00.000000Z",
         "n": 3, "maybe": 3, "p": 1 / 3, "ok": True, "who": None, "votes": None},
    ]
    assert '"p": 0.3333333333333333' in lines[2]  # every digit of the float
    infinite = exports.to_bytes(pd.DataFrame({"x": [np.inf, -np.inf]}), "jsonl")
    assert infinite == b'{"x": null}\n{"x": null}\n'


def test_csv_writes_utc_iso_times_json_text_for_nested_values_and_no_runnable_cell():
    text = exports.to_bytes(_small(), "csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["item_id", "at", "paris", "n", "maybe", "p", "ok", "who", "votes"],
        ["a", "2026-11-21T09:00:00.123456Z", "2026-11-21T09:00:00.000000Z", "1", "1", "0.1", "True",
         '["x", "y"]', '{"3": 2}'],
        ["", "", "2026-11-21T09:00:00.000000Z", "2", "", "", "False", "[]", "{}"],
        ["'=SUM(A1)", "2026-11-22T00:00:00.000000Z", "2026-11-21T09:00:00.000000Z", "3", "3",
         "0.3333333333333333", "True", "", ""],
    ]
    assert text.endswith("\r\n") and "\r\n" in text


def test_parquet_keeps_the_types():
    table = pq.read_table(io.BytesIO(exports.to_bytes(_small(), "parquet")))
    types = {field.name: str(field.type) for field in table.schema}
    assert types == {"item_id": "large_string", "at": "timestamp[us, tz=UTC]",
                     "paris": "timestamp[us, tz=UTC]", "n": "int64", "maybe": "int64", "p": "double",
                     "ok": "bool", "who": "list<element: string>", "votes": "large_string"}
    assert table.column("who").to_pylist() == [["x", "y"], [], None]
    assert table.column("votes").to_pylist() == ['{"3": 2}', "{}", None]
    assert table.column("item_id").to_pylist() == ["a", None, "=SUM(A1)"]  # no spreadsheet reads Parquet
    assert table.column("maybe").to_pylist() == [1, None, 3]


def test_a_column_of_nothing_is_text_in_parquet_not_null():
    frame = pd.DataFrame({"action_id": [None, None]}, dtype=object)
    table = pq.read_table(io.BytesIO(exports.to_bytes(frame, "parquet")))
    assert str(table.schema.field("action_id").type) == "large_string"


def test_write_takes_a_path_or_a_buffer(tmp_path):
    frame = pd.DataFrame({"a": [1]})
    exports.write(frame, tmp_path / "x.jsonl", "jsonl")
    buffer = io.BytesIO()
    exports.write(frame, buffer, "jsonl")
    assert (tmp_path / "x.jsonl").read_bytes() == buffer.getvalue() == b'{"a": 1}\n'
    assert exports.to_bytes(frame.iloc[:0], "jsonl") == b""


@pytest.mark.parametrize(("name", "fmt", "expected"), [
    ("v3.csv", None, "csv"), ("V3.PARQUET", None, "parquet"), ("x.pq", None, "parquet"),
    ("x.jsonl", None, "jsonl"), ("x.ndjson", None, "jsonl"), ("x.txt", "csv", "csv"),
    ("x.csv", "Parquet", "parquet"),
])
def test_the_format_is_asked_for_or_read_from_the_extension(name, fmt, expected):
    assert exports.format_for(name, fmt) == expected


def test_an_unknown_format_or_extension_is_refused_with_the_choices():
    with pytest.raises(exports.ExportError, match=r"unknown format 'xlsx': use one of csv, parquet, jsonl"):
        exports.format_for("x.csv", "xlsx")
    with pytest.raises(exports.ExportError) as refused:
        exports.format_for("dir/out.txt")
    assert str(refused.value) == ("cannot tell the format of 'out.txt' from its extension: name the file "
                                  ".csv, .parquet, .jsonl, or give --format (csv, parquet, jsonl)")
    assert exports.format_for("x.npz", formats=(*exports.FORMATS, "npz")) == "npz"
    with pytest.raises(exports.ExportError, match="unknown format 'npz'"):
        exports.format_for("x.csv", "npz")
    with pytest.raises(exports.ExportError):
        exports.to_bytes(pd.DataFrame({"a": [1]}), "xlsx")


# --- round trips of the store's own tables ----------------------------------------------------------------


def _read(data: bytes, fmt: str, like: pd.DataFrame) -> pd.DataFrame:
    """Read an export back into the dtypes of ``like`` (times as UTC), independent of the writer's code."""
    times = [c for c in like.columns if pd.api.types.is_datetime64_any_dtype(like[c])]
    if fmt == "parquet":
        back = pd.read_parquet(io.BytesIO(data))
    elif fmt == "csv":
        text = [c for c in like.columns if c not in times and not pd.api.types.is_numeric_dtype(like[c])
                and not pd.api.types.is_bool_dtype(like[c])]
        back = pd.read_csv(io.BytesIO(data), dtype=dict.fromkeys(text, "string"), keep_default_na=False,
                           na_values={c: [""] for c in like.columns})
        for c in times:
            back[c] = pd.to_datetime(back[c], format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    else:
        back = pd.DataFrame([json.loads(line) for line in data.decode("utf-8").splitlines()],
                            columns=list(like.columns))
        for c in times:
            back[c] = pd.to_datetime(back[c], format="%Y-%m-%dT%H:%M:%S.%fZ", utc=True)
    for c in times:
        assert str(back[c].dt.tz) == "UTC", (fmt, c)
    return back


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.tz_localize("UTC")
    return out


def _same(back: pd.DataFrame, frame: pd.DataFrame) -> None:
    """Cell by cell: text, numbers (exactly), booleans, UTC times and missing values."""
    expected = _expected(frame)
    assert list(back.columns) == list(expected.columns)
    assert len(back) == len(expected)
    for c in expected.columns:
        want, got = expected[c].astype(object).tolist(), back[c].astype(object).tolist()
        for w, g in zip(want, got, strict=True):
            if pd.isna(w) if not isinstance(w, list | np.ndarray | dict) else False:
                assert pd.isna(g), (c, w, g)
            elif isinstance(w, pd.Timestamp):
                assert pd.Timestamp(g) == w and pd.Timestamp(g).tzinfo is not None, (c, w, g)
            else:
                assert g == w, (c, w, g)


@pytest.fixture(scope="module")
def tables(demo_history_store_path, tmp_path_factory):
    copy = tmp_path_factory.mktemp("exports") / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    with Store(copy) as store:
        run_id = remediation_sql.latest_run(store)
        campaign_id = campaigns.list_campaigns(store)["campaign_id"].iloc[0]
        items = campaigns.campaign_progress(store, campaign_id, n_boot=10).items
        yield {
            "version": versions.version_labels(store, "v1"),
            "audit": audit.audit_log(store),
            "campaign": items.drop(columns=["assignees", "votes"]),
            "assignments": campaigns.assignments(store, campaign_id),
            "suspects": detection_queries.suspects_page(store, run_id, limit=None, with_total=False,
                                                        status=None)[0],
        }


@pytest.mark.parametrize("fmt", exports.FORMATS)
@pytest.mark.parametrize("name", ["version", "audit", "campaign", "assignments", "suspects"])
def test_the_stores_tables_read_back_equal(tables, name, fmt):
    frame = tables[name]
    assert len(frame) > 0
    _same(_read(exports.to_bytes(frame, fmt), fmt, frame), frame)


def test_the_audit_trails_times_are_utc_in_every_format(tables):
    frame = tables["audit"]
    first = frame["created_at"].iloc[0]
    iso = first.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert json.loads(exports.to_bytes(frame.head(1), "jsonl"))["created_at"] == iso
    row = exports.to_bytes(frame.head(1), "csv").decode().split("\r\n")[1]
    assert row.startswith(f"{frame['seq'].iloc[0]},{iso},")
    parquet = pq.read_table(io.BytesIO(exports.to_bytes(frame.head(1), "parquet")))
    assert parquet.column("created_at").to_pylist()[0] == first.tz_localize("UTC").to_pydatetime()


def test_the_campaigns_nested_columns(tables, demo_history_store_path):
    with Store(demo_history_store_path, read_only=True) as store:
        campaign_id = campaigns.list_campaigns(store)["campaign_id"].iloc[0]
        items = campaigns.campaign_progress(store, campaign_id, n_boot=10).items.head(2)
    records = [json.loads(line) for line in exports.to_bytes(items, "jsonl").splitlines()]
    assert [r["assignees"] for r in records] == [list(a) for a in items["assignees"]]
    assert [r["votes"] for r in records] == list(items["votes"])
    parquet = pq.read_table(io.BytesIO(exports.to_bytes(items, "parquet")))
    assert parquet.column("assignees").to_pylist() == [list(a) for a in items["assignees"]]
    assert [json.loads(v) for v in parquet.column("votes").to_pylist()] == list(items["votes"])


def test_a_hostile_cell_is_neutralised_in_csv_only():
    frame = pd.DataFrame({"rationale": ['=HYPERLINK("http://x.test","ok")', "+cmd|' /C calc'!A0", "-1"],
                          "@who": ["@SUM(A1)", "\tx", "fine"]})
    rows = list(csv.reader(io.StringIO(exports.to_bytes(frame, "csv").decode(), newline="")))
    assert rows == [["rationale", "'@who"],
                    ['\'=HYPERLINK("http://x.test","ok")', "'@SUM(A1)"],
                    ["'+cmd|' /C calc'!A0", "'\tx"], ["-1", "fine"]]
    assert not any(cell.startswith(FORMULA_STARTS) and cell != "-1" for row in rows for cell in row)
    back = [json.loads(line) for line in exports.to_bytes(frame, "jsonl").splitlines()]
    assert back[0] == {"rationale": '=HYPERLINK("http://x.test","ok")', "@who": "@SUM(A1)"}
