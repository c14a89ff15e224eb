"""Agreement reads on a small hand-made store whose every number can be worked out by hand."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.agreement import estimates as reliability
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import agreement as q
from tests.builders import EVENT_COLUMNS, StoreBuilder, add_events

# i1: a=x, b=x, c=y            i2: a=x, b=y then b re-labels x (b's rating: x)
# i3: a=y, c=y (c in v2)       i4: a=x only
EVENTS = [
    (1, "i1", "a", "x", "2024-01-01", "v1"), (2, "i1", "b", "x", "2024-01-02", "v1"),
    (3, "i1", "c", "y", "2024-01-02", "v1"), (4, "i2", "a", "x", "2024-01-03", "v1"),
    (5, "i2", "b", "y", "2024-01-03", "v1"), (6, "i2", "b", "x", "2024-02-20", "v2"),
    (7, "i3", "a", "y", "2024-02-03", "v2"), (8, "i3", "c", "y", "2024-02-04", "v2"),
    (9, "i4", "a", "x", "2024-02-05", "v2"),
]

COHORTS = {"a": "expert", "b": "crowd", "c": "crowd"}


@pytest.fixture
def store(tmp_path):
    builder = StoreBuilder(tmp_path / "lw.duckdb")
    builder.events(pd.DataFrame(EVENTS, columns=[*EVENT_COLUMNS, "guideline_version"]), cohorts=COHORTS)
    builder.gold(pd.DataFrame({"item_id": ["i1", "i3"], "label": "x", "source": "honeypot"}))
    with builder.build() as store:
        yield store


def _counts(frame):
    return {(row.item_key, row.label): row.n for row in frame.itertuples()}


def test_label_counts_use_each_annotators_latest_label(store):
    counts = q.label_counts(store)
    keys = dict(store.query("SELECT item_id, hash(item_id) AS k FROM (VALUES ('i1'), ('i2'), ('i3'), ('i4')) "
                            "t(item_id)").itertuples(index=False, name=None))
    assert _counts(counts) == {
        (keys["i1"], "x"): 2, (keys["i1"], "y"): 1, (keys["i2"], "x"): 2,
        (keys["i3"], "y"): 2, (keys["i4"], "x"): 1,
    }


def test_label_counts_split_by_group(store):
    by_version = q.label_counts(store, by="guideline_version")
    # b's rating of i2 is its latest event (v2); a's is v1: i2 splits across versions
    assert by_version.groupby("grp")["n"].sum().to_dict() == {"v1": 4, "v2": 4}
    by_month = q.label_counts(store, by="month")
    assert by_month.groupby("grp")["n"].sum().tolist() == [4, 4]
    with pytest.raises(ValueError, match="unknown grouping 'x; DROP'"):
        q.label_counts(store, by="x; DROP")


def test_label_counts_travel_as_codes_of_the_stores_labels(store):
    add_events(store, [{"item_id": "i5", "annotator_id": "a", "label": "z", "labeled_at": "2024-03-01"}])
    counts = q.label_counts(store, EventFilter(end=dt.date(2024, 2, 28)))  # every event but z's
    assert isinstance(counts["label"].dtype, pd.CategoricalDtype)
    assert list(counts["label"].cat.categories) == ["x", "y", "z"]
    assert set(counts["label"]) == {"x", "y"}
    # A category no rating uses counts for nothing: AC1's number of categories is the labels seen.
    plain = counts.assign(label=counts["label"].astype(str))
    assert reliability.label_patterns(counts).labels.tolist() == ["x", "y"]
    for metric in (reliability.gwet_ac1_from_counts, reliability.krippendorff_alpha_from_counts):
        options = {"level": "nominal"} if metric is reliability.krippendorff_alpha_from_counts else {}
        value = metric(counts, **options)
        assert value == metric(plain, **options) and not pd.isna(value)


def test_annotator_stats_by_hand(store):
    stats = q.annotator_stats(store).set_index("annotator_id")
    a, b, c = stats.loc["a"], stats.loc["b"], stats.loc["c"]
    assert (a.events, a["items"], a.shared_items) == (4, 4, 3)
    # a: i1 x (1 of 2 others agree), i2 x (1 of 1), i3 y (1 of 1) -> 3 of 4
    assert (a.agree_pairs, a.other_pairs) == (3, 4)
    # LOO majority: i1 others {x, y} tie -> excluded; i2 others {x} -> agree; i3 {y} -> agree
    assert (a.loo_items, a.loo_agree) == (2, 2)
    assert (c.agree_pairs, c.other_pairs, c.loo_items, c.loo_agree) == (1, 3, 2, 1)
    # gold: a rated i1 (x = gold) and i3 (y, gold x); c rated i1 (y) and i3 (y)
    assert (a.gold_n, a.gold_correct) == (2, 1)
    assert (c.gold_n, c.gold_correct) == (2, 0)
    # b labeled i2 twice: y then x -> one re-test, not the same label
    assert (b.events, b.retest_n, b.retest_same) == (3, 1, 0)
    assert (a.retest_n, a.cohort, b.cohort) == (0, "expert", "crowd")


def test_annotator_stats_follow_the_filter(store):
    stats = q.annotator_stats(store, EventFilter(cohorts=("crowd",))).set_index("annotator_id")
    assert sorted(stats.index) == ["b", "c"]
    # without a, b and c share only i1 (b=x, c=y)
    assert stats.loc["b", "agree_pairs"] == 0 and stats.loc["b", "other_pairs"] == 1


def test_annotator_ratings_show_the_other_votes(store):
    rows = q.annotator_ratings(store, "c")
    assert rows["item_id"].tolist() == ["i3", "i1"]
    assert rows["raters"].tolist() == [2, 3] and rows["agreeing"].tolist() == [2, 1]
    assert rows["labeled_at"].iloc[0] == dt.datetime(2024, 2, 4)


def test_ratings_one_row_per_item_and_annotator(store):
    frame = q.ratings(store)
    assert len(frame) == 8
    assert frame.set_index(["item_id", "annotator_id"]).loc[("i2", "b"), "label"] == "x"


def test_annotator_stats_split_by_half_and_month(store):
    halves = q.annotator_stats(store, by="half")
    a = halves[halves["annotator_id"] == "a"].set_index("grp")
    # a's ratings: Jan 1, Jan 3 | Feb 3, Feb 5 (the lower median, Jan 3, ends the first half)
    assert a["items"].to_dict() == {0: 2, 1: 2}
    assert a["agree_pairs"].to_dict() == {0: 2, 1: 1} and a["other_pairs"].to_dict() == {0: 3, 1: 1}
    assert "retest_n" not in halves
    months = q.annotator_stats(store, by="month")
    assert months.groupby("annotator_id")["items"].sum().to_dict() == {"a": 4, "b": 2, "c": 2}


def test_a_sample_keeps_whole_items_and_composes_with_the_filter(tmp_path):
    with Store(tmp_path / "many.duckdb") as store:
        i = np.arange(8000)
        add_events(store, pd.DataFrame({
            "item_id": [f"item{n}" for n in i // 4], "annotator_id": [f"a{n}" for n in i % 4],
            "label": ((i * 7) % 3).astype(str),
            "labeled_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(i, unit="min"),
        }), cohorts={"a0": "expert", "a1": "expert", "a2": "crowd", "a3": "crowd"})
        full = q.label_counts(store)
        sample = q.label_counts(store, sample_modulus=4)
        crowd = q.label_counts(store, EventFilter(cohorts=("crowd",)), sample_modulus=4)
        stats = q.annotator_stats(store, sample_modulus=4)
    assert 300 < sample["item_key"].nunique() < 700  # about 2,000 / 4 items
    kept = full[full["item_key"].isin(sample["item_key"])].reset_index(drop=True)
    assert kept.equals(sample.reset_index(drop=True))  # every rating of a sampled item
    assert set(crowd["item_key"]) <= set(sample["item_key"]) and crowd["n"].sum() == sample["n"].sum() / 2
    assert stats["items"].sum() == sample["n"].sum()


def test_cohort_order_follows_the_imports_and_appends_new_cohorts(tmp_path, demo_store_path):
    """The demo's cohorts arrive in one batch (then by name); a later import appends its cohort, so the
    colours of the others never move."""
    import shutil

    from analytics.ingest import pipeline as ingest

    path = tmp_path / "copy.duckdb"
    shutil.copyfile(demo_store_path, path)
    csv = tmp_path / "inhouse.csv"
    csv.write_text("item_id,annotator_id,label,labeled_at,cohort\n"
                   "digits-0000,inhouse-1,0,2026-06-20T10:00:00,inhouse\n"
                   "digits-0001,inhouse-2,1,2026-06-20T10:05:00,inhouse\n")
    with Store(path) as store:
        assert q.cohort_order(store) == ["crowd", "expert", "vendor"]
        ingest.ingest(store, csv, kind="events")
        assert q.cohort_order(store) == ["crowd", "expert", "vendor", "inhouse"]
        # a cohort named to sort first still comes last: it came last
        csv.write_text("item_id,annotator_id,label,labeled_at,cohort\n"
                       "digits-0002,aa-1,1,2026-06-21T10:00:00,aardvark\n")
        ingest.ingest(store, csv, kind="events")
        assert q.cohort_order(store) == ["crowd", "expert", "vendor", "inhouse", "aardvark"]


def test_cohort_order_puts_unknown_last(store):
    add_events(store, [{"item_id": "i4", "annotator_id": "ghost", "label": "y", "labeled_at": "2024-02-06"}])
    assert q.cohort_order(store) == ["crowd", "expert", "unknown"]


@pytest.mark.parametrize("flt", [EventFilter(), EventFilter(cohorts=("crowd",))], ids=["all", "crowd"])
def test_the_whole_and_the_halves_from_one_query_equal_each_from_its_own(demo_store_path, flt):
    """``annotator_stats`` reads the whole and the half split in one query grouped by both sets: each
    equals, column for column and type for type, the query of that split alone, on the demo store."""
    with Store(demo_store_path, read_only=True) as store:
        for by in (None, "half"):
            alone = q._annotator_stats_query(store, flt, by, 1)
            if by == "half":
                alone = alone.drop(columns=["retest_n", "retest_same"])
            together = q.annotator_stats(store, flt, by=by)
            assert len(together) > 10
            pd.testing.assert_frame_equal(together.reset_index(drop=True), alone, check_exact=True)
