"""Before/after analyses on real DuckDB files: the demo's remediation round measured (label quality against
gold overall and on the fax slice, a model trained on each version on a held-out set the remediation never
touched), a no-op comparison, imported predictions, the stored result, ``summary --json``, the CLI and the
standalone report."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from analytics.__main__ import main
from analytics.impact import ab
from analytics.monitoring import summary
from analytics.store import Store
from analytics.store import remediation as remediation_sql
from tests.builders import add_predictions

warnings.filterwarnings("ignore", category=UserWarning)


@pytest.fixture(scope="module")
def analysed(demo_history_store_path, tmp_path_factory):
    """A copy of the demo with its remediation round and one stored analysis of v1 → v2."""
    path = tmp_path_factory.mktemp("impact") / "demo.duckdb"
    path.write_bytes(demo_history_store_path.read_bytes())
    with Store(path) as store:
        result = ab.compare_versions(store, "v1", "v2", created_by="lead", n_boot=1000)
    return path, result


def test_the_demo_round_raises_label_quality_overall_and_on_the_fax_slice(analysed):
    _, result = analysed
    overall = result.label_quality.iloc[0]
    assert overall["metric"] == "accuracy" and overall["n"] == result.summary["gold_items"] == 509
    assert overall["ci_low"] > 0 and overall["delta"] > 0.05 and overall["p_value"] < 0.001
    fax = result.label_slices.set_index(["key", "value"]).loc[("source", "fax")]
    assert fax["ci_low"] > 0 and fax["delta"] == result.label_slices["delta"].max()
    assert not result.label_slices["got_worse"].any()


def test_label_quality_counts_an_item_without_a_label_as_not_right(analysed):
    path, result = analysed
    with Store(path, read_only=True) as store:
        gold = store.query("SELECT item_id, label AS gold FROM gold_labels")
        for arm, column in (("v1", "a"), ("v2", "b")):
            labels = store.query("SELECT item_id, label FROM version_labels WHERE version_id = ?", [arm])
            joined = gold.merge(labels, on="item_id", how="left")
            right = (joined["label"] == joined["gold"]).mean()  # a missing label is never equal
            assert result.label_quality.iloc[0][column] == pytest.approx(right)


def test_the_held_out_set_leaves_out_every_item_the_remediation_touched(analysed):
    path, result = analysed
    with Store(path, read_only=True) as store:
        # actions up to v2 (the round's next-round relabel came after v2 and changes neither arm)
        acted = set(store.query("SELECT item_id FROM remediation_actions WHERE seq <= (SELECT seq FROM "
                                "dataset_versions WHERE version_id = 'v2')")["item_id"])
        in_campaign = set(store.query("SELECT item_id FROM campaign_items")["item_id"])
        v1 = remediation_sql.version_labels(store, "v1").set_index("item_id")["label"]
        v2 = remediation_sql.version_labels(store, "v2").set_index("item_id")["label"]
        eval_gold = store.query("SELECT g.item_id FROM gold_labels g JOIN items i USING (item_id) "
                                "WHERE i.split = 'eval'")["item_id"]
    changed = set(v1.index[v1.fillna("-") != v2.reindex(v1.index).fillna("-")])
    untouched = set(eval_gold) - acted - in_campaign - changed
    s = result.summary
    assert s["held_out"] == len(untouched) > 100
    assert s["held_out_touched"] == len(set(eval_gold)) - len(untouched) > 0
    assert result.model_quality["n"].eq(len(untouched)).all()
    assert s["model"]["random_state"] == 0 and s["model"]["name"].startswith("logistic regression")
    mix = result.class_mix.set_index("label")
    assert mix["held_out"].sum() == len(untouched) and mix["train_b"].sum() == s["trained_b"]


def test_a_version_against_itself_shows_no_effect(analysed):
    path, _ = analysed
    with Store(path) as store:
        same = ab.compare_versions(store, "v2", "v2", n_boot=300, save=False)
    for frame in (same.label_quality, same.model_quality):
        assert (frame["delta"] == 0).all() and (frame["ci_low"] <= 0).all() and (frame["ci_high"] >= 0).all()
    assert same.label_quality.iloc[0]["p_value"] == 1.0
    assert same.summary["held_out_touched"] == 0


def test_the_stored_analysis_reads_back_equal_and_feeds_summary_json(analysed):
    path, result = analysed
    with Store(path, read_only=True) as store:
        loaded = ab.latest_result(store)
        facts = summary.store_summary(store)["impact"]
    assert loaded.impact_id == result.impact_id and loaded.summary == json.loads(json.dumps(result.summary))
    for name in ab.ImpactResult.FRAMES:
        mine, back = getattr(result, name), getattr(loaded, name)
        assert list(back.columns) == list(mine.columns) and len(back) == len(mine)
    pd.testing.assert_frame_equal(loaded.label_quality, result.label_quality, check_dtype=False)
    assert facts["impact_id"] == result.impact_id
    assert facts["label_quality"][0]["ci_low"] == pytest.approx(result.label_quality.iloc[0]["ci_low"])
    fax = [s for s in facts["label_slices"] if s["key"] == "source" and s["value"] == "fax"]
    assert fax and fax[0]["ci_low"] > 0


def test_imported_predictions_of_two_models_are_compared_on_the_held_out_gold(demo_store_path, tmp_path):
    path = tmp_path / "demo.duckdb"
    path.write_bytes(demo_store_path.read_bytes())
    rng = np.random.default_rng(5)
    with Store(path) as store:
        gold = store.query("SELECT g.item_id, g.label FROM gold_labels g JOIN items i USING (item_id) "
                           "WHERE i.split = 'eval'")
        labels = sorted(gold["label"].unique())
        for model, right in (("m1", 0.80), ("m2", 0.95)):
            ok = rng.random(len(gold)) < right
            wrong = [labels[(labels.index(g) + 1) % len(labels)] for g in gold["label"]]
            add_predictions(store, pd.DataFrame({"item_id": gold["item_id"],
                                                 "label": np.where(ok, gold["label"], wrong),
                                                 "prob": np.where(ok, 0.9, 0.6)}), model_version=model)
        result = ab.compare_predictions(store, "m1", "m2", n_boot=500)
        with pytest.raises(ab.ImpactError, match="no predictions of model version 'm3'"):
            ab.compare_predictions(store, "m1", "m3")
    acc = result.model_quality.set_index("metric").loc["accuracy"]
    assert acc["n"] == len(gold) and acc["ci_low"] > 0 and acc["p_value"] < 0.001
    assert result.label_quality.empty and result.summary["trained"] is False


def test_the_cli_runs_an_analysis_and_writes_an_offline_report(analysed, tmp_path, capsys):
    path, result = analysed
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(path.read_bytes())
    assert main(["--db", str(copy), "impact", "v1", "v9"]) == 1
    assert "no dataset version 'v9'" in capsys.readouterr().err
    out = tmp_path / "report.html"
    assert main(["--db", str(copy), "report", "--out", str(out), "--impact", result.impact_id]) == 0
    capsys.readouterr()
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert out.stat().st_size < 10e6
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    assert page.count("class=\"plotly-graph-div\"") >= 6
    assert "source = fax slice gained most" in page and "Measured effect (v1 → v2)" in page


def test_per_class_f1_equals_scikit_learn_and_its_interval_brackets_it():
    from sklearn.metrics import f1_score

    from analytics.impact.ab import _per_class_f1

    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, 600).astype(str)
    a = np.where(rng.random(600) < 0.75, y, rng.integers(0, 5, 600).astype(str))  # "4" is no true class
    b = np.where(rng.random(600) < 0.9, y, rng.integers(0, 4, 600).astype(str))
    table = _per_class_f1(y, a, b, n_boot=400, confidence=0.95, seed=0)
    labels = sorted(set(y))
    assert table["label"].tolist() == labels
    np.testing.assert_allclose(table["f1_a"], f1_score(y, a, labels=labels, average=None, zero_division=0))
    np.testing.assert_allclose(table["f1_b"], f1_score(y, b, labels=labels, average=None, zero_division=0))
    assert (table["ci_low"] <= table["delta"]).all() and (table["delta"] <= table["ci_high"]).all()
    assert table["support"].tolist() == [int((y == label).sum()) for label in labels]
