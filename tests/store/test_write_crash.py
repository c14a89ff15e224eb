"""The CLI killed (SIGKILL) in the middle of an import, a policy run and a version creation, on a real DuckDB
file: the store opens afterwards and holds all of the operation or none of it, and its audit log replays to
its resolved labels.

The process stops at a set point (``crash_site/sitecustomize.py``), so the kill lands there every time:
``before``, inside the transaction with every row written but not committed (none must be left), and
``after``, once the command's write returned (all must be there). "All" is what the same command leaves on
an identical copy of the store it runs on undisturbed; after a "none", running the command again gives
exactly that. ``test_ingest_crash.py`` kills a 3-million-row import the same way, mid-insert by timing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.store.crash import ROOT, kill_at_pause, python, store_state

pytestmark = pytest.mark.slow

POLICIES = ROOT / "data" / "policies.example.toml"


def _command(operation: str, db: Path, folder: Path) -> list[str]:
    if operation == "import":
        events = folder / "more_labels.csv"
        events.write_text("item_id,annotator_id,label,labeled_at\n"
                          + "".join(f"digits-{n:04d},crash-{k},7,2026-08-15T10:0{k}:00\n"
                                    for n in range(3) for k in range(3)))
        return python("--db", str(db), "ingest", str(events))
    if operation == "policy":
        return python("--db", str(db), "policy", "run", str(POLICIES), "--actor", "lead")
    return python("--db", str(db), "versions", "create", "--note", "before the crash test", "--actor", "lead")


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("operation", ["import", "policy", "version"])
def test_the_cli_killed_mid_operation_leaves_all_or_none_of_it(demo_store_path, tmp_path, operation, when):
    db, twin = tmp_path / "store.duckdb", tmp_path / "twin.duckdb"
    for copy in (db, twin):
        copy.write_bytes(demo_store_path.read_bytes())
    start = store_state(db)
    _run(_command(operation, twin, tmp_path))
    full = store_state(twin)
    assert full.counts != start.counts  # the command writes something: a crash could split it

    kill_at_pause(_command(operation, db, tmp_path), f"{operation}:{when}", tmp_path / "paused")
    crashed = store_state(db)  # opens, and the log replays to the resolved labels
    if when == "before":
        assert crashed.same_as(start)
        _run(_command(operation, db, tmp_path))  # the store takes the whole operation afterwards
        crashed = store_state(db)
    assert crashed.counts == full.counts
    assert crashed.resolved.equals(full.resolved)
