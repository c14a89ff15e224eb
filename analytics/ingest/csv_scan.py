"""A CSV file's dialect, header and record boundaries, found before DuckDB reads it.

DuckDB's CSV reader is fast, but left to itself it guesses the dialect from a sample (one stray quote near the
top makes it read every quote as text), it numbers records rather than lines (blank lines and quoted line
breaks shift every number after them), and a quote that is never closed swallows the lines after it until the
next quote character. ``scan_csv`` settles all of that in one pass over the bytes, so that DuckDB then reads
the file with a fixed dialect and a bad row is one reject that changes nothing about how the rest is read:

* the delimiter (``,``, ``;``, tab or ``|``) is the one that splits the header into the most columns;
* the header (line 1) gives the column names; a name given twice refuses the file, since one of the two
  columns would silently be lost;
* every line with an odd number of quote characters is resolved with Python's ``csv`` module: either it
  opens a quoted field that closes on a later line and the whole record has the header's number of fields
  (a legitimate multi-line record, whose later lines are *continuations*), or it is a *bad line* (an
  unterminated or misplaced quote), rejected on its own; the line after it starts a new record;
* blank lines are noted, so that every record keeps its line number in the file (line 1 is the header).

Bad lines are blanked out in a private copy of the file, which DuckDB reads instead (it skips blank lines);
without bad lines DuckDB reads the file itself. Lines without an odd number of quotes, nearly all of them,
are counted in C (``bytes.translate``/``count``), never looked at one by one.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

#: Delimiters recognised in the header, in order of preference when they split it equally.
DELIMITERS = (",", ";", "\t", "|")
#: The longest record read (bytes). DuckDB rejects a longer line as a whole; a quoted field that runs on
#: for longer than this is taken for an unterminated quote.
MAX_RECORD_BYTES = 16_000_000
_CHUNK = 1 << 26
#: Control bytes no id or label holds (tab and carriage return aside: a delimiter, a line ending).
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_KEEP_QUOTES_NEWLINES_CONTROLS = bytes(i for i in range(256) if i not in (0x0A, 0x22, *_CONTROL_BYTES))


class CsvError(ValueError):
    """The file cannot be read as CSV at all (no header, a duplicated column name, ...)."""


@dataclass(frozen=True)
class CsvLayout:
    """What DuckDB needs to read a CSV file as LabelWatch reads it, and how its records map to lines.

    Attributes
    ----------
    path : Path
        The file DuckDB reads: the original, or a private copy in which the bad lines are blank.
    delimiter : str
    columns : tuple of str
        The header's column names, in file order.
    gaps : tuple of int
        Lines after the header that start no record DuckDB will see: blank lines, continuation lines of
        multi-line records and bad lines, ascending.
    continuations : tuple of int
        The continuation lines alone (DuckDB numbers the lines it reports without them).
    bad_lines : tuple of (int, str, str)
        ``(line, reason, raw text)`` of every bad line.
    lines : int
        Lines in the file, the header included (a last line without a line break counts).
    controls : bool
        Whether any byte of the file is a control character (NUL, ESC, …; not tab or carriage return):
        only then are the values checked for them one by one.
    normalize : bool
        The file mixes CR LF and LF line breaks: DuckDB reads a copy with LF only.
    """

    path: Path
    delimiter: str
    columns: tuple[str, ...]
    gaps: tuple[int, ...] = ()
    continuations: tuple[int, ...] = ()
    bad_lines: tuple[tuple[int, str, str], ...] = ()
    lines: int = 0
    controls: bool = False
    normalize: bool = False


def scan_csv(path: Path, *, copy_dir: Path, name: str, prefer_tab: bool = False) -> CsvLayout:
    """Find the dialect, header, blank lines and record boundaries of the CSV file ``path``.

    Parameters
    ----------
    path : Path
    copy_dir : Path
        A private folder for the copy with bad lines blanked out (written only when there are any).
    name : str
        The file's name as the user knows it, for messages.
    prefer_tab : bool
        A ``.tsv`` file: tab wins a tie.

    Returns
    -------
    CsvLayout

    Raises
    ------
    CsvError
        No header line, a column name given twice, or a header that is not one line of text.
    """
    header_line = first_line(path, name)
    delimiter = detect_delimiter(header_line, prefer_tab)
    columns = header_names(header_line, delimiter, name)
    odd, starts, lines, controls, (crlf, breaks, lone_cr) = _odd_lines(path)
    continuations: set[int] = set()
    bad: list[tuple[int, str, str]] = []
    if lone_cr:
        bad += [(line, _LONE_CR, _raw_line(path, line)) for line in _lone_carriage_returns(path)]
    resolved_until = 1
    if odd:
        with path.open("rb") as fh:
            for line in odd:
                if line <= resolved_until:
                    continue
                record_lines, reason, raw = _resolve(fh, starts[line], delimiter, len(columns))
                if reason is None:
                    continuations.update(range(line + 1, line + record_lines))
                    resolved_until = line + record_lines - 1
                elif line not in {b for b, _, _ in bad}:
                    bad.append((line, reason, raw))
                    resolved_until = line
    layout = CsvLayout(path, delimiter, columns, tuple(sorted(continuations)), tuple(sorted(continuations)),
                       lines=lines, controls=controls, normalize=0 < crlf < breaks)
    if layout.normalize and not bad:
        return dataclasses.replace(layout, path=_rewrite(path, copy_dir, [], normalize=True))
    return with_bad_lines(layout, bad, source=path, copy_dir=copy_dir)


def with_bad_lines(
    layout: CsvLayout, bad: list[tuple[int, str, str]], *, source: Path, copy_dir: Path
) -> CsvLayout:
    """``layout`` with more bad lines: they become gaps and are blanked out in a new copy of ``source``."""
    if not bad:
        return layout
    bad_lines = tuple(sorted({*layout.bad_lines, *bad}))
    lines = sorted({line for line, _, _ in bad_lines})
    return dataclasses.replace(
        layout,
        path=_rewrite(source, copy_dir, lines, layout.normalize),
        gaps=tuple(sorted({*layout.gaps, *lines})),
        bad_lines=bad_lines,
    )


def with_blank_lines(layout: CsvLayout) -> CsvLayout:
    """``layout`` with the blank lines of its file (outside multi-line records) added to its gaps.

    Looked for only when DuckDB's records do not account for every line, since nearly no file has any.
    """
    continuations = set(layout.continuations)
    blanks = [line for line in _blank_lines(layout.path) if line not in continuations]
    return dataclasses.replace(layout, gaps=tuple(sorted({*layout.gaps, *blanks})))


def first_line(path: Path, name: str) -> str:
    """The header line of ``path`` as text (a UTF-8 byte order mark and the line break removed)."""
    with path.open("rb") as fh:
        head = fh.readline(MAX_RECORD_BYTES)
    end = head.find(b"\n")
    if end < 0 and len(head) >= MAX_RECORD_BYTES:
        raise CsvError(f"{name}: the header (line 1) is longer than {MAX_RECORD_BYTES:,} bytes; expected a "
                       "header line naming the columns")
    line = head if end < 0 else head[:end]
    text = line.decode("utf-8", errors="replace").removeprefix("\ufeff").rstrip("\r")
    if not text.strip():
        raise CsvError(f"{name}: line 1 is blank; expected a header line naming the columns")
    if "\r" in text:  # no CSV reader can split such a header (old Mac line breaks, or a stray CR)
        raise CsvError(f"{name}: the header (line 1) holds a carriage return not followed by a line feed; "
                       "expected line breaks of one kind (LF or CR LF) and column names without one")
    return text


def detect_delimiter(header: str, prefer_tab: bool = False) -> str:
    """The delimiter of ``DELIMITERS`` that splits ``header`` into the most fields (ties: the first)."""
    candidates = ("\t", *[d for d in DELIMITERS if d != "\t"]) if prefer_tab else DELIMITERS
    widths = {d: len(next(csv.reader([header], delimiter=d))) for d in candidates}
    return max(candidates, key=lambda d: widths[d])  # max keeps the first of equal widths


def header_names(header: str, delimiter: str, name: str) -> tuple[str, ...]:
    """The column names of ``header``; an empty name becomes ``column<N>``.

    Raises ``CsvError`` for a name given twice (one of the two columns would be lost) or a reserved one.
    """
    try:
        names = next(csv.reader([header], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise CsvError(f"{name}: the header (line 1) is not valid CSV ({exc}); expected column names "
                       f"separated by {delimiter!r}") from exc
    names = [n.strip() or f"column{i}" for i, n in enumerate(names, start=1)]
    seen: dict[str, int] = {}
    for position, column in enumerate(names, start=1):
        if column in seen:
            raise CsvError(
                f"{name}: column {column!r} appears twice in the header (columns {seen[column]} and "
                f"{position}); expected each column once (rename one of them, or it would be lost)"
            )
        if column.startswith("lw__"):
            raise CsvError(f"{name}: column {column!r} (header, column {position}): names starting with "
                           "'lw__' are reserved; rename it")
        seen[column] = position
    return tuple(names)


def _odd_lines(path: Path) -> tuple[list[int], dict[int, int], int, bool, tuple[int, int, int]]:
    """The lines with an odd number of quote characters, the byte offset of each (the only lines read
    again), the number of lines, whether the file holds a control byte, and its line breaks: ``(CR LF,
    all, lone CR)``.

    Each block of the file is reduced to its quotes, line breaks and control bytes (``bytes.translate``, in
    C), so a line becomes a run of quotes and its parity is the run's length; numpy finds the odd runs.
    """
    odd: list[int] = []
    line, carry, ends_with_break, controls = 1, b"", True, False  # line: the first line in ``carry``
    crlf = breaks = carriage = 0
    previous_cr = False
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            ends_with_break = block.endswith(b"\n")
            if b"\r" in block:  # most files have none: skip two more passes over the block
                crlf += block.count(b"\r\n") + (previous_cr and block.startswith(b"\n"))
                carriage += block.count(b"\r")
            previous_cr = block.endswith(b"\r")
            kept = block.translate(None, _KEEP_QUOTES_NEWLINES_CONTROLS)
            breaks += kept.count(b"\n")
            if len(kept.translate(None, _CONTROL_BYTES)) < len(kept):
                controls = True
                kept = kept.translate(None, _CONTROL_BYTES)
            quotes = carry + kept
            cut = quotes.rfind(b"\n") + 1
            if b'"' in quotes[:cut]:
                newlines = np.flatnonzero(np.frombuffer(quotes, np.uint8, count=cut) == 0x0A)
                runs = np.diff(newlines, prepend=-1) - 1
                odd.extend((np.flatnonzero(runs % 2) + line).tolist())
            line += quotes.count(b"\n", 0, cut)
            carry = quotes[cut:]
    if len(carry) % 2:
        odd.append(line)
    lines = line - 1 if ends_with_break else line
    return odd, _line_offsets(path, odd), lines, controls, (crlf, breaks, carriage - crlf)


def _line_offsets(path: Path, lines: list[int]) -> dict[int, int]:
    """Byte offsets of the given lines (ascending) of ``path``."""
    offsets: dict[int, int] = {}
    wanted = iter(lines)
    target, line, position = next(wanted, None), 1, 0  # line: the line starting at ``position``
    with path.open("rb") as fh:
        while target is not None and (block := fh.read(_CHUNK)):
            last = line + block.count(b"\n")  # the line that starts after the block's last break
            at = 0
            while target is not None and target <= last:
                at = _nth_line_start(block, target - line, at)
                offsets[target] = position + at
                line, target = target, next(wanted, None)
            line = last
            position += len(block)
    return offsets


def _chunks(path: Path) -> Iterator[bytes]:
    """The file in blocks that end with a line break (the last one may not)."""
    carry = b""
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            data = carry + block
            cut = data.rfind(b"\n") + 1
            data, carry = data[:cut], data[cut:]
            if data:
                yield data
    if carry:
        yield carry


def _blank_lines(path: Path) -> Iterator[int]:
    """Line numbers of the empty lines of ``path`` (a line holding only ``\\r`` is empty)."""
    line = 1  # of the chunk's first line
    for chunk in _chunks(path):
        ends = []
        for pattern in (b"\n\n", b"\n\r\n"):
            position = chunk.find(pattern)
            while position >= 0:
                ends.append(position + 1)
                position = chunk.find(pattern, position + 1)
        if chunk.startswith((b"\n", b"\r\n")) and line > 1:
            yield line
        counted, at = 0, 0
        for start in sorted(ends):
            counted += chunk.count(b"\n", at, start)
            at = start
            yield line + counted
        line += chunk.count(b"\n")


def _line_starts(chunk: bytes) -> list[int]:
    starts, position = [0], chunk.find(b"\n")
    while position >= 0:
        starts.append(position + 1)
        position = chunk.find(b"\n", position + 1)
    return starts


def _resolve(fh: BinaryIO, start: int, delimiter: str, n_fields: int) -> tuple[int, str | None, str]:
    """Read the record starting at byte ``start``: ``(its lines, None, raw)`` when it is one well-formed
    record of ``n_fields`` fields, ``(1, reason, raw of its first line)`` when its first line is bad."""
    fh.seek(start)
    lines = _bounded_lines(fh)
    first = next(lines, "")
    raw = first.rstrip("\r\n")
    reader = csv.reader(_chain(first, lines), delimiter=delimiter, strict=True)
    try:
        record = next(reader)
    except csv.Error as exc:
        if reader.line_num > 1 or "unexpected end of data" in str(exc):
            return 1, _unterminated(n_fields), raw
        reason = (f"malformed row: a quote character in the wrong place ({exc}); expected a quoted field to "
                  "start at a delimiter and to end with '\"' followed by a delimiter or the line's end")
        return 1, reason, raw
    if reader.line_num == 1 or len(record) == n_fields:
        return reader.line_num, None, raw
    return 1, _unterminated(n_fields), raw


_LONE_CR = (
    "malformed row: a carriage return inside the line: expected line breaks of one kind (LF or CR LF) "
    "and no carriage return in a value"
)


def _raw_line(path: Path, line: int) -> str:
    with path.open("rb") as fh:
        fh.seek(_line_offsets(path, [line])[line])
        return fh.readline(10_000).decode("utf-8", errors="replace").rstrip("\r\n")


def _unterminated(n_fields: int) -> str:
    return (f"malformed row: unterminated quote: expected a closing '\"' on this line, or a field that "
            f"spans lines and ends a record of {n_fields} fields")


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _bounded_lines(fh: BinaryIO) -> Iterator[str]:
    """Text lines from the file's position on, stopping after ``MAX_RECORD_BYTES`` (so a quote that is never
    closed ends as 'unexpected end of data')."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    left = MAX_RECORD_BYTES
    while left > 0 and (raw := fh.readline(left)):
        left -= len(raw)
        yield decoder.decode(raw)


def _rewrite(path: Path, copy_dir: Path, lines: list[int], normalize: bool) -> Path:
    """Copy ``path`` with the given lines (ascending) emptied, their line breaks kept; with ``normalize``,
    every CR LF line break becomes LF (a file that mixes both, which DuckDB cannot read)."""
    target = copy_dir / ("lines" + path.suffix)
    wanted = iter(lines)
    next_bad, first = next(wanted, None), 1  # first: the number of the chunk's first line
    with target.open("wb") as out:
        for chunk in _chunks(path):
            breaks = chunk.count(b"\n")
            last = first + breaks - chunk.endswith(b"\n")  # the chunk's last line
            pieces, at, line = [], 0, first
            while next_bad is not None and next_bad <= last:
                start = _nth_line_start(chunk, next_bad - line, at)
                end = chunk.find(b"\n", start)
                end = len(chunk) if end < 0 else end
                pieces.append(chunk[at:start])
                at, line, next_bad = end - (chunk[start:end].endswith(b"\r")), next_bad, next(wanted, None)
            pieces.append(chunk[at:])
            data = b"".join(pieces)
            out.write(data.replace(b"\r\n", b"\n") if normalize else data)
            first += breaks
    return target


def _lone_carriage_returns(path: Path) -> list[int]:
    """The lines that hold a carriage return not followed by a line feed."""
    found, first = [], 1
    for chunk in _chunks(path):
        position, counted, at = chunk.find(b"\r"), 0, 0
        while position >= 0:
            if chunk[position + 1:position + 2] != b"\n":
                counted += chunk.count(b"\n", at, position)
                at = position
                if not found or found[-1] != first + counted:
                    found.append(first + counted)
            position = chunk.find(b"\r", position + 1)
        first += chunk.count(b"\n")
    return found


def _nth_line_start(block: bytes, n: int, start: int = 0) -> int:
    """Offset in ``block`` just after the ``n``-th line break at or after ``start`` (``start`` if n = 0)."""
    position = start - 1
    for _ in range(n):
        position = block.find(b"\n", position + 1)
    return position + 1
