"""File-level reading for ``analytics.ingest``: what a file is, its hash, and the formats parsed in Python.

CSV and Parquet are read by DuckDB in ``analytics.store.staging``; here they are only recognised (by their
first bytes, so a ``.parquet`` that holds CSV text or a ``.csv`` that holds gzip is refused before any
reading). JSONL and Label Studio exports are parsed here into Arrow tables whose ``lw__row`` column carries
the record number, so a broken line becomes a reject of that line rather than a failed import.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from analytics.schema import REQUIRED_COLUMNS

_PARQUET_MAGIC = b"PAR1"
_BINARY_MAGIC = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", _PARQUET_MAGIC: "Parquet", b"\x89PNG": "PNG"}
_FORMATS = {
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


def file_format(path: Path) -> str:
    """Return ``csv``, ``parquet``, ``jsonl`` or ``json`` after checking the content matches the extension."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(f"{path}: unknown file type {path.suffix!r}; expected one of {', '.join(_FORMATS)}")
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise IngestError(f"{path}: the file is empty; expected a {fmt.upper()} file with a header and rows")
    with path.open("rb") as fh:
        head = fh.read(8192)
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    looks = _binary_kind(head)
    if fmt == "parquet":
        if not head.startswith(_PARQUET_MAGIC):
            what = looks or "text"
            raise IngestError(
                f"{path}: not a Parquet file (it looks like {what}); expected the 'PAR1' magic bytes"
            )
        if tail != _PARQUET_MAGIC:
            raise IngestError(f"{path}: truncated Parquet file; expected the 'PAR1' footer at the end")
    elif looks is not None:
        raise IngestError(f"{path}: not a {fmt.upper()} file (it looks like {looks}); expected UTF-8 text")
    return fmt


def _binary_kind(head: bytes) -> str | None:
    for magic, name in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return name
    if b"\x00" in head:
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

    def write(self, data) -> int:
        self.digest.update(data)
        return len(data)


def table_sha256(table: pa.Table) -> str:
    """SHA-256 over the table's Arrow IPC stream bytes (streamed, never held whole)."""
    sink = _HashSink()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.digest.hexdigest()


def header_columns(path: Path, fmt: str) -> list[str]:
    """Column names of a tabular file without reading its rows."""
    if fmt == "parquet":
        return pq.read_schema(path).names
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            return next(csv.reader(fh), [])
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                try:
                    return list(json.loads(line))
                except (ValueError, TypeError):
                    return []
    return []


def _cell(value):
    """A JSONL value as stored text; lists of numbers (features) stay lists."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def read_jsonl(path: Path) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Parse a JSON-lines file: ``(rows with lw__row = line number, [(line, reason, raw line), …])``."""
    rows, bad = [], []
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="replace")
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError:
                bad.append((number, "invalid encoding: expected UTF-8 text", text))
                continue
            except ValueError as exc:
                bad.append(
                    (
                        number,
                        f"bad JSON: expected a JSON object ({exc.msg} at character "
                        f"{exc.pos}), got {text.strip()[:100]!r}",
                        text,
                    )
                )
                continue
            if not isinstance(record, dict):
                bad.append((number, f"bad JSON: expected a JSON object, got {text.strip()[:100]!r}", text))
                continue
            rows.append({"lw__row": number, **{key: _cell(value) for key, value in record.items()}})
    return _to_table(rows), bad


def _to_table(rows: list[dict]) -> pa.Table:
    if not rows:
        return pa.table({"lw__row": pa.array([], pa.int64())})
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [pa.field(c, pa.int64() if c == "lw__row" else _arrow_type(rows, c)) for c in columns]
        ),
    )


def _arrow_type(rows: list[dict], column: str) -> pa.DataType:
    values = [row.get(column) for row in rows if row.get(column) is not None]
    if values and all(isinstance(v, list) for v in values):
        return pa.list_(pa.float64())
    return pa.string()


def read_label_studio(path: Path, dataset: str) -> tuple[pa.Table, pa.Table]:
    """Parse a Label Studio JSON export into (events, items) Arrow tables.

    Each non-cancelled annotation gives one event per chosen label (``choices`` results); an annotation
    without a choice still gives a row, which validation rejects as a missing label. ``completed_by`` may be
    an id or a dict with ``id``/``email``. Scalar task data fields become the item's ``text`` (text,
    content, …), ``media_ref`` (image, audio, url, …) or slice attributes.
    """
    try:
        tasks = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: not UTF-8 text at byte {exc.start}; expected a Label Studio JSON export"
        ) from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            f"{path}: unparseable JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
            "expected a Label Studio JSON export (a list of tasks)"
        ) from exc
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and "id" in t for t in tasks):
        raise IngestError(f"{path}: not a Label Studio export; expected a list of tasks, each with an 'id'")
    events, items = [], []
    for task_number, task in enumerate(tasks, start=1):
        item_id = str(task["id"])
        items.append(
            {
                "lw__row": task_number,
                "item_id": item_id,
                "dataset": dataset,
                **_task_fields(task.get("data") or {}),
            }
        )
        for annotation in task.get("annotations") or []:
            if not isinstance(annotation, dict) or annotation.get("was_cancelled"):
                continue
            labels = [
                choice
                for result in annotation.get("result") or []
                if isinstance(result, dict) and result.get("type") == "choices"
                for choice in (result.get("value") or {}).get("choices") or []
            ]
            for label in labels or [None]:
                events.append(
                    {
                        "item_id": item_id,
                        "annotator_id": _annotator(annotation.get("completed_by")),
                        "label": label,
                        "labeled_at": annotation.get("created_at"),
                        "duration_s": _cell(annotation.get("lead_time")),
                        "dataset": dataset,
                    }
                )
    rows = [
        {"lw__row": number, **{k: _cell(v) for k, v in event.items()}}
        for number, event in enumerate(events, 1)
    ]
    return _to_table(rows), _to_table(items)


def _annotator(completed_by) -> str | None:
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("id", completed_by.get("email"))
    return None if completed_by is None else str(completed_by)


def _task_fields(data: dict) -> dict:
    fields: dict = {}
    for key, value in data.items():
        if isinstance(value, dict | list):
            continue
        value = _cell(value)
        if "text" not in fields and key.lower() in _TEXT_KEYS:
            fields["text"] = value
        elif "media_ref" not in fields and key.lower() in _MEDIA_KEYS:
            fields["media_ref"] = value
        elif key not in ("item_id", "dataset", "lw__row"):
            fields[key] = value
    return fields


def detect_kind(path: str | Path) -> str:
    """Guess the input kind of a file from its extension and columns.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.parquet``, ``.jsonl``/``.ndjson`` or ``.json`` file.

    Returns
    -------
    str
        One of ``analytics.schema.INPUT_KINDS``: ``label-studio`` for a Label Studio export; for tabular files
        ``events`` (item_id, annotator_id, label, labeled_at), ``guidelines`` (version, effective_at),
        ``predictions`` (prob or prob_<label>), ``gold`` (item_id, label), ``vocabulary`` (label) or
        ``items`` (item_id).

    Examples
    --------
    >>> detect_kind("exports/project-3.json")  # doctest: +SKIP
    'label-studio'
    """
    path = Path(path)
    fmt = file_format(path)
    if fmt == "json":
        with path.open("rb") as fh:
            head = fh.read(65536).decode("utf-8", errors="replace")
        if head.lstrip().startswith(("[", "{")) and ('"annotations"' in head or '"data"' in head):
            return "label-studio"
        raise IngestError(
            f"{path}: not a Label Studio export; expected a list of tasks with 'data' and "
            "'annotations' (use .jsonl for JSON lines)"
        )
    columns = set(header_columns(path, fmt))
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
        f"{path}: cannot tell what this file holds from its columns {sorted(columns)}; expected "
        "the columns of one of: " + ", ".join(REQUIRED_COLUMNS)
    )
