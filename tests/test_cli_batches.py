"""``python -m analytics batches`` and ``retract`` in subprocesses on a temporary DuckDB file."""

from __future__ import annotations

from pathlib import Path

from analytics.store import Store
from tests.test_cli import run_cli


def _store_with_one_import(tmp_path: Path) -> tuple[Path, str]:
    db, events = tmp_path / "s.duckdb", tmp_path / "events.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\ni1,b,y,2026-01-02\n")
    assert run_cli("--db", str(db), "ingest", str(events)).returncode == 0
    with Store(db, read_only=True) as store:
        batch_id = store.scalar("SELECT batch_id FROM ingest_batches")
    return db, batch_id


def test_retract_records_the_actor_and_reason_and_batches_shows_it(tmp_path: Path) -> None:
    db, batch_id = _store_with_one_import(tmp_path)
    listed = run_cli("--db", str(db), "batches")
    assert listed.returncode == 0 and batch_id in listed.stdout and "retracted" not in listed.stdout
    done = run_cli("--db", str(db), "retract", batch_id, "--reason", "wrong project", "--actor", "lead")
    assert done.returncode == 0, done.stderr
    assert f"Retracted batch {batch_id} (events, 2 rows" in done.stdout
    listed = run_cli("--db", str(db), "batches")
    assert "[retracted by lead on " in listed.stdout and ": wrong project]" in listed.stdout
    with Store(db, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM live_label_events") == 0
        assert store.scalar("SELECT count(*) FROM label_events") == 2


def test_retract_twice_or_unknown_exits_1_with_the_reason(tmp_path: Path) -> None:
    db, batch_id = _store_with_one_import(tmp_path)
    assert run_cli("--db", str(db), "retract", batch_id, "--reason", "x", "--actor", "a").returncode == 0
    again = run_cli("--db", str(db), "retract", batch_id, "--reason", "y", "--actor", "b")
    assert again.returncode == 1 and "retracted already, by a" in again.stderr
    unknown = run_cli("--db", str(db), "retract", "b-404", "--reason", "y")
    assert unknown.returncode == 1 and "There is no import batch 'b-404'" in unknown.stderr


def test_retract_without_a_reason_is_refused_by_the_parser(tmp_path: Path) -> None:
    db, batch_id = _store_with_one_import(tmp_path)
    refused = run_cli("--db", str(db), "retract", batch_id)
    assert refused.returncode == 2 and "--reason" in refused.stderr
