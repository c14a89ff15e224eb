"""Every hostile file of ``tests/data/hostile`` imported through the command line and through the Import page.

For each file: no traceback reaches the user; a file that cannot be read is refused with a message naming the
file by its own name; otherwise every bad record is one reject naming the file, its line (blank lines counted)
and its column, kept in ``ingest_rejects`` with its reason, the good records are imported, and importing the
file again changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import types

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import Store

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOSTILE = ROOT / "tests" / "data" / "hostile"


@dataclasses.dataclass(frozen=True)
class Expected:
    """What importing a hostile file gives: refused (a file-level message) or accepted rows and rejects."""

    accepted: int = 0
    rejects: tuple[tuple[int, str | None, str], ...] = ()  # (line or row, column, reason category)
    refused: str | None = None
    unit: str = "line"
    warning: str | None = None
    kind: str | None = None  # the command line's --kind (None: its default; the Import page guesses it)


COUNTS = ("SELECT (SELECT count(*) FROM label_events) AS events, (SELECT count(*) FROM ingest_rejects) AS "
          "rejects, (SELECT count(*) FROM ingest_batches) AS batches, (SELECT count(*) FROM items) AS items")
BAD_TIME = "bad timestamp"
OUT_OF_RANGE = "timestamp out of range"
CASES = {
    "bc_date.csv": Expected(2, ((3, "labeled_at", BAD_TIME),)),
    "special_timestamps.csv": Expected(2, (
        (3, "labeled_at", BAD_TIME),  # -infinity
        (4, "labeled_at", BAD_TIME),  # infinity
        (5, "labeled_at", BAD_TIME),  # epoch
        (6, "labeled_at", OUT_OF_RANGE),  # 0000-01-01
        (7, "labeled_at", BAD_TIME),  # +25:00
        (8, "labeled_at", OUT_OF_RANGE),  # 1970-01-01
    )),
    "semicolon.csv": Expected(2, ((4, "labeled_at", BAD_TIME),)),
    "blank_lines.csv": Expected(3, ((6, "labeled_at", BAD_TIME),)),
    "quote_top.csv": Expected(100, ((2, None, "malformed row"),)),
    "quote_late.csv": Expected(22, ((22, None, "malformed row"),)),
    "duplicate_header.csv": Expected(refused="column 'label' appears twice in the header (columns 3 and 5)"),
    "nul_label.csv": Expected(1, ((2, "label", "bad character"),)),
    "escape_sequences.csv": Expected(
        1, ((2, "annotator_id", "bad character"), (3, "label", "bad character"))
    ),
    "numeric_labels.csv": Expected(5, warning="labels '01', '1', '1.0', '1e0' are one number written"),
    "json_lines.jsonl": Expected(2, (
        (2, None, "bad JSON"),  # nested 5,000 levels deep
        (3, "item_id", "wrong type"),  # a list
        (5, "label", "duplicate key"),
        (6, "label", "bad character"),  # \u0000
    )),
    "label_studio.json": Expected(2, (
        (2, None, "cancelled annotation"),
        (3, "label", "bad annotation"),  # "choices": "cat"
        (4, "label", "bad annotation"),  # "value": "cat"
        (5, None, "bad task"),  # "data" is a list
        (6, "labeled_at", BAD_TIME),  # (BC)
    ), unit="row"),
    "label_studio_deep.json": Expected(refused="JSON nested too deep to read"),
    "labelbox.ndjson": Expected(2, (
        (2, "annotator_id", "bad character"),  # escape sequences in created_by
        (3, "label", "bad character"),  # \u0000 in the radio answer
        (4, None, "bad JSON"),  # a label nested 5,000 levels deep
        (5, "created_by", "duplicate key"),
        (6, "labeled_at", BAD_TIME),  # (BC)
    ), unit="row", kind="labelbox"),
    "noext": Expected(refused="no file extension; expected one of .csv"),
    "a.csv.exe": Expected(refused="unknown file type '.exe'; expected one of .csv"),
}


def test_every_hostile_file_has_a_case_and_a_line_in_the_readme():
    files = {path.name for path in HOSTILE.iterdir() if path.name != "README.md"}
    assert files == set(CASES)
    readme = (HOSTILE / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in CASES)


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABELWATCH_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def _ingest_all(db: pathlib.Path) -> types.SimpleNamespace:
    """Every hostile file imported into ``db``, one ``ingest`` call per ``--kind``; their output together."""
    runs = []
    for kind in dict.fromkeys(case.kind for case in CASES.values()):
        files = [str(HOSTILE / name) for name, case in CASES.items() if case.kind == kind]
        runs.append(_run_cli("--db", str(db), "ingest", *files, *(("--kind", kind) if kind else ())))
    return types.SimpleNamespace(stdout="".join(run.stdout for run in runs),
                                 stderr="".join(run.stderr for run in runs))


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every hostile file imported by one ``ingest`` call per kind into one store, then again."""
    db = tmp_path_factory.mktemp("hostile") / "store.duckdb"
    first = _ingest_all(db)
    with Store(db, read_only=True) as store:
        counts = store.query(COUNTS).iloc[0].tolist()
    second = _ingest_all(db)
    return db, first, second, counts


def test_every_finding_still_reads_after_the_hostile_imports(cli_runs):
    """Rows dated (BC) or -infinity once made ``summary`` (and the Drift page) fail: none is stored now."""
    db = cli_runs[0]
    result = _run_cli("--db", str(db), "summary", "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    summary = json.loads(result.stdout)
    assert summary["store"]["first_at"] >= "2024-01-01" and summary["store"]["last_at"] < "2025"


def _rejects(store: Store, source: str) -> list[tuple]:
    rows = store.query(
        "SELECT r.row_number, r.column_name, split_part(r.reason, ': ', 1) AS category FROM ingest_rejects r "
        "JOIN ingest_batches b USING (batch_id) WHERE b.source = ? ORDER BY r.row_number",
        [source],
    )
    return [(int(n), None if pd.isna(column) else column, category) for n, column, category in rows.values]


@pytest.mark.parametrize("name", list(CASES))
def test_the_command_line_reports_each_hostile_file(cli_runs, name):
    db, first, second, counts = cli_runs
    expected, path = CASES[name], str(HOSTILE / name)
    for run in (first, second):
        assert "Traceback" not in run.stdout + run.stderr
        assert "\x1b" not in run.stdout + run.stderr  # escape sequences from the files arrive escaped
    if expected.refused:
        assert f"error: {path}: " in first.stderr and expected.refused in first.stderr
        return
    (summary,) = [line for line in first.stdout.splitlines() if line.startswith(path + " (")]
    assert f"{len(expected.rejects) + expected.accepted} rows read, {expected.accepted} accepted, " \
        f"{len(expected.rejects)} rejected" in summary
    for row, column, category in expected.rejects[:3]:  # the summary quotes the first three
        quoted = f"{path}, {expected.unit} {row}: {category}: "
        assert quoted in summary
        if column is not None and category not in ("bad annotation",):
            assert summary.split(quoted, 1)[1].startswith(f"column '{column}'")
    if expected.warning:
        assert expected.warning in summary
    with Store(db, read_only=True) as store:
        assert _rejects(store, path) == list(expected.rejects)
        batch = store.query("SELECT batch_id, rows_accepted FROM ingest_batches WHERE source = ?", [path])
        assert batch.rows_accepted.tolist() == [expected.accepted]
        stored = store.scalar("SELECT count(*) FROM label_events WHERE batch_id = ?", [batch.batch_id[0]])
        assert stored == expected.accepted
        # No value keeps a stray quote, a NUL or an escape character.
        assert store.scalar("SELECT count(*) FROM label_events WHERE regexp_matches(item_id || annotator_id "
                            "|| label, '[\"\\x00-\\x1f]')") == 0
    # Importing the same files again writes nothing.
    assert f"already imported as batch {batch.batch_id[0]}" in second.stdout.split(path + " (", 1)[1]
    with Store(db, read_only=True) as store:
        again = store.query(COUNTS).iloc[0].tolist()
    assert again == counts


def _import_page(db: pathlib.Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    return at.switch_page("../pages/data/import_data.py").run()


def _plain(markdown: str) -> str:
    """Text of a message that went through ``ui.safe_text.md`` (punctuation escaped)."""
    return markdown.replace("\\", "")


@pytest.mark.parametrize("name", list(CASES))
def test_the_import_page_reports_each_hostile_file(tmp_path, monkeypatch, name):
    expected, data = CASES[name], (HOSTILE / name).read_bytes()
    db = tmp_path / "store.duckdb"
    at = _import_page(db, monkeypatch)
    at.file_uploader(key="import.upload").upload(name, data, "application/octet-stream").run()
    assert not at.exception, [e.value for e in at.exception]
    if expected.refused:
        (error,) = at.error
        assert _plain(error.value).startswith(f"{name}: ") and expected.refused in _plain(error.value)
        assert not at.button
        with Store(db) as store:
            assert store.scalar("SELECT count(*) FROM ingest_batches") == 0
        return
    assert not at.error, [e.value for e in at.error]
    summary = at.text[0].value
    assert summary.startswith(f"{name} (") and "upload" not in summary
    for row, _, category in expected.rejects[:3]:
        assert f"{name}, {expected.unit} {row}: {category}: " in summary
    if expected.rejects:
        (shown,) = [d.value for d in at.dataframe if "row_number" in d.value.columns]
        assert [(int(r.row_number), None if pd.isna(r.column_name) else r.column_name,
                 r.reason.split(": ", 1)[0]) for r in shown.itertuples()] == list(expected.rejects)
    if expected.warning:
        assert any(expected.warning in _plain(w.value) for w in at.warning)
    (button,) = at.button
    button.click().run()
    assert not at.exception and at.success and "Imported as batch" in at.text[0].value
    assert not at.info  # no "already imported" right after the import
    with Store(db) as store:
        assert _rejects(store, name) == list(expected.rejects)
        assert store.scalar("SELECT count(*) FROM label_events") == expected.accepted
        before = store.query(COUNTS)
    again = _import_page(db, monkeypatch)
    again.file_uploader(key="import.upload").upload(name, data, "application/octet-stream").run()
    assert not again.exception
    assert "already imported as batch" in again.info[0].value and not again.button
    with Store(db) as store:
        after = store.query(COUNTS)
    assert after.values.tolist() == before.values.tolist()
