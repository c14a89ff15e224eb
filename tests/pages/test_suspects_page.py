"""AppTest of the Suspects page on the demo store (which holds the detection run the demo builds): every
number counts the run's items in view under the sidebar filters, items without consensus are a queue of their
own, clusters and the score floor narrow the table, an item opens down to every label it received, a bulk
send to review asks first and a new run can be started."""

from __future__ import annotations

import base64
import json
import pathlib
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics import detection
from analytics.core.schema import EventFilter
from analytics.detection import suspects
from analytics.remediation import requests
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import Store, item_drilldown, review_requests
from analytics.store import detection as queries

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = "../pages/investigate/suspects.py"


def _open(monkeypatch, path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(path))
    app = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120).run()
    return app.switch_page(PAGE).run()


@pytest.fixture
def at(monkeypatch, demo_store_path) -> AppTest:
    return _open(monkeypatch, demo_store_path)


@pytest.fixture
def writable(tmp_path, demo_store_path) -> pathlib.Path:
    """A copy of the demo store that a test may write to."""
    copy = tmp_path / "demo.duckdb"
    shutil.copy(demo_store_path, copy)
    return copy


def _stored(path, flt: EventFilter | None = None):
    with Store(path) as store:
        run_id = queries.runs(store)["run_id"].iloc[0]
        view = suspects.run_view(queries.view_counts(store, run_id, flt))
        return run_id, view, queries.run_params(store, run_id), queries.clusters(store, run_id)


def _total(at: AppTest) -> int:
    label = at.number_input(key="suspects.page").label  # "Page (of P; N items)"
    return int(label.rsplit("; ", 1)[1].split(" ")[0].replace(",", ""))


def _values(array) -> list:
    """A plotly array from a figure's JSON: a list, or the typed array (base64) plotly writes numbers as."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _metrics(at: AppTest) -> dict:
    return {m.label: m.value for m in at.metric}


def _by_hand(path, sql: str, params: list) -> int:
    """A count straight from the tables, independent of the page's queries."""
    with Store(path) as store:
        return int(store.scalar(sql, params))


def test_the_verdict_and_tiles_count_every_item_without_a_filter(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    _, view, params, clusters = _stored(demo_store_path)
    lines = [t.value for t in at.text]
    for line in suspects.verdict(view, params, clusters, run_items=1797):
        assert line in lines
    metrics = _metrics(at)
    assert metrics["Items in view"] == "1,797"
    assert metrics["Likely mislabeled"] == f"{view.by_status[detection.MISLABELED]:,}"
    assert metrics["Needs adjudication"] == f"{view.by_status[detection.NO_CONSENSUS]:,}"
    assert metrics["Precision on gold"] == f"{view.precision.k} of {view.precision.n}"
    assert metrics["Clusters in view"] == f"{len(view.clusters):,}"
    assert _total(at) == view.by_status[detection.MISLABELED]
    assert len(at.dataframe[0].value) == 25
    assert any(line.startswith("Precision on gold items: ") and "CI" in line for line in lines)


@pytest.mark.parametrize(("widgets", "flt", "in_view_sql", "words"), [
    ({"filters.attribute": "source", "filters.value": "fax"},
     EventFilter(attribute="source", attribute_value="fax"),
     "SELECT count(DISTINCT e.item_id) FROM label_events e JOIN item_attributes a USING (item_id) "
     "WHERE a.key = 'source' AND a.value = 'fax'", "source = fax"),
    ({"filters.cohorts": ["expert"]}, EventFilter(cohorts=("expert",)),
     "SELECT count(DISTINCT e.item_id) FROM label_events e JOIN annotators a USING (annotator_id) "
     "WHERE a.cohort = 'expert'", "cohorts: expert"),
])
def test_with_a_filter_every_number_on_the_page_counts_the_items_in_view(at, demo_store_path, widgets, flt,
                                                                        in_view_sql, words):
    for key, value in widgets.items():
        if isinstance(value, list):
            at.multiselect(key=key).set_value(value).run()
        else:
            at.selectbox(key=key).select(value).run()
    assert not at.exception, [e.value for e in at.exception]
    run_id, view, _, _ = _stored(demo_store_path, flt)
    in_view = _by_hand(demo_store_path, in_view_sql, [])
    members = in_view_sql.replace("count(DISTINCT e.item_id)", "e.item_id")
    flagged = _by_hand(demo_store_path, "SELECT count(*) FROM suspects WHERE run_id = ? AND "
                       "status = 'mislabeled' AND item_id IN (" + members + ")", [run_id])
    assert 0 < in_view < 1797 and view.items == in_view
    metrics = _metrics(at)
    assert metrics["Items in view"] == f"{in_view:,}"
    assert metrics["Likely mislabeled"] == f"{flagged:,}" == f"{view.by_status[detection.MISLABELED]:,}"
    assert metrics["Needs adjudication"] == f"{view.by_status[detection.NO_CONSENSUS]:,}"
    assert metrics["Clusters in view"] == f"{len(view.clusters):,}"
    lines = [t.value for t in at.text]
    assert (f"{in_view:,} of the run's 1,797 items are in view ({words}): those with at least one label "
            "event that passes the filters. Every number on this page counts them.") in lines
    assert f"{flagged:,} of {in_view:,} items" in " ".join(lines)
    assert _total(at) == flagged
    with Store(demo_store_path) as store:
        assert set(at.dataframe[0].value["item_id"]) <= set(queries.suspect_item_ids(store, run_id, flt=flt))
    labels = [b.label for b in at.button]
    assert f"Send all {flagged:,} matching items…" in labels


def test_the_sidebar_states_one_rule_for_every_page(at):
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "every page that shows label data (Monitor and Investigate)" in captions
    assert "The Data pages show the whole store" in captions
    assert "Monitor pages" + " and travel" not in captions


def test_items_without_consensus_are_a_queue_of_their_own(at, demo_store_path):
    _, view, _, _ = _stored(demo_store_path)
    at.radio(key="suspects.status").set_value(detection.NO_CONSENSUS).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _total(at) == view.by_status[detection.NO_CONSENSUS] > 100
    table = at.dataframe[0].value
    assert "given_label" not in table.columns and table["suggested_label"].notna().all()
    assert table["rank"].tolist() == list(range(1, 26)) and table["score"].is_monotonic_decreasing
    assert all(why.startswith("model: ") and "no majority among" in why for why in table["explanation"])
    labels = [b.label for b in at.button]
    assert f"Send all {view.by_status[detection.NO_CONSENSUS]:,} matching items…" in labels


def test_a_cluster_narrows_the_table_and_is_described(at, demo_store_path):
    _, view, _, clusters = _stored(demo_store_path)
    biggest = view.clusters.iloc[0]
    at.selectbox(key="suspects.cluster").select(biggest["cluster_id"]).run()
    assert not at.exception
    assert _total(at) == int(biggest["items"])
    assert set(at.dataframe[0].value["cluster_id"]) == {biggest["cluster_id"]}
    row = clusters.set_index("cluster_id").loc[biggest["cluster_id"]]
    assert suspects.cluster_sentence(row, items=int(biggest["items"])) in [t.value for t in at.text]


def test_the_cluster_chart_shows_every_cluster_as_a_bar_with_its_name(at, demo_store_path):
    _, view, _, _ = _stored(demo_store_path)
    spec = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "Mislabeling patterns" in c.proto.spec)
    (bars,) = spec["data"]
    assert bars["type"] == "bar" and bars["y"] == view.clusters["cluster_id"].tolist()
    assert _values(bars["x"]) == view.clusters["items"].tolist()
    assert [point[0] for point in bars["customdata"]] == view.clusters["cluster_id"].tolist()


def test_the_score_floor_narrows_the_table(at, demo_store_path):
    run_id, view, _, _ = _stored(demo_store_path)
    low, high = view.score_range[detection.MISLABELED]
    floor = float(int(low + high) // 2)
    at.slider(key=f"suspects.min_score.{detection.MISLABELED}").set_value(floor).run()
    assert not at.exception
    expected = _by_hand(demo_store_path, "SELECT count(*) FROM suspects WHERE run_id = ? AND status = "
                        "'mislabeled' AND score >= ?", [run_id, floor])
    assert 0 < _total(at) == expected < view.by_status[detection.MISLABELED]
    assert (at.dataframe[0].value["score"] >= floor).all()


def _timeline(at: AppTest) -> dict:
    return next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "Every label this item received" in c.proto.spec)


@pytest.mark.parametrize(("item_id", "labels"), [
    ("digits-1183", ["4", "5", "6", "7", "9"]),  # five annotators, five labels
    ("digits-0731", ["1", "2", "3", "7"]),
])
def test_the_drill_down_draws_every_label_on_a_categorical_axis(at, demo_store_path, item_id, labels):
    run_id = _stored(demo_store_path)[0]
    with Store(demo_store_path) as store:
        signals = item_drilldown.item_signals(store, run_id, item_id)
        events = item_drilldown.item_events(store, item_id, run_id)
    assert sorted(events["label"]) == sorted(labels) and signals["status"] == detection.NO_CONSENSUS
    at.text_input(key="suspects.item").input(item_id).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    head = f"Item {item_id} · Needs adjudication · rank {signals['rank']:,} · score {signals['score']:.1f}"
    assert head in texts
    assert any(t.startswith("No consensus: no label holds a strict majority") for t in texts)
    spec = _timeline(at)
    axis = spec["layout"]["yaxis"]
    # every label a row, in vocabulary order, named (never a number such as 2.5); the suggestion marked
    names = [tick.split(" ")[0] for tick in axis["ticktext"]]
    assert names == labels and axis["tickvals"] == list(range(len(labels)))
    suggested = signals["suggested_label"]
    assert f"{suggested} · suggested (1 label)" in axis["ticktext"]
    drawn = [round(y) for trace in spec["data"] for y in _values(trace["y"])]
    assert sorted(drawn) == sorted(labels.index(label) for label in events["label"])  # every event, once


def test_a_flagged_items_drill_down_names_its_given_label(at, demo_store_path):
    run_id = _stored(demo_store_path)[0]
    with Store(demo_store_path) as store:
        page, _ = queries.suspects_page(store, run_id, limit=1)
        signals = item_drilldown.item_signals(store, run_id, page["item_id"].iloc[0])
    texts = [t.value for t in at.text]  # the first row opens by default
    assert any(t.startswith(f"Given '{signals['given_label']}' ({signals['votes_given']} of "
                            f"{signals['n_ratings']} ratings), flagged") for t in texts)
    ticks = _timeline(at)["layout"]["yaxis"]["ticktext"]
    assert any(" · given " in t for t in ticks) and any(" · suggested " in t for t in ticks)
    frames = [d.value for d in at.dataframe]
    assert any(list(f.get("item_id", [])) == signals["neighbours"] for f in frames)


def test_an_unknown_item_says_so_as_text(at):
    at.text_input(key="suspects.item").input("[x](http://x.test)").run()
    assert any("not in this detection run" in i.value and "\\[x\\]" in i.value for i in at.info)


def _click(app: AppTest, label: str) -> AppTest:
    return app.button[[b.label for b in app.button].index(label)].click().run()


def test_sending_everything_to_review_asks_first_and_says_when_nothing_was_added(monkeypatch, writable):
    app = _open(monkeypatch, writable)
    _, view, _, _ = _stored(writable)
    chosen = view.clusters.iloc[0]
    size = int(chosen["items"])
    app.selectbox(key="suspects.cluster").select(chosen["cluster_id"]).run()
    app.text_input(key="suspects.review.note").input("<b>check</b> these").run()
    _click(app, f"Send all {size:,} matching items…")
    assert not app.exception
    with Store(writable) as store:
        assert review_requests.review_requests(store).empty  # nothing sent before the confirmation
    assert any(f"Send all {size:,} likely mislabeled items in cluster" in w.value.replace("\\", "")
               for w in app.warning)
    _click(app, f"Yes, send {size:,} items")
    assert not app.exception
    assert [s.value for s in app.success] == [f"{size:,} items added to the review requests."]
    with Store(writable) as store:
        requests = review_requests.review_requests(store)
    assert len(requests) == size and set(requests["note"]) == {"<b>check</b> these"}
    assert set(requests["cluster_id"]) == {chosen["cluster_id"]}
    _click(app, f"Send all {size:,} matching items…")
    _click(app, f"Yes, send {size:,} items")
    assert not app.success  # nothing new is not a success
    assert any(i.value.startswith(f"Nothing added: all {size:,} items were already") for i in app.info)


def test_a_viewer_cannot_send_to_review(monkeypatch, writable, tmp_path):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nviewer = ["guest"]\n', encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    monkeypatch.setenv("LABELWATCH_USER", "guest")
    app = _open(monkeypatch, writable)
    assert not app.exception
    keys = {b.key for b in app.button}
    assert "suspects.cluster" in {s.key for s in app.selectbox}  # reading stays open
    writes = {"detect.go", "suspects.review.selected", "suspects.review.campaign", "suspects.review.all"}
    assert not keys & writes
    assert not [t for t in app.text_input if t.key == "suspects.review.note"]
    words = " ".join(c.value for c in app.caption)
    assert "guest (viewer) may not send items to review: needs the reviewer role" in words
    assert "guest (viewer) may not run detection: needs the reviewer role" in words
    with Store(writable) as store, pytest.raises(PermissionDenied, match="guest \\(viewer\\) may not"):
        requests.send_items(store, Actor("guest", Role.VIEWER), ["x"], run_id=None)
    with Store(writable) as store, pytest.raises(PermissionDenied, match="may not run detection"):
        suspects.run_detection(store, created_by=Actor("guest", Role.VIEWER))
    with Store(writable) as store:
        assert review_requests.review_requests(store).empty


def test_a_pending_confirmation_can_be_cancelled_and_lapses_when_the_selection_changes(monkeypatch,
                                                                                      writable):
    app = _open(monkeypatch, writable)
    _, view, _, _ = _stored(writable)
    total = view.by_status[detection.MISLABELED]
    _click(app, f"Send all {total:,} matching items…")
    assert f"Yes, send {total:,} items" in [b.label for b in app.button]
    _click(app, "Cancel")
    assert f"Yes, send {total:,} items" not in [b.label for b in app.button]
    _click(app, f"Send all {total:,} matching items…")
    app.radio(key="suspects.status").set_value(detection.NO_CONSENSUS).run()
    assert not any(b.label.startswith("Yes, send") for b in app.button)
    with Store(writable) as store:
        assert review_requests.review_requests(store).empty


def test_running_detection_from_the_page_stores_and_selects_a_new_run(monkeypatch, writable):
    app = _open(monkeypatch, writable)
    before = _stored(writable)[0]
    app.button(key="detect.go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    with Store(writable) as store:
        runs = queries.runs(store)
    assert len(runs) == 2 and runs["run_id"].iloc[1] == before
    assert app.selectbox(key="suspects.run").value == runs["run_id"].iloc[0]
    assert runs["created_by"].iloc[0] == "local"
    # the same data and seed flag the same items: the comparison with the demo's run says so
    flagged = int(runs["flagged"].iloc[0])
    assert any(t.value.endswith(f"{flagged:,} items flagged by both, 0 newly flagged, 0 no longer flagged.")
               for t in app.text)


def test_a_store_without_runs_explains_and_offers_to_run(monkeypatch, tmp_path):
    path = tmp_path / "fresh.duckdb"
    (tmp_path / "e.csv").write_text("item_id,annotator_id,label,labeled_at\n"
                                    + "".join(f"i{i},a{j},{'xy'[(i + j) % 2]},2024-01-0{j + 1}\n"
                                              for i in range(6) for j in range(3)))
    from analytics.ingest import pipeline as ingest

    with Store(path) as store:
        ingest.ingest(store, tmp_path / "e.csv")
    app = _open(monkeypatch, path)
    assert not app.exception
    assert any("No detection run yet" in m.value for m in app.markdown)
    app.button(key="detect.go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    with Store(path) as store:
        assert len(queries.runs(store)) == 1
        assert queries.run_params(store, queries.runs(store)["run_id"].iloc[0])["filter"] == {}
    assert _metrics(app)["Items in view"] == "6"


def test_every_matching_item_can_be_downloaded(at, demo_store_path):
    # written on the click (tests/pages/test_export_downloads.py checks the files)
    _, view, _, _ = _stored(demo_store_path)
    labels = [b.proto.label for b in at.get("download_button") if b.proto.deferred_file_id]
    assert f"Download {view.by_status[detection.MISLABELED]:,} items (CSV)" in labels
