"""The demo generator is deterministic and its injected effects are measurable (the noisy slice is noisier,
the vendor cohort is worse, the guideline change moves the label mix).

Every effect is measured from the generated events against the generator's own truth, as the analytics will.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from analytics.store import Store
from analytics.store import demo as demo_store
from analytics.synthetic import demo, scale


@pytest.fixture(scope="module")
def data() -> demo.DemoData:
    return demo.generate(seed=0)


@pytest.fixture(scope="module")
def scored(data: demo.DemoData) -> pd.DataFrame:
    """Events with their true label, annotator role, slice attributes and correctness."""
    events = (
        data.events.merge(data.truth, on="item_id")
        .merge(data.annotator_truth, on="annotator_id")
        .merge(data.items[["item_id", "source", "region"]], on="item_id")
    )
    return events.assign(correct=events["label"] == events["true_label"])


def _frames(d: demo.DemoData) -> dict[str, pd.DataFrame]:
    return {f: getattr(d, f) for f in ("items", "events", "gold", "vocabulary", "guidelines", "truth",
                                        "annotator_truth")}


def test_same_seed_gives_identical_frames(data: demo.DemoData) -> None:
    again = demo.generate(seed=0)
    for name, frame in _frames(data).items():
        pd.testing.assert_frame_equal(frame, _frames(again)[name], obj=name)
    assert again.meta == data.meta


def test_different_seed_gives_different_data(data: demo.DemoData) -> None:
    other = demo.generate(seed=1)
    assert not data.events[["item_id", "annotator_id", "label"]].equals(
        other.events[["item_id", "annotator_id", "label"]]
    )
    assert other.meta["demo_seed"] == "1"
    assert len(other.items) == len(data.items) == 1797


def test_shapes_vocabulary_guidelines_and_clock(data: demo.DemoData) -> None:
    assert set(data.items["split"]) == {"train", "eval"}
    assert (data.items["split"] == "eval").sum() == round(0.2 * 1797)
    assert data.items["features"].map(len).eq(64).all()
    assert set(data.items["dataset"]) == {"digits"}
    assert list(data.vocabulary["label"]) == [str(k) for k in range(10)]
    assert set(data.events["label"]) <= set(data.vocabulary["label"])
    assert list(data.guidelines["version"]) == ["v1", "v2"]
    start, end = data.events["labeled_at"].min(), data.events["labeled_at"].max()
    assert pd.Timestamp("2026-03-01") <= start and end <= pd.Timestamp("2026-09-01")
    assert end < pd.Timestamp(dt.datetime.now(dt.UTC).replace(tzinfo=None))
    change = pd.Timestamp(data.meta["guideline_change_at"])
    expected = np.where(data.events["labeled_at"] < change, "v1", "v2")
    assert (data.events["guideline_version"].to_numpy() == expected).all()


def test_three_to_five_labels_per_item_from_distinct_annotators(data: demo.DemoData) -> None:
    first_labels = data.events[data.events["campaign_id"].isna()]
    per_item = first_labels.groupby("item_id")["annotator_id"].agg(["size", "nunique"])
    assert per_item["size"].between(3, 5).all()
    assert (per_item["size"] == per_item["nunique"]).all()
    assert data.events.groupby("item_id").size().between(3, 5).all()
    assert per_item.index.nunique() == 1797


@pytest.mark.parametrize(
    ("role", "low", "high"),
    [
        ("expert", 0.95, 1.0),
        ("crowd", 0.70, 0.90),
        ("spammer", 0.0, 0.2),  # chance is 1/K = 0.1
        ("vendor", 0.55, 0.75),
    ],
)
def test_accuracy_per_role(scored: pd.DataFrame, role: str, low: float, high: float) -> None:
    accuracy = scored.loc[scored["role"] == role, "correct"].mean()
    assert low <= accuracy <= high, f"{role}: {accuracy:.3f}"


def test_vendor_is_worse_than_crowd_and_joins_mid_period(data: demo.DemoData, scored: pd.DataFrame) -> None:
    by_role = scored.groupby("role")["correct"].mean()
    assert by_role["vendor"] < by_role["crowd"] - 0.08
    vendor_start = scored.loc[scored["cohort"] == "vendor", "labeled_at"].min()
    assert vendor_start >= pd.Timestamp(data.meta["vendor_joins_at"])


def test_crowd_errors_follow_the_confusable_pairs(scored: pd.DataFrame) -> None:
    crowd = scored[scored["role"] == "crowd"]
    crowd_errors = crowd[~crowd["correct"] & crowd["true_label"].isin(["3", "8"])]
    partner = crowd_errors["label"] == crowd_errors["true_label"].map({"3": "8", "8": "3"})
    assert partner.mean() > 0.5


def test_noisy_slice_is_about_three_times_noisier(data: demo.DemoData, scored: pd.DataFrame) -> None:
    noisy = json.loads(data.meta["noisy_slice"])
    in_slice = scored[noisy["attribute"]] == noisy["value"]
    ratio = (1 - scored.loc[in_slice, "correct"].mean()) / (1 - scored.loc[~in_slice, "correct"].mean())
    assert 2.0 <= ratio <= 4.5, ratio
    region_error = 1 - scored.groupby("region")["correct"].mean()
    assert region_error.max() / region_error.min() < 1.5


def test_guideline_change_moves_the_pair_label_mix(data: demo.DemoData) -> None:
    pair = json.loads(data.meta["guideline_pair"])
    events = data.events[data.events["label"].isin([pair["true_label"], pair["v1_label"]])]
    before = events["labeled_at"] < pd.Timestamp(data.meta["guideline_change_at"])
    share_v1_label = events["label"].eq(pair["v1_label"])
    assert share_v1_label[before].mean() - share_v1_label[~before].mean() > 0.08


def test_decaying_annotator_gets_worse(data: demo.DemoData, scored: pd.DataFrame) -> None:
    own = scored[scored["annotator_id"] == data.meta["decaying_annotator"]].sort_values("labeled_at")
    third = len(own) // 3
    assert third >= 50
    assert own["correct"].iloc[:third].mean() - own["correct"].iloc[-third:].mean() > 0.15
    assert set(own["role"]) == {"decaying"}


def test_retest_labels_come_weeks_later_from_the_same_annotator(data: demo.DemoData) -> None:
    retest = data.events[data.events["campaign_id"] == "retest"]
    assert len(retest) == int(data.meta["retest_items"]) == retest["item_id"].nunique()
    first = data.events[data.events["campaign_id"].isna()]
    pairs = retest.merge(first, on=["item_id", "annotator_id"], suffixes=("_retest", "_first"))
    assert len(pairs) == len(retest)
    gap = pairs["labeled_at_retest"] - pairs["labeled_at_first"]
    assert gap.min() >= pd.Timedelta(weeks=2) and gap.max() <= pd.Timedelta(weeks=6)


def test_gold_is_honeypots_and_eval_and_matches_truth(data: demo.DemoData) -> None:
    gold = data.gold.merge(data.truth, on="item_id").merge(data.items[["item_id", "split"]], on="item_id")
    assert (gold["label"] == gold["true_label"]).all()
    honeypots = gold[gold["source"] == "honeypot"]
    assert len(honeypots) == int(data.meta["honeypots"]) and set(honeypots["split"]) == {"train"}
    assert set(gold.loc[gold["source"] == "eval", "item_id"]) == set(
        data.items.loc[data.items["split"] == "eval", "item_id"]
    )
    assert set(honeypots["item_id"]) <= set(data.events["item_id"])


def test_annotator_truth_names_every_annotator_with_a_role(data: demo.DemoData) -> None:
    roles = data.annotator_truth.set_index("annotator_id")["role"]
    assert set(data.events["annotator_id"]) == set(roles.index)
    expected = {"crowd": 40, "vendor": 12, "expert": 4, "spammer": 3, "decaying": 1}
    assert roles.value_counts().to_dict() == expected
    cohorts = data.events.drop_duplicates("annotator_id").set_index("annotator_id")["cohort"]
    assert set(cohorts[roles[roles == "spammer"].index]) == {"crowd"}


def test_write_demo_truth_round_trips(tmp_path, data: demo.DemoData) -> None:
    with Store(tmp_path / "truth.duckdb") as store:
        demo_store.write_demo_truth(store, data.truth, data.annotator_truth, data.meta)
        assert demo_store.demo_meta(store) == data.meta
        pd.testing.assert_frame_equal(
            demo_store.demo_truth(store),
            data.truth.sort_values("item_id", ignore_index=True),
            check_dtype=False,
        )
        assert len(demo_store.demo_annotator_truth(store)) == 60


def test_scale_events_are_deterministic_chunked_and_consistent_with_items(tmp_path) -> None:
    paths = scale.write_scale_events(tmp_path / "a", 25_000, seed=3, n_annotators=200, chunk_size=10_000)
    again = scale.write_scale_events(tmp_path / "b", 25_000, seed=3, n_annotators=200, chunk_size=10_000)
    items = scale.write_scale_items(tmp_path / "a", 25_000, seed=3, chunk_size=10_000)
    assert [p.name for p in paths] == ["events-00000.parquet", "events-00001.parquet", "events-00002.parquet"]
    events = pd.concat(pq.read_table(p).to_pandas() for p in paths)
    assert len(events) == 25_000
    assert events.equals(pd.concat(pq.read_table(p).to_pandas() for p in again))
    per_item = events.groupby("item_id")["annotator_id"].agg(["size", "nunique"])
    assert (per_item["size"] == per_item["nunique"]).all() and per_item["size"].max() <= 5
    assert (per_item["size"] >= 2).mean() > 0.99
    item_frame = pd.concat(pq.read_table(p).to_pandas() for p in items)
    assert set(events["item_id"]) == set(item_frame["item_id"])
    assert item_frame["features"].map(len).eq(16).all()
    assert set(events["cohort"]) == {"expert", "crowd", "vendor"}
    assert set(events["guideline_version"]) == {"v1", "v2"}
    csv = scale.write_scale_events(tmp_path / "c", 1_000, seed=3, fmt="csv")
    assert pd.read_csv(csv[0]).shape == (1_000, 8)
