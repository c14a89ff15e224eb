"""Migrations on real DuckDB files: a store of an older schema is copied to ``<store>.bak-v<N>`` before it is
migrated, a new or current store is not, and a migration that fails leaves the store at its old version
with its data, the copy beside it (named in the message), both of which open."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from analytics.store import Store, StoreError, migrations
from analytics.store.migrations import LATEST_VERSION, MIGRATIONS, backup_path
from tests.builders import old_schema, write_raw

OLD = LATEST_VERSION - 3  # an earlier build's schema: every migration up to this one (three to go)


def _old_store(path: Path, versions=range(1, OLD + 1)) -> Path:
    con = duckdb.connect(str(path))
    old_schema(con, versions)
    write_raw(con, "label_events", [{"event_id": n, "item_id": f"i{n}", "annotator_id": "a", "label": "x",
                                     "labeled_at": dt.datetime(2026, 1, 1), "batch_id": "b1"}
                                    for n in range(3)])
    con.close()  # the rows may be left in the write-ahead log: the copy must carry them too
    return path


def _version_and_events(path: Path) -> tuple[int, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return (con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0],
                con.execute("SELECT count(*) FROM label_events").fetchone()[0])
    finally:
        con.close()


def _tables(path: Path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1")
                .fetchall()]
    finally:
        con.close()


def _backups(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".bak-v" in p.name)


def test_a_store_of_an_older_schema_is_copied_before_it_is_migrated(tmp_path):
    path = _old_store(tmp_path / "old.duckdb")
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert store.scalar("SELECT count(*) FROM live_label_events") == 3
    assert _backups(tmp_path) == [f"old.duckdb.bak-v{OLD}"]
    assert _version_and_events(backup_path(path, OLD)) == (OLD, 3)
    with Store(path):  # up to date: no new copy
        pass
    assert _backups(tmp_path) == [f"old.duckdb.bak-v{OLD}"]


def test_a_new_store_is_not_copied(tmp_path):
    with Store(tmp_path / "new.duckdb") as store:
        assert store.schema_version() == LATEST_VERSION
    assert _backups(tmp_path) == []


def test_a_failed_migration_leaves_the_store_at_its_old_version_and_names_the_copy(tmp_path, monkeypatch):
    path = _old_store(tmp_path / "old.duckdb")
    tables_before = _tables(path)
    broken = (LATEST_VERSION + 1, ["CREATE TABLE half_done (a INTEGER)",
                                   "INSERT INTO half_done SELECT 'not a number'"])
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(StoreError) as caught:
        Store(path)
    copy = backup_path(path, OLD)
    message = str(caught.value)
    assert f"Migration {LATEST_VERSION + 1} of the store failed" in message
    assert f"still at schema version {OLD}" in message and str(copy) in message
    # all pending migrations or none: the ones before the broken one were rolled back with it
    assert _version_and_events(path) == (OLD, 3)
    assert _tables(path) == tables_before
    assert _version_and_events(copy) == (OLD, 3)
    # the build without the broken migration opens the store and migrates it, copying it again
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert store.scalar("SELECT count(*) FROM live_label_events") == 3
    with Store(copy) as restored:  # the copy is a store of its own: it opens (and migrates) too
        assert restored.scalar("SELECT count(*) FROM live_label_events") == 3


def test_the_cli_says_where_the_copy_is_when_a_migration_fails(tmp_path, monkeypatch, capsys):
    from analytics.__main__ import main

    path = _old_store(tmp_path / "old.duckdb")
    monkeypatch.setattr(migrations, "MIGRATIONS", [*MIGRATIONS, (LATEST_VERSION + 1, ["SELECT nope"])])
    assert main(["--db", str(path), "batches"]) == 2
    out = capsys.readouterr()
    assert str(backup_path(path, OLD)) in out.err + out.out
    assert _version_and_events(path) == (OLD, 3)
