"""Retracting an import: append-only, honoured by every read, and the store's unreadable timestamps.

Every test runs on a real temporary DuckDB file. "Every read" is checked through the whole ``summary``
object (agreement, annotators, drift, slices, suspects): after a retraction it must equal the summary of
the store before the import, number for number.
"""

from __future__ import annotations

import datetime as dt
import json
import math

import duckdb
import pytest

from analytics.ingest import pipeline as ingest
from analytics.monitoring import summary
from analytics.store import Store, retractions
from analytics.store.migrations import MIGRATIONS, migrate
from tests.builders import old_schema, write_raw

EVENTS = (
    "item_id,annotator_id,label,labeled_at,cohort\n"
    "digits-0001,ann-new1,3,2026-05-01T10:00:00,inhouse\n"
    "digits-0001,ann-new2,5,2026-05-01T11:00:00,inhouse\n"
    "digits-0002,ann-new1,9,2026-05-02T10:00:00,inhouse\n"
    "digits-0003,ann-new2,1,2026-05-03T10:00:00,inhouse\n"
)


@pytest.fixture
def demo_copy(demo_store_path, tmp_path):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    return copy


def _findings(store: Store) -> dict:
    """The summary without the parts that describe the store's files rather than its data."""
    found = json.loads(json.dumps(summary.store_summary(store), default=str))
    found.pop("store")
    return found


def _assert_same(a, b, path="summary"):
    """Equal up to float rounding (sums taken in another order differ in the 15th digit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            _assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b)), path
    else:
        assert a == b, path


def test_a_retracted_batch_is_left_out_of_every_read(demo_copy, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(EVENTS)
    with Store(demo_copy) as store:
        before = _findings(store)
        report = ingest.ingest(store, path)
        assert report.rows_accepted == 4
        assert _findings(store)["agreement"] != before["agreement"]
        retractions.retract_batch(store, report.batch_id, actor="lead@example.org", reason="test crowd")
        _assert_same(_findings(store), before)
        # Nothing was deleted: the rows stay for the record.
        assert store.scalar("SELECT count(*) FROM label_events WHERE batch_id = ?", [report.batch_id]) == 4


def test_the_retraction_records_who_when_and_why(demo_copy, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(EVENTS)
    with Store(demo_copy) as store:
        batch_id = ingest.ingest(store, path).batch_id
        done = retractions.retract_batch(store, batch_id, actor="lead@example.org", reason="  wrong project ")
        listed = retractions.list_retractions(store)
        assert listed[["batch_id", "kind", "rows_accepted", "retracted_by", "reason"]].values.tolist() == [
            [batch_id, "events", 4, "lead@example.org", "wrong project"]
        ]
        assert listed["retracted_at"].iloc[0] == done["retracted_at"]
        assert store.data_version()[2] == 1


@pytest.mark.parametrize(("batch", "actor", "reason", "message"), [
    ("nope", "lead", "why", "There is no import batch 'nope'"),
    ("{batch}", "lead", "   ", "needs a reason"),
    ("{batch}", " ", "why", "needs the name"),
])
def test_a_retraction_that_cannot_be_made_says_why_and_writes_nothing(
    demo_copy, tmp_path, batch, actor, reason, message
):
    path = tmp_path / "extra.csv"
    path.write_text(EVENTS)
    with Store(demo_copy) as store:
        batch_id = ingest.ingest(store, path).batch_id
        with pytest.raises(retractions.RetractionError, match=message):
            retractions.retract_batch(store, batch.format(batch=batch_id), actor=actor, reason=reason)
        assert store.data_version()[2] == 0


def test_a_batch_is_retracted_once(demo_copy, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(EVENTS)
    with Store(demo_copy) as store:
        batch_id = ingest.ingest(store, path).batch_id
        retractions.retract_batch(store, batch_id, actor="a", reason="first")
        with pytest.raises(retractions.RetractionError, match="retracted already, by a"):
            retractions.retract_batch(store, batch_id, actor="b", reason="second")
        assert store.data_version()[2] == 1


def test_gold_and_item_batches_are_retracted_too(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        (tmp_path / "e.csv").write_text(
            "item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\ni2,a,y,2026-01-02\n"
        )
        (tmp_path / "g.csv").write_text("item_id,label\ni1,x\ni2,x\n")
        ingest.ingest(store, tmp_path / "e.csv")
        gold = ingest.ingest(store, tmp_path / "g.csv", kind="gold")
        assert store.scalar("SELECT count(*) FROM live_gold_labels") == 2
        retractions.retract_batch(store, gold.batch_id, actor="a", reason="wrong gold")
        assert store.scalar("SELECT count(*) FROM live_gold_labels") == 0
        assert store.scalar("SELECT count(*) FROM gold_labels") == 2


def test_events_with_unreadable_times_are_left_out_and_counted(tmp_path):
    """Rows written before imports checked times (here by hand): pages and summary must not break on them."""
    with Store(tmp_path / "s.duckdb") as store:
        (tmp_path / "e.csv").write_text(
            "item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\ni1,b,x,2026-01-02\n"
        )
        batch_id = ingest.ingest(store, tmp_path / "e.csv").batch_id
        unreadable = ["0044-03-15 (BC)", "-infinity", "infinity", "1899-12-31 23:59:59"]
        with store.transaction() as cur:
            write_raw(cur, "label_events", [
                {"event_id": 100 + n, "item_id": "i2", "annotator_id": f"c{n}", "label": "y",
                 "labeled_at": when, "batch_id": batch_id}
                for n, when in enumerate(unreadable)
            ])
        assert store.scalar("SELECT count(*) FROM live_label_events") == 2
        found = retractions.unreadable_events(store)
        assert found[["batch_id", "events"]].values.tolist() == [[batch_id, 4]]
        assert found["earliest"].iloc[0] == "-infinity" and found["latest"].iloc[0] == "infinity"
        result = summary.store_summary(store)
        assert result["agreement"]["percent_agreement"]["n_items"] == 1


def test_migration_adds_the_views_to_a_store_of_an_older_schema(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    old_schema(con, range(1, 4))
    write_raw(con, "label_events", [{"event_id": 1, "item_id": "i", "annotator_id": "a", "label": "x",
                                     "labeled_at": dt.datetime(2026, 1, 1), "batch_id": "b1"}])
    assert max(migrate(con)) == MIGRATIONS[-1][0]
    assert con.execute("SELECT count(*) FROM live_label_events").fetchone()[0] == 1
    con.close()


def test_retracting_an_enrichment_gives_back_the_values_it_replaced(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        files = {
            "e.csv": "item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\ni2,a,y,2026-01-02\n",
            "i1.csv": "item_id,split,source\ni1,train,fax\ni2,train,scan\n",
            "i2.csv": "item_id,split,source,region\ni1,eval,web,north\n",
        }
        for name, text in files.items():
            (tmp_path / name).write_text(text)
        ingest.ingest(store, tmp_path / "e.csv", dataset="d")
        first = ingest.ingest(store, tmp_path / "i1.csv", kind="items", dataset="d").batch_id
        second = ingest.ingest(store, tmp_path / "i2.csv", kind="items", dataset="d").batch_id

        def seen():
            items = store.query("SELECT item_id, split FROM live_items ORDER BY 1").values.tolist()
            attributes = store.query(
                "SELECT item_id, key, value FROM live_item_attributes ORDER BY 1, 2").values.tolist()
            return items, attributes

        assert seen() == ([["i1", "eval"], ["i2", "train"]],
                          [["i1", "region", "north"], ["i1", "source", "web"], ["i2", "source", "scan"]])
        retractions.retract_batch(store, second, actor="a", reason="wrong export")
        assert seen() == ([["i1", "train"], ["i2", "train"]],
                          [["i1", "source", "fax"], ["i2", "source", "scan"]])
        retractions.retract_batch(store, first, actor="a", reason="wrong export too")
        # Back to the bare items the events created.
        assert seen() == ([["i1", None], ["i2", None]], [])


def test_retracting_events_keeps_the_items_they_created_for_other_imports(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        (tmp_path / "a.csv").write_text("item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\n")
        (tmp_path / "b.csv").write_text("item_id,annotator_id,label,labeled_at\ni1,b,x,2026-01-02\n")
        first = ingest.ingest(store, tmp_path / "a.csv", dataset="d").batch_id
        ingest.ingest(store, tmp_path / "b.csv", dataset="d")
        retractions.retract_batch(store, first, actor="a", reason="duplicate crowd")
        assert store.query("SELECT item_id, dataset FROM live_items").values.tolist() == [["i1", "d"]]
        assert store.scalar("SELECT count(*) FROM live_label_events") == 1


def test_importing_a_retracted_file_again_takes_its_rows_back(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        (tmp_path / "e.csv").write_text(
            "item_id,annotator_id,label,labeled_at\ni1,a,x,2026-01-01\ni1,b,y,2026-01-02\n"
        )
        (tmp_path / "g.csv").write_text("item_id,label\ni1,x\n")
        first = ingest.ingest(store, tmp_path / "e.csv")
        gold = ingest.ingest(store, tmp_path / "g.csv", kind="gold")
        assert ingest.ingest(store, tmp_path / "e.csv").already_imported == first.batch_id
        retractions.retract_batch(store, first.batch_id, actor="a", reason="by mistake")
        retractions.retract_batch(store, gold.batch_id, actor="a", reason="by mistake")
        again = ingest.ingest(store, tmp_path / "e.csv")
        assert again.batch_id != first.batch_id and again.rows_accepted == 2 and again.rows_rejected == 0
        assert ingest.ingest(store, tmp_path / "g.csv", kind="gold").rows_accepted == 1
        assert store.scalar("SELECT count(*) FROM live_label_events") == 2
        assert store.scalar("SELECT count(*) FROM live_gold_labels") == 1


def test_a_migration_skipped_by_an_earlier_build_is_applied(tmp_path):
    """A store migrated by a build that had later migrations (up to 10; 11 reads migration 2's table) but not
    migration 2 still gets 2."""
    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    old_schema(con, (version for version, _ in MIGRATIONS if version != 2 and version <= 10))
    assert migrate(con) == [2, 11]
    assert con.execute("SELECT count(*) FROM rating_repeats").fetchone()[0] == 0
    con.close()
