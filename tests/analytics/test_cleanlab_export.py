"""A detection run in cleanlab's form (``analytics.detection.export``): the arrays a run's confident learning
ran on, kept with the run and written as ``.npz``, are what ``cleanlab.filter.find_label_issues`` takes
(cleanlab 2.9's contract: ``labels`` int (N,) in 0 … K − 1, ``pred_probs`` (N, K), column k = class k), and
on them cleanlab flags exactly what the run flagged.

Exact values on a small store whose model is imported predictions (probabilities that are sums of powers of
two, so renormalising them changes no bit); the contract and the agreement on the seed-0 demo's run (a
cross-validated model on the digits' features); the refusals with their messages.
"""

from __future__ import annotations

import io
import json

import cleanlab.filter
import numpy as np
import pandas as pd
import pytest

from analytics.core.exports import ExportError, Written
from analytics.detection import export, suspects
from analytics.store import Store
from analytics.store import detection as queries
from analytics.store import remediation as remediation_sql
from tests.builders import add_events, add_predictions

# i3 is split three ways (no consensus); i6 has labels but no prediction (no model opinion).
VOTES = {"i1": ["cat", "cat", "dog"], "i2": ["dog", "dog", "dog"], "i3": ["cat", "dog", "fox"],
         "i4": ["cat", "cat", "cat"], "i5": ["fox", "fox", "dog"], "i6": ["dog", "dog", "cat"]}
PROBS = {"i1": (0.75, 0.125, 0.125), "i2": (0.25, 0.5, 0.25), "i3": (0.25, 0.5, 0.25),
         "i4": (1.0, 0.0, 0.0), "i5": (0.125, 0.25, 0.625)}


def _events() -> list[dict]:
    return [{"item_id": item, "annotator_id": who, "label": label, "labeled_at": f"2026-01-0{n + 1}"}
            for item, labels in VOTES.items()
            for n, (who, label) in enumerate(zip("abc", labels, strict=True))]


@pytest.fixture
def imported(tmp_path):
    """A store scored with imported predictions (model ``m1``)."""
    with Store(tmp_path / "lw.duckdb") as store:
        add_events(store, _events())
        add_predictions(store, [{"item_id": item, "label": label, "prob": p}
                                for item, probs in PROBS.items()
                                for label, p in zip(("cat", "dog", "fox"), probs, strict=True)],
                        model_version="m1")
        run_id = suspects.run_detection(store, created_by="tester", model_version="m1")
        yield store, run_id


def test_the_arrays_of_an_imported_model_hold_exactly_what_the_run_saw(imported):
    store, run_id = imported
    arrays = export.cleanlab_arrays(store, run_id)
    assert arrays.classes.tolist() == ["cat", "dog", "fox"] == queries.run_params(store, run_id)["classes"]
    assert arrays.item_ids.tolist() == ["i1", "i2", "i3", "i4", "i5"]  # i6: no model opinion
    assert arrays.pred_probs.tolist() == [list(PROBS[i]) for i in arrays.item_ids]
    assert arrays.consensus.tolist() == [True, True, False, True, True]
    given = arrays.labels[arrays.consensus].tolist()
    assert given == [0, 1, 0, 2]  # cat, dog, cat, fox: the strict majorities
    assert 0 <= arrays.labels[2] <= 2  # i3: the Dawid–Skene label of its annotators


def test_the_npz_holds_every_key_with_its_dtype_and_shape_and_loads_without_pickle(imported):
    store, run_id = imported
    loaded = np.load(io.BytesIO(export.cleanlab_arrays(store, run_id).to_npz()), allow_pickle=False)
    assert list(loaded.files) == list(export.NPZ_KEYS)
    shapes = {key: (loaded[key].dtype.kind, loaded[key].shape) for key in loaded.files}
    assert shapes == {"labels": ("i", (5,)), "pred_probs": ("f", (5, 3)), "item_ids": ("U", (5,)),
                      "classes": ("U", (3,)), "consensus": ("b", (5,)), "run_id": ("U", ())}
    assert loaded["labels"].dtype == np.int64 and loaded["pred_probs"].dtype == np.float64
    assert str(loaded["run_id"]) == run_id


@pytest.fixture(scope="module")
def demo(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        run_id = remediation_sql.latest_run(store)
        arrays = export.cleanlab_arrays(store, run_id)
        stored = store.query(
            "SELECT item_id, given_label, (signals->>'cleanlab_issue')::BOOLEAN AS cleanlab_issue, "
            "(signals->>'model_prob')::DOUBLE AS model_prob FROM suspects WHERE run_id = ?", [run_id])
        yield {"arrays": arrays, "stored": stored.set_index("item_id"),
               "params": queries.run_params(store, run_id), "overview": queries.run_overview(store, run_id)}


def test_the_demo_runs_arrays_meet_cleanlabs_input_contract(demo, tmp_path):
    arrays, params = demo["arrays"], demo["params"]
    path = tmp_path / "run.npz"
    path.write_bytes(arrays.to_npz())
    loaded = np.load(path, allow_pickle=False)
    labels, pred_probs = loaded["labels"], loaded["pred_probs"]
    assert labels.shape == (1797,) and pred_probs.shape == (1797, 10)  # every digit has features
    assert loaded["classes"].tolist() == params["classes"] == [str(d) for d in range(10)]
    assert labels.min() >= 0 and labels.max() <= 9 and set(labels.tolist()) == set(range(10))
    assert np.abs(pred_probs.sum(axis=1) - 1).max() < 1e-12 and (pred_probs >= 0).all()
    assert len(set(loaded["item_ids"].tolist())) == 1797
    # the columns are the run's classes: the probability of an item's given label is the run's model_prob
    stored = demo["stored"].loc[loaded["item_ids"]]
    has = loaded["consensus"]
    assert has.sum() == stored["given_label"].notna().sum() == 1560
    assert [params["classes"][c] for c in labels[has]] == stored.loc[has, "given_label"].tolist()
    assert pred_probs[has, labels[has]].tolist() == stored.loc[has, "model_prob"].tolist()


def test_cleanlab_on_the_exported_arrays_flags_what_the_run_flagged(demo, tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(demo["arrays"].to_npz())
    loaded = np.load(path, allow_pickle=False)
    issues = cleanlab.filter.find_label_issues(loaded["labels"], loaded["pred_probs"])
    assert issues.dtype == bool and issues.shape == (1797,)
    assert demo["params"]["filter_by"] == "prune_by_noise_rate"  # cleanlab's default, as called above
    # the run keeps cleanlab's flags for items with a consensus (a given label that could be wrong)
    kept = issues & loaded["consensus"]
    stored = demo["stored"].loc[loaded["item_ids"], "cleanlab_issue"].to_numpy()
    assert kept.tolist() == stored.tolist()
    assert int(kept.sum()) == demo["overview"]["cleanlab_issues"] == 103


def test_a_table_export_of_the_run(imported, tmp_path):
    store, run_id = imported
    assert export.export_suspects(store, run_id, tmp_path / "all.jsonl") == Written(tmp_path / "all.jsonl",
                                                                                     "jsonl", 6)
    rows = [json.loads(line) for line in (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["item_id"] for r in rows) == ["i1", "i2", "i3", "i4", "i5", "i6"]
    assert list(rows[0]) == ["rank", "item_id", "status", "score", "given_label", "suggested_label",
                             "agreeing", "available", "cluster_id", "explanation"]
    written = export.export_suspects(store, run_id, tmp_path / "x.parquet", status="no_consensus")
    assert (written.format, written.rows) == ("parquet", 1)
    assert pd.read_parquet(tmp_path / "x.parquet")["item_id"].tolist() == ["i3"]
    assert export.export_suspects(store, run_id, tmp_path / "run.bin", "npz").rows == 5
    with pytest.raises(ExportError, match="leave out the status"):
        export.export_suspects(store, run_id, tmp_path / "run.npz", status="ok")


def test_refusals_name_the_run_and_what_to_do(imported, tmp_path):
    store, run_id = imported
    with pytest.raises(ExportError, match=r"^There is no detection run 'run-nope'\.$"):
        export.cleanlab_arrays(store, "run-nope")
    with pytest.raises(ExportError, match=r"^There is no detection run 'run-nope'\.$"):
        export.export_suspects(store, "run-nope", tmp_path / "x.csv")
    with pytest.raises(ExportError, match="cannot tell the format of 'x.txt'"):
        export.export_suspects(store, run_id, tmp_path / "x.txt")
    assert not (tmp_path / "x.txt").exists()
    # a run on labels alone: no features, no predictions, no model
    with Store(tmp_path / "bare.duckdb") as bare:
        add_events(bare, _events())
        bare_run = suspects.run_detection(bare, created_by="tester")
        with pytest.raises(ExportError) as refused:
            export.cleanlab_arrays(bare, bare_run)
    assert str(refused.value) == (
        f"Run {bare_run} has no model probabilities (its items had no features and no predictions were "
        "imported), so confident learning did not run: there is nothing to export for cleanlab.")
    # a run stored before the arrays were kept (schema 9): its rows are not there
    store.cursor().execute("DELETE FROM run_pred_probs WHERE run_id = ?", [run_id])
    with pytest.raises(ExportError, match="was stored before LabelWatch kept a run's probabilities"):
        export.cleanlab_arrays(store, run_id)
