"""The slice cube in a real DuckDB file: counts worked out by hand on a tiny store filled through the import
path, the demo's noisy slice found, and worlds without any slice effect that stay quiet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import consensus
from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.monitoring import slices as analysis
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import detection as detection_queries
from analytics.store import slices as q
from tests.builders import add_events, add_items, write_raw

# i4's annotator a re-labels it later (cat -> dog): only the latest counts. Overall ratings: cat 6, dog 7,
# so i3's 1–1 tie goes to dog.
EVENTS = """item_id,annotator_id,label,labeled_at
i1,a,cat,2024-01-01
i1,b,cat,2024-01-02
i1,c,dog,2024-01-03
i2,a,dog,2024-01-01
i2,b,dog,2024-01-02
i3,a,cat,2024-01-04
i3,b,dog,2024-01-05
i4,a,cat,2024-01-04
i4,b,cat,2024-01-05
i4,c,cat,2024-01-06
i4,a,dog,2024-02-01
i5,a,cat,2024-01-07
i6,a,dog,2024-01-08
i6,b,dog,2024-01-09
"""
# i4 has no region, i6 no item row (no attributes at all).
ITEMS = """item_id,source,region
i1,fax,north
i2,fax,south
i3,scanner,north
i4,scanner,
i5,mobile,north
"""
# i2 has two gold labels (either counts as right); i3 and i4 disagree with their majority.
GOLD = """item_id,label,source
i1,cat,honeypot
i2,dog,eval
i2,cat,honeypot
i3,cat,eval
i4,dog,eval
i6,dog,eval
"""
COLUMNS = ["region", "source", "label", *q.COUNT_COLUMNS]
# region, source, label | items, ratings, rated_items, disputed, gold_items, gold_errors, scored, flagged
EXPECTED = [
    [None, None, "dog", 1, 2, 1, 0, 1, 0, 0, 0],  # i6
    [None, "scanner", "cat", 1, 3, 1, 1, 1, 1, 1, 0],  # i4: a's latest is dog, so 2 cat / 1 dog
    ["north", "fax", "cat", 1, 3, 1, 1, 1, 0, 1, 1],  # i1
    ["north", "mobile", "cat", 1, 1, 0, 0, 0, 0, 0, 0],  # i5: one rating
    ["north", "scanner", "dog", 1, 2, 1, 1, 1, 1, 1, 1],  # i3: tie -> dog, gold cat
    ["south", "fax", "dog", 1, 2, 1, 0, 1, 0, 1, 0],  # i2
]


@pytest.fixture
def store(tmp_path):
    for name, text in (("items", ITEMS), ("events", EVENTS), ("gold", GOLD)):
        (tmp_path / f"{name}.csv").write_text(text)
    with Store(tmp_path / "lw.duckdb") as s:
        ingest.ingest(s, tmp_path / "items.csv", kind="items")
        ingest.ingest(s, tmp_path / "events.csv")
        ingest.ingest(s, tmp_path / "gold.csv", kind="gold")
        with s.transaction() as cur:
            write_raw(cur, "detection_runs", pd.DataFrame({
                "run_id": ["r1", "r0"], "created_at": pd.to_datetime(["2024-03-01", "2024-02-01"]),
                "created_by": "t", "params": "{}",
            }))
            write_raw(cur, "suspects", pd.DataFrame({
                "run_id": ["r1"] * 4 + ["r0"] * 2, "item_id": ["i1", "i3", "i2", "i4", "i5", "i6"],
                "score": [0.9, 0.8, 0.1, 0.0, 0.9, 0.9], "rank": [1, 2, 3, 4, 1, 2],
                "flagged": [True, True, False, False, True, True],
            }))
        yield s


def _rows(cube: pd.DataFrame) -> list[list]:
    frame = cube.reset_index()
    frame = frame.astype(object).where(frame.notna(), None)
    return frame[[c for c in COLUMNS if c in frame.columns]].values.tolist()


def test_the_cube_counts_every_item_once_by_its_attribute_values_and_majority(store):
    cube = q.slice_cube(store, run_id="r1")
    assert list(cube.index.names) == ["region", "source"]
    assert list(cube.columns) == ["label", *q.COUNT_COLUMNS]
    assert all(cube[c].dtype == np.int64 for c in q.COUNT_COLUMNS)
    assert _rows(cube) == EXPECTED


def test_classes_beyond_the_most_rated_are_pooled_and_nothing_else_changes(store):
    cube = q.slice_cube(store, run_id="r1", max_classes=1)
    # dog (7 ratings) is kept; cat (6) is pooled as None. The counts, gold errors included, are those of
    # the real majority labels.
    pooled = [[*row[:2], None if row[2] == "cat" else row[2], *row[3:]] for row in EXPECTED]
    assert _rows(cube) == pooled
    assert cube.attrs == {"classes": 2, "max_classes": 1}


def test_a_cube_of_thousands_of_classes_stays_small(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        items = np.arange(6000)
        add_items(store, pd.DataFrame({
            "item_id": [f"i{n}" for n in items], "dataset": "d",
            "source": np.array(["fax", "scan", "web"])[items % 3],
        }))
        # 3 ratings per item over 3,000 classes, the first one usually agreed on
        i = np.arange(18000)
        add_events(store, pd.DataFrame({
            "item_id": [f"i{n}" for n in i // 3], "annotator_id": [f"a{n}" for n in i % 3],
            "label": [f"c{n}" for n in np.where(i % 3 == 2, (i * 7919) % 3000, (i // 3) % 3000)],
            "labeled_at": pd.Timestamp("2024-01-01"),
        }))
        cube = q.slice_cube(store)
        everything = q.slice_cube(store, max_classes=10_000)
    assert cube.attrs["classes"] == 3000 and len(everything) >= 3000
    assert len(cube) <= 4 * 21  # (3 sources + missing) × (20 classes + the pool)
    assert cube["label"].isna().any()
    by_source = cube.groupby(level="source")[list(q.COUNT_COLUMNS)].sum()
    assert by_source.equals(everything.groupby(level="source")[list(q.COUNT_COLUMNS)].sum())


def test_without_a_run_there_are_no_suspects_and_another_run_counts_its_own(store):
    assert q.slice_cube(store)[["scored", "flagged"]].to_numpy().sum() == 0
    other = q.slice_cube(store, run_id="r0")
    assert other["scored"].sum() == 2 and other["flagged"].sum() == 2
    assert [row[:2] for row in _rows(other[other["scored"] > 0])] == [[None, None], ["north", "mobile"]]


def test_the_filter_applies_to_the_events(store):
    fax = q.slice_cube(store, EventFilter(attribute="source", attribute_value="fax"), run_id="r1")
    assert _rows(fax) == [EXPECTED[2], EXPECTED[5]]
    january = q.slice_cube(store, EventFilter(end=pd.Timestamp("2024-01-31").date()), run_id="r1")
    rows = _rows(january)
    # before a's re-label i4 was unanimous cat, which its gold (dog) calls wrong; cat now leads overall
    # (7 to 6), so i3's tie goes to cat, its gold label
    assert rows[1] == [None, "scanner", "cat", 1, 3, 1, 0, 1, 1, 1, 0]
    assert rows[4] == ["north", "scanner", "cat", 1, 2, 1, 1, 1, 0, 1, 1]
    assert q.slice_cube(store, EventFilter(dataset="nope")).empty


def test_attributes_with_too_many_values_are_left_out_and_listed(store):
    cube = q.slice_cube(store, max_values=2)
    assert cube.index.name == "region" and not isinstance(cube.index, pd.MultiIndex)
    assert cube["items"].sum() == 6
    attributes = q.slice_attributes(store)
    assert attributes.values.tolist() == [["region", 2, 4], ["source", 3, 5]]
    with pytest.raises(ValueError, match="max_values"):
        q.slice_cube(store, max_values=0)


def test_a_store_without_attributes_gives_a_cube_without_levels(tmp_path):
    (tmp_path / "events.csv").write_text(EVENTS)
    with Store(tmp_path / "bare.duckdb") as s:
        ingest.ingest(s, tmp_path / "events.csv")
        cube = q.slice_cube(s)
    assert list(cube.index.names) == [None] and cube["items"].sum() == 6
    assert analysis.slice_noise_table(cube).empty


def test_the_slice_table_sums_the_cube(store):
    table = analysis.slice_noise_table(q.slice_cube(store, run_id="r1"), metric="gold_error", min_items=1)
    got = table.set_index("slice")[["items", "n", "errors", "rest_n"]].to_dict("index")
    assert got["source = scanner"] == {"items": 2, "n": 2, "errors": 2, "rest_n": 3}
    assert got["region = north"] == {"items": 3, "n": 2, "errors": 1, "rest_n": 3}
    assert "source = mobile" not in got  # no gold item: nothing measured


# --- the demo ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        run_id = detection_queries.runs(store)["run_id"].iloc[0]
        cube = q.slice_cube(store, run_id=run_id)
        ratings = agreement_queries.ratings(store)
        attributes = store.query("SELECT item_id, key, value FROM item_attributes")
        gold = store.query("SELECT item_id, label FROM gold_labels")
    return cube, ratings, attributes, gold


def test_the_demo_cube_matches_pandas_on_the_ratings(demo):
    cube, ratings, attributes, gold = demo
    per_item = ratings.groupby("item_id").agg(n=("label", "size"), labels=("label", "nunique"))
    majority = consensus.majority_vote(ratings).set_index("item_id")["label"]
    gold_sets = gold.groupby("item_id")["label"].agg(set)
    per_item["gold_error"] = [
        item in gold_sets.index and majority[item] not in gold_sets[item] for item in per_item.index
    ]
    per_item["has_gold"] = per_item.index.isin(gold_sets.index)
    source = attributes[attributes["key"] == "source"].set_index("item_id")["value"]
    per_item["source"] = source.reindex(per_item.index)
    expected = per_item.groupby("source").agg(
        items=("n", "size"), ratings=("n", "sum"), disputed=("labels", lambda s: int((s > 1).sum())),
        gold_items=("has_gold", "sum"), gold_errors=("gold_error", "sum"),
    )
    got = cube.groupby(level="source")[list(expected.columns)].sum()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_names=False, check_index_type=False)
    by_label = cube.groupby("label")["items"].sum()
    assert by_label.to_dict() == majority.value_counts().to_dict()


@pytest.mark.parametrize("metric", ["disagreement", "gold_error"])
def test_the_demo_fax_slice_is_the_noisiest_and_significant(demo, metric):
    cube = demo[0]
    table = analysis.slice_noise_table(cube, metric=metric, pairs=True)
    singles = table[table["depth"] == 1]
    first = singles.iloc[0]
    assert first["slice"] == "source = fax" and first["significant"] and first["ratio"] > 1.5
    assert not table.loc[table["attribute"] == "region", "significant"].any()  # region carries no effect
    found = analysis.discover_slices(cube, metric=metric).found
    assert found["slice"].iloc[0] == "source = fax"
    assert not found["slice"].str.contains("region").any()


def test_the_demo_suspects_concentrate_on_fax(demo):
    table = analysis.slice_noise_table(demo[0], metric="suspect")
    assert table["slice"].iloc[0] == "source = fax" and table["significant"].iloc[0]


# --- worlds without slice effects -------------------------------------------------------------------------

WORLDS, ITEMS_PER_WORLD = 50, 300


def _null_worlds(seed: int) -> tuple[str, str]:
    """Items and events of ``WORLDS`` datasets whose attributes are drawn independently of the labels."""
    rng = np.random.default_rng(seed)
    n = WORLDS * ITEMS_PER_WORLD
    item_ids = [f"w{i // ITEMS_PER_WORLD}-{i}" for i in range(n)]
    datasets = [f"w{i // ITEMS_PER_WORLD}" for i in range(n)]
    items = pd.DataFrame({
        "item_id": item_ids, "dataset": datasets,
        "source": rng.choice(["fax", "mobile", "scanner"], size=n, p=[0.2, 0.3, 0.5]),
        "region": rng.choice(["east", "north", "south", "west"], size=n),
    })
    raters = rng.integers(2, 5, size=n)
    truth = rng.integers(0, 4, size=n)
    item = np.repeat(np.arange(n), raters)
    annotator = np.concatenate([rng.choice(20, size=k, replace=False) for k in raters])
    wrong = rng.random(len(item)) < 0.2
    label = np.where(wrong, (truth[item] + rng.integers(1, 4, size=len(item))) % 4, truth[item])
    events = pd.DataFrame({
        "item_id": np.asarray(item_ids)[item], "annotator_id": [f"a{a}" for a in annotator],
        "label": [f"k{k}" for k in label], "labeled_at": "2024-01-01", "dataset": np.asarray(datasets)[item],
    })
    return items.to_csv(index=False), events.to_csv(index=False)


def test_worlds_without_a_slice_effect_rarely_flag_anything(tmp_path):
    items, events = _null_worlds(seed=7)
    (tmp_path / "items.csv").write_text(items)
    (tmp_path / "events.csv").write_text(events)
    flagged = []
    with Store(tmp_path / "null.duckdb") as store:
        ingest.ingest(store, tmp_path / "items.csv", kind="items")
        ingest.ingest(store, tmp_path / "events.csv")
        for world in range(WORLDS):
            cube = q.slice_cube(store, EventFilter(dataset=f"w{world}"))
            assert cube["items"].sum() == ITEMS_PER_WORLD
            table = analysis.slice_noise_table(cube, pairs=True, min_items=20)
            flagged.append(bool(table["significant"].any()))
    # Under the complete null every discovery is false, so BH bounds P(any) by alpha = 0.05; with 50
    # worlds, 6 or more would happen with probability 0.04 if the bound held with equality.
    assert sum(flagged) <= 5, flagged
