"""AppTest of the Suspects page on the demo store (which holds the detection run the demo builds): the verdict
and tiles are the stored run's, clusters and slices filter the table, an item opens down to its history, a
selection goes to review and a new run can be started."""

from __future__ import annotations

import pathlib
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from analytics import suspects
from analytics.store import Store
from analytics.store import detection as queries

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGE = "pages/investigate/suspects.py"


def _open(monkeypatch, path) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
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


def _stored(path):
    with Store(path) as store:
        run_id = queries.runs(store)["run_id"].iloc[0]
        return (run_id, queries.run_overview(store, run_id), queries.run_params(store, run_id),
                queries.clusters(store, run_id))


def _total(at: AppTest) -> int:
    label = at.number_input(key="suspects.page").label  # "Page (of P; N suspects)"
    return int(label.rsplit("; ", 1)[1].split(" ")[0].replace(",", ""))


def test_the_verdict_and_tiles_are_the_stored_runs(at, demo_store_path):
    assert not at.exception, [e.value for e in at.exception]
    _, overview, params, clusters = _stored(demo_store_path)
    lines = [t.value for t in at.text]
    for line in suspects.verdict(overview, params, clusters):
        assert line in lines
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Items scored"] == f"{overview['items']:,}" == "1,797"
    assert metrics["Flagged as likely mislabeled"] == f"{overview['flagged']:,}"
    assert metrics["Clusters"] == f"{len(clusters):,}"
    assert _total(at) == overview["flagged"]
    assert len(at.dataframe[0].value) == 25
    assert at.get("plotly_chart")  # the cluster map and the drill-down's charts


def test_a_cluster_narrows_the_table_and_is_described(at, demo_store_path):
    _, _, _, clusters = _stored(demo_store_path)
    biggest = clusters.iloc[0]
    at.selectbox(key="suspects.cluster").select(biggest["cluster_id"]).run()
    assert not at.exception
    assert _total(at) == int(biggest["size"])
    assert set(at.dataframe[0].value["cluster_id"]) == {biggest["cluster_id"]}
    assert suspects.cluster_sentence(biggest) in [t.value for t in at.text]


def test_the_slice_filter_and_the_score_floor_narrow_the_table(at, demo_store_path):
    run_id, overview, _, _ = _stored(demo_store_path)
    at.selectbox(key="filters.attribute").select("source").run()
    at.selectbox(key="filters.value").select("fax").run()
    assert not at.exception
    with Store(demo_store_path) as store:
        fax = queries.suspects_page(store, run_id, attribute="source", attribute_value="fax")[1]
    assert _total(at) == fax < overview["flagged"]
    at.slider(key="suspects.min_score").set_value(0.99).run()
    assert (at.dataframe[0].value["score"] >= 0.99).all()


def test_an_item_opens_down_to_its_labels_model_and_neighbours(at, demo_store_path):
    run_id = _stored(demo_store_path)[0]
    with Store(demo_store_path) as store:
        page, _ = queries.suspects_page(store, run_id, limit=40)
        item = page["item_id"].iloc[30]
        signals = queries.item_signals(store, run_id, item)
        events = queries.item_events(store, item, run_id)
    at.text_input(key="suspects.item").input(item).run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert f"Item {item} · rank {signals['rank']:,} · score {signals['score']:.2f}" in texts
    assert "Why: " + signals["explanation"] in texts
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Every label this item received" in spec for spec in specs)
    assert any("The model's second opinion" in spec for spec in specs)
    frames = [d.value for d in at.dataframe]
    assert any(list(f.get("item_id", [])) == signals["neighbours"] for f in frames)
    assert len(events) >= 3


def test_an_unknown_item_says_so(at):
    at.text_input(key="suspects.item").input("no-such-item").run()
    assert any("not in this detection run" in i.value for i in at.info)


def test_sending_a_cluster_to_review_records_who_and_why(monkeypatch, writable):
    app = _open(monkeypatch, writable)
    _, _, _, clusters = _stored(writable)
    chosen = clusters.iloc[0]
    app.selectbox(key="suspects.cluster").select(chosen["cluster_id"]).run()
    app.text_input(key="suspects.note").input("<b>check</b> these")  # a form: submitted with the button
    app.button[[b.label for b in app.button].index(
        f"Send {int(chosen['size']):,} suspects to review (cluster {chosen['cluster_id']})")].click().run()
    assert not app.exception
    assert any(s.value.startswith(f"{int(chosen['size']):,} items added") for s in app.success)
    with Store(writable) as store:
        requests = queries.review_requests(store)
    assert len(requests) == int(chosen["size"])
    assert set(requests["note"]) == {"<b>check</b> these"}
    assert set(requests["cluster_id"]) == {chosen["cluster_id"]}


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
    from analytics import ingest

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
    assert {m.label: m.value for m in app.metric}["Items scored"] == "6"


def test_every_matching_suspect_can_be_downloaded(at, demo_store_path):
    _, overview, _, _ = _stored(demo_store_path)
    at.toggle(key="suspects.prepare_csv").set_value(True).run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert f"Download {overview['flagged']:,} suspects (CSV)" in labels
