"""Detection runs in a real DuckDB file: inputs, a stored run read back page by page, review requests,
imported predictions. The store is filled through the import path from small CSV files."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import numpy as np
import pytest

from analytics import detection
from analytics.core.schema import EventFilter
from analytics.detection import suspects
from analytics.ingest import pipeline as ingest
from analytics.store import Store, detection_inputs, item_drilldown, review_requests
from analytics.store import detection as q
from analytics.store.migrations import LATEST_VERSION
from tests.builders import old_schema, write_raw

EVENTS = """item_id,annotator_id,label,labeled_at
i1,a,cat,2024-01-01
i1,b,cat,2024-01-02
i1,c,dog,2024-01-03
i2,a,dog,2024-01-01
i2,b,dog,2024-01-02
i2,c,dog,2024-01-03
i3,a,cat,2024-01-04
i3,b,dog,2024-01-05
i3,c,dog,2024-01-06
i4,a,cat,2024-01-07
i4,b,cat,2024-01-08
i4,c,cat,2024-01-09
"""
ITEMS = """item_id,source,features
i1,fax,"[0.0, 1.0]"
i2,scanner,"[5.0, 5.0]"
i3,fax,"[5.1, 4.9]"
i4,scanner,"[9.0]"
"""


@pytest.fixture
def store(tmp_path):
    (tmp_path / "items.csv").write_text(ITEMS)
    (tmp_path / "events.csv").write_text(EVENTS)
    with Store(tmp_path / "lw.duckdb") as s:
        ingest.ingest(s, tmp_path / "items.csv", kind="items")
        ingest.ingest(s, tmp_path / "events.csv")
        yield s


def test_inputs_code_the_ratings_and_keep_the_most_common_feature_length(store):
    inputs = detection_inputs.detection_inputs(store)
    assert list(inputs.ratings.items) == ["i1", "i2", "i3", "i4"]
    assert len(inputs.ratings) == 12
    assert inputs.has_features.tolist() == [True, True, True, False]  # i4 has one feature, the rest two
    assert inputs.features.tolist() == [[0.0, 1.0], [5.0, 5.0], [pytest.approx(5.1), pytest.approx(4.9)],
                                        [0.0, 0.0]]
    narrowed = detection_inputs.detection_inputs(store, EventFilter(start=None, cohorts=()))
    assert len(narrowed.ratings) == 12


def _run(store, **options):
    inputs = detection_inputs.detection_inputs(store)
    r = inputs.ratings
    return detection.score_items(r.item_codes, r.annotator_codes, r.label_codes, items=r.items,
                                 annotators=r.annotators, classes=r.classes, n_neighbours=0, **options)


def test_a_stored_run_reads_back_ranked_with_its_signals_and_params(store):
    result = _run(store, rule_hits={"i4": ["R9"]})
    run_id = q.save_run(store, result, created_by="tester", flt=EventFilter(dataset="default"),
                        extra={"rules_file": "rules.toml"})
    runs = q.runs(store)
    assert runs[["run_id", "created_by", "items"]].values.tolist() == [[run_id, "tester", 4]]
    params = q.run_params(store, run_id)
    assert params["filter"] == {"dataset": "default"} and params["rules_file"] == "rules.toml"
    assert params["given_label"] == "strict majority of the ratings" and params["score"] == "log10 odds"
    assert params["model"] is None
    page, total = q.suspects_page(store, run_id, status=None, limit=2)
    # every status, in the run's own order: by status, then by rank within it
    assert total == 4 and page["item_id"].tolist() == result.items["item_id"].head(2).tolist()
    second, _ = q.suspects_page(store, run_id, status=None, limit=2, offset=2)
    assert second["item_id"].tolist() == result.items["item_id"].tail(2).tolist()
    assert set(page["status"]) | set(second["status"]) <= set(detection.STATUSES)
    signals = item_drilldown.item_signals(store, run_id, "i4")
    assert signals["rules"] == ["R9"] and signals["votes_given"] == 3 and signals["n_ratings"] == 3
    assert signals["explanation"].endswith("rule R9")
    assert item_drilldown.item_signals(store, run_id, "nope") is None
    skills = store.query("SELECT annotator_id FROM run_annotators WHERE run_id = ? ORDER BY 1", [run_id])
    assert skills["annotator_id"].tolist() == ["a", "b", "c"]


def test_suspect_filters_narrow_the_page(store):
    result = _run(store)
    run_id = q.save_run(store, result, created_by="t")
    everything = q.suspects_page(store, run_id, status=None)[1]
    assert everything == 4
    cats = q.suspects_page(store, run_id, status=None, given_label="cat")[0]
    assert sorted(cats["item_id"]) == ["i1", "i4"]
    floor = float(result.items["score"].median())
    high = q.suspects_page(store, run_id, status=None, min_score=floor)[0]
    assert sorted(high["item_id"]) == sorted(result.items.loc[result.items["score"] >= floor, "item_id"])
    chosen = q.suspects_page(store, run_id, status=None, item_ids=["i2", "i9"])[0]
    assert chosen["item_id"].tolist() == ["i2"]
    with pytest.raises(ValueError, match="unknown status"):
        q.suspects_page(store, run_id, status="flagged")


def test_the_global_filter_puts_in_view_the_items_with_a_passing_label(store):
    # i1 and i3 are fax items; a window of 2024-01-03 to 2024-01-05 holds one label of i1, i2 and i3 each
    # but none of i4; a cohort nobody belongs to keeps nothing. Every read of the page counts the same items.
    run_id = q.save_run(store, _run(store), created_by="t")
    cases = [(EventFilter(attribute="source", attribute_value="fax"), ["i1", "i3"]),
             (EventFilter(start=dt.date(2024, 1, 3), end=dt.date(2024, 1, 5)), ["i1", "i2", "i3"]),
             (EventFilter(cohorts=("nobody",)), []), (EventFilter(), ["i1", "i2", "i3", "i4"])]
    for flt, expected in cases:
        page, total = q.suspects_page(store, run_id, flt=flt, status=None)
        assert sorted(page["item_id"]) == expected and total == len(expected)
        assert sorted(q.suspect_item_ids(store, run_id, flt=flt, status=None)) == expected
        counts = q.view_counts(store, run_id, flt)
        assert int(counts["items"].sum()) == len(expected)
        flagged = set(page.loc[page["status"] == detection.MISLABELED, "item_id"])
        assert q.compare_runs(store, run_id, run_id, flt) == {"both": len(flagged), "new": 0, "gone": 0}


def test_view_counts_by_status_with_gold_worked_out_by_hand(store, tmp_path):
    # Stored statuses set by hand: i1 flagged 'cat'→'dog', i3 flagged 'dog'→'cat', i2 no consensus
    # suggesting 'dog', i4 holds 'cat'. Gold: i1 dog (flag right), i3 dog (flag wrong), i2 cat (suggestion
    # wrong), i4 dog (a wrong given label the run missed). Precision 1 of 2, recall 1 of 2 (i1 caught,
    # i4 missed), adjudication 0 of 1.
    result = _run(store)
    rows = result.items.set_index("item_id")
    rows.loc[["i1", "i3"], "status"] = detection.MISLABELED
    rows.loc["i2", "status"], rows.loc["i4", "status"] = detection.NO_CONSENSUS, detection.HOLDS
    rows.loc["i2", "given_label"] = None
    rows.loc[["i1", "i2", "i3", "i4"], "suggested_label"] = ["dog", "dog", "cat", "dog"]
    rows.loc[["i1", "i3", "i2", "i4"], "score"] = [2.0, 1.0, 3.0, -4.0]
    run_id = q.save_run(store, dataclasses.replace(result, items=rows.reset_index()), created_by="t")
    (tmp_path / "gold.csv").write_text("item_id,label\ni1,dog\ni2,cat\ni3,dog\ni4,dog\n")
    ingest.ingest(store, tmp_path / "gold.csv", kind="gold")
    counts = q.view_counts(store, run_id).set_index("status")
    assert counts.loc[detection.MISLABELED, ["items", "gold_items", "gold_given_wrong"]].tolist() == [2, 2, 1]
    assert counts.loc[detection.MISLABELED, "score_sum"] == 3.0
    view = suspects.run_view(q.view_counts(store, run_id))
    assert (view.precision.k, view.precision.n) == (1, 2) and (view.recall.k, view.recall.n) == (1, 2)
    assert (view.adjudication.k, view.adjudication.n) == (0, 1)
    assert view.by_status == {detection.MISLABELED: 2, detection.NO_CONSENSUS: 1, detection.HOLDS: 1}
    assert view.score_range[detection.MISLABELED] == (1.0, 2.0)
    fax = suspects.run_view(q.view_counts(store, run_id, EventFilter(attribute="source",
                                                                     attribute_value="fax")))
    assert fax.items == 2 and (fax.precision.k, fax.precision.n) == (1, 2) and fax.recall.n == 1


def test_review_requests_are_appended_once_per_item_and_run(store):
    run_id = q.save_run(store, _run(store), created_by="t")
    assert review_requests.request_review(store, ["i1", "i3", "i1"], run_id=run_id, cluster_id="c1",
                                          requested_by="ana", note="check the fax ones") == 2
    assert review_requests.request_review(store, ["i3", "i4"], run_id=run_id, cluster_id=None,
                                          requested_by="bo") == 1
    requests = review_requests.review_requests(store)
    assert sorted(requests["item_id"]) == ["i1", "i3", "i4"]
    history = item_drilldown.remediation_history(store, "i1")
    assert history[["action", "who", "why"]].values.tolist() == [
        ["review requested", "ana", "check the fax ones"]]


def test_item_events_and_neighbours(store):
    run_id = q.save_run(store, _run(store), created_by="t")
    events = item_drilldown.item_events(store, "i3", run_id)
    assert events[["annotator_id", "label"]].values.tolist() == [["a", "cat"], ["b", "dog"], ["c", "dog"]]
    assert events["skill"].notna().all()
    near = item_drilldown.item_neighbours(store, run_id, ["i4", "i1"])
    assert near["item_id"].tolist() == ["i4", "i1"]
    attributes = item_drilldown.item_attributes(store, "i1")
    assert attributes.values.tolist() == [["dataset", "default"], ["source", "fax"]]


def test_imported_predictions_become_a_matrix_in_item_and_class_order(store, tmp_path):
    (tmp_path / "pred.csv").write_text("item_id,label,prob\ni1,dog,0.9\ni1,cat,0.1\ni3,cat,0.7\ni3,dog,0.3\n")
    ingest.ingest(store, tmp_path / "pred.csv", kind="predictions", model_version="m1")
    assert detection_inputs.prediction_models(store) == ["m1"]
    inputs = detection_inputs.detection_inputs(store)
    matrix = detection_inputs.prediction_matrix(store, "m1", inputs.ratings.items, inputs.ratings.classes)
    assert matrix[0].tolist() == [0.1, 0.9] and matrix[2].tolist() == [0.7, 0.3]
    assert np.isnan(matrix[1]).all() and np.isnan(matrix[3]).all()


def test_run_detection_end_to_end_stores_clusters_and_context(store):
    progress = []
    run_id = suspects.run_detection(store, created_by="me", n_neighbours=2,
                                    progress=lambda f, m: progress.append(f))
    assert progress[0] == 0.0 and progress[-1] == 1.0 and progress == sorted(progress)
    overview = q.run_overview(store, run_id)
    assert overview["items"] == 4
    stored = store.query("SELECT signals FROM suspects WHERE run_id = ?", [run_id])["signals"]
    assert all("neighbours" in json.loads(value) for value in stored)


def test_run_detection_refuses_an_empty_filter(store):
    with pytest.raises(ValueError, match="no label events"):
        suspects.run_detection(store, EventFilter(dataset="missing"), created_by="me")


def test_two_runs_compare_by_their_flags(store):
    first = _run(store)
    earlier = q.save_run(store, first, created_by="t")
    changed = first.items.copy()
    flipped = changed["item_id"] == "i2"
    changed.loc[flipped, "status"] = changed.loc[flipped, "status"].map(
        {detection.MISLABELED: detection.HOLDS, detection.HOLDS: detection.MISLABELED})
    later = q.save_run(store, dataclasses.replace(first, items=changed), created_by="t")
    flagged_before = set(first.items.loc[first.items["status"] == detection.MISLABELED, "item_id"])
    flagged_after = set(changed.loc[changed["status"] == detection.MISLABELED, "item_id"])
    assert flagged_before != flagged_after
    assert q.compare_runs(store, later, earlier) == {
        "both": len(flagged_before & flagged_after), "new": len(flagged_after - flagged_before),
        "gone": len(flagged_before - flagged_after)}
    assert q.compare_runs(store, earlier, earlier)["new"] == 0


def test_no_limit_reads_every_matching_suspect(store):
    run_id = q.save_run(store, _run(store), created_by="t")
    everything, total = q.suspects_page(store, run_id, status=None, limit=None)
    assert len(everything) == total == 4
    assert everything["item_id"].tolist() == q.suspect_item_ids(store, run_id, status=None)


def test_runs_stored_before_statuses_get_the_status_their_signals_imply(tmp_path):
    # A store at schema version 3 with a run of the earlier build: i-a's "given" label had 1 of 5 votes
    # (flagged then, no consensus now), i-b 3 of 4 and flagged, i-c 2 of 3 and not flagged, i-d 2 of 4.
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    old_schema(con, range(1, 4))
    write_raw(con, "suspects", [
        {"run_id": "old", "item_id": item, "score": 0.9, "rank": 1, "flagged": flagged,
         "signals": json.dumps({"votes_given": votes, "n_ratings": ratings})}
        for item, votes, ratings, flagged in [("i-a", 1, 5, True), ("i-b", 3, 4, True), ("i-c", 2, 3, False),
                                              ("i-d", 2, 4, False)]
    ])
    con.close()
    with Store(path) as store:
        statuses = store.query("SELECT item_id, status FROM suspects ORDER BY item_id")
    assert statuses["status"].tolist() == [detection.NO_CONSENSUS, detection.MISLABELED, detection.HOLDS,
                                           detection.NO_CONSENSUS]


def test_a_run_keeps_what_confident_learning_ran_on(store):
    # imported probabilities for i1, i2, i3 (classes cat, dog); i4 was not scored
    imported = np.array([[0.75, 0.25], [0.25, 0.75], [0.5, 0.5], [np.nan, np.nan]])
    result = _run(store, pred_probs=imported, model_version="m")
    run_id = q.save_run(store, result, created_by="t")
    rows, probs = q.run_pred_probs(store, run_id)
    inputs = result.cleanlab_inputs
    assert rows["item_id"].tolist() == inputs.item_ids.tolist() == ["i1", "i2", "i3"]
    assert rows["label"].tolist() == [["cat", "dog"][c] for c in inputs.labels] == ["cat", "dog", "dog"]
    assert rows["consensus"].tolist() == [True, True, True]
    assert probs.tolist() == inputs.pred_probs.tolist() == imported[:3].tolist()
    q.save_run(store, _run(store), created_by="t")  # no model: no rows
    assert len(store.query("SELECT * FROM run_pred_probs")) == 3
    assert q.run_pred_probs(store, "nope")[1].shape == (0, 0)
    assert q.has_pred_probs(store, run_id) and not q.has_pred_probs(store, "nope")


def test_runs_stored_before_schema_10_have_no_arrays_and_say_so(tmp_path):
    import duckdb

    from analytics.core.exports import ExportError
    from analytics.detection import export

    path = tmp_path / "v9.duckdb"
    con = duckdb.connect(str(path))
    old_schema(con, range(1, 10))
    write_raw(con, "detection_runs", [{"run_id": "run-old", "created_at": dt.datetime(2026, 1, 1),
                                       "created_by": "t", "params": json.dumps({"classes": ["cat", "dog"],
                                                                                "model": {"model": "m"}})}])
    con.close()
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert q.run_pred_probs(store, "run-old")[0].empty
        with pytest.raises(ExportError, match="^Run run-old was stored before LabelWatch kept a run's "
                                              "probabilities: run detection again"):
            export.cleanlab_arrays(store, "run-old")
