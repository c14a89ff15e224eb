"""File-level reading for ``analytics.ingest.pipeline``: what a file is, its hash, and the formats parsed in
Python.

CSV and Parquet are read by DuckDB in ``analytics.store.staging`` (CSV after ``analytics.ingest.csv_scan`` has
settled its dialect and record boundaries); here they are only recognised (by their first bytes, so a
``.parquet`` that holds CSV text or a ``.csv`` that holds gzip is refused before any reading). JSONL, Label
Studio exports and Labelbox exports are parsed here into Arrow tables whose ``lw__row`` column carries the
line (JSONL) or row (Label Studio, Labelbox) number, so a broken record becomes a reject of that record rather
than a failed import.

Every message names the file by ``name``: the name the user knows (an upload is read from a private copy).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

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
    for number, line, text in _lines(path):
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


def _lines(path: Path) -> Iterator[tuple[int, bytes, str]]:
    """Each non-blank line of a JSON-lines file: ``(line number, its bytes, its text with undecodable
    bytes replaced)``; a UTF-8 byte order mark opening the file is dropped."""
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number == 1:
                line = line.removeprefix(UTF8_BOM)
            if line.strip():
                yield number, line, line.decode("utf-8", errors="replace")


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


#: A ``"data_row":`` key: how a Labelbox Export v2 line is recognised (a JSON string followed by a colon is
#: always a key).
_LABELBOX_KEY = re.compile(r'"data_row"\s*:')
#: ``row_data`` that links to the media (``https://``, ``gs://``, ``s3://`` …) rather than being the text.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
#: The answer keys of a Labelbox classification, and what each makes of the question.
_ANSWERS = (("radio_answer", "radio"), ("checklist_answers", "checklist"), ("text_answer", "free text"))
_LABELBOX_EVENTS = pa.schema(
    [pa.field("lw__row", pa.int64())]
    + [pa.field(c, pa.string()) for c in ("item_id", "annotator_id", "label", "labeled_at", "duration_s",
                                           "dataset")]
)


class LabelboxExport(NamedTuple):
    """What ``read_labelbox`` read from a Labelbox export."""

    #: One row per label (``lw__row``: its row number), in the columns of the events kind.
    events: pa.Table
    #: One row per data row (``lw__row``: its line), in the columns of the items kind.
    items: pa.Table
    #: ``(row, reason, raw)`` of each line or label that cannot become an event.
    rejects: list[tuple[int, str, str]]
    #: The classification question whose answers are the labels.
    question: str
    #: What was read but not imported, rejecting nothing (objects beside the answers, other questions).
    warnings: tuple[str, ...]


def looks_like_labelbox(path: Path) -> bool:
    """Whether a JSON-lines file is a Labelbox Export v2 file: a ``data_row`` key in its first 64 KiB."""
    with path.open("rb") as fh:
        head = fh.read(65536).removeprefix(UTF8_BOM).decode("utf-8", errors="replace")
    return _LABELBOX_KEY.search(head) is not None


def labelbox_questions(path: Path) -> dict[str, str]:
    """The questions the labels of a Labelbox export answer, in the order first met.

    Returns
    -------
    dict of str to str
        The name of each top-level classification of the labels (``annotations.classifications``) to what
        answers it: ``radio``, ``checklist``, ``free text`` or ``other``. Lines that do not parse are
        passed over.
    """
    return _questions(value for _, value, problem, _ in _ndjson_lines(path) if problem is None)


def read_labelbox(
    path: Path, dataset: str | None = None, name: str | None = None, question: str | None = None
) -> LabelboxExport:
    """Parse a Labelbox Export v2 NDJSON file (one data row per line) into events, items and rejects.

    Mapping, for each label of each project of each data row:

    - ``item_id``: the data row's ``global_key`` when it has one, else its ``id``;
    - ``annotator_id``: ``label_details.created_by`` (the labeler's e-mail; a label without it is a reject,
      "missing value", as is one without ``created_at``: the export needs its label details);
    - ``label``: the ``value`` of the label's ``radio_answer`` to ``question`` (its ``name`` when it has no
      value): the option's stable value, as the Label Studio reader takes a choice's ``value``, not the
      text shown to labelers;
    - ``labeled_at``: ``label_details.created_at`` (ISO 8601 with its offset, stored in UTC);
    - ``duration_s``: ``performance_details.seconds_to_create``;
    - the dataset: ``dataset`` when given, else the name of the data row's first project that holds a label
      (a data row labeled in several projects is one item, in one dataset).

    ``question`` is a top-level classification of the labels, by ``name`` (or ``value``); None reads the
    first radio question met in the file. Only radio answers are single class labels: a label answering
    with a checklist (``checklist_answers``, multi-label), in free text (``text_answer``), not at all, or
    twice, is a reject naming why; objects (bounding boxes, polygons, …) are not classifications: a label
    holding only objects is a reject, and objects beside an answer are counted in a warning. Other
    questions, nested classifications and ``attachments``, ``metadata_fields``, ``media_attributes`` and
    ``embeddings`` are not read. Reviews (``label_details.reviews``) have no place in a label event: a label
    rejected in review is still what its labeler gave, and is imported.

    The data row becomes an item (new items get the dataset above; items the store holds keep theirs):
    ``row_data`` as ``media_ref`` when it is a link, else as ``text``; ``external_id`` and the project's
    ``project_details.workflow_status`` (``DONE``, ``IN_REVIEW``, …) as slice attributes.

    Rows are numbered in the file's order, one per label, one per line that gives no label. Every non-blank
    line gives at least one row, so every line is counted: a line that is not UTF-8, not JSON or not a data
    row object, a data row without labels, a label skipped in Labelbox (``performance_details.skipped``), a
    key given twice. A UTF-8 byte order mark opening the file is dropped.

    Parameters
    ----------
    path : Path
        The ``.ndjson`` export (``project.export()`` or the app's export, streamed to a file).
    dataset : str or None
        The dataset of every item and event; None: the data row's project.
    name : str or None
        The file as messages call it (default: the path).
    question : str or None
        The classification question to read; None: the first radio question.

    Returns
    -------
    LabelboxExport

    Raises
    ------
    IngestError
        Nothing to read: no non-blank line, no line that parses (naming the first line and why), no line
        with a ``data_row``, no radio question (or none named ``question``).
    """
    name = name or str(path)
    expected = "expected a Labelbox Export v2 NDJSON file, one data row per line"
    lines = list(_ndjson_lines(path))
    if not lines:
        raise IngestError(f"{name}: no data rows, only blank lines; {expected}")
    parsed = [value for _, value, problem, _ in lines if problem is None]
    if not parsed:
        raise IngestError(f"{name}: no line parses as JSON ({lines[0][2]}); {expected}")
    if not any(isinstance(value, dict) and "data_row" in value for value in parsed):
        raise IngestError(f"{name}: not a Labelbox export: no line holds a 'data_row'; {expected}")
    questions = _questions(parsed)
    found = ", ".join(f"{q!r} ({kind})" for q, kind in questions.items()) or "none"
    if question is None:
        question = next((q for q, kind in questions.items() if kind == "radio"), None)
        if question is None:
            raise IngestError(
                f"{name}: no label answers a radio question (questions: {found}); expected labels with a "
                "radio classification (checklist and free-text answers are not one class each)"
            )
    elif not any(_asks(c, question) for value in parsed for label in _labels_of(value)
                 for c in _classifications(label)):
        raise IngestError(f"{name}: no label answers the question {question!r} (questions: {found}); "
                          "expected the name of a classification of the labels")
    reader = _LabelboxReader(dataset, question)
    for number, record, problem, text in lines:
        if problem is not None:
            reader.reject(problem, text)
        else:
            reader.line(number, record, text)
    warnings = reader.warnings()
    others = [q for q, kind in questions.items() if kind == "radio" and q != question]
    if others:
        warnings.append(
            f"the labels answer {len(others) + 1} radio questions; this import reads {question!r} only, not "
            f"{', '.join(map(repr, others))}. A store follows one question (its labels are one set of "
            "classes): import another question (--question on the command line) into another store."
        )
    if reader.items:
        items = _to_table(reader.items)
    else:
        items = pa.table({c: pa.array([], t) for c, t in (("lw__row", pa.int64()), ("item_id", pa.string()),
                                                          ("dataset", pa.string()))})
    events = pa.Table.from_pylist(reader.rows, schema=_LABELBOX_EVENTS)
    return LabelboxExport(events, items, reader.bad, question, tuple(warnings))


def _ndjson_lines(path: Path) -> Iterator[tuple[int, object, str | None, str]]:
    """Each non-blank line: ``(line number, parsed value, None, text)`` or ``(line, None, reason, text)``."""
    for number, line, text in _lines(path):
        value, problem = None, None
        try:
            value = _loads(line.decode("utf-8"))
        except UnicodeDecodeError:
            problem = f"invalid encoding: line {number}: expected UTF-8 text"
        except RecursionError:
            problem = (f"bad JSON: line {number}: expected a JSON object, got values nested too deep to "
                       "read")
        except ValueError as exc:
            decoding = isinstance(exc, json.JSONDecodeError)
            why = f"{exc.msg} at character {exc.pos}" if decoding else str(exc)
            problem = (f"bad JSON: line {number}: expected a JSON object ({why[:100]}), got "
                       f"{text.strip()[:100]!r}")
        yield number, value, problem, text


def _labels_of(record: object) -> Iterator[dict]:
    """The labels (JSON objects) of a parsed line, project by project, as the file gives them."""
    projects = record.get("projects") if isinstance(record, dict) else None
    for project in projects.values() if isinstance(projects, dict) else ():
        labels = project.get("labels") if isinstance(project, dict) else None
        yield from (label for label in labels if isinstance(label, dict)) if isinstance(labels, list) else ()


def _classifications(label: dict) -> list[dict]:
    """A label's top-level classifications that are JSON objects."""
    annotations = label.get("annotations")
    found = annotations.get("classifications") if isinstance(annotations, dict) else None
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _question_name(classification: dict) -> str | None:
    name = classification.get("name")
    name = name if isinstance(name, str) and name.strip() else classification.get("value")
    return name if isinstance(name, str) and name.strip() else None


def _answer_kind(classification: dict) -> str:
    return next((kind for key, kind in _ANSWERS if key in classification), "other")


def _asks(classification: dict, question: str) -> bool:
    return question in (_question_name(classification), classification.get("value"))


def _questions(records: Iterable[object]) -> dict[str, str]:
    found: dict[str, str] = {}
    for record in records:
        for label in _labels_of(record):
            for classification in _classifications(label):
                name = _question_name(classification)
                if name is not None:
                    found.setdefault(name, _answer_kind(classification))
    return found


def _project_name(project_id: str, project: dict) -> str:
    """A project's ``name``; its id when it has none (ids are unique, names need not be)."""
    name = project.get("name")
    return name if isinstance(name, str) and name.strip() else project_id


class _LabelboxReader:
    """The rows, items and rejects of a Labelbox export, line by line (see ``read_labelbox``)."""

    def __init__(self, dataset: str | None, question: str) -> None:
        self.dataset, self.question = dataset, question
        self.rows: list[dict] = []
        self.items: list[dict] = []
        self.bad: list[tuple[int, str, str]] = []
        self.with_objects = 0
        self.object_names: dict[str, int] = {}

    def reject(self, reason: str, raw: str) -> None:
        self.bad.append((len(self.rows) + len(self.bad) + 1, reason, raw))

    def warnings(self) -> list[str]:
        if not self.with_objects:
            return []
        names = ", ".join(f"{name} ×{n:,}" for name, n in sorted(self.object_names.items(),
                                                                    key=lambda kv: (-kv[1], kv[0]))[:5])
        labels = "1 label also holds" if self.with_objects == 1 else f"{self.with_objects:,} labels also hold"
        return [f"{labels} objects ({names}): objects (bounding boxes, polygons, …) are not "
                f"classifications and are not imported; the answers to {self.question!r} are."]

    def line(self, number: int, record: object, text: str) -> None:
        problem = _data_row_problem(record, number)
        if problem is not None:
            self.reject(problem, text)
            return
        item_id = _data_row_item(record["data_row"])
        where = f"line {number} (data row {item_id})"
        projects = record.get("projects") or {}
        first = next((p for p in projects.items() if isinstance(p[1], dict) and p[1].get("labels")),
                     next((p for p in projects.items() if isinstance(p[1], dict)), None))
        dataset = self.dataset or (_project_name(*first) if first else None)
        self.items.append({"lw__row": number, "item_id": item_id, "dataset": dataset,
                           **_data_row_fields(record, first[1] if first else {})})
        rows_before = len(self.rows) + len(self.bad)
        for project_id, project in projects.items():
            if not isinstance(project, dict):
                self.reject(f"bad data row: column 'projects': {where}, project {project_id!r}: expected an "
                            f"object with 'name' and 'labels', got {_describe(project)}", _raw(project))
                continue
            at = f"{where}, project {_project_name(project_id, project)!r}"
            labels = project.get("labels")
            if labels is not None and not isinstance(labels, list):
                self.reject(f"bad data row: column 'labels': {at}: expected a list of labels, got "
                            f"{_describe(labels)}", _raw(project))
                continue
            if duplicates := _duplicates(project):
                self.reject(f"duplicate key: column {duplicates[0]!r}: {at}: expected each key once, got it "
                            "more than once (JSON would keep only the last value)", _raw(project))
                continue
            for number_in_project, label in enumerate(labels or [], start=1):
                fields, problem = self.label(label, f"{at}, label {number_in_project}")
                if problem is not None:
                    self.reject(problem, _raw(label))
                    continue
                self.rows.append({"lw__row": len(self.rows) + len(self.bad) + 1, "item_id": item_id,
                                  **fields, "dataset": dataset or _project_name(project_id, project)})
        if len(self.rows) + len(self.bad) == rows_before:
            self.reject(f"no labels: column 'labels': {where}: expected at least one label in its projects, "
                        "got none (the data row is kept as an item, without events)", text)

    def label(self, label: object, at: str) -> tuple[dict, str | None]:
        """The event fields of one label, or why it gives none."""
        if not isinstance(label, dict):
            return {}, f"bad label: {at}: expected a JSON object, got {_describe(label)}"
        parts = {}
        for key in ("label_details", "performance_details", "annotations"):
            part = label.get(key)
            if part is not None and not isinstance(part, dict):
                return {}, f"bad label: column {key!r}: {at}: expected an object, got {_describe(part)}"
            parts[key] = part or {}
        if duplicates := (*_duplicates(label), *(d for part in parts.values() for d in _duplicates(part))):
            return {}, (f"duplicate key: column {duplicates[0]!r}: {at}: expected each key once, got it more "
                        "than once (JSON would keep only the last value)")
        details, performance, annotations = parts.values()
        if performance.get("skipped") is True:
            return {}, (f"skipped label: column 'performance_details': {at}: Labelbox marks the label as "
                        "skipped (performance_details.skipped); expected a submitted label, so it is not "
                        "imported")
        classifications = annotations.get("classifications")
        classifications = [] if classifications is None else classifications
        if not isinstance(classifications, list):
            return {}, (f"bad label: column 'annotations': {at}: expected 'classifications' to be a list, "
                        f"got {_describe(classifications)}")
        objects = annotations.get("objects") or []
        objects = list(objects.values()) if isinstance(objects, dict) else objects
        objects = objects if isinstance(objects, list) else [objects]
        answers = [c for c in classifications if isinstance(c, dict) and _asks(c, self.question)]
        q = self.question
        if not answers:
            held = ""
            if objects:
                held = (f"; the label holds {len(objects):,} object{'s' if len(objects) > 1 else ''} "
                        f"({_object_names(objects)}), and objects are not classifications")
            return {}, (f"no answer: column 'label': {at}: expected an answer to the radio question {q!r}, "
                        f"got none{held}")
        if len(answers) > 1:
            return {}, (f"bad answer: column 'label': {at}: expected one answer to the question {q!r}, got "
                        f"{len(answers)}")
        answer = answers[0]
        kind = _answer_kind(answer)
        if kind == "checklist":
            return {}, (f"checklist answer: column 'label': {at}: the question {q!r} is answered with a "
                        "checklist, and checklist answers are multi-label; expected one radio answer per "
                        "label (agreement compares one class per annotator and item)")
        if kind == "free text":
            return {}, (f"free-text answer: column 'label': {at}: the question {q!r} is answered in free "
                        "text, which is not one of a set of classes; expected a radio answer")
        radio = answer.get("radio_answer")
        if kind == "other" or not isinstance(radio, dict):
            got = _describe(radio) if kind == "radio" else "keys " + ", ".join(map(repr, list(answer)[:10]))
            return {}, (f"bad answer: column 'label': {at}: expected the question {q!r} to have a "
                        f"'radio_answer' object with a 'value', got {got}")
        if duplicates := (*_duplicates(answer), *_duplicates(radio)):
            return {}, (f"duplicate key: column {duplicates[0]!r}: {at}: expected each key once, got it more "
                        "than once (JSON would keep only the last value)")
        value = radio.get("value")
        value = radio.get("name") if value is None else value
        if isinstance(value, dict | list):
            return {}, (f"bad answer: column 'label': {at}: expected the radio answer's 'value' to be text, "
                        f"got {_describe(value)}")
        for key, column, what in (("created_by", "annotator_id", "the labeler's e-mail"),
                                  ("created_at", "labeled_at", "when the label was made")):
            given = details.get(key)
            if given is None or given == "":
                got = "nothing" if "label_details" in label else "no 'label_details' (export with them)"
                return {}, (f"missing value: column {column!r}: {at}: expected 'label_details.{key}' "
                            f"({what}), got {got}")
            if isinstance(given, dict | list):
                return {}, (f"wrong type: column {column!r}: {at}: expected 'label_details.{key}' ({what}), "
                            f"got {_describe(given)}")
        if objects:
            self.with_objects += 1
            for obj in objects:
                what = _object_name(obj)
                self.object_names[what] = self.object_names.get(what, 0) + 1
        return {"annotator_id": _cell(details["created_by"]), "label": _cell(value),
                "labeled_at": _cell(details["created_at"]),
                "duration_s": _scalar(performance.get("seconds_to_create"))}, None


def _data_row_problem(record: object, number: int) -> str | None:
    if not isinstance(record, dict):
        return (f"bad data row: line {number}: expected a JSON object with a 'data_row', got "
                f"{_describe(record)}")
    data_row = record.get("data_row")
    if not isinstance(data_row, dict):
        return (f"bad data row: column 'data_row': line {number}: expected an object with an 'id', got "
                f"{_describe(data_row)}")
    row_id = data_row.get("id")
    if not isinstance(row_id, str | int) or isinstance(row_id, bool) or not str(row_id).strip():
        return (f"bad data row: column 'data_row': line {number}: expected an 'id' that is text or a number, "
                f"got {_describe(row_id)}")
    projects = record.get("projects")
    if projects is not None and not isinstance(projects, dict):
        return (f"bad data row: column 'projects': line {number} (data row {_data_row_item(data_row)}): "
                f"expected an object of projects by id, got {_describe(projects)}")
    if duplicates := (*_duplicates(record), *_duplicates(data_row), *_duplicates(projects)):
        return (f"duplicate key: column {duplicates[0]!r}: line {number}: expected each key once, got it "
                "more than once (JSON would keep only the last value)")
    return None


def _data_row_item(data_row: dict) -> object:
    """The item a data row is: its ``global_key`` when it has one (the key its owners chose, stable across
    datasets and re-uploads), else its ``id``."""
    key = data_row.get("global_key")
    return key if isinstance(key, str) and key.strip() else _cell(data_row["id"])


def _data_row_fields(record: dict, project: dict) -> dict:
    """The item columns and slice attributes of a data row (see ``read_labelbox``)."""
    fields: dict = {}
    row_data = record["data_row"].get("row_data")
    if isinstance(row_data, str) and row_data.strip():
        fields["media_ref" if _URL.match(row_data.strip()) else "text"] = row_data
    external_id = record["data_row"].get("external_id")
    if isinstance(external_id, str | int | float) and not isinstance(external_id, bool):
        fields["external_id"] = _cell(external_id)
    details = project.get("project_details")
    status = details.get("workflow_status") if isinstance(details, dict) else None
    if isinstance(status, str) and status.strip():
        fields["workflow_status"] = status
    return fields


def _object_name(obj: object) -> str:
    name = obj.get("name", obj.get("value")) if isinstance(obj, dict) else None
    return name if isinstance(name, str) and name.strip() else "an unnamed object"


def _object_names(objects: list) -> str:
    names = list(dict.fromkeys(_object_name(obj) for obj in objects))
    return ", ".join(names[:5]) + (", …" if len(names) > 5 else "")


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
        One of ``analytics.core.schema.INPUT_KINDS``: ``label-studio`` for a Label Studio export (``.json``),
        ``labelbox`` for JSON lines holding a ``data_row`` key (a Labelbox Export v2 ``.ndjson`` file); for
        tabular files ``events`` (item_id, annotator_id, label, labeled_at), ``guidelines`` (version,
        effective_at), ``predictions`` (prob or prob_<label>), ``gold`` (item_id, label), ``vocabulary``
        (label) or ``items`` (item_id).

    Raises
    ------
    IngestError
        The file cannot be read, or its columns fit no kind (the message lists them).

    Examples
    --------
    With a Label Studio export of your own::

        detect_kind("exports/project-3.json")  # 'label-studio'
        detect_kind("exports/labelbox-project.ndjson")  # 'labelbox'
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
    if fmt == "jsonl" and looks_like_labelbox(path):
        return "labelbox"
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
