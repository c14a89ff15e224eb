"""AppTest over app.py and every page: they run on the demo and on an empty store, and filters drive them.

The expected numbers come from ``analytics.store.overview.totals`` on the same file, so a filter that the
page ignored (or applied twice) fails the comparison.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import pathlib

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.core import sampling
from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.monitoring import overview
from analytics.store import Store, StoreLockedError
from analytics.store import batches as batch_queries
from analytics.store import overview as overview_queries
from analytics.synthetic import demo

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = (
    "../pages/monitor/overview.py", "../pages/monitor/agreement.py", "../pages/data/import_data.py",
    "../pages/data/data.py",
)


def _app(monkeypatch, db: pathlib.Path, **query) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=30)
    at.query_params.update(query)
    return at


def _metric(at: AppTest, label: str) -> str:
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, f"expected one metric {label!r}, found {len(values)}"
    return values[0]


def _events_shown(at: AppTest) -> int:
    return int(_metric(at, "Label events").replace(",", ""))


def _expected_events(db: pathlib.Path, flt: EventFilter) -> int:
    with Store(db) as store:
        return overview_queries.totals(store, flt)["events"]


@pytest.fixture
def empty_db(tmp_path) -> pathlib.Path:
    return tmp_path / "empty.duckdb"


@pytest.fixture
def demo_db(demo_store_path, tmp_path) -> pathlib.Path:
    """A private copy of the session's demo store, so a test may import into it."""
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    return copy


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("store", ["demo_db", "empty_db"])
def test_every_page_runs_without_exception(monkeypatch, request, store, page):
    at = _app(monkeypatch, request.getfixturevalue(store)).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value in {"Overview", "Agreement", "Import", "Data"}


def test_overview_on_the_demo_shows_verdict_tiles_charts_and_downloads(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db).run()
    assert _events_shown(at) == _expected_events(demo_db, EventFilter())
    assert at.text[0].value.startswith(f"{_events_shown(at):,} labels from 60 annotators")
    assert _metric(at, "Raw agreement").endswith("%")
    assert len(at.get("plotly_chart")) == 4
    downloads = at.get("download_button")
    assert [b.key for b in downloads] == ["activity.csv", "agreement.csv", "labels.csv", "per-item.csv"]
    # written on the click, not on every run (tests/e2e/test_csv_downloads_browser.py opens the files)
    assert all(b.proto.deferred_file_id and not b.proto.url and not b.proto.disabled for b in downloads)


def test_overview_on_an_empty_store_explains_and_links_to_import(monkeypatch, empty_db):
    at = _app(monkeypatch, empty_db).run()
    assert not at.metric and not at.get("plotly_chart")
    assert any("No label events in this store yet" in m.value for m in at.markdown)
    assert [link.value for link in at.get("page_link")] == ["Import data"]
    assert any("ingest" in c.value for c in at.code)


def test_choosing_a_cohort_changes_the_events_shown_and_the_url(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db).run()
    everything = _events_shown(at)
    at.multiselect(key="filters.cohorts").set_value(["expert"]).run()
    experts = _events_shown(at)
    assert experts == _expected_events(demo_db, EventFilter(cohorts=("expert",)))
    assert 0 < experts < everything
    assert at.query_params["cohort"] == "expert"


def test_a_url_preselects_the_filters(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, cohort=["crowd", "vendor"], slice="source", slice_value="fax").run()
    assert at.multiselect(key="filters.cohorts").value == ["crowd", "vendor"]
    assert at.selectbox(key="filters.value").value == "fax"
    expected = EventFilter(cohorts=("crowd", "vendor"), attribute="source", attribute_value="fax")
    assert _events_shown(at) == _expected_events(demo_db, expected)


def test_a_url_date_window_narrows_the_events_and_stays_in_the_url(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, **{"from": "2026-06-01", "to": "2026-06-30"}).run()
    june = EventFilter(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    assert _events_shown(at) == _expected_events(demo_db, june)
    assert (at.query_params["from"], at.query_params["to"]) == ("2026-06-01", "2026-06-30")


def _values(array) -> list:
    """A plotly JSON array as a list: plain, or packed as base64 (``{"dtype", "bdata"}``)."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _tile(at: AppTest, label: str):
    (tile,) = [m for m in at.metric if m.label == label]
    return tile


def test_under_a_date_filter_the_tiles_compare_the_window_with_the_one_before(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, **{"from": "2026-06-01", "to": "2026-06-30"}).run()
    june = _expected_events(demo_db, EventFilter(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)))
    may = _expected_events(demo_db, EventFilter(start=dt.date(2026, 5, 2), end=dt.date(2026, 5, 31)))
    assert _events_shown(at) == june
    assert _tile(at, "Label events").delta == f"{june - may:+,}"  # not the window's total again
    captions = [c.value for c in at.caption]
    assert captions.count("vs the 30 days before 2026-06-01") == 4  # on each count tile
    assert any(c.startswith("Changes compare the filtered 30 days (2026-06-01 – 2026-06-30) with the 30 days "
                            "before (2026-05-02 – 2026-05-31)") for c in captions)


def test_an_agreement_change_within_noise_is_grey_without_an_arrow(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db).run()
    tile = _tile(at, "Raw agreement")
    assert (tile.proto.color, tile.proto.direction) == (tile.proto.GRAY, tile.proto.NONE)
    with Store(demo_db) as store:
        change = overview.trend(store, days=30).agreement_change()
    assert not change.significant  # the demo's last 30 days agree about as well as the 30 before
    assert tile.delta == change.points()
    assert any(c.value.endswith(": within noise") for c in at.caption)


def test_the_experts_weekly_agreement_of_100_percent_keeps_an_interval(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, cohort="expert").run()
    traces = json.loads(at.get("plotly_chart")[1].proto.spec)["data"]
    mean = next(t for t in traces if t["name"] == "Raw agreement")
    assert 1.0 in _values(mean["y"])
    bands = [_values(t["y"]) for t in traces if t["name"] == "95% CI"]
    assert bands
    for band in bands:
        k = len(band) // 2
        high, low = band[:k], band[k:][::-1]
        assert all(h - lo > 0.05 for h, lo in zip(high, low, strict=True))


def test_a_sampled_store_marks_its_item_count_as_an_estimate(monkeypatch, demo_db):
    # force the large-store path on the demo: per-item reads on a 1-in-15 sample of items
    monkeypatch.setattr(sampling, "COUNTS_EVENT_LIMIT", 1_000)
    monkeypatch.setattr(sampling, "SAMPLE_EVENTS", 500)
    monkeypatch.setattr(sampling, "MIN_SAMPLED_ITEMS", 100)
    at = _app(monkeypatch, demo_db).run()
    assert _tile(at, "Items").value.startswith("≈")
    assert "Estimated on this large store" in _tile(at, "Items").proto.help
    assert "items (estimated from a 1-in-15 sample of items, 95% CI" in at.text[0].value


def test_unknown_url_values_are_dropped_from_the_filter_and_the_url(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, cohort="nobody", dataset="nope", slice="colour").run()
    assert _events_shown(at) == _expected_events(demo_db, EventFilter())
    assert not set(at.query_params) & {"cohort", "dataset", "slice"}


def test_filters_hold_across_pages(monkeypatch, demo_db):
    at = _app(monkeypatch, demo_db, cohort="expert").run()
    at.switch_page("../pages/data/data.py").run()
    at.switch_page("../pages/monitor/overview.py").run()
    assert _events_shown(at) == _expected_events(demo_db, EventFilter(cohorts=("expert",)))


def test_a_locked_store_stops_with_its_message(monkeypatch, empty_db):
    def locked(path, **options):
        raise StoreLockedError(f"The store {path} is in use by another process.")

    monkeypatch.setattr("ui.store.Store", locked)
    at = _app(monkeypatch, empty_db).run()
    assert not at.exception
    assert at.error[0].value == f"The store {empty_db} is in use by another process."
    assert not at.title  # no page ran


def test_the_default_store_gets_the_demo_on_first_start_and_others_do_not(monkeypatch, tmp_path):
    default = tmp_path / "default.duckdb"
    monkeypatch.setattr("ui.store.DEFAULT_DB", default)
    monkeypatch.delenv("LABELWATCH_DB", raising=False)
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    assert not at.exception
    (status,) = at.status
    assert (status.label, status.state) == ("Demo store ready", "complete")
    assert at.get("progress")[0].proto.value == 100
    assert _events_shown(at) == _expected_events(default, EventFilter()) > 0

    at.run()  # a later run reuses the store and builds nothing
    assert not at.status

    other = _app(monkeypatch, tmp_path / "other.duckdb").run()
    assert not other.metric


def test_a_demo_build_cut_off_midway_is_finished_by_the_next_start(monkeypatch, tmp_path):
    default = tmp_path / "default.duckdb"
    monkeypatch.setattr("ui.store.DEFAULT_DB", default)
    monkeypatch.delenv("LABELWATCH_DB", raising=False)
    data = demo.generate(seed=0)
    with Store(default) as store:  # the first start died after importing the events, before the gold
        ingest.ingest(store, data.vocabulary, kind="vocabulary", name="demo:seed=0/vocabulary")
        ingest.ingest(store, data.items, kind="items", name="demo:seed=0/items", dataset="digits")
        ingest.ingest(store, data.events, kind="events", name="demo:seed=0/events", dataset="digits")
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    assert not at.exception
    assert at.status[0].label == "Demo store ready"
    with Store(default) as store:
        campaign = "coalesce(campaign_id IN (SELECT campaign_id FROM campaigns), FALSE)"  # the round's labels
        assert store.scalar("SELECT count(*) FROM label_events WHERE NOT " + campaign) == len(data.events)
        assert store.scalar("SELECT count(*) FROM label_events WHERE " + campaign) > 0
        assert store.scalar("SELECT count(*) FROM dataset_versions") == 2
        assert store.scalar("SELECT count(*) FROM items") == len(data.items)
        assert store.scalar("SELECT count(*) FROM gold_labels") == len(data.gold)
        assert store.scalar("SELECT count(*) FROM demo_truth") == len(data.truth)


def test_a_default_store_holding_the_users_own_import_is_left_alone(monkeypatch, tmp_path):
    default = tmp_path / "default.duckdb"
    monkeypatch.setattr("ui.store.DEFAULT_DB", default)
    monkeypatch.delenv("LABELWATCH_DB", raising=False)
    upload = tmp_path / "mine.csv"
    upload.write_bytes(GOOD_AND_BAD)
    with Store(default) as store:
        ingest.ingest(store, upload)
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    assert not at.exception and not at.status
    with Store(default) as store:
        assert store.scalar("SELECT count(*) FROM label_events") == 2


# --- Import ----------------------------------------------------------------------------------------------

GOOD_AND_BAD = (
    b"item_id,annotator_id,label,labeled_at\n"
    b"new-1,new-a,3,2026-09-01T10:00:00\n"
    b"new-1,new-b,3,2026-09-01T11:00:00\n"
    b"new-2,new-a,5,not a time\n"
    b"new-2,new-b,,2026-09-02T09:00:00\n"
)


def _import_page(monkeypatch, db) -> AppTest:
    at = _app(monkeypatch, db).run()
    return at.switch_page("../pages/data/import_data.py").run()


def _batches(db) -> int:
    with Store(db) as store:
        return len(batch_queries.list_batches(store))


def test_an_upload_shows_its_validation_report_before_anything_is_written(monkeypatch, demo_db):
    before = _batches(demo_db)
    at = _import_page(monkeypatch, demo_db)
    at.file_uploader(key="import.upload").upload("labels.csv", GOOD_AND_BAD, "text/csv")
    at.run()
    assert not at.exception and not at.error
    assert [_metric(at, m) for m in ("Rows read", "Rows accepted", "Rows rejected")] == ["4", "2", "2"]
    assert at.text[0].value.startswith("labels.csv (events): 4 rows read, 2 accepted, 2 rejected")
    assert len(at.dataframe) == 2  # rejects by reason, sample of rejected rows
    assert at.button[0].label == "Import 2 rows"
    assert _batches(demo_db) == before


def test_the_import_button_commits_once_and_a_second_upload_changes_nothing(monkeypatch, demo_db):
    before = _expected_events(demo_db, EventFilter())
    at = _import_page(monkeypatch, demo_db)
    at.file_uploader(key="import.upload").upload("labels.csv", GOOD_AND_BAD, "text/csv")
    at.run()
    at.button[0].click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Imported 2 rows as batch ")
    assert not at.button  # the report now says it is in the store; nothing left to press
    at.switch_page("../pages/monitor/overview.py").run()
    assert _events_shown(at) == before + 2  # the Overview reads the new batch (and its later dates)

    again = _import_page(monkeypatch, demo_db)
    again.file_uploader(key="import.upload").upload("copy.csv", GOOD_AND_BAD, "text/csv")
    again.run()
    assert "already imported as batch" in again.info[0].value and "nothing changed" in again.info[0].value
    assert not again.button


def test_a_file_level_problem_is_shown_as_an_error(monkeypatch, empty_db):
    at = _import_page(monkeypatch, empty_db)
    no_time = b"item_id,annotator_id,label\nx,a,1\n"
    at.file_uploader(key="import.upload").upload("events.csv", no_time, "text/csv")
    at.run()
    (kind,) = [s for s in at.selectbox if s.key.endswith(".kind")]
    assert kind.value == "gold"  # what the columns look like: item_id and label
    kind.set_value("events").run()
    assert not at.exception and not at.button
    assert "events.csv: missing required column 'labeled_at'" in at.error[0].value.replace("\\", "")


# --- Data ------------------------------------------------------------------------------------------------


def test_data_page_lists_batches_and_rejects_of_one_batch(monkeypatch, demo_db):
    at = _import_page(monkeypatch, demo_db)
    at.file_uploader(key="import.upload").upload("labels.csv", GOOD_AND_BAD, "text/csv")
    at.run()
    at.button[0].click().run()
    at.switch_page("../pages/data/data.py").run()
    assert not at.exception
    batches = at.dataframe[1].value
    assert "labels.csv" in batches["source"].tolist()
    (batch_id,) = batches.loc[batches["source"] == "labels.csv", "batch_id"]
    at.selectbox(key="rejects.batch").set_value(batch_id).run()
    rejects = at.dataframe[2].value
    assert len(rejects) == 2 and set(rejects["batch_id"]) == {batch_id}
    assert [r for r in rejects["reason"] if "labeled_at" in r]


def test_data_page_on_an_empty_store_explains_both_tables(monkeypatch, empty_db):
    at = _app(monkeypatch, empty_db).run()
    at.switch_page("../pages/data/data.py").run()
    text = " ".join(m.value for m in at.markdown)
    assert "Nothing imported yet" in text and "No rejected rows" in text
    counts = at.dataframe[0].value
    assert dict(zip(counts["table"], counts["rows"], strict=True))["label_events"] == 0
