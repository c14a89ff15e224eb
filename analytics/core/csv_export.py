"""CSV that a spreadsheet cannot run: every file LabelWatch writes as CSV goes through ``to_csv``.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or a carriage
return) as a formula, so a label, an item id or a rationale such as ``=HYPERLINK("http://x.test", "ok")`` or
``+cmd|' /C calc'!A0`` would run when a reviewer opens the export (CSV injection). As OWASP recommends, such
a text cell is written with a leading single quote (``'=HYPERLINK(…)``), which spreadsheets show as text
and strip on edit. Text that is a plain number (``-1``, ``+3.5``) cannot run and is written as it is;
numeric columns are never touched.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["FORMULA_STARTS", "neutralise", "to_csv"]

#: The first characters a spreadsheet may read as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value: object) -> object:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula.

    Examples
    --------
    >>> neutralise('=HYPERLINK("http://x.test")'), neutralise("-1"), neutralise("cat"), neutralise(3)
    ('\\'=HYPERLINK("http://x.test")', '-1', 'cat', 3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def _safe(frame: pd.DataFrame) -> pd.DataFrame:
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])]
    if not text:
        return frame
    return frame.assign(**{c: frame[c].map(neutralise) for c in text})


def to_csv(frame: pd.DataFrame, path: str | Path | None = None) -> str | None:
    """Write ``frame`` (without its index) as UTF-8 CSV with CRLF record ends to ``path``, or return the
    text when ``path`` is None, with every text cell that could run as a formula neutralised
    (``neutralise``); the column names too."""
    safe = _safe(frame)
    safe.columns = [neutralise(str(c)) for c in safe.columns]
    # RFC 4180's CRLF between records: the csv module then quotes a text cell holding a carriage return,
    # which with a bare LF would end the record early (and a spreadsheet would start a row there).
    if path is None:
        return safe.to_csv(index=False, lineterminator="\r\n")
    safe.to_csv(path, index=False, encoding="utf-8", lineterminator="\r\n")
    return None
