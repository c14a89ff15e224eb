"""Label rules checked over a real store and over staged imports, against hits worked out by hand.

The store is built through ``analytics.ingest.pipeline`` from the small files below. Its vocabulary is an
animal / vehicle hierarchy (``animal`` and ``vehicle`` are top-level labels); item ``i5`` comes with the
events only, so it has no ``source``; ``cta`` is a typo outside the vocabulary (the events are imported
without the vocabulary check so that it lands).
"""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.ingest.rules import load_rules
from analytics.store import Store
from analytics.store.rules import HIT_COLUMNS, STAGED_HIT_COLUMNS, rule_hit_counts, rule_hits
from analytics.synthetic import demo

ROOT = pathlib.Path(__file__).resolve().parents[2]

VOCABULARY = "label,parent\ncat,animal\ndog,animal\ncar,vehicle\nbus,vehicle\nanimal,\nvehicle,\n"
ITEMS = "item_id,source\ni1,scanner\ni2,fax\ni3,fax\ni4,mobile\n"
EVENTS = (
    "item_id,annotator_id,label,labeled_at,guideline_version,cohort\n"
    "i1,a1,cat,2024-01-01,v1,expert\n"  # row 1
    "i1,a2,dog,2024-01-02,v1,crowd\n"  # row 2
    "i2,a1,cat,2024-01-03,v1,expert\n"  # row 3
    "i2,a2,car,2024-01-04,v2,crowd\n"  # row 4
    "i2,a3,car,2024-01-05,v2,crowd\n"  # row 5
    "i3,a1,bus,2024-02-01,v2,expert\n"  # row 6
    "i3,a2,vehicle,2024-02-02,v2,crowd\n"  # row 7
    "i4,a1,cta,2024-02-03,v1,expert\n"  # row 8
    "i5,a1,dog,2024-02-04,v2,expert\n"  # row 9
    "i5,a2,dog,2024-02-05,v1,crowd\n"  # row 10
)
RULES = """
[[rule]]
id = "R1"
kind = "vocabulary"
description = "Labels of the store's vocabulary."
from_store = true

[[rule]]
id = "R1b"
kind = "vocabulary"
description = "Pets only."
labels = ["cat", "dog"]

[[rule]]
id = "R2"
kind = "hierarchy"
description = "Animal or vehicle, not both."
from_store = true

[[rule]]
id = "R2b"
kind = "hierarchy"
description = "Pet or road, not both."
parents = { cat = "pet", dog = "pet", car = "road", bus = "road" }

[[rule]]
id = "R3"
kind = "impossible"
description = "A cat is no car."
labels = ["cat", "car"]

[[rule]]
id = "R4"
kind = "contextual"
description = "Faxes show no cars."
label = "car"
attribute = "source"
values = ["fax"]

[[rule]]
id = "R5"
kind = "contextual"
description = "Pets come from scanners and phones."
labels = ["dog", "cat"]
attribute = "source"
values = ["scanner", "mobile"]
allowed = true

[[rule]]
id = "R6"
kind = "contextual"
description = "Guideline v1 had no dogs."
label = "dog"
field = "guideline_version"
values = ["v1"]
"""


@pytest.fixture
def rules():
    return load_rules(RULES, name="rules.toml")


def write(tmp_path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def empty_store(tmp_path):
    """The vocabulary and the items, no events yet."""
    with Store(tmp_path / "store.duckdb") as store:
        ingest.ingest(store, write(tmp_path, "vocabulary.csv", VOCABULARY), kind="vocabulary")
        ingest.ingest(store, write(tmp_path, "items.csv", ITEMS), kind="items")
        yield store


@pytest.fixture
def store(empty_store, tmp_path):
    report = ingest.ingest(empty_store, write(tmp_path, "events.csv", EVENTS), vocabulary_check=False)
    assert report.rows_accepted == 10
    return empty_store


def rows(frame, columns) -> list[tuple]:
    return list(frame[columns].itertuples(index=False, name=None))


def hits_of(store, rules, ids, flt=None):
    chosen = [rule for rule in rules if rule.id in ids]
    return rows(rule_hits(store, chosen, flt), list(HIT_COLUMNS))


def test_vocabulary_rules_flag_the_events_outside_the_list(store, rules):
    assert hits_of(store, rules, {"R1", "R1b"}) == [
        # The store's vocabulary lacks only the typo of row 8.
        ("i4", "R1", "vocabulary", 1, ["cta"], "R1: label 'cta' is not in the vocabulary (1 event)"),
        # Pets only: i2's two cars (rows 4, 5), i3's bus and vehicle (rows 6, 7), i4's typo; i2's cat is fine.
        ("i2", "R1b", "vocabulary", 2, ["car"], "R1b: label 'car' is not in the vocabulary (2 events)"),
        (
            "i3", "R1b", "vocabulary", 2, ["bus", "vehicle"],
            "R1b: labels 'bus', 'vehicle' are not in the vocabulary (2 events)",
        ),
        ("i4", "R1b", "vocabulary", 1, ["cta"], "R1b: label 'cta' is not in the vocabulary (1 event)"),
    ]


def test_hierarchy_rules_flag_items_whose_labels_have_different_parents(store, rules):
    assert hits_of(store, rules, {"R2", "R2b"}) == [
        # Store parents: i2 = cat (animal), car, car (vehicle). i1's cat and dog share animal; i3's bus is
        # under vehicle and vehicle is top-level, its own group, so i3 is consistent.
        (
            "i2", "R2", "hierarchy", 3, ["car", "cat"],
            "R2: labels 'car', 'cat' fall under different parents: animal, vehicle (3 events)",
        ),
        (
            "i2", "R2b", "hierarchy", 3, ["car", "cat"],
            "R2b: labels 'car', 'cat' fall under different parents: pet, road (3 events)",
        ),
        # Inline parents: vehicle is not in the table, so it is its own group, apart from bus (road).
        (
            "i3", "R2b", "hierarchy", 2, ["bus", "vehicle"],
            "R2b: labels 'bus', 'vehicle' fall under different parents: road, vehicle (2 events)",
        ),
    ]


def test_impossible_rules_flag_items_given_two_of_the_labels(store, rules):
    # i2: cat (row 3) and car twice (rows 4, 5); i1 has a cat but no car.
    assert hits_of(store, rules, {"R3"}) == [
        (
            "i2", "R3", "impossible", 3, ["car", "cat"],
            "R3: labels 'car', 'cat' must not be given to the same item (3 events)",
        )
    ]


def test_contextual_rules_flag_labels_given_in_the_wrong_context(store, rules):
    assert hits_of(store, rules, {"R4", "R5", "R6"}) == [
        # i2 is a fax with two cars.
        ("i2", "R4", "contextual", 2, ["car"], "R4: label 'car' is not allowed when source = fax (2 events)"),
        # Pets only on scanner or mobile items: i2's cat is on a fax, i5 has no source at all; i1 (scanner)
        # is fine.
        (
            "i2", "R5", "contextual", 1, ["cat"],
            "R5: label 'cat' is only allowed when source is scanner or mobile; here source = fax (1 event)",
        ),
        (
            "i5", "R5", "contextual", 2, ["dog"],
            "R5: label 'dog' is only allowed when source is scanner or mobile; here source is missing "
            "(2 events)",
        ),
        # Dogs under guideline v1: row 2 (i1) and row 10 (i5); row 9's dog is under v2.
        (
            "i1", "R6", "contextual", 1, ["dog"],
            "R6: label 'dog' is not allowed when guideline_version = v1 (1 event)",
        ),
        (
            "i5", "R6", "contextual", 1, ["dog"],
            "R6: label 'dog' is not allowed when guideline_version = v1 (1 event)",
        ),
    ]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        pytest.param(
            None,
            [
                ("i4", "R1", 1), ("i2", "R1b", 2), ("i3", "R1b", 2), ("i4", "R1b", 1), ("i2", "R2", 3),
                ("i2", "R2b", 3), ("i3", "R2b", 2), ("i2", "R3", 3), ("i2", "R4", 2), ("i2", "R5", 1),
                ("i5", "R5", 2), ("i1", "R6", 1), ("i5", "R6", 1),
            ],
            id="no filter",
        ),
        pytest.param(
            # The crowd gave rows 2, 4, 5, 7 and 10: i2 keeps only its cars (no cat, so no hierarchy or
            # impossible hit), i3 only its vehicle, i5 one dog (under v1).
            EventFilter(cohorts=("crowd",)),
            [
                ("i2", "R1b", 2), ("i3", "R1b", 1), ("i2", "R4", 2), ("i5", "R5", 1), ("i1", "R6", 1),
                ("i5", "R6", 1),
            ],
            id="cohort",
        ),
        pytest.param(
            # The fax items i2 and i3.
            EventFilter(attribute="source", attribute_value="fax"),
            [
                ("i2", "R1b", 2), ("i3", "R1b", 2), ("i2", "R2", 3), ("i2", "R2b", 3), ("i3", "R2b", 2),
                ("i2", "R3", 3), ("i2", "R4", 2), ("i2", "R5", 1),
            ],
            id="slice",
        ),
        pytest.param(
            # Rows 6 to 10 (i3, i4, i5).
            EventFilter(start=dt.date(2024, 2, 1)),
            [
                ("i4", "R1", 1), ("i3", "R1b", 2), ("i4", "R1b", 1), ("i3", "R2b", 2), ("i5", "R5", 2),
                ("i5", "R6", 1),
            ],
            id="dates",
        ),
    ],
)
def test_the_filter_narrows_the_events_rules_see(store, rules, flt, expected):
    hits = rule_hits(store, rules, flt)
    assert list(hits.columns) == list(HIT_COLUMNS)
    assert rows(hits, ["item_id", "rule_id", "events"]) == expected


def test_counts_per_rule_match_the_hits_and_limit_keeps_the_first(store, rules):
    counts = rule_hit_counts(store, rules)
    assert counts.values.tolist() == [
        ["R1", "vocabulary", 1, 1],
        ["R1b", "vocabulary", 3, 5],
        ["R2", "hierarchy", 1, 3],
        ["R2b", "hierarchy", 2, 5],
        ["R3", "impossible", 1, 3],
        ["R4", "contextual", 1, 2],
        ["R5", "contextual", 2, 3],
        ["R6", "contextual", 2, 2],
    ]
    # Rules without hits are listed with zeros.
    crowd = rule_hit_counts(store, rules, EventFilter(cohorts=("crowd",)))
    assert crowd.set_index("rule_id")["items"].to_dict() == {
        "R1": 0, "R1b": 2, "R2": 0, "R2b": 0, "R3": 0, "R4": 1, "R5": 1, "R6": 2
    }
    assert rows(rule_hits(store, rules, limit=2), ["item_id", "rule_id"]) == [("i4", "R1"), ("i2", "R1b")]
    assert rule_hits(store, []).columns.tolist() == list(HIT_COLUMNS)
    assert rule_hit_counts(store, []).empty


def test_store_rules_without_a_store_vocabulary(tmp_path, rules):
    with Store(tmp_path / "bare.duckdb") as store:
        ingest.ingest(store, write(tmp_path, "events.csv", EVENTS))
        # No vocabulary: nothing is outside it, and every label is a top-level group of its own.
        assert hits_of(store, rules, {"R1"}) == []
        assert [hit[:4] for hit in hits_of(store, rules, {"R2"})] == [
            ("i1", "R2", "hierarchy", 2), ("i2", "R2", "hierarchy", 3), ("i3", "R2", "hierarchy", 2)
        ]


# --- at import -------------------------------------------------------------------------------------------

#: (line, rule) of every warning of EVENTS, in file order: what the hits above flag, row by row (the header is
#: line 1, so row N of the comments above is line N + 1).
EVENT_WARNINGS = [
    (3, "R6"),
    (4, "R2"), (4, "R2b"), (4, "R3"), (4, "R5"),
    (5, "R1b"), (5, "R2"), (5, "R2b"), (5, "R3"), (5, "R4"),
    (6, "R1b"), (6, "R2"), (6, "R2b"), (6, "R3"), (6, "R4"),
    (7, "R1b"), (7, "R2b"),
    (8, "R1b"), (8, "R2b"),
    (9, "R1"), (9, "R1b"),
    (10, "R5"),
    (11, "R5"), (11, "R6"),
]


def test_an_import_with_rules_reports_warnings_and_keeps_every_row(empty_store, rules, tmp_path):
    path = write(tmp_path, "events.csv", EVENTS)
    report = ingest.ingest(empty_store, path, name="events.csv", rules=rules, vocabulary_check=False)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (10, 10, 0)
    assert empty_store.scalar("SELECT count(*) FROM label_events") == 10
    assert report.rules_source == "rules.toml"
    assert report.rule_hits_by_rule == {
        "R1": 1, "R1b": 5, "R2": 3, "R2b": 5, "R3": 3, "R4": 2, "R5": 3, "R6": 2
    }
    assert list(report.rule_hits.columns) == list(STAGED_HIT_COLUMNS)
    assert rows(report.rule_hits, ["row_number", "rule_id"]) == EVENT_WARNINGS
    # A row's message describes its item: row 4 (line 5) is one of i2's three events under two parents.
    by_row = report.rule_hits.set_index(["row_number", "rule_id"])["message"]
    assert by_row[(5, "R2")] == (
        "R2: labels 'car', 'cat' fall under different parents: animal, vehicle (3 events)"
    )
    assert report.summary() == (
        "events.csv (events): 10 rows read, 10 accepted, 0 rejected. Rule warnings (rules.toml; the rows are "
        "imported all the same): R1: 1 row, R1b: 5 rows, R2: 3 rows, R2b: 5 rows, R3: 3 rows, R4: 2 rows, "
        "R5: 3 rows, R6: 2 rows. First warnings: "
        "events.csv, line 3: R6: label 'dog' is not allowed when guideline_version = v1 (1 event); "
        "events.csv, line 4: R2: labels 'car', 'cat' fall under different parents: animal, vehicle "
        "(3 events); "
        "events.csv, line 4: R2b: labels 'car', 'cat' fall under different parents: pet, road (3 events). "
        f"New items go to dataset 'default' unless their rows name one. Imported as batch {report.batch_id}."
    )


def test_an_import_report_keeps_the_first_warnings_and_counts_them_all(
    empty_store, rules, tmp_path, monkeypatch
):
    monkeypatch.setattr(ingest, "REPORT_REJECTS", 3)
    with ingest.prepare(
        empty_store, write(tmp_path, "events.csv", EVENTS), rules=rules, vocabulary_check=False
    ) as prepared:
        report = prepared.report
    assert rows(report.rule_hits, ["row_number", "rule_id"]) == EVENT_WARNINGS[:3]
    assert sum(report.rule_hits_by_rule.values()) == len(EVENT_WARNINGS)


def test_imported_rows_are_checked_with_the_stored_events_of_their_items(store, rules, tmp_path):
    more = (
        "item_id,annotator_id,label,labeled_at,guideline_version,cohort\n"
        "i1,a3,car,2024-03-01,v2,crowd\n"  # i1 held cat and dog: now a cat and a car, animal and vehicle
        "i6,a1,cat,2024-03-02,v1,expert\n"  # a new item: no source
    )
    report = ingest.ingest(store, write(tmp_path, "more.csv", more), name="more.csv", rules=rules)
    assert report.rows_accepted == 2
    hits = report.rule_hits
    assert rows(hits, ["row_number", "item_id", "rule_id", "events"]) == [
        # Event rules judge the file's own events only; item rules count the stored events too.
        (2, "i1", "R1b", 1),
        (2, "i1", "R2", 3),
        (2, "i1", "R2b", 3),
        (2, "i1", "R3", 2),  # the stored cat and the new car
        (3, "i6", "R5", 1),
    ]
    assert hits.loc[3, "message"] == "R3: labels 'car', 'cat' must not be given to the same item (2 events)"
    assert hits.loc[4, "message"] == (
        "R5: label 'cat' is only allowed when source is scanner or mobile; here source is missing (1 event)"
    )
    assert report.rule_hits_by_rule == {"R1b": 1, "R2": 1, "R2b": 1, "R3": 1, "R5": 1}


def test_the_check_is_rerun_when_the_store_changed_before_commit(store, rules, tmp_path):
    header = "item_id,annotator_id,label,labeled_at\n"
    prepared = ingest.prepare(store, write(tmp_path, "x.csv", header + "i7,a1,car,2024-03-03\n"), rules=rules)
    assert prepared.report.rule_hits_by_rule == {"R1b": 1}
    ingest.ingest(store, write(tmp_path, "y.csv", header + "i7,a2,cat,2024-03-04\n"))
    report = ingest.commit(store, prepared)
    # The cat that landed in between makes i7 a cat and a car.
    assert report.rule_hits_by_rule == {"R1b": 1, "R2": 1, "R2b": 1, "R3": 1}
    assert report.batch_id and store.scalar("SELECT count(*) FROM label_events WHERE item_id = 'i7'") == 2


def test_other_kinds_and_imports_without_hits_say_what_was_checked(empty_store, rules, tmp_path):
    items = ingest.ingest(
        empty_store, write(tmp_path, "more_items.csv", "item_id\ni9\n"), kind="items", rules=rules
    )
    assert items.rules_source is None and items.rule_hits.empty and "rule" not in items.summary()
    clean = "item_id,annotator_id,label,labeled_at,guideline_version\ni1,a1,cat,2024-01-01,v2\n"
    report = ingest.ingest(empty_store, write(tmp_path, "clean.csv", clean), name="clean.csv", rules=rules)
    assert report.rule_hits_by_rule == {} and report.rule_hits.empty
    assert "No rule warnings (rules.toml)." in report.summary()
    plain = ingest.ingest(empty_store, write(tmp_path, "plain.csv", clean.replace("i1,", "i2,")))
    assert plain.rules_source is None and "rule" not in plain.summary()


# --- the example file on the demo --------------------------------------------------------------------------


def test_the_example_rules_find_on_the_demo_what_pandas_finds(demo_store_path):
    rules = load_rules(ROOT / "data" / "rules.example.toml")
    with Store(demo_store_path, read_only=True) as store:
        hits = rule_hits(store, rules)
        counts = rule_hit_counts(store, rules)
    # The same rules computed independently on the generator's frames (every demo event is imported).
    data = demo.generate(seed=0)
    events = data.events.merge(data.items[["item_id", "source"]], on="item_id")
    parents = events["label"].map(dict(rules.rules[1].parents))
    by_item = events.assign(parent=parents).groupby("item_id")
    shapes = by_item["parent"].nunique()
    zero_one = events[events["label"].isin(["0", "1"])].groupby("item_id")["label"]
    both = zero_one.nunique()
    fax_zeros = events[(events["label"] == "0") & (events["source"] == "fax")].groupby("item_id").size()
    expected = {
        "R1": {},  # the demo's import rejects labels outside the vocabulary
        "R2": by_item.size()[shapes > 1].to_dict(),
        "R3": zero_one.size()[both > 1].to_dict(),
        "R4": fax_zeros.to_dict(),
    }
    found = {
        rule.id: dict(zip(group["item_id"], group["events"], strict=True))
        for rule in rules
        for group in [hits[hits["rule_id"] == rule.id]]
    }
    assert found == expected
    assert all(len(expected[rule_id]) > 0 for rule_id in ("R2", "R3", "R4"))
    assert counts["items"].tolist() == [len(expected[rule.id]) for rule in rules]
