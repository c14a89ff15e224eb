"""The store file: migrations, transactions, threads and the lock held against a second process."""

import subprocess
import sys
import threading

import duckdb
import pytest

from analytics.store import Store, StoreError, StoreLockedError
from analytics.store.migrations import LATEST_VERSION, MIGRATIONS
from tests.builders import write_raw


def test_new_file_is_migrated_and_reopening_applies_nothing(tmp_path):
    path = tmp_path / "nested" / "lw.duckdb"
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION
        tables = set(store.query("SELECT table_name FROM information_schema.tables")["table_name"])
    expected = {
        "items", "item_attributes", "annotators", "label_events", "label_schema", "guidelines",
        "gold_labels", "predictions", "detection_runs", "suspects", "remediation_actions", "campaigns",
        "campaign_items", "dataset_versions", "version_labels", "ingest_batches", "ingest_rejects",
        "schema_migrations", "demo_truth",
    }
    assert expected <= tables
    with Store(path) as store:
        assert store.scalar("SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)


def test_transaction_rolls_back_on_error(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        with pytest.raises(RuntimeError, match="boom"):
            with store.transaction() as cur:
                write_raw(cur, "label_schema", [{"label": "a", "batch_id": "b1"}])
                raise RuntimeError("boom")
        assert store.scalar("SELECT count(*) FROM label_schema") == 0
        with store.transaction() as cur:
            write_raw(cur, "label_schema", [{"label": "a", "batch_id": "b1"}])
        assert store.scalar("SELECT count(*) FROM label_schema") == 1


def test_the_state_changes_with_every_commit_and_only_then(tmp_path):
    path = tmp_path / "lw.duckdb"
    with Store(path) as store, Store(str(path)) as twin:
        opened = store.state()
        assert twin.state() == opened  # one file, one state, whichever Store reads it
        store.query("SELECT count(*) FROM label_schema")
        assert store.state() == opened  # a read changes nothing
        with pytest.raises(RuntimeError, match="boom"), store.transaction() as cur:
            write_raw(cur, "label_schema", [{"label": "a", "batch_id": "b1"}])
            raise RuntimeError("boom")
        assert store.state() == opened  # rolled back: the same content
        with twin.transaction() as cur:
            write_raw(cur, "label_schema", [{"label": "a", "batch_id": "b1"}])
        committed = store.state()
        assert committed != opened and twin.state() == committed
        with store.transaction() as cur:
            write_raw(cur, "label_schema", [{"label": "b", "batch_id": "b2"}])
        assert store.state() not in (opened, committed)
    with Store(tmp_path / "other.duckdb") as other:
        assert other.state() not in (opened, committed)  # never reused in the process


def test_parallel_writers_from_threads_lose_nothing(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        def write(worker):
            for i in range(200):
                with store.transaction() as cur:
                    row = {"item_id": f"{worker}-{i}", "label": "x", "batch_id": str(worker)}
                    write_raw(cur, "gold_labels", [row])

        threads = [threading.Thread(target=write, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.scalar("SELECT count(DISTINCT item_id) FROM gold_labels") == 1600


def test_second_process_gets_a_clear_message_naming_the_file(tmp_path):
    path = tmp_path / "lw.duckdb"
    with Store(path):
        result = subprocess.run(
            [sys.executable, "-c", f"from analytics.store import Store; Store({str(path)!r})"],
            capture_output=True, text=True, timeout=60,
        )
    assert result.returncode != 0
    assert "StoreLockedError" in result.stderr
    assert str(path) in result.stderr
    assert "in use by another process" in result.stderr


def test_lock_error_type_in_process(tmp_path):
    path = tmp_path / "lw.duckdb"
    code = (
        "import sys\n"
        "from analytics.store import Store, StoreLockedError\n"
        "try:\n"
        f"    Store({str(path)!r})\n"
        "except StoreLockedError as exc:\n"
        "    print(exc); sys.exit(3)\n"
    )
    with Store(path):
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert str(path) in result.stdout
    assert issubclass(StoreLockedError, StoreError)


def test_read_only_store_refuses_writes(tmp_path):
    path = tmp_path / "lw.duckdb"
    Store(path).close()
    with Store(path, read_only=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            with store.transaction():
                pass


@pytest.mark.parametrize(
    ("name", "content", "looks"),
    [
        ("events.csv", b"item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-01-01\n", "text"),
        ("events.jsonl", b'{"item_id": "i1"}\n', "JSON"),
        ("events.parquet", b"PAR1" + b"\x00" * 64 + b"PAR1", "a Parquet file"),
        ("store.duckdb", b"SQLite format 3\x00" + b"\x00" * 64, "an SQLite database"),
    ],
)
def test_a_file_that_is_not_a_duckdb_database_is_refused_and_left_alone(tmp_path, name, content, looks):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(StoreError) as error:
        Store(path)
    assert str(error.value).startswith(f"{path} is not a DuckDB database (it looks like {looks}")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_another_programs_duckdb_file_is_refused_unless_adopted(tmp_path):
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match=r"a DuckDB database of another program \(it holds invoices\)"):
        Store(path)
    con = duckdb.connect(str(path), read_only=True)
    assert [t[0] for t in con.execute("SHOW TABLES").fetchall()] == ["invoices"]
    con.close()
    with Store(path, adopt=True) as store:
        assert store.schema_version() == LATEST_VERSION
        assert store.scalar("SELECT count(*) FROM invoices") == 0
    with Store(path) as store:  # a LabelWatch store now, whatever else it holds
        assert store.scalar("SELECT count(*) FROM label_events") == 0


def test_a_missing_store_is_created_only_when_asked(tmp_path):
    path = tmp_path / "typo.duckdb"
    for options in ({"create": False}, {"read_only": True}):
        with pytest.raises(StoreError, match=f"No store at {path}: the file does not exist"):
            Store(path, **options)
    assert not path.exists()
    Store(path).close()
    assert path.exists()


def test_a_store_whose_folder_cannot_be_made_is_a_store_error_naming_it(tmp_path):
    """Once a FileExistsError traceback from the folder's mkdir (tests/test_store_paths.py has the read-only
    folders)."""
    data = tmp_path / "events.csv"
    data.write_text("item_id\n")
    path = data / "store.duckdb"
    with pytest.raises(StoreError, match=f"Cannot create the store {path}: .*{data} is a file, not a folder"):
        Store(path)
