"""A store that reads a Parquet lake in place (analytics.store.lake) against the same world imported.

The synthetic world of ``demo --scale`` is built twice from one seed: imported into a store, and written as a
hive-partitioned lake that a second store reads. Every page query (the dashboard's loaders) and every
finding of ``summary --json`` must come out the same on both, with filters set and without; files added to
the lake must show on the next read; a lake that cannot be read must say which folder or file and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.store import Store, StoreError
from analytics.synthetic import scale

ROOT = Path(__file__).resolve().parents[2]
N_EVENTS = 20_000
CHUNK = 5_000  # four chunks: each month folder holds several files


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The same world imported (``imported``) and as a lake (``lake``, read by the store ``lake_store``)."""
    base = tmp_path_factory.mktemp("lake-world")
    with Store(base / "imported.duckdb") as store:
        scale.build_scale_store(store, N_EVENTS, seed=3, chunk_size=CHUNK)
    with Store(base / "lake.duckdb") as store:
        scale.build_scale_lake_store(store, base / "lake", N_EVENTS, seed=3, chunk_size=CHUNK)
    return {"imported": base / "imported.duckdb", "lake_store": base / "lake.duckdb", "lake": base / "lake"}


def _same(a, b, where: str = "") -> None:
    """Equal values, floats to 1e-9 relative (a lake's files are summed in another order)."""
    if isinstance(a, pd.DataFrame):
        drop = [c for c in a.columns if c == "batch_id"]
        left, right = a.drop(columns=drop).reset_index(drop=True), b.drop(columns=drop).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, atol=1e-12,
                                      check_dtype=False, obj=where or "frame")
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=False, rtol=1e-9, check_dtype=False)
    elif dataclasses.is_dataclass(a) and not isinstance(a, type):
        for f in dataclasses.fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=where)
    elif isinstance(a, float) and isinstance(b, float):
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), where
    else:
        assert a == b, where


FILTERS = [
    EventFilter(),
    EventFilter(cohorts=("crowd", "vendor"), attribute="source", attribute_value="fax"),
    EventFilter(dataset="scale", start=dt.date(2026, 4, 1), end=dt.date(2026, 7, 31)),
    EventFilter(cohorts=("expert", "crowd"), start=dt.date(2026, 3, 17), end=dt.date(2026, 6, 8)),
]


def _page_reads(src, flt: EventFilter) -> dict:
    """What the Overview, Agreement, Drift and Slices pages read through their loaders."""
    from analytics.store import slices
    from ui import loaders
    from ui import store as app_store

    model = loaders.dawid_skene(src, flt)
    reads = {
        "filter_options": loaders.filter_options(src),
        "slice_attributes": slices.slice_attributes(app_store.open_store(src.path)),
        "summary": loaders.summary(src, flt),
        "activity": loaders.activity(src, flt, "week"),
        "agreement_over_time": loaders.agreement_over_time(src, flt, "week"),
        "label_distribution": loaders.label_distribution(src, flt),
        "agreement_headline": loaders.agreement_headline(src, flt, "nominal"),
        "agreement_by_cohort": loaders.agreement_by(src, flt, "cohort", "nominal"),
        "cohort_over_time": loaders.agreement_by_cohort_over_time(src, flt, "month", "nominal"),
        "dawid_skene": None if model is None else (model.probas_, model.skills_),
        "annotator_tables": loaders.annotator_tables(src, flt),
        "label_confusion": loaders.label_confusion(src, flt),
        "drift": loaders.drift_findings(src, flt, "week", None),
        "slice_table": loaders.slice_table(src, flt, None, "disagreement", False, 30),
        "table_counts": {k: v for k, v in loaders.table_counts(src).items()
                         if k in ("label_events", "items", "item_attributes", "gold_labels", "predictions")},
    }
    return reads


def _source(path: Path):
    from ui import loaders
    from ui import store as app_store

    store = app_store.open_store(str(path))
    return loaders.Source(store.path, loaders._data_version(store.path, store.state()))


@pytest.mark.parametrize("flt", FILTERS, ids=["all", "crowd-vendor-fax", "dataset-dates", "cohorts-dates"])
def test_every_page_query_is_the_same_on_the_lake_as_imported(world, flt):
    """On the lake the totals, activity, label and window counts of the filters with no item condition
    ("all", "cohorts-dates") read the lake's day rollup, and the test–retest pairs its repeated pairs'
    events; the others read the files."""
    imported, lake = _source(world["imported"]), _source(world["lake_store"])
    assert lake.version[3] is not None and imported.version[3] is None
    a, b = _page_reads(imported, flt), _page_reads(lake, flt)
    assert a["summary"][0].events > 1000  # the filters leave real data to compare
    _same(a, b)


@pytest.mark.parametrize("kind", ["lake", "imported"])
@pytest.mark.parametrize("flt", FILTERS[:2], ids=["all", "crowd-vendor-fax"])
def test_a_large_lake_samples_from_its_base_sample_with_the_same_numbers(world, tmp_path, monkeypatch, flt,
                                                                         kind):
    """With the sampling sizes scaled down so that 20,000 events are a large store: the store keeps every
    event of the items with hash % 10 = 0, the pages' samples are multiples of 10 and read it, and every
    page query gives what it gives reading the lake's files (or the imported store's own tables) on the
    same samples, filters set. An imported store derives the tables when opened for writing."""
    import streamlit as st

    from analytics.core import sampling
    from analytics.store import consensus, filters, slices
    from analytics.store import lake as lakes
    from ui import loaders

    monkeypatch.setattr(lakes, "BASE_SAMPLE_EVENTS", 2_000)
    monkeypatch.setattr(sampling, "COUNTS_EVENT_LIMIT", 2_000)
    monkeypatch.setattr(sampling, "STATISTICS_EVENT_LIMIT", 2_000)
    monkeypatch.setattr(sampling, "SAMPLE_EVENTS", 300)
    if kind == "lake":
        db, _ = _copy_world(world, tmp_path)
    else:
        db = tmp_path / "imported.duckdb"
        shutil.copyfile(world["imported"], db)
    with Store(db) as store:
        assert store.lake_tables
        assert store.sample_base == 10
        assert store.scalar("SELECT count(*) FROM " + filters.BASE_SAMPLE) == store.scalar(
            "SELECT count(*) FROM live_label_events WHERE hash(item_id) % 10 = 0") > 1_000
    lake = _source(db)
    m = loaders.agreement_sample(lake, flt)
    assert m > 1 and m % 10 == 0 and filters.events_source(m, 10) == filters.BASE_SAMPLE
    st.cache_data.clear()
    sampled = _page_reads(lake, flt)
    assert sampled["summary"][0].estimated and sampled["summary"][0].events > 2_000
    read = []
    for module in (filters, consensus, slices):  # the same samples, read from the lake's files
        monkeypatch.setattr(module, "events_source", lambda m, base: read.append(m) or "live_label_events")
    st.cache_data.clear()
    _same(sampled, _page_reads(lake, flt))
    assert m in read


def test_the_lake_item_sketches_hold_the_registers_of_each_day_cohort_and_slice_value(world):
    """``lake_item_sketch`` and ``lake_attribute_sketch`` equal the registers computed in Python integers
    from the events' hashes, per day and cohort and (the second) per slice attribute value of the item."""
    from analytics.core.hyperloglog import M, P, Q

    with Store(world["lake_store"]) as store:
        events = store.query("SELECT date_trunc('day', e.labeled_at) AS day, a.cohort, hash(e.item_id) AS h, "
                             "e.item_id FROM live_label_events e "
                             "LEFT JOIN live_annotators a USING (annotator_id)")
        values = store.query("SELECT item_id, key, value FROM live_item_attributes WHERE value IS NOT NULL")
        sketch = store.query("SELECT labeled_at AS day, cohort, register, rho FROM lake_item_sketch")
        sliced = store.query("SELECT key, value, labeled_at AS day, cohort, register, rho "
                             "FROM lake_attribute_sketch")
    of_item: dict[str, list] = {}
    for item, key, value in values.itertuples(index=False):
        of_item.setdefault(item, []).append((key, value))
    expected: dict[tuple, int] = {}
    expected_sliced: dict[tuple, int] = {}
    for day, cohort, h, item in events.itertuples(index=False):
        rest = int(h) >> P
        rho = Q + 1 if rest == 0 else (rest & -rest).bit_length()
        key = (day, None if pd.isna(cohort) else cohort, int(h) & (M - 1))
        expected[key] = max(expected.get(key, 0), rho)
        for kv in of_item.get(item, []):
            expected_sliced[(*kv, *key)] = max(expected_sliced.get((*kv, *key), 0), rho)
    got = {(d, None if pd.isna(c) else c, int(r)): int(v) for d, c, r, v in sketch.itertuples(index=False)}
    assert got == expected and len(got) > 10_000
    got = {(k, v, d, None if pd.isna(c) else c, int(r)): int(x)
           for k, v, d, c, r, x in sliced.itertuples(index=False)}
    assert got == expected_sliced and {k for k, *_ in got} == {"region", "source"}


@pytest.mark.parametrize("flt", [FILTERS[0], FILTERS[3], FILTERS[1]], ids=["all", "cohorts-dates", "slice"])
@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_estimated_items_per_period_come_from_the_sketch_without_reading_an_event(world, monkeypatch, flt,
                                                                                  grain):
    """The activity's estimated items on the lake, from its item sketches (that of the slice value's items
    under a slice filter): the events, annotators and labels are the imported store's exact counts, the
    items within four standard errors of its exact count (at a few hundred items per period the estimate
    is all but exact), and no query reads an event."""
    from analytics.core.hyperloglog import M
    from analytics.store import overview

    with Store(world["imported"], read_only=True) as store:
        exact = overview.activity(store, flt, grain=grain)
    read: list[str] = []
    query = Store.query
    monkeypatch.setattr(Store, "query",
                        lambda self, sql, *a, **k: read.append(sql) or query(self, sql, *a, **k))
    with Store(world["lake_store"], read_only=True) as store:
        assert store.lake_tables
        estimated = overview.activity(store, flt, grain=grain, approx_items=True)
    assert estimated.attrs["items_rse"] == pytest.approx(0.0081, abs=1e-4)
    from ui import loaders  # the page's loader, through Streamlit's cache, keeps the margin

    shown = loaders.activity(_source(world["lake_store"]), flt, grain, approx_items=True)
    _same(estimated, shown.drop(columns="partial"))
    assert shown.attrs["items_rse"] == estimated.attrs["items_rse"]
    assert read and not any(t in sql for sql in read for t in ("live_label_events", "lake_sample_events"))
    _same(exact.drop(columns="items"), estimated.drop(columns="items"))
    assert exact["items"].sum() > 1_000
    error = (estimated["items"] - exact["items"]).abs()
    assert (error <= 4 * 1.04 / M**0.5 * exact["items"] + 0.5).all(), pd.concat([exact, estimated], axis=1)


def test_an_imported_store_reads_its_derived_tables_only_while_they_match_its_data(world, tmp_path,
                                                                                   monkeypatch):
    """A large imported store (sizes scaled down as above) derives the tables on its first writable open;
    an import outdates them at once (reads go to the store's own tables) until they are derived again (by
    the import, or here the next writable open); a
    retraction refreshes them without the batch's rows; a read-only open never reads them; a refresh of
    a store below the size drops them."""
    from analytics.core import sampling
    from analytics.store import filters, overview
    from analytics.store import lake as lakes
    from analytics.store.retractions import retract_batch

    monkeypatch.setattr(lakes, "BASE_SAMPLE_EVENTS", 2_000)
    monkeypatch.setattr(sampling, "COUNTS_EVENT_LIMIT", 2_000)
    db = tmp_path / "imported.duckdb"
    shutil.copyfile(world["imported"], db)
    with Store(db, read_only=True) as store:
        assert not store.lake_tables and store.sample_base == 1  # never derived: read-only derives nothing
    extra = pd.DataFrame({"item_id": ["new-item"] * 3, "annotator_id": ["a1", "a2", "a3"],
                          "label": ["cat"] * 3, "labeled_at": pd.Timestamp("2026-05-05 10:00")})
    with Store(db) as store:
        assert store.lake_tables and store.sample_base == 10
        # the attribute rollup's larger memory budget is the store's own again afterwards
        assert store.scalar("SELECT current_setting('memory_limit')") == "953.6 MiB"  # 1 GB
        before = overview.label_distribution(store)
        labels = store.query("SELECT label FROM label_schema")["label"].tolist()
        extra["label"] = labels[0]
        report = ingest.ingest(store, extra, kind="events", name="extra", refresh=False)
        assert report.rows_accepted == 3
        assert not store.lake_tables and store.sample_base == 1  # outdated: the store's own tables
        own = overview.label_distribution(store)
        assert own["events"].sum() == before["events"].sum() + 3
    with Store(db) as store:  # the next writable open derives them again
        assert store.lake_tables
        _same(own, overview.label_distribution(store))
        assert store.scalar("SELECT sum(events) FROM " + filters.DAYS) == own["events"].sum()
        retract_batch(store, report.batch_id, actor="ana", reason="test rows")
        assert store.lake_tables and store.scalar("SELECT sum(events) FROM " + filters.DAYS) == \
            before["events"].sum()
        _same(before, overview.label_distribution(store))
    with Store(db, read_only=True) as store:
        assert not store.lake_tables  # another process could have written since
    monkeypatch.setattr(lakes, "BASE_SAMPLE_EVENTS", 1_000_000)  # now a small store
    with Store(db) as store:
        assert store.lake_tables  # they match its data, so they are still right
        store.refresh_derived()
        assert not store.lake_tables and store.sample_base == 1
        assert store.scalar("SELECT count(*) FROM store_meta WHERE key = 'lake_derived'") == 0
        assert not store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                                [filters.DAYS])


def test_a_filter_on_a_slice_value_reads_the_attribute_rollup_with_the_same_numbers(world, monkeypatch):
    """The lake's attributes have few values, so the store rolls its events up per value: the totals, label
    counts and window counts of a cohort and slice filter read that rollup, never an event, and equal the
    imported store's exact counts."""
    from analytics.store import drift, filters, overview

    flt = FILTERS[1]
    with Store(world["imported"], read_only=True) as store:
        expected = (overview.event_totals(store, flt), overview.label_distribution(store, flt),
                    drift.label_counts_by_window(store, flt, by="week"))
    read: list[str] = []
    query = Store.query
    monkeypatch.setattr(Store, "query",
                        lambda self, sql, *a, **k: read.append(sql) or query(self, sql, *a, **k))
    with Store(world["lake_store"], read_only=True) as store:
        assert store.rolled_attributes == {"region", "source"}
        got = (overview.event_totals(store, flt), overview.label_distribution(store, flt),
               drift.label_counts_by_window(store, flt, by="week"))
    _same(expected, got)
    assert expected[0]["events"] > 1_000
    assert read and not any("live_label_events" in q for q in read)
    sql, _ = filters.days_cte(flt, True, attributes=frozenset({"source"}))  # event_totals' too (a cursor)
    assert filters.ATTRIBUTE_DAYS in sql and "live_label_events" not in sql


def test_a_lake_below_the_base_sample_size_keeps_none(world):
    from analytics.store import lake as lakes

    with Store(world["lake_store"]) as store:
        assert store.sample_base == 1 and lakes.base_modulus(N_EVENTS) == 1
        assert store.scalar("SELECT count(*) FROM lake_sample_events") == 0


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False)


def test_summary_json_is_the_same_and_the_store_remembers_its_lake(world):
    """``summary --json`` (every finding) on the lake store, opened without --lake, equals the imported
    store's; only the store's own description differs."""
    imported = _cli("--db", str(world["imported"]), "summary", "--json")
    lake = _cli("--db", str(world["lake_store"]), "summary", "--json")
    assert imported.returncode == 0 and lake.returncode == 0, lake.stderr
    a, b = json.loads(imported.stdout), json.loads(lake.stdout)
    a.pop("store"), b.pop("store")
    assert a.keys() == b.keys()
    _same(a, b)


def test_scoring_the_lake_finds_the_same_suspects(world, tmp_path):
    """A detection run (model second opinion on the items' features, annotators, clusters) is stored in the
    lake store beside its lake and ranks the same items with the same scores."""
    exported = {}
    for name in ("imported", "lake_store"):
        copy = tmp_path / f"{name}.duckdb"
        shutil.copy(world[name], copy)
        scored = _cli("--db", str(copy), "score", "--folds", "3")
        assert scored.returncode == 0, scored.stderr
        out = tmp_path / f"{name}.csv"
        assert _cli("--db", str(copy), "suspects", "export", "--out", str(out)).returncode == 0
        exported[name] = pd.read_csv(out)
    assert len(exported["imported"]) > 1000
    _same(exported["imported"], exported["lake_store"])


def _copy_world(world, tmp_path) -> tuple[Path, Path]:
    lake = tmp_path / "lake"
    shutil.copytree(world["lake"], lake)
    db = tmp_path / "lake.duckdb"
    with Store(db) as store:  # a new store bound to the copy
        ingest.ingest(store, scale.vocabulary_frame(), kind="vocabulary", name="vocabulary", dataset="scale")
        store.read_lake(lake)
    return db, lake


def test_files_added_to_the_lake_are_read_on_the_next_refresh(world, tmp_path):
    db, lake = _copy_world(world, tmp_path)
    with Store(db) as store:
        events, state = store.scalar("SELECT count(*) FROM live_label_events"), store.state()
        # a re-label: an annotator labels an item again, an hour after their first label
        first = store.query("SELECT * EXCLUDE (batch_id) FROM live_label_events ORDER BY event_id LIMIT 1")
        again = first.assign(label="L9" if first.at[0, "label"] != "L9" else "L0", event_id=10**9,
                             labeled_at=first.at[0, "labeled_at"] + pd.Timedelta(hours=1))
        folder = lake / "events" / "month=2026-12"
        folder.mkdir()
        pq.write_table(pa.Table.from_pandas(again, preserve_index=False), folder / "late.parquet")
        assert store.state() != state  # listed, refreshed: a new state for every cache
        assert store.scalar("SELECT count(*) FROM live_label_events") == events + 1
        pair = store.query("SELECT * FROM live_rating_repeats")
        assert pair.values.tolist() == [[first.at[0, "item_id"], first.at[0, "annotator_id"]]]
        # the item's rating is the later label: the ratings count is unchanged, its label is the new one
        from analytics.store import agreement as agreement_queries

        ratings = agreement_queries.ratings(store, EventFilter())
        assert len(ratings) == events
        mine = ratings[(ratings["item_id"] == first.at[0, "item_id"])
                       & (ratings["annotator_id"] == first.at[0, "annotator_id"])]
        assert mine["label"].tolist() == [again.at[0, "label"]]
        # the pair's two events are kept apart, and the test–retest pairs read them: one pair, changed
        from analytics.store import drift as drift_queries

        assert store.lake_tables and store.scalar("SELECT count(*) FROM lake_repeat_events") == 2
        retests = drift_queries.retest_windows(store, EventFilter())
        assert retests[["gap_days", "pairs", "changed"]].values.tolist() == [[0, 1, 1]]
        state = store.state()
        assert store.state() == state  # nothing changed, nothing refreshed


def test_a_store_with_imported_events_is_not_bound_and_a_lake_store_imports_no_events(world, tmp_path):
    with pytest.raises(StoreError, match="holds imported label_events.*never both"):
        Store(world["imported"], lake=world["lake"])
    db, _ = _copy_world(world, tmp_path)
    with Store(db) as store:
        events = pd.DataFrame({"item_id": ["x"], "annotator_id": ["a"], "label": ["L1"],
                               "labeled_at": ["2026-05-01T00:00:00"]})
        with pytest.raises(ingest.IngestError, match="reads its label events.*from the Parquet lake"):
            ingest.ingest(store, events, kind="events", name="more.csv")
        # the small dimensions with no lake folder still import
        report = ingest.ingest(store, scale.guidelines_frame(), kind="guidelines", name="g", dataset="scale")
        assert report.rows_accepted == 2


def test_read_only_opens_read_the_lake_and_refuse_a_changed_one(world, tmp_path):
    db, lake = _copy_world(world, tmp_path)
    with Store(db, read_only=True) as store:
        assert store.lake is not None and store.scalar("SELECT count(*) FROM live_label_events") == N_EVENTS
    shutil.copy(next((lake / "items").glob("*.parquet")), lake / "items" / "again.parquet")
    with pytest.raises(StoreError, match="changed since the store .* last read it"):
        Store(db, read_only=True)


@pytest.mark.parametrize("damage, message", [
    ("no-events", r"has no Parquet file under events/"),
    ("not-parquet", r"part-00000\.parquet is not a readable Parquet file"),
    ("no-label", r"lake folder .*events lacks the column\(s\) label"),
    ("gone", r"No lake at .*: it is not a folder.* The store .* reads the lake .*: if the lake moved, point"),
])
def test_a_lake_that_cannot_be_read_says_which_folder_or_file_and_why(world, tmp_path, damage, message):
    db, lake = _copy_world(world, tmp_path)
    month = sorted((lake / "events").iterdir())[0]
    if damage == "no-events":
        shutil.rmtree(lake / "events")
    elif damage == "not-parquet":
        (month / "part-00000.parquet").write_text("item_id,label\nx,L1\n", encoding="utf-8")
    elif damage == "no-label":
        for path in (lake / "events").rglob("*.parquet"):
            pq.write_table(pq.read_table(path).drop_columns(["label"]), path)
    else:
        shutil.rmtree(lake)
    with pytest.raises(StoreError, match=message):
        Store(db)


def test_optional_columns_missing_from_the_files_read_as_null(tmp_path):
    """A lake of the four required event columns only, no other folder: every view answers."""
    lake = tmp_path / "lake" / "events" / "day=2026-05-01"
    lake.mkdir(parents=True)
    pq.write_table(pa.table({
        "item_id": ["i1", "i1", "i2", "i2"], "annotator_id": ["a", "b", "a", "b"],
        "label": ["x", "x", "x", "y"],
        "labeled_at": pa.array([dt.datetime(2026, 5, 1, h) for h in range(4)], pa.timestamp("us")),
    }), lake / "part.parquet")
    with Store(tmp_path / "s.duckdb", lake=tmp_path / "lake") as store:
        frame = store.query("SELECT * FROM live_label_events ORDER BY labeled_at")
        assert frame["guideline_version"].isna().all() and frame["batch_id"].eq("lake").all()
        assert list(frame.columns) == list(store.query("SELECT * FROM label_events LIMIT 0").columns)
        for view in ("live_items", "live_item_attributes", "live_gold_labels", "live_predictions",
                     "live_annotators"):
            assert store.scalar(f"SELECT count(*) FROM {view}") == 0
        from analytics.store import agreement as agreement_queries

        ratings = agreement_queries.ratings(store, EventFilter())
        assert sorted(ratings["label"]) == ["x", "x", "x", "y"]


def test_the_cli_and_the_app_take_the_lake_from_the_environment(world, tmp_path):
    import os

    lake = tmp_path / "lake"
    shutil.copytree(world["lake"], lake)
    db = tmp_path / "fresh.duckdb"
    env = {**os.environ, "LABELWATCH_LAKE": str(lake)}
    # a new store: created by ingest (the vocabulary), bound to the lake from the environment
    vocabulary = tmp_path / "vocabulary.csv"
    scale.vocabulary_frame().to_csv(vocabulary, index=False)
    done = _cli("--db", str(db), "ingest", str(vocabulary), "--kind", "vocabulary", env=env)
    assert done.returncode == 0, done.stderr
    shown = _cli("--db", str(db), "summary", env={k: v for k, v in env.items() if k != "LABELWATCH_LAKE"})
    assert f"{N_EVENTS:,} events" in shown.stdout

    from streamlit.testing.v1 import AppTest

    os.environ["LABELWATCH_DB"], os.environ["LABELWATCH_LAKE"] = str(db), str(lake)
    try:
        at = AppTest.from_file(str(ROOT / "pages" / "data" / "data.py"), default_timeout=120).run()
        assert not at.exception
        assert any(str(lake) in c.value and "Parquet files" in c.value for c in at.code)
    finally:
        del os.environ["LABELWATCH_DB"], os.environ["LABELWATCH_LAKE"]
