"""The rating rule and the lake layout's corners, on a hand-written lake small enough to count by hand.

Events of three annotators on three items (times are 2026 dates):

- a labels i1 ``x`` (01-01 10:00) then ``y`` (01-02 10:00): rating ``y``, one re-test, not the same label;
- b labels i1 ``y`` twice at the same time (ids 3, 4): rating ``y``, one re-test, the same label;
- c labels i1 ``x`` without a time: rating ``x``, the time unknown;
- a labels i2 ``x`` without a time, then ``z`` (01-03): a timed label beats an untimed one, rating ``z``;
- b labels i2 ``z`` (01-03); c's event on i2 has no label: no rating;
- c labels i3 ``x`` then ``y`` at the same time, in a file without ``event_id``: the tie goes to the larger
  label, ``y``, on both engines.

The second file also lacks ``confidence`` and has a column no relation has (``campaign_note``); there is no
``annotators/``, ``gold/`` or ``item_attributes/`` folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.core.ratings import label_counts
from analytics.engine import aggregations as agg
from analytics.engine import statistics
from analytics.engine.engines import DuckDBEngine, SparkEngine

T = pd.Timestamp
FIRST = pd.DataFrame({
    "event_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    "item_id": ["i1", "i1", "i1", "i1", "i1", "i2", "i2", "i2", "i2"],
    "annotator_id": ["a", "a", "b", "b", "c", "a", "a", "b", "c"],
    "label": ["x", "y", "y", "y", "x", "x", "z", "z", None],
    "labeled_at": [T("2026-01-01 10:00"), T("2026-01-02 10:00"), T("2026-01-01 10:00"), T("2026-01-01 10:00"),
                   None, None, T("2026-01-03"), T("2026-01-03"), T("2026-01-03")],
    "confidence": [0.9] * 9,
})
SECOND = pd.DataFrame({
    "item_id": ["i3", "i3"], "annotator_id": ["c", "c"], "label": ["x", "y"],
    "labeled_at": [T("2026-01-05"), T("2026-01-05")], "campaign_note": ["n", "n"],
})


@pytest.fixture(scope="module")
def tiny_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lake = tmp_path_factory.mktemp("tiny") / "lake"
    for frame, month in ((FIRST, "2026-01"), (SECOND, "2026-02")):
        folder = lake / "events" / f"month={month}"
        folder.mkdir(parents=True)
        frame.astype({"labeled_at": "datetime64[us]"}).to_parquet(folder / "part-0.parquet", index=False)
    return lake


@pytest.fixture(params=["duckdb", "spark"])
def engine(request, tiny_lake):
    if request.param == "spark":
        request.getfixturevalue("spark")  # the session's Spark context, started once
        built = SparkEngine(tiny_lake)
    else:
        built = DuckDBEngine(tiny_lake)
    yield built
    built.close()


def test_label_counts_follow_the_rating_rule(engine):
    counts = engine.run(agg.label_counts())
    assert counts.to_dict("list") == {"item_id": ["i1", "i1", "i2", "i3"], "label": ["x", "y", "z", "y"],
                                      "n": [1, 2, 2, 1]}
    # latest_ratings' rule on the same events in memory (rows in event order, the id-less tie last)
    in_memory = label_counts(pd.concat([FIRST, SECOND], ignore_index=True))
    assert in_memory.to_dict("list") == counts.to_dict("list")


def test_annotator_tallies_count_retests_and_leave_one_out_majorities(engine):
    tallies = engine.run(agg.annotator_tallies()).set_index("annotator_id")
    expected = pd.DataFrame({
        "cohort": ["unknown"] * 3, "events": [4, 3, 3], "items": [2, 2, 2],
        "first_at": [T("2026-01-02 10:00"), T("2026-01-01 10:00"), T("2026-01-05")],
        "last_at": [T("2026-01-03"), T("2026-01-03"), T("2026-01-05")],
        "shared_items": [2, 2, 1], "agree_pairs": [2, 2, 0], "other_pairs": [3, 3, 2],
        "loo_items": [1, 1, 1], "loo_agree": [1, 1, 0], "gold_n": [0, 0, 0], "gold_correct": [0, 0, 0],
        "retest_n": [2, 1, 1], "retest_same": [0, 1, 0],
    }, index=pd.Index(["a", "b", "c"], name="annotator_id"))
    expected = expected.astype(tallies.dtypes.to_dict())
    pd.testing.assert_frame_equal(tallies, expected)


def test_window_counts_leave_out_ratings_without_a_time(engine):
    windows = engine.run(agg.window_label_counts("week"))
    assert windows.to_dict("list") == {"window": [T("2025-12-29"), T("2025-12-29"), T("2026-01-05")],
                                       "label": ["y", "z", "y"], "n": [2, 2, 1]}


def test_a_lake_without_attributes_has_a_cube_of_one_row(engine):
    cube = statistics.slice_cube(engine)
    assert cube.to_dict("list") == {"items": [3], "ratings": [6], "rated_items": [2], "disputed": [1]}


def test_a_lake_without_events_is_refused(tmp_path):
    (tmp_path / "events").mkdir()
    with pytest.raises(FileNotFoundError, match="no events/ folder with Parquet files"):
        DuckDBEngine(tmp_path)


def test_events_without_a_required_column_are_refused(tmp_path):
    (tmp_path / "events").mkdir()
    FIRST.drop(columns="labeled_at").to_parquet(tmp_path / "events" / "part-0.parquet", index=False)
    with pytest.raises(ValueError, match="lack the column.s. labeled_at"):
        DuckDBEngine(tmp_path)
