"""Property-based tests of every importer: valid files of each format and kind, mutated at random.

Each example starts from a valid file (events as CSV, JSON lines, Parquet, a Label Studio export and a
Labelbox export; items, gold labels, predictions, the vocabulary and guidelines as CSV), mutates its
structure (columns and rows dropped, duplicated, garbled or reordered; cells replaced by hostile values: wrong
types, SQL, markup, formulas, NUL and escape bytes, huge fields, deeply nested JSON), writes it in some
encoding (UTF-8, UTF-8 with a byte order mark, UTF-16, Latin-1) and may mutate its bytes (truncated, emptied,
NUL bytes, bytes flipped). The importer then either refuses the file with an ``IngestError`` that names it
and writes nothing, or imports it as one batch such that:

* accepted + rejected = read, in the report and in the stored batch row;
* every row the store gained carries the new batch's id, the batch holds exactly the accepted rows, and
  ``ingest_rejects`` exactly the rejected ones (no partial batch, nothing written outside it);
* for a file whose records are known (no byte-level mutation), rows read = records written; for a Labelbox
  export, whose lines give one row per label, rows read >= its non-blank lines (every line is counted).

Examples are derandomized (a fixed sequence, no example database) so CI sees the same files every run.
The default profile keeps the whole module near a minute on a busy 2-core machine; the ``slow`` tests run
the same properties on many more examples.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import pathlib
import shutil
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest import pipeline as ingest
from analytics.store import Store

QUICK = 30
THOROUGH = 300
_SETTINGS = dict(
    deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

#: Every table an import writes to, each row carrying the batch that wrote it.
BATCH_TABLES = ("label_events", "items", "annotators", "gold_labels", "predictions", "label_schema",
                "guidelines", "ingest_rejects")
#: The table that holds one row per accepted record, per kind (items: only the new ones).
TARGET = {"events": "label_events", "label-studio": "label_events", "labelbox": "label_events",
          "gold": "gold_labels",
          "predictions": "predictions", "vocabulary": "label_schema", "guidelines": "guidelines"}

#: Valid files, as (header, rows) of text cells.
VALID: dict[str, tuple[list[str], list[list[str]]]] = {
    "events": (
        ["item_id", "annotator_id", "label", "labeled_at", "confidence", "duration_s", "cohort"],
        [["i1", "a1", "cat", "2024-01-01T10:00:00", "0.9", "3.5", "expert"],
         ["i1", "a2", "dog", "2024-01-01 11:00:00", "", "", "crowd"],
         ["i2", "a1", "dog", "2024-01-02", "0.5", "1", ""],
         ["i3", "a3", "bird", "2024-02-03T04:05:06Z", "", "2", "vendor"]],
    ),
    "items": (
        ["item_id", "dataset", "split", "source", "text"],
        [["i1", "shop", "train", "fax", "a cat"], ["i2", "shop", "test", "web", "a dog"],
         ["i3", "", "", "web", ""]],
    ),
    "gold": (["item_id", "label", "source"], [["i1", "cat", "expert"], ["i2", "dog", "expert"]]),
    "predictions": (
        ["item_id", "model_version", "label", "prob"],
        [["i1", "m1", "cat", "0.8"], ["i1", "m1", "dog", "0.2"], ["i2", "m1", "dog", "0.6"]],
    ),
    "vocabulary": (["label", "parent", "description"], [["cat", "", "a cat"], ["dog", "", "a dog"]]),
    "guidelines": (["version", "effective_at", "summary"], [["v1", "2024-01-01", "first"],
                                                           ["v2", "2024-03-01", "second"]]),
}

#: Cells no importer may choke on (and that a page must later show as text).
HOSTILE_CELLS = [
    "", " ", "'; DROP TABLE label_events; --", "' OR '1'='1", "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>", "**x**", "[a](javascript:alert(1))", ":red[x]", ":material/warning:",
    "=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1)", "-1", "nan", "NaN", "inf", "-infinity",
    "1e309", "0", "1.5", "-3", "true", "null", "NULL", "None", "2024-13-45", "0044-03-15 (BC)", "epoch",
    "2024-01-01T10:00:00+25:00", "9999-12-31", "\x00", "a\x00b", "\x1b[31mred", "\r", "a\rb", "a\nb",
    "\"", "a\"b", "\"\"", ",", ";", "\t", "|", "\ufeff", "\u202e", "é", "😀", "lw__row", "x" * 70_000,
    "\\", "\\N", "{}", "[]", "{\"a\": 1}",
]


def _cell() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=30))


@st.composite
def _mutated_table(draw, kind: str) -> tuple[list[str], list[list[str]]]:
    """A valid (header, rows) of ``kind`` with zero or more structural mutations; rows may be ragged."""
    header, rows = VALID[kind]
    header, rows = list(header), [list(r) for r in rows]
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["drop_col", "dup_col", "rename_col", "drop_row", "dup_row", "cell",
                                   "ragged", "swap_cols", "many_rows", "no_rows"]))
        width = len(header)
        if op == "drop_col" and width > 1:
            j = draw(st.integers(0, width - 1))
            header.pop(j)
            for row in rows:
                if j < len(row):
                    row.pop(j)
        elif op == "dup_col":
            j = draw(st.integers(0, width - 1))
            header.append(header[j])
            for row in rows:
                row.append(row[j] if j < len(row) else "")
        elif op == "rename_col":
            header[draw(st.integers(0, width - 1))] = draw(_cell())
        elif op == "drop_row" and rows:
            rows.pop(draw(st.integers(0, len(rows) - 1)))
        elif op == "dup_row" and rows:
            rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif op == "cell" and rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if row:
                row[draw(st.integers(0, len(row) - 1))] = draw(_cell())
        elif op == "ragged" and rows:
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if draw(st.booleans()) and row:
                row.pop()
            else:
                row.append(draw(_cell()))
        elif op == "swap_cols" and width > 1:
            a, b = draw(st.integers(0, width - 1)), draw(st.integers(0, width - 1))
            header[a], header[b] = header[b], header[a]
        elif op == "many_rows" and rows:
            rows = rows * draw(st.integers(2, 50))
        elif op == "no_rows":
            rows = []
    return header, rows


ENCODINGS = ["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]


def _encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace") if encoding == "latin-1" else text.encode(encoding,
                                                                                             "surrogatepass")


@st.composite
def _byte_mutation(draw, data: bytes) -> tuple[bytes, bool]:
    """``data`` with zero or more byte-level mutations; the flag says whether any was applied."""
    ops = draw(st.lists(st.sampled_from(["truncate", "nul", "flip", "empty", "bom", "crlf", "insert"]),
                        max_size=2))
    for op in ops:
        if op == "truncate" and data:
            data = data[: draw(st.integers(0, len(data) - 1))]
        elif op == "nul":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + b"\x00" * draw(st.integers(1, 3)) + data[at:]
        elif op == "flip" and data:
            at = draw(st.integers(0, len(data) - 1))
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]
        elif op == "empty":
            data = b""
        elif op == "bom":
            data = codecs.BOM_UTF8 + data
        elif op == "crlf":
            data = data.replace(b"\n", b"\r\n", draw(st.integers(1, 3)))
        elif op == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(max_size=8)) + data[at:]
    return data, bool(ops)


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


class Deep(str):
    """A value nested ``depth`` levels deep, written into the JSON text by ``_dumps`` (``json.dumps`` cannot
    write what it could not read back)."""

    def __new__(cls, depth: int) -> Deep:
        value = super().__new__(cls, f"\x00deep{depth}\x00")
        value.depth = depth
        return value


def _dumps(value: object) -> str:
    """JSON text of ``value``, each ``Deep`` written as objects and lists nested that deep."""
    text = json.dumps(value)
    for depth in (3, 50, 3_000):
        text = text.replace(json.dumps(Deep(depth)), '{"v": [' * depth + '"deep"' + "]}" * depth)
    return text


@st.composite
def _json_value(draw, text: str) -> object:
    """A cell as JSON: usually its text, sometimes another type or a nested value."""
    choice = draw(st.sampled_from(["text"] * 6 + ["int", "float", "bool", "null", "list", "object", "deep"]))
    return {
        "text": text, "int": draw(st.integers(-(2**70), 2**70)),
        "float": draw(st.floats(allow_nan=True, allow_infinity=True)), "bool": draw(st.booleans()),
        "null": None, "list": [text], "object": {"v": text},
        "deep": Deep(draw(st.sampled_from([3, 50, 3_000]))),
    }[choice]


def _records_known(header: list[str], rows: list[list[str]]) -> bool:
    """Whether the scanner must read exactly one row per record: no blank record, and no record of the wrong
    width whose quoted cell spans lines. The scanner reads a quote left open on a line as one record only
    when it closes at the end of a record of the header's width; otherwise it reads line by line (each line
    a reject), so that a stray quote cannot swallow the rest of the file. Either way every line is counted."""
    return all(any(cell.strip() for cell in row) for row in rows) and not any(
        len(row) != len(header) and any("\n" in cell or "\r" in cell for cell in row) for row in rows)


@st.composite
def events_csv(draw):
    header, rows = draw(_mutated_table("events"))
    text = _csv_text(header, rows, draw(st.sampled_from([",", ";", "\t", "|"])))
    data, mutated = draw(_byte_mutation(_encode(text, draw(st.sampled_from(ENCODINGS)))))
    exact = not mutated and _records_known(header, rows)
    return "events", "events.csv", data, len(rows) if exact else None


@st.composite
def kind_csv(draw):
    kind = draw(st.sampled_from(["items", "gold", "predictions", "vocabulary", "guidelines"]))
    header, rows = draw(_mutated_table(kind))
    text = _csv_text(header, rows, ",")
    data, mutated = draw(_byte_mutation(_encode(text, draw(st.sampled_from(ENCODINGS)))))
    exact = not mutated and _records_known(header, rows)
    return kind, f"{kind}.csv", data, len(rows) if exact else None


@st.composite
def events_jsonl(draw):
    header, rows = draw(_mutated_table("events"))
    lines = []
    for row in rows:
        record = {}
        for key, cell in zip(header, row, strict=False):
            record[key] = draw(_json_value(cell))
        lines.append(_dumps(record))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "")  # a blank line
    text = "\n".join(lines) + ("\n" if draw(st.booleans()) else "")
    data, mutated = draw(_byte_mutation(_encode(text, draw(st.sampled_from(ENCODINGS)))))
    return "events", "events.jsonl", data, None if mutated else len(rows)


@st.composite
def events_parquet(draw):
    header, rows = draw(_mutated_table("events"))
    columns = {}
    for j, name in enumerate(dict.fromkeys(header)):
        cells = [row[j] if j < len(row) else None for row in rows]
        typed = draw(st.sampled_from(["string", "string", "int", "float", "timestamp", "bool", "list"]))
        if typed == "int":
            array = pa.array([draw(st.integers(-(2**63), 2**63 - 1)) for _ in cells], pa.int64())
        elif typed == "float":
            array = pa.array([draw(st.floats()) for _ in cells], pa.float64())
        elif typed == "timestamp":
            array = pa.array([draw(st.integers(-(2**62), 2**62)) for _ in cells], pa.timestamp("us"))
        elif typed == "bool":
            array = pa.array([draw(st.booleans()) for _ in cells], pa.bool_())
        elif typed == "list":
            array = pa.array([[c] for c in cells], pa.list_(pa.string()))
        else:
            array = pa.array([None if c is None else c.encode("utf-8", "replace").decode("utf-8")
                              for c in cells], pa.string())
        columns[name] = array
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    data, mutated = draw(_byte_mutation(sink.getvalue()))
    return "events", "events.parquet", data, None if mutated else len(rows)


@st.composite
def label_studio(draw):
    header, rows = draw(_mutated_table("events"))
    tasks: list[object] = []
    for n, row in enumerate(rows):
        cell = dict(zip(header, row, strict=False))
        annotation = {
            "completed_by": draw(_json_value(cell.get("annotator_id", "a1"))),
            "created_at": draw(_json_value(cell.get("labeled_at", "2024-01-01"))),
            "lead_time": draw(_json_value(cell.get("duration_s", "1"))),
            "result": [{"type": "choices",
                        "value": {"choices": [draw(_json_value(cell.get("label", "cat")))]}}],
        }
        task = {"id": draw(st.one_of(st.just(n + 1), _json_value(cell.get("item_id", "i1")))),
                "data": {"text": draw(_json_value(cell.get("cohort", "t"))), "source": "web"},
                "annotations": [annotation]}
        result = annotation["result"][0]
        objects = [task, task["data"], annotation, result, result["value"]]
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from(objects))
            if not target:
                continue
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(_json_value(draw(_cell())))
        tasks.append(task)
    if draw(st.booleans()) and tasks:
        tasks.append(draw(_json_value("not a task")))
    text = _dumps(tasks if draw(st.integers(0, 9)) else (tasks[0] if tasks else {}))
    data, _ = draw(_byte_mutation(_encode(text, draw(st.sampled_from(ENCODINGS)))))
    return "label-studio", "export.json", data, None


@st.composite
def labelbox(draw):
    """A Labelbox export: a line per row of a mutated events table, with one to three labels each, answering
    a radio question (sometimes also a checklist, or with a bounding box), then mutated like the Label
    Studio export; the last element is the number of non-blank lines when no byte was mutated."""
    header, rows = draw(_mutated_table("events"))
    lines: list[object] = []
    for n, row in enumerate(rows):
        cell = dict(zip(header, row, strict=False))
        labels = []
        for _ in range(draw(st.integers(1, 3))):
            answer = {"name": "Answer", "value": draw(_json_value(cell.get("label", "cat")))}
            classifications = [{"name": "Sentiment", "value": "sentiment", "radio_answer": answer}]
            if draw(st.integers(0, 4)) == 0:
                classifications.insert(0, {"name": "Topics", "checklist_answers": [{"value": "a"}]})
            boxed = draw(st.integers(0, 4)) == 0
            objects = [{"name": "box", "bounding_box": {"top": 1, "left": 2}}] if boxed else []
            labels.append({
                "label_details": {"created_by": draw(_json_value(cell.get("annotator_id", "a@x.org"))),
                                  "created_at": draw(_json_value(cell.get("labeled_at", "2024-01-01")))},
                "performance_details": {"seconds_to_create": draw(_json_value(cell.get("duration_s", "1"))),
                                        "skipped": draw(st.integers(0, 9)) == 0},
                "annotations": {"objects": objects, "classifications": classifications},
            })
        row_id = draw(st.one_of(st.just(f"dr{n}"), _json_value(cell.get("item_id", "i1"))))
        project = {"name": draw(st.one_of(st.just("P"), _json_value("P"))), "labels": labels,
                   "project_details": {"workflow_status": "DONE"}}
        record = {"data_row": {"id": row_id, "row_data": draw(_json_value(cell.get("cohort", "t")))},
                  "projects": {"p1": project}}
        if draw(st.booleans()):
            record["data_row"]["global_key"] = draw(_json_value(cell.get("item_id", "i1")))
        label = labels[0]
        targets = [record, record["data_row"], record["projects"], record["projects"]["p1"], label,
                   label["label_details"], label["performance_details"], label["annotations"],
                   label["annotations"]["classifications"][-1],
                   label["annotations"]["classifications"][-1]["radio_answer"]]
        for _ in range(draw(st.integers(0, 2))):
            target = draw(st.sampled_from([t for t in targets if t]))  # a dict emptied by a deletion: no key
            key = draw(st.sampled_from(sorted(target)))
            if draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(_json_value(draw(_cell())))
        lines.append(record)
    if draw(st.booleans()):
        broken = draw(st.sampled_from(['{"data_row": ', "<html>", "[1, 2]"]))
        lines.insert(draw(st.integers(0, len(lines))), broken)
    texts = [line if isinstance(line, str) else _dumps(line) for line in lines]
    if draw(st.booleans()):
        texts.insert(draw(st.integers(0, len(texts))), "")  # a blank line
    text = "\n".join(texts) + ("\n" if draw(st.booleans()) else "")
    data, mutated = draw(_byte_mutation(_encode(text, draw(st.sampled_from(ENCODINGS)))))
    return "labelbox", "export.ndjson", data, None, None if mutated else sum(1 for t in texts if t.strip())


def _counts(store: Store) -> dict[str, int]:
    return {table: store.scalar("SELECT count(*) FROM " + table) for table in (*BATCH_TABLES,
                                                                               "ingest_batches")}


def _check_import(template: pathlib.Path, case: tuple) -> None:
    kind, name, data, records, *at_least = case
    with tempfile.TemporaryDirectory(prefix="labelwatch-property-") as folder:
        path = pathlib.Path(folder) / name
        path.write_bytes(data)
        shutil.copyfile(template, pathlib.Path(folder) / "store.duckdb")
        with Store(pathlib.Path(folder) / "store.duckdb") as store:
            _check_one(store, path, kind, name, records, *at_least)


def _check_one(store: Store, path: pathlib.Path, kind: str, name: str, records: int | None,
               at_least: int | None = None) -> None:
    before = _counts(store)
    try:
        report = ingest.ingest(store, path, kind=kind, name=name, model_version="m0")
    except ingest.IngestError as exc:
        assert str(exc).startswith(f"{name}: "), exc
        assert _counts(store) == before, "a refused file wrote rows"
        return
    after = _counts(store)
    assert report.rows_read == report.rows_accepted + report.rows_rejected, report.summary()
    assert report.rows_read > 0
    if records is not None:
        assert report.rows_read == records, report.summary()
    if at_least is not None and not report.already_imported:
        assert report.rows_read >= at_least, report.summary()
    if report.already_imported:
        assert after == before, "a file imported before wrote rows"
        return
    batch = report.batch_id
    stored = store.query("SELECT rows_in, rows_accepted, rows_rejected FROM ingest_batches "
                         "WHERE batch_id = ?", [batch]).iloc[0].tolist()
    assert stored == [report.rows_read, report.rows_accepted, report.rows_rejected]
    assert after["ingest_batches"] == before["ingest_batches"] + 1
    for table in BATCH_TABLES:
        in_batch = store.scalar("SELECT count(*) FROM " + table + " WHERE batch_id = ?", [batch])
        if table == "items" and report.items is not None:
            # An items file (or a Label Studio export's tasks) also changes items the store holds; the
            # store gains only the new ones.
            assert after[table] - before[table] == report.items["new"], report.summary()
        else:
            assert after[table] - before[table] == in_batch, f"{table}: rows written outside the batch"
    assert store.scalar("SELECT count(*) FROM ingest_rejects WHERE batch_id = ?", [batch]) == \
        report.rows_rejected
    if kind in TARGET and not (kind == "predictions" and "label" not in VALID[kind][0]):
        written = store.scalar("SELECT count(*) FROM " + TARGET[kind] + " WHERE batch_id = ?", [batch])
        assert written == report.rows_accepted, report.summary()


STRATEGIES = {
    "events_csv": events_csv(), "kind_csv": kind_csv(), "events_jsonl": events_jsonl(),
    "events_parquet": events_parquet(), "label_studio": label_studio(), "labelbox": labelbox(),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> pathlib.Path:
    """A store holding the valid events (so a mutated file also meets events the store has); every example
    imports into a fresh copy of it, so an example's outcome never depends on the ones before."""
    folder = tmp_path_factory.mktemp("properties")
    header, rows = VALID["events"]
    (folder / "seed.csv").write_text(_csv_text(header, rows[:2], ","))
    with Store(folder / "store.duckdb") as store:
        assert ingest.ingest(store, folder / "seed.csv").rows_accepted == 2
    return folder / "store.duckdb"


def _property(name: str, examples: int):
    @settings(max_examples=examples, **_SETTINGS)
    @given(case=STRATEGIES[name])
    def check(template, case):
        _check_import(template, case)

    return check


test_events_csv = _property("events_csv", QUICK)
test_other_kinds_csv = _property("kind_csv", QUICK)
test_events_jsonl = _property("events_jsonl", QUICK)
test_events_parquet = _property("events_parquet", QUICK)
test_label_studio = _property("label_studio", QUICK)
test_labelbox = _property("labelbox", QUICK)

test_events_csv_thorough = pytest.mark.slow(_property("events_csv", THOROUGH))
test_other_kinds_csv_thorough = pytest.mark.slow(_property("kind_csv", THOROUGH))
test_events_jsonl_thorough = pytest.mark.slow(_property("events_jsonl", THOROUGH))
test_events_parquet_thorough = pytest.mark.slow(_property("events_parquet", THOROUGH))
test_label_studio_thorough = pytest.mark.slow(_property("label_studio", THOROUGH))
test_labelbox_thorough = pytest.mark.slow(_property("labelbox", THOROUGH))
