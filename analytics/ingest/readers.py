"""File-level reading for ``analytics.ingest.pipeline``: what a file is, its hash, and the formats parsed in
Python.

CSV and Parquet are read by DuckDB in ``analytics.store.staging`` (CSV after ``analytics.ingest.csv_scan`` has
settled its dialect and record boundaries); here they are only recognised (by their first bytes, so a
``.parquet`` that holds CSV text or a ``.csv`` that holds gzip is refused before any reading). JSONL and Label
Studio exports are parsed here into Arrow tables whose ``lw__row`` column carries the line (JSONL) or row
(Label Studio) number, so a broken record becomes a reject of that record rather than a failed import.

Every message names the file by ``name``: the name the user knows (an upload is read from a private copy).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analytics.core.schema import REQUIRED_COLUMNS
from analytics.ingest import csv_scan

_PARQUET_MAGIC = b"PAR1"
#: The UTF-8 byte order mark some Windows tools write first: not part of the data.
UTF8_BOM = b"\xef\xbb\xbf"
_BINARY_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", _PARQUET_MAGIC: "Parquet", b"\x89PNG": "PNG"}
#: File extensions read, and the format of each.
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_MEDIA_KEYS = ("image", "audio", "video", "url", "media", "media_ref", "file", "img", "pdf")
_TEXT_KEYS = ("text", "content", "body", "sentence", "document")


class IngestError(ValueError):
    """A file-level problem; the message names the file, the row or column if any, and what was expected."""


def unknown_type_message(name: str) -> str | None:
    """Why a file called ``name`` is not read, or None when its extension is one of ``FORMATS``."""
    suffix = Path(name).suffix.lower()
    if suffix in FORMATS:
        return None
    what = f"unknown file type {suffix!r}" if suffix else "no file extension"
    return f"{name}: {what}; expected one of {', '.join(FORMATS)}"


def file_format(path: Path, name: str | None = None) -> str:
    """Return ``csv``, ``parquet``, ``jsonl`` or ``json`` after checking the content matches the extension.

    ``name`` (default: the path) is the file as messages call it; its extension decides the format.
    """
    name = name or str(path)
    problem = unknown_type_message(name)
    if problem is not None:
        raise IngestError(problem)
    fmt = FORMATS[Path(name).suffix.lower()]
    if not path.is_file():
        raise IngestError(f"{name}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{name}: the file is empty; expected a {fmt.upper()} file with a header and rows")
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
            fh.seek(max(size - 4, 0))
            tail = fh.read(4)
    except OSError as exc:
        raise IngestError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    looks = _binary_kind(head)
    if fmt == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            what = looks or "text"
            raise IngestError(
                f"{name}: not a Parquet file (it looks like {what}); expected the 'PAR1' magic bytes"
            )
        if tail != _PARQUET_MAGIC:
            raise IngestError(f"{name}: truncated Parquet file; expected the 'PAR1' footer at the end")
    elif looks is not None:
        raise IngestError(f"{name}: not a {fmt.upper()} file (it looks like {looks}); expected UTF-8 text")
    return fmt


def _binary_kind(head: bytes) -> str | None:
    """What the first bytes of a file look like when they are not text: a known magic number, or more than
    10% control bytes (UTF-16 text, binary files; a stray NUL or escape sequence in a row is that row's
    problem, rejected with it)."""
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return name
    controls = sum(head.count(bytes([b])) for b in (*range(9), *range(14, 32)))
    if controls > len(head) / 10:
        return "binary data"
    return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _HashSink(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def table_sha256(table: pa.Table) -> str:
    """SHA-256 over the table's Arrow IPC stream bytes (streamed, never held whole)."""
    sink = _HashSink()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.digest.hexdigest()


def header_columns(path: Path, fmt: str, name: str | None = None) -> list[str]:
    """Column names of a tabular file without reading its rows (CSV: any recognised delimiter).

    Raises ``IngestError`` for a CSV header that names a column twice or cannot be read.
    """
    name = name or str(path)
    if fmt == "parquet":
        return pq.read_schema(path).names
    if fmt == "csv":
        try:
            header = csv_scan.first_line(path, name)
            delimiter = csv_scan.detect_delimiter(header, path.suffix.lower() == ".tsv")
            return list(csv_scan.header_names(header, delimiter, name))
        except csv_scan.CsvError as exc:
            raise IngestError(str(exc)) from exc
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    record = _loads(line)
                except (ValueError, RecursionError):
                    return []
                return list(record) if isinstance(record, dict) else []
    return []


class _Object(dict):
    """A JSON object that remembers the keys its text gave more than once (the last value is kept)."""

    duplicates: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _Object:
    found = _Object(pairs)
    if len(found) < len(pairs):
        keys = [key for key, _ in pairs]
        found.duplicates = tuple(dict.fromkeys(key for key in keys if keys.count(key) > 1))
    return found


def _loads(text: str | bytes) -> object:
    """``json.loads`` that marks duplicate keys (see ``_Object``); may raise ValueError or RecursionError."""
    return json.loads(text, object_pairs_hook=_object)


def _duplicates(value: object) -> tuple[str, ...]:
    return value.duplicates if isinstance(value, _Object) else ()


def _describe(value: object) -> str:
    """A short description of a JSON value for messages (nested values are never dumped whole)."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "the text " + repr(value[:100])
    return repr(value)


def _cell(value: object) -> object:
    """A scalar JSON value as stored text (numbers keep the spelling Python gives them)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _features(value: object) -> list[float] | None:
    """A list of numbers as floats; None when ``value`` is not one (booleans are not numbers)."""
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return None
    try:
        return [float(v) for v in value]
    except OverflowError:
        return None


def read_jsonl(path: Path) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Parse a JSON-lines file: ``(rows with lw__row = line number, [(line, reason, raw line), …])``.

    A UTF-8 byte order mark opening the file is dropped. Each non-blank line must be one JSON object whose
    values are text, numbers, booleans or null; only ``features`` holds a list (of numbers). A line that
    breaks this is one reject: invalid UTF-8, invalid JSON, nesting too deep to parse, a key given twice (JSON
    keeps the last value without a word), or a list or object where a single value is expected.
    """
    rows, bad = [], []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number == 1:
                line = line.removeprefix(UTF8_BOM)
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="replace")
            try:
                record = _loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                bad.append((number, "invalid encoding: expected UTF-8 text", text))
                continue
            except RecursionError:
                bad.append((number, "bad JSON: expected a JSON object of plain values, got values nested "
                            "too deep to read", text))
                continue
            except ValueError as exc:
                bad.append((number, f"bad JSON: expected a JSON object ({exc.msg} at character "
                            f"{exc.pos}), got {text.strip()[:100]!r}", text))
                continue
            reason = _jsonl_record_problem(record, text)
            if reason is not None:
                bad.append((number, reason, text))
                continue
            rows.append({"lw__row": number, **{
                key: _features(value) if key == "features" else _cell(value) for key, value in record.items()
            }})
    return _to_table(rows), bad


def _jsonl_record_problem(record: object, text: str) -> str | None:
    if not isinstance(record, dict):
        return f"bad JSON: expected a JSON object, got {text.strip()[:100]!r}"
    if duplicates := _duplicates(record):
        return (f"duplicate key: column {duplicates[0]!r}: expected each key once in a JSON object, got it "
                "more than once (JSON would keep only the last value)")
    for key, value in record.items():
        if key.startswith("lw__"):
            return f"wrong column: column {key!r}: names starting with 'lw__' are reserved"
        if key == "features":
            if value is not None and _features(value) is None:
                return f"wrong type: column 'features': expected a list of numbers, got {_describe(value)}"
        elif isinstance(value, dict | list):
            return f"wrong type: column {key!r}: expected text, a number or null, got {_describe(value)}"
    return None


def has_control_characters(table: pa.Table) -> bool:
    """Whether a text column of ``table`` holds a control character (NUL, ESC, tab, …), in Arrow's C++."""
    for column in table.itercolumns():
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring_regex(column, "[\\x00-\\x1f\\x7f]")).as_py():
                return True
    return False


def _to_table(rows: list[dict]) -> pa.Table:
    if not rows:
        return pa.table({"lw__row": pa.array([], pa.int64())})
    columns = list(dict.fromkeys(key for row in rows for key in row))
    types = {"lw__row": pa.int64(), "features": pa.list_(pa.float64())}
    return pa.Table.from_pylist(
        rows, schema=pa.schema([pa.field(c, types.get(c, pa.string())) for c in columns])
    )


def read_label_studio(
    path: Path, dataset: str, name: str | None = None
) -> tuple[pa.Table, pa.Table, list[tuple[int, str, str]]]:
    """Parse a Label Studio JSON export into (events, items, rejects).

    A task's item is its ``data.item_id`` when it has one (as LabelWatch's campaign export writes), else
    its ``id``. Each annotation gives one event per chosen label (``choices`` results) in ``dataset``; an
    annotation without a choice still gives a row, which validation rejects as a missing label. The items
    name no dataset: new ones get the import's, items the store holds keep theirs. ``completed_by`` may be
    an id or a dict with ``id``/``email``. Scalar task data fields become the item's ``text`` (text,
    content, …), ``media_ref`` (image, audio, url, …) or slice attributes.

    Rows are numbered in the export's order. What cannot become an event is one reject row with a reason
    naming the task (its position and id) and, where there is one, the annotation: a task that is not an
    object with an id, a ``data`` that is not an object, a cancelled annotation (``was_cancelled``; counted,
    not imported), a result whose ``value`` or ``choices`` has the wrong shape (``"choices": "cat"`` is one
    reject, not three labels), a key given twice.
    """
    name = name or str(path)
    try:
        tasks = _loads(path.read_bytes().removeprefix(UTF8_BOM).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{name}: not UTF-8 text at byte {exc.start}; expected a Label Studio JSON export"
        ) from exc
    except RecursionError as exc:
        raise IngestError(f"{name}: JSON nested too deep to read; expected a Label Studio JSON export (a "
                          "list of tasks)") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{name}: unparseable JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "expected a Label Studio JSON export (a list of tasks)"
        ) from exc
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not any(isinstance(t, dict) and "id" in t for t in tasks):
        raise IngestError(f"{name}: not a Label Studio export; expected a list of tasks, each with an 'id'")
    rows: list[dict] = []
    bad: list[tuple[int, str, str]] = []
    items = []
    for task_number, task in enumerate(tasks, start=1):
        problem = _task_problem(task, task_number)
        if problem is not None:
            bad.append((len(rows) + len(bad) + 1, problem, _raw(task)))
            continue
        item_id = _task_item(task)
        where = f"task {task_number} (id {_cell(task['id'])})"
        items.append({"lw__row": task_number, "item_id": item_id, **_task_fields(task.get("data") or {})})
        for annotation_number, annotation in enumerate(task.get("annotations") or [], start=1):
            at = f"{where}, annotation {annotation_number}"
            labels, problem = _annotation_labels(annotation, at)
            if problem is not None:
                bad.append((len(rows) + len(bad) + 1, problem, _raw(annotation)))
                continue
            for label in labels or [None]:
                rows.append({
                    "lw__row": len(rows) + len(bad) + 1,
                    "item_id": item_id,
                    "annotator_id": _annotator(annotation.get("completed_by")),
                    "label": label,
                    "labeled_at": _scalar(annotation.get("created_at")),
                    "duration_s": _scalar(annotation.get("lead_time")),
                    "dataset": dataset,
                })
    return _to_table(rows), _to_table(items), bad


def _task_item(task: dict) -> object:
    """The item a task labels: ``data.item_id`` when the task carries one (LabelWatch's campaign export
    writes it, since Label Studio numbers the tasks it imports anew), else the task's ``id``."""
    named = (task.get("data") or {}).get("item_id")
    if isinstance(named, str | int) and not isinstance(named, bool) and str(named).strip():
        return _cell(named)
    return _cell(task["id"])


def _raw(value: object) -> str:
    """The JSON text of a rejected task or annotation (or what it is, when too deep to write back)."""
    try:
        return json.dumps(value)
    except (RecursionError, ValueError):
        return _describe(value)


def _scalar(value: object) -> object:
    return _cell(value) if not isinstance(value, dict | list) else _describe(value)


def _task_problem(task: object, number: int) -> str | None:
    if not isinstance(task, dict):
        return f"bad task: task {number}: expected a JSON object with an 'id', got {_describe(task)}"
    if not isinstance(task.get("id"), str | int) or isinstance(task.get("id"), bool):
        return (f"bad task: task {number}: expected an 'id' that is a number or text, got "
                f"{_describe(task.get('id'))}")
    where = f"task {number} (id {task['id']})"
    if task.get("data") is not None and not isinstance(task["data"], dict):
        return f"bad task: {where}: expected 'data' to be a JSON object, got {_describe(task['data'])}"
    if task.get("annotations") is not None and not isinstance(task["annotations"], list):
        return f"bad task: {where}: expected 'annotations' to be a list, got {_describe(task['annotations'])}"
    if duplicates := (*_duplicates(task), *_duplicates(task.get("data"))):
        return f"duplicate key: {where}: expected each key once, got {duplicates[0]!r} more than once"
    return None


def _annotation_labels(annotation: object, at: str) -> tuple[list[str], str | None]:
    """The labels an annotation chose, or the reason it cannot be read."""
    if not isinstance(annotation, dict):
        return [], f"bad annotation: {at}: expected a JSON object, got {_describe(annotation)}"
    if annotation.get("was_cancelled"):
        return [], (f"cancelled annotation: {at}: Label Studio marks it as cancelled (was_cancelled); "
                    "expected a completed annotation, so it is not imported")
    results = annotation.get("result") or []
    if not isinstance(results, list):
        return [], f"bad annotation: {at}: expected 'result' to be a list, got {_describe(results)}"
    if duplicates := _duplicates(annotation):
        return [], f"duplicate key: {at}: expected each key once, got {duplicates[0]!r} more than once"
    labels: list[str] = []
    for number, result in enumerate(results, start=1):
        if not isinstance(result, dict) or result.get("type") != "choices":
            continue
        value = result.get("value")
        if not isinstance(value, dict):
            return [], (f"bad annotation: column 'label': {at}, result {number}: expected 'value' to be an "
                        f"object with 'choices', got {_describe(value)}")
        if duplicates := (*_duplicates(result), *_duplicates(value)):
            return [], (f"duplicate key: {at}, result {number}: expected each key once, got "
                        f"{duplicates[0]!r} more than once")
        choices = value.get("choices") or []
        if not isinstance(choices, list) or not all(
            isinstance(c, str | int | float) and not isinstance(c, bool) for c in choices
        ):
            return [], (f"bad annotation: column 'label': {at}, result {number}: expected 'choices' to be a "
                        f"list of labels, got {_describe(choices)}")
        labels.extend(_cell(choice) for choice in choices)
    return labels, None


def _annotator(completed_by: object) -> str | None:
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("id", completed_by.get("email"))
    if completed_by is None or isinstance(completed_by, dict | list):
        return None
    return _cell(completed_by)


def _task_fields(data: dict) -> dict:
    fields: dict = {}
    for key, value in data.items():
        if isinstance(value, dict | list) or key.startswith("lw__"):
            continue
        value = _cell(value)
        if "text" not in fields and key.lower() in _TEXT_KEYS:
            fields["text"] = value
        elif "media_ref" not in fields and key.lower() in _MEDIA_KEYS:
            fields["media_ref"] = value
        elif key not in ("item_id", "dataset"):
            fields[key] = value
    return fields


def detect_kind(path: str | Path, name: str | None = None) -> str:
    """Guess the input kind of a file from its extension and columns.

    Parameters
    ----------
    path : str or Path
        A ``.csv``/``.tsv``, ``.parquet``, ``.jsonl``/``.ndjson`` or ``.json`` file.
    name : str or None
        The file as messages call it, and whose extension counts (default: the path).

    Returns
    -------
    str
        One of ``analytics.core.schema.INPUT_KINDS``: ``label-studio`` for a Label Studio export; for tabular
        files
        ``events`` (item_id, annotator_id, label, labeled_at), ``guidelines`` (version, effective_at),
        ``predictions`` (prob or prob_<label>), ``gold`` (item_id, label), ``vocabulary`` (label) or
        ``items`` (item_id).

    Raises
    ------
    IngestError
        The file cannot be read, or its columns fit no kind (the message lists them).

    Examples
    --------
    With a Label Studio export of your own::

        detect_kind("exports/project-3.json")  # 'label-studio'
    """
    path = Path(path)
    name = name or str(path)
    fmt = file_format(path, name)
    if fmt == "json":
        with path.open("rb") as fh:
            head = fh.read(65536).removeprefix(UTF8_BOM).decode("utf-8", errors="replace")
        if head.lstrip().startswith(("[", "{")) and ('"annotations"' in head or '"data"' in head):
            return "label-studio"
        raise IngestError(
            f"{name}: not a Label Studio export; expected a list of tasks with 'data' and "
            "'annotations' (use .jsonl for JSON lines)"
        )
    columns = set(header_columns(path, fmt, name))
    if set(REQUIRED_COLUMNS["events"]) <= columns:
        return "events"
    if set(REQUIRED_COLUMNS["guidelines"]) <= columns:
        return "guidelines"
    if "item_id" in columns and ("prob" in columns or any(c.startswith("prob_") for c in columns)):
        return "predictions"
    if {"item_id", "label"} <= columns:
        return "gold"
    if "label" in columns:
        return "vocabulary"
    if "item_id" in columns:
        return "items"
    raise IngestError(
        f"{name}: cannot tell what this file holds from its columns {sorted(columns)}; expected "
        "the columns of one of: " + ", ".join(REQUIRED_COLUMNS) + " (or map its columns to those names)"
    )
