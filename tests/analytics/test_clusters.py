"""Suspect clusters: synthetic suspects with known structure (blobs, slices, annotators) recovered exactly,
summaries worked out by hand, the silhouette against sklearn, and a 1e5-suspect run."""

import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from analytics.detection import clusters


def _suspects(patterns):
    """Suspects for [(given, suggested, count), ...], ids ``it-000``, ``it-001``, ... in that order."""
    given = [g for g, _, count in patterns for _ in range(count)]
    suggested = [s for _, s, count in patterns for _ in range(count)]
    n = len(given)
    return pd.DataFrame({"item_id": [f"it-{i:03d}" for i in range(n)], "given_label": given,
                         "suggested_label": suggested, "score": np.linspace(0.2, 0.9, n)})


def _blobs(rng, centres_and_sizes, d=4, spread=0.3):
    return np.vstack([centre + rng.normal(0, spread, (size, d)) for centre, size in centres_and_sizes])


@pytest.fixture
def three_blobs():
    """1→7 holds two far-apart blobs (40 and 30 suspects), 3→8 one blob (25)."""
    suspects = _suspects([(1, 7, 70), (3, 8, 25)])
    features = _blobs(np.random.default_rng(7), [(0.0, 40), (10.0, 30), (-10.0, 25)])
    return suspects, features


def _members(result):
    return {cid: set(group) for cid, group in result.assignments.groupby("cluster_id")["item_id"]}


def test_two_blobs_in_one_pattern_and_one_in_another_give_exactly_three_clusters(three_blobs):
    suspects, features = three_blobs
    result = clusters.cluster_suspects(suspects, features=features)
    ids = suspects["item_id"]
    assert _members(result) == {"1→7 #1": set(ids[:40]), "1→7 #2": set(ids[40:70]), "3→8 #1": set(ids[70:])}
    summary = result.summary
    assert summary["cluster_id"].tolist() == ["1→7 #1", "1→7 #2", "3→8 #1"]  # largest first
    assert summary["size"].tolist() == [40, 30, 25]
    assert summary[["given_label", "suggested_label"]].to_numpy().tolist() == [[1, 7], [1, 7], [3, 8]]
    scores = suspects["score"]
    assert summary["mean_score"].tolist() == pytest.approx(
        [scores[:40].mean(), scores[40:70].mean(), scores[70:].mean()])
    assert summary["max_score"].tolist() == pytest.approx([scores[39], scores[69], scores[94]])
    assert result.params["groups"]["1→7"]["k"] == 2 and result.params["groups"]["1→7"]["silhouette"] > 0.7
    assert result.params["groups"]["3→8"]["k"] == 1
    # assignments: one row per suspect, in input order
    assert result.assignments["item_id"].tolist() == ids.tolist()
    assert result.assignments["pattern"].tolist() == ["1→7"] * 70 + ["3→8"] * 25
    assert result.members("1→7 #2").tolist() == ids[40:70].tolist()
    with pytest.raises(KeyError, match="9→9 #1"):
        result.members("9→9 #1")


@pytest.mark.parametrize("d", [1, 2, 3, 10, 64])
@pytest.mark.parametrize("stretch", [1.0, 10.0])
def test_a_cloud_without_clusters_stays_one_cluster(d, stretch):
    # k-means cuts any cloud, and on a line or a long cloud the cut scores a silhouette above 0.5; the
    # reference cloud of the same shape scores the same, so the gain stays under min_silhouette_gain
    suspects = _suspects([(1, 7, 400)])
    features = np.random.default_rng(d).normal(size=(400, d))
    features[:, 0] *= stretch
    result = clusters.cluster_suspects(suspects, features=features)
    assert result.summary["cluster_id"].tolist() == ["1→7 #1"]
    choice = result.params["groups"]["1→7"]
    assert choice["k"] == 1 and abs(choice["silhouette"] - choice["reference"]) < 0.05


@pytest.mark.parametrize("digits", [(0, 1), (0, 6), (4, 9), (1, 7)])
def test_two_kinds_of_digit_images_in_one_pattern_are_told_apart(digits):
    # real 64-pixel images (sklearn's bundled load_digits): the clusters found each hold one kind of digit
    # (a digit may split further by style, e.g. 1s with and without a base)
    from sklearn.datasets import load_digits

    images, truth = load_digits(return_X_y=True)
    keep = np.isin(truth, digits)
    suspects = _suspects([(1, 7, int(keep.sum()))])
    result = clusters.cluster_suspects(suspects, features=images[keep])
    table = pd.crosstab(result.assignments["cluster_id"], truth[keep])
    assert len(table) >= 2
    assert (table.max(axis=1) / table.sum(axis=1)).min() >= 0.97
    assert set(table.idxmax(axis=1)) == set(digits)


def test_standardize_keeps_a_large_unit_feature_from_ruling_the_distances():
    rng = np.random.default_rng(5)
    suspects = _suspects([(1, 7, 200)])
    features = np.column_stack([np.r_[rng.normal(0, 1, 100), rng.normal(10, 1, 100)],  # two groups
                                rng.normal(0, 1000, 200)])  # noise in a unit 1000 times larger
    plain = clusters.cluster_suspects(suspects, features=features)
    assert len(plain.summary) == 1
    scaled = clusters.cluster_suspects(suspects, features=features, standardize=True)
    ids = suspects["item_id"]
    # equal sizes: the higher mean score (the later items) ranks first
    assert _members(scaled) == {"1→7 #1": set(ids[100:]), "1→7 #2": set(ids[:100])}


def test_a_cluster_smaller_than_min_cluster_size_joins_the_nearest_one():
    suspects = _suspects([(1, 7, 63)])
    features = _blobs(np.random.default_rng(3), [(0.0, 60), (30.0, 3)])  # three far outliers
    result = clusters.cluster_suspects(suspects, features=features, min_cluster_size=5)
    assert result.summary["size"].tolist() == [63]
    # with min_cluster_size 3 the outliers may stand alone, and do
    result = clusters.cluster_suspects(suspects, features=features, min_cluster_size=3)
    ids = suspects["item_id"]
    assert _members(result) == {"1→7 #1": set(ids[:60]), "1→7 #2": set(ids[60:])}


def test_duplicate_feature_rows_neither_warn_nor_break():
    suspects = _suspects([(1, 7, 30)])
    ids = suspects["item_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = clusters.cluster_suspects(suspects, features=np.ones((30, 5)))
        two = clusters.cluster_suspects(suspects, features=np.repeat([[0.0] * 20, [1.0] * 20], 15, axis=0))
    assert same.summary["size"].tolist() == [30]
    assert _members(two) == {"1→7 #1": set(ids[15:]), "1→7 #2": set(ids[:15])}


def test_max_clusters_per_pattern_one_turns_the_feature_split_off(three_blobs):
    suspects, features = three_blobs
    result = clusters.cluster_suspects(suspects, features=features, max_clusters_per_pattern=1)
    assert result.summary["size"].tolist() == [70, 25]


def test_without_features_each_pattern_is_one_cluster_represented_by_its_highest_score():
    suspects = _suspects([(1, 7, 6), (3, 8, 5), (2, 5, 7)])
    suspects.loc[2, "score"] = 0.99  # the top score of 1→7
    suspects.loc[[12, 14], "score"] = 0.95  # a tie in 2→5: the smaller id wins
    result = clusters.cluster_suspects(suspects)
    summary = result.summary.set_index("cluster_id")
    assert summary.index.tolist() == ["2→5 #1", "1→7 #1", "3→8 #1"]
    assert summary["size"].tolist() == [7, 6, 5]
    assert summary["representative_item"].tolist() == ["it-012", "it-002", "it-010"]
    assert summary["split"].isna().all()
    assert result.params["features"] is None


def test_the_representative_is_the_suspect_nearest_the_centroid():
    suspects = _suspects([(1, 7, 6)])
    suspects["score"] = [0.9, 0.9, 0.9, 0.9, 0.1, 0.95]
    # four corners of a square, item 4 at its centre (lowest score) and item 5 off it (highest score)
    features = np.array([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [0.0, 0.1], [0.0, 0.5]])
    # centroid (0, 0.1): item 4 sits on it
    result = clusters.cluster_suspects(suspects, features=features, max_clusters_per_pattern=1)
    assert result.summary["representative_item"].tolist() == ["it-004"]
    # both on the centroid (0, 0): the tie goes to the higher score
    features[4:] = 0.0
    result = clusters.cluster_suspects(suspects, features=features, max_clusters_per_pattern=1)
    assert result.summary["representative_item"].tolist() == ["it-005"]


def test_patterns_smaller_than_min_cluster_size_pool_into_other():
    suspects = _suspects([(1, 7, 6), (2, 5, 2), (4, 9, 3)])
    result = clusters.cluster_suspects(suspects, min_cluster_size=5)
    summary = result.summary.set_index("cluster_id")
    assert summary.index.tolist() == ["1→7 #1", "other #1"]
    assert summary.loc["other #1", "size"] == 5
    assert summary.loc["other #1", "pattern"] == "other"
    assert summary.loc["other #1", ["given_label", "suggested_label"]].tolist() == [None, None]
    assert result.assignments["pattern"].tolist() == ["1→7"] * 6 + ["other"] * 5
    # small patterns that share the given label keep it
    result = clusters.cluster_suspects(_suspects([(1, 7, 6), (2, 5, 2), (2, 6, 1)]), min_cluster_size=5)
    other = result.summary.set_index("cluster_id").loc["other #1"]
    assert other["given_label"] == 2 and other["suggested_label"] is None and other["size"] == 3


def test_other_is_clustered_by_features_too():
    suspects = _suspects([(1, 7, 12), (2, 5, 3), (2, 6, 3), (4, 9, 4), (6, 0, 4)])
    features = _blobs(np.random.default_rng(0), [(0.0, 12), (0.0, 6), (9.0, 8)])
    result = clusters.cluster_suspects(suspects, features=features, min_cluster_size=5)
    ids = suspects["item_id"]
    # the four pooled patterns sit in two places: 2→5 and 2→6 (6 suspects) at 0, 4→9 and 6→0 (8) at 9
    assert _members(result) == {"1→7 #1": set(ids[:12]), "other #1": set(ids[18:]),
                                "other #2": set(ids[12:18])}


def test_by_splits_each_pattern_and_pools_rare_values():
    suspects = _suspects([(1, 7, 12), (3, 8, 4)])
    suspects["guideline_version"] = ["v1"] * 8 + ["v2"] * 3 + ["v3"] + ["v1"] * 4
    result = clusters.cluster_suspects(suspects, by="guideline_version", min_cluster_size=3)
    summary = result.summary.set_index("cluster_id")
    assert summary["size"].to_dict() == {
        "1→7 | guideline_version=v1 #1": 8, "3→8 | guideline_version=v1 #1": 4,
        "1→7 | guideline_version=v2 #1": 3, "1→7 | other #1": 1,
    }
    assert summary.loc["1→7 | guideline_version=v2 #1", "split"] == "guideline_version=v2"
    assert summary.loc["1→7 | other #1", ["pattern", "split"]].tolist() == ["1→7", "other"]
    assert result.params["by"] == ["guideline_version"]


def _context_inputs():
    """1→7: 18 of 20 suspects from fax; 3→8: 18 of 20 from scan; region evenly split; one device=x item."""
    suspects = _suspects([(1, 7, 20), (3, 8, 20)])
    ids = suspects["item_id"].tolist()
    source = ["fax"] * 18 + ["scan"] * 2 + ["fax"] * 2 + ["scan"] * 18
    region = ["eu", "us"] * 20
    attributes = pd.DataFrame({
        "item_id": ids * 2 + [ids[0], "not-a-suspect"],
        "key": ["source"] * 40 + ["region"] * 40 + ["device", "source"],
        "value": source + region + ["x", "fax"],
    })
    slice_sizes = pd.DataFrame({"key": ["source", "source", "region", "region", "device"],
                                "value": ["fax", "scan", "eu", "us", "x"], "items": [100, 300, 500, 500, 7]})
    return suspects, attributes, slice_sizes


def test_context_is_the_slice_a_cluster_over_represents_with_its_share_of_the_slice():
    suspects, attributes, slice_sizes = _context_inputs()
    result = clusters.cluster_suspects(suspects, attributes=attributes, slice_sizes=slice_sizes)
    summary = result.summary.set_index("cluster_id").loc[["1→7 #1", "3→8 #1"]]
    assert summary["context"].tolist() == ["source = fax", "source = scan"]
    assert summary["context_share"].tolist() == pytest.approx([0.9, 0.9])
    # 90% of the cluster against 20 of 40 suspects
    assert summary["context_lift"].tolist() == pytest.approx([0.9 / 0.5, 0.9 / 0.5])
    # 18 fax suspects of 100 fax items; 18 scan suspects of 300 scan items
    assert summary["slice_share"].tolist() == pytest.approx([18 / 100, 18 / 300])
    # device = x has the higher lift (1/20 against 1/40: 2.0) but one item: 1·ln 2 < 18·ln 1.8


def test_context_without_slice_sizes_and_without_over_representation():
    suspects, attributes, _ = _context_inputs()
    summary = clusters.cluster_suspects(suspects, attributes=attributes).summary.set_index("cluster_id")
    assert summary["context"].to_dict() == {"1→7 #1": "source = fax", "3→8 #1": "source = scan"}
    assert summary["slice_share"].isna().all()
    # one cluster holding every suspect over-represents nothing
    summary = clusters.cluster_suspects(suspects.assign(given_label=1, suggested_label=7),
                                        attributes=attributes).summary
    assert summary["context"].tolist() == [None] and np.isnan(summary["context_lift"].iloc[0])


def _events():
    """Label events of 1→7 (p1, p2, p3) and 3→8 (q1, q2), and of one item that is no suspect."""
    rows = [
        # item, annotator, label, time, guideline
        ("p1", "annA", "1", "2024-01-01T00:00:00Z", "v1"), ("p1", "annB", "1", "2024-01-02T00:00:00Z", "v1"),
        ("p1", "annC", "7", "2024-01-10T00:00:00Z", "v2"),
        ("p2", "annA", "1", "2024-01-03T00:00:00Z", "v1"), ("p2", "annB", "7", "2024-01-04T00:00:00Z", "v1"),
        ("p2", "annB", "1", "2024-01-20T00:00:00Z", "v2"),  # annB relabels p2: the latest label, 1, counts
        ("p3", "annA", "1", "2024-01-05T00:00:00Z", "v2"), ("p3", "annC", "1", "2024-01-06T00:00:00Z", "v2"),
        ("p3", "annB", "1", "2024-01-07T00:00:00Z", "v2"),
        ("p3", "annB", "7", "2024-01-08T00:00:00Z", "v2"),  # … and p3 the other way: annB does not count
        ("q1", "annD", "3", "2024-02-01T00:00:00Z", "v1"), ("q1", "annA", "8", "2024-02-02T00:00:00Z", "v1"),
        ("q2", "annD", "3", "2024-02-03T00:00:00Z", "v1"), ("q2", "annE", "3", "2024-02-04T00:00:00Z", "v1"),
        ("z9", "annA", "1", "2023-01-01T00:00:00Z", "v0"),
    ]
    columns = ["item_id", "annotator_id", "label", "labeled_at", "guideline_version"]
    events = pd.DataFrame(rows, columns=columns)
    cohort = {"annA": "crowd", "annB": "crowd", "annC": "expert", "annD": "vendor", "annE": None}
    return events.assign(cohort=events["annotator_id"].map(cohort))


def _small_suspects():
    return pd.DataFrame({"item_id": ["p1", "p2", "p3", "q1", "q2"], "given_label": [1, 1, 1, 3, 3],
                         "suggested_label": [7, 7, 7, 8, 8], "score": [0.9, 0.8, 0.7, 0.6, 0.5]})


def test_event_summary_worked_out_by_hand():
    result = clusters.cluster_suspects(_small_suspects(), events=_events(), min_cluster_size=1)
    summary = result.summary.set_index("cluster_id")
    ones, threes = summary.loc["1→7 #1"], summary.loc["3→8 #1"]
    # labels compare as text: given_label 1 (int) matches events' "1"
    # latest label = given: p1 annA, annB; p2 annA, annB (relabelled to 1); p3 annA, annC (annB ends on 7)
    assert ones["top_annotators"] == "annA (3), annB (2), annC (1)"
    assert threes["top_annotators"] == "annD (2), annE (1)"
    # of those six ratings five are crowd; annE has no cohort and is left out of q's count
    assert ones["top_cohort"] == "crowd" and ones["top_cohort_share"] == pytest.approx(5 / 6)
    assert threes["top_cohort"] == "vendor" and threes["top_cohort_share"] == pytest.approx(1.0)
    # all 10 events of p1..p3: v1 on 4 (p1 annA, annB; p2 annA, annB), v2 on 6; z9 (no suspect) is ignored
    assert ones["guideline_versions"] == "v2 (60%), v1 (40%)" and ones["dominant_guideline_version"] == "v2"
    assert threes["guideline_versions"] == "v1 (100%)"
    assert ones["first_at"] == pd.Timestamp("2024-01-01", tz="UTC")
    assert ones["last_at"] == pd.Timestamp("2024-01-20", tz="UTC")
    assert [threes["first_at"], threes["last_at"]] == [pd.Timestamp("2024-02-01", tz="UTC"),
                                                       pd.Timestamp("2024-02-04", tz="UTC")]
    # n_top caps the list
    result = clusters.cluster_suspects(_small_suspects(), events=_events(), min_cluster_size=1, n_top=2)
    assert result.summary.set_index("cluster_id").loc["1→7 #1", "top_annotators"] == "annA (3), annB (2)"


def test_optional_event_columns_and_missing_inputs_leave_columns_empty():
    suspects = _small_suspects()
    bare = _events()[["item_id", "annotator_id", "label"]]
    summary = clusters.cluster_suspects(suspects, events=bare, min_cluster_size=1).summary
    assert summary["top_annotators"].tolist() == ["annA (3), annB (2), annC (1)", "annD (2), annE (1)"]
    assert summary[["first_at", "last_at", "top_cohort_share"]].isna().all().all()
    assert summary["guideline_versions"].isna().all() and summary["top_cohort"].isna().all()
    summary = clusters.cluster_suspects(suspects, min_cluster_size=1).summary
    assert list(summary.columns) == list(clusters.SUMMARY_COLUMNS)
    empty = ["first_at", "last_at", "guideline_versions", "dominant_guideline_version", "top_annotators",
             "top_cohort", "top_cohort_share", "context", "context_share", "context_lift", "slice_share"]
    assert summary[empty].isna().all().all()


def test_deterministic_and_independent_of_row_order(three_blobs):
    suspects, features = three_blobs
    first = clusters.cluster_suspects(suspects, features=features, random_state=3)
    second = clusters.cluster_suspects(suspects, features=features, random_state=3)
    pd.testing.assert_frame_equal(first.assignments, second.assignments)
    pd.testing.assert_frame_equal(first.summary, second.summary)
    assert first.params == second.params
    shuffled = np.random.default_rng(0).permutation(len(suspects))
    third = clusters.cluster_suspects(suspects.iloc[shuffled], features=features[shuffled], random_state=3)
    assert third.assignments["item_id"].tolist() == suspects["item_id"].iloc[shuffled].tolist()
    assert (third.assignments.set_index("item_id")["cluster_id"].sort_index().tolist()
            == first.assignments.set_index("item_id")["cluster_id"].sort_index().tolist())
    pd.testing.assert_frame_equal(first.summary, third.summary)


def test_inputs_are_not_mutated(three_blobs):
    suspects, features = three_blobs
    events = _events()
    attributes = pd.DataFrame({"item_id": suspects["item_id"], "key": "source", "value": "fax"})
    copies = suspects.copy(), features.copy(), events.copy(), attributes.copy()
    clusters.cluster_suspects(suspects, features=features, events=events, attributes=attributes)
    pd.testing.assert_frame_equal(suspects, copies[0])
    np.testing.assert_array_equal(features, copies[1])
    pd.testing.assert_frame_equal(events, copies[2])
    pd.testing.assert_frame_equal(attributes, copies[3])


def test_a_store_without_slice_attributes_leaves_the_context_empty(three_blobs):
    suspects, features = three_blobs
    attributes = pd.DataFrame({"item_id": pd.Series(dtype=str), "key": pd.Series(dtype=str),
                               "value": pd.Series(dtype=str)})
    sizes = pd.DataFrame({"key": pd.Series(dtype=str), "value": pd.Series(dtype=str),
                          "items": pd.Series(dtype="int64")})
    result = clusters.cluster_suspects(suspects, features=features, attributes=attributes, slice_sizes=sizes)
    assert len(result.summary) == 3
    assert result.summary["context"].isna().all() and result.summary["slice_share"].isna().all()


def test_no_suspects_give_empty_frames_with_their_columns():
    result = clusters.cluster_suspects(_small_suspects().iloc[:0], features=np.zeros((0, 3)))
    assert result.summary.empty and list(result.summary.columns) == list(clusters.SUMMARY_COLUMNS)
    assert result.assignments.empty and list(result.assignments.columns) == list(clusters.ASSIGNMENT_COLUMNS)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"suspects": _small_suspects().drop(columns="score")}, r"suspects lacks column\(s\) \['score'\]"),
    ({"by": ["source"]}, r"suspects lacks column\(s\) \['source'\]"),
    ({"events": _events().drop(columns="annotator_id")}, r"events lacks column\(s\) \['annotator_id'\]"),
    ({"attributes": pd.DataFrame({"item_id": [], "value": []})}, r"attributes lacks column\(s\) \['key'\]"),
    ({"slice_sizes": pd.DataFrame({"key": [], "value": []})}, r"slice_sizes lacks column\(s\) \['items'\]"),
    ({"features": np.zeros((4, 2))}, r"features must have shape \(len\(suspects\), d\) = \(5, d\).*\(4, 2\)"),
    ({"features": np.zeros(5)}, r"features must have shape .* got \(5,\)"),
    ({"features": np.array([[0.0], [1.0], [np.nan], [2.0], [np.inf]])}, r"NaN or infinite values in 2 row"),
    ({"suspects": _small_suspects().assign(item_id=["p1", "p2", "p1", "q1", "q2"])},
     r"item_id 'p1' more than once"),
    ({"min_cluster_size": 0}, r"min_cluster_size must be at least 1"),
    ({"max_clusters_per_pattern": 0}, r"max_clusters_per_pattern must be at least 1"),
])
def test_bad_input_is_a_clear_value_error(kwargs, message):
    suspects = kwargs.pop("suspects", _small_suspects())
    with pytest.raises(ValueError, match=message):
        clusters.cluster_suspects(suspects, **kwargs)


def test_silhouette_matches_sklearn():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(60, 3))
    labels = np.r_[np.zeros(30, int), np.ones(29, int), [2]]  # cluster 2 is a single point
    labels = rng.permutation(labels)
    distances = np.linalg.norm(points[:, None] - points[None], axis=2)
    sums = distances @ np.eye(3)[labels]
    assert clusters._silhouette(sums, labels) == pytest.approx(silhouette_score(points, labels))
    assert np.isnan(clusters._silhouette(sums[:, :1], np.zeros(60, int)))


@pytest.mark.slow
def test_a_hundred_thousand_suspects():
    rng = np.random.default_rng(0)
    n, d = 100_000, 16
    given = rng.integers(0, 10, n)
    suggested = (given + rng.integers(1, 3, n)) % 10  # 20 patterns of ~5,000
    side = rng.integers(0, 2, n)  # every pattern holds two blobs, 8 standard deviations apart
    centres = rng.normal(0, 1, (20, 2, d)) * 4
    features = centres[given * 2 + (suggested - given) % 10 - 1, side] + rng.normal(size=(n, d))
    suspects = pd.DataFrame({"item_id": np.arange(n), "given_label": given, "suggested_label": suggested,
                             "score": rng.random(n)})
    events = pd.DataFrame({"item_id": np.repeat(np.arange(n), 3), "annotator_id": rng.integers(0, 500, 3 * n),
                           "label": np.repeat(given, 3),
                           "labeled_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(3 * n), "s")})
    tracemalloc.start()
    try:
        result = clusters.cluster_suspects(suspects, features=features, events=events)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(result.assignments) == n and result.summary["size"].sum() == n
    assert len(result.summary) == 40 and (result.summary["size"] >= 5).all()
    recovered = pd.crosstab(result.assignments["cluster_id"], side)
    assert ((recovered == 0).sum(axis=1) == 1).all()  # each cluster is exactly one blob
    assert peak < 200 * 2**20  # measured 67 MB; the features alone are 13 MB, an n × n matrix would be 80 GB
