"""Majority vote and Dawid–Skene: published estimates, real crowds with gold, simulated crowds, edge cases."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from analytics import consensus
from analytics.consensus import DawidSkene, dawid_skene, limits, majority_vote

ROOT = Path(__file__).resolve().parents[2]
#: Real crowds with their licences, copied into the repository for tests (tests/data/real/README.md).
REAL = ROOT / "tests" / "data" / "real"

#: crowd-kit 1.4.2 DawidSkene(n_iter=100) against gold (items right / items), measured in bench/consensus.py,
#: see bench/README.md (section "Consensus"). Ours must not fall below it.
CROWDKIT_DS_ACCURACY = {"bluebirds": 96 / 108, "rte": 742 / 800, "temp": 435 / 462, "wsd": 176 / 177}


def _events(item, annotator, label, **extra) -> pd.DataFrame:
    return pd.DataFrame({"item_id": item, "annotator_id": annotator, "label": label, **extra})


def _accuracy(labels: pd.Series, gold: pd.Series) -> float:
    return float((labels == gold.reindex(labels.index)).mean())


def _mv_labels(events: pd.DataFrame) -> pd.Series:
    return majority_vote(events).set_index("item_id")["label"]


# --- real data -------------------------------------------------------------------------------------------


def _real(folder: str) -> Path:
    path = REAL / folder
    assert path.is_dir(), f"real data {path} is missing from the checkout"
    return path


def _anaesthetist() -> pd.DataFrame:
    """Dawid & Skene (1979) Table 1: 45 patients, 5 observers, observer 1 rated each patient 3 times."""
    raw = pd.read_csv(_real("dawid_skene_1979") / "anaesthetist_ratings_long.csv")
    return raw.rename(columns={"patient": "item_id", "observer": "annotator_id", "rating": "label"})


def _bluebirds() -> tuple[pd.DataFrame, pd.Series]:
    """Welinder et al. (2010) bluebirds: the YAML maps are flat enough to read without a YAML parser."""
    folder = _real("bluebirds")
    pairs = re.compile(r"(\w+):\s*(true|false)")
    rows = [
        (int(task), worker, value == "true")
        for worker, body in re.findall(
            r"^(\w+):\s*\{(.*?)\}", (folder / "labels.yaml").read_text(), re.M | re.S
        )
        for task, value in pairs.findall(body)
    ]
    gold = {int(task): value == "true" for task, value in pairs.findall((folder / "gt.yaml").read_text())}
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"]), pd.Series(gold)


def _snow(task: str) -> tuple[pd.DataFrame, pd.Series]:
    """Snow et al. (2008) RTE / TEMP / WSD: one row per AMT label, gold repeated on every row."""
    raw = pd.read_csv(_real("snow2008") / f"{task}.standardized.tsv", sep="\t", dtype={"orig_id": str})
    events = raw.rename(
        columns={"orig_id": "item_id", "!amt_worker_ids": "annotator_id", "response": "label"}
    )
    return events[["item_id", "annotator_id", "label"]], raw.groupby("orig_id")["gold"].first()


def test_dawid_skene_1979_reproduces_the_published_estimates():
    """Dawid & Skene (1979), Applied Statistics 28(1):20–28, on their Table 1 data with every rating counted
    (observer 1's three ratings of each patient are three ratings) and no smoothing: the maximum-likelihood
    estimates of the paper, printed to two decimals."""
    ds = DawidSkene(smoothing=0, repeated="all", tol=1e-10, max_iter=500).fit(_anaesthetist())
    assert ds.converged_
    # Table 2: estimated class probabilities p_j.
    np.testing.assert_allclose(ds.priors_.loc[[1, 2, 3, 4]], [0.40, 0.42, 0.11, 0.07], atol=0.005)
    # Table 3: estimated error rates of observer 1 (rows: true class 1-4, columns: rating 1-4).
    published = [
        [0.89, 0.11, 0.00, 0.00],
        [0.07, 0.88, 0.05, 0.00],
        [0.00, 0.34, 0.66, 0.00],
        [0.00, 0.00, 0.56, 0.44],
    ]
    np.testing.assert_allclose(ds.confusion(1).to_numpy(), published, atol=0.005)
    # Table 4: final class indicators of the first patients (1 -> class 1, 2 -> class 4, 3-6 -> class 2).
    expected = np.zeros((6, 4))
    expected[np.arange(6), [0, 3, 1, 1, 1, 1]] = 1.0
    np.testing.assert_allclose(ds.probas_.loc[1:6].to_numpy(), expected, atol=0.005)
    assert ds.labels_.loc[1:6].tolist() == [1, 4, 2, 2, 2, 2]


def test_dawid_skene_1979_counts_repeated_ratings_only_when_asked():
    events = _anaesthetist()
    all_ratings = DawidSkene(smoothing=0, repeated="all").fit(events)
    latest = DawidSkene(smoothing=0, repeated="latest").fit(events)
    assert all_ratings.n_ratings_.loc[1] == 135 and latest.n_ratings_.loc[1] == 45
    assert (latest.n_ratings_ == 45).all()


@pytest.mark.parametrize("name", ["bluebirds", "rte", "temp", "wsd"])
def test_dawid_skene_on_real_crowds_is_at_least_crowdkit_and_majority_vote(name):
    events, gold = _bluebirds() if name == "bluebirds" else _snow(name)
    ours = _accuracy(DawidSkene().fit_predict(events), gold)
    assert ours >= CROWDKIT_DS_ACCURACY[name]
    assert ours >= _accuracy(_mv_labels(events), gold)


def test_majority_vote_on_rte_counts_ties_by_the_documented_rule():
    """RTE has 10 binary votes per item: 65 items split 5-5 and go to label 1, the more frequent overall."""
    events, _ = _snow("rte")
    result = majority_vote(events)
    ties = result[result["support"] == 0.5]
    assert len(ties) == 65 and (ties["label"] == 1).all()
    assert (result["n_ratings"] == 10).all()


# --- simulated crowds ------------------------------------------------------------------------------------


def simulate_crowd(seed: int, *, n_items: int, n_annotators: int, per_item: tuple[int, int], k: int = 4):
    """Events and truth from a known noise model: skewed class priors, annotator accuracies uniform in
    [0.45, 0.95], class-specific confusions (each true class sends its errors to the other classes with
    Dirichlet(0.5) weights, so mostly to one or two of them), log-normal workloads."""
    rng = np.random.default_rng(seed)
    prior = 0.5 ** np.arange(k) + 0.1
    truth = rng.choice(k, n_items, p=prior / prior.sum())
    accuracy = rng.uniform(0.45, 0.95, n_annotators)
    errors = rng.dirichlet(np.full(k - 1, 0.5), size=(n_annotators, k))
    confusion = np.empty((n_annotators, k, k))
    for c in range(k):
        confusion[:, c, np.arange(k) != c] = errors[:, c] * (1 - accuracy[:, None])
        confusion[:, c, c] = accuracy
    n_labels = rng.integers(per_item[0], per_item[1] + 1, n_items)
    workload = rng.lognormal(0.0, 1.0, n_annotators)
    item = np.repeat(np.arange(n_items), n_labels)
    annotator = np.concatenate(
        [rng.choice(n_annotators, size=m, replace=False, p=workload / workload.sum()) for m in n_labels]
    )
    cumulative = confusion[annotator, truth[item]].cumsum(axis=1)
    label = (rng.random(len(item))[:, None] > cumulative).sum(axis=1)
    events = _events(item, annotator, np.minimum(label, k - 1))
    return events, pd.Series(truth), accuracy


def test_dawid_skene_is_not_below_majority_vote_on_a_sparse_crowd():
    """2,000 items, 500 annotators, 2-5 labels per item: ~14 ratings per annotator for 12 confusion cells."""
    events, truth, _ = simulate_crowd(0, n_items=2000, n_annotators=500, per_item=(2, 5))
    assert events.groupby("annotator_id").size().median() < 10
    majority = _accuracy(_mv_labels(events), truth)
    for pooling in ("none", "shrink", "sparse"):
        assert _accuracy(DawidSkene(pooling=pooling).fit_predict(events), truth) >= majority


def test_unsmoothed_dawid_skene_overfits_a_sparse_crowd():
    """The failure the smoothing exists for: maximum likelihood falls below majority vote here."""
    events, truth, _ = simulate_crowd(0, n_items=2000, n_annotators=500, per_item=(2, 5))
    assert _accuracy(DawidSkene(smoothing=0).fit_predict(events), truth) < _accuracy(
        _mv_labels(events), truth
    )


def test_dawid_skene_beats_majority_vote_clearly_on_a_dense_crowd_and_finds_the_skills():
    events, truth, accuracy = simulate_crowd(1, n_items=1000, n_annotators=30, per_item=(5, 10))
    ds = DawidSkene().fit(events)
    assert _accuracy(ds.labels_, truth) >= _accuracy(_mv_labels(events), truth) + 0.015
    # Expected accuracy under the true class mix tracks each annotator's true accuracy.
    skill = ds.skills_.reindex(np.arange(30)).to_numpy()
    assert np.corrcoef(skill, accuracy)[0, 1] > 0.9
    assert np.abs(skill - accuracy).mean() < 0.05


# --- majority vote fixtures -----------------------------------------------------------------------------


def test_majority_vote_support_and_counts():
    events = _events([1, 1, 1, 2, 2, 2, 2], list("abcabcd"), ["x", "x", "y", "y", "y", "y", "x"])
    result = majority_vote(events)
    assert result.columns.tolist() == ["item_id", "label", "support", "n_ratings"]
    assert result["label"].tolist() == ["x", "y"]
    np.testing.assert_allclose(result["support"], [2 / 3, 3 / 4])
    assert result["n_ratings"].tolist() == [3, 4]


def test_majority_vote_tie_goes_to_the_label_most_frequent_overall():
    # Item 1 ties x-y; y is given 3 times overall, x twice.
    events = _events([1, 1, 2, 2, 3], list("ababc"), ["x", "y", "y", "y", "x"])
    result = majority_vote(events).set_index("item_id")
    assert result.loc[1, "label"] == "y"
    assert result.loc[1, "support"] == 0.5


def test_majority_vote_tie_on_overall_frequency_goes_to_the_smallest_label():
    events = _events([1, 1, 2, 2], list("abab"), ["z", "b", "b", "z"])
    assert majority_vote(events)["label"].tolist() == ["b", "b"]


def test_majority_vote_one_annotator_and_one_class():
    one_annotator = _events([3, 1, 2], ["a"] * 3, [2, 0, 0])
    result = majority_vote(one_annotator)
    assert result["item_id"].tolist() == [1, 2, 3]
    assert result["label"].tolist() == [0, 0, 2] and (result["support"] == 1).all()
    one_class = _events([1, 1, 2], list("aba"), ["only"] * 3)
    assert majority_vote(one_class)["label"].tolist() == ["only", "only"]


def test_repeated_ratings_keep_the_latest_by_time_else_the_last_row():
    events = _events([1, 1, 1], ["a", "a", "b"], ["x", "y", "x"])
    # Without labeled_at the last row of (1, a) wins: one x, one y, tie -> x (more frequent overall).
    assert majority_vote(events)["n_ratings"].tolist() == [2]
    timed = events.assign(labeled_at=pd.to_datetime(["2026-03-02", "2026-03-01", "2026-03-01"]))
    assert majority_vote(timed)[["label", "support"]].iloc[0].tolist() == ["x", 1.0]
    counted = majority_vote(events, repeated="all")
    assert counted[["label", "n_ratings"]].iloc[0].tolist() == ["x", 3]


def test_majority_vote_is_invariant_to_row_order_and_leaves_the_input_alone():
    events, _, _ = simulate_crowd(2, n_items=300, n_annotators=40, per_item=(2, 5))
    before = events.copy()
    shuffled = events.sample(frac=1.0, random_state=0)
    pd.testing.assert_frame_equal(majority_vote(events), majority_vote(shuffled))
    pd.testing.assert_frame_equal(events, before)


# --- Dawid–Skene fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_crowd():
    events, truth, _ = simulate_crowd(3, n_items=400, n_annotators=25, per_item=(3, 6))
    return events, truth


def test_dawid_skene_attributes_are_consistent(small_crowd):
    events, _ = small_crowd
    ds = DawidSkene().fit(events)
    k, m = 4, events["annotator_id"].nunique()
    assert ds.confusions_.shape == (m, k, k)
    np.testing.assert_allclose(ds.confusions_.sum(axis=2), 1.0)
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)
    assert ds.priors_.sum() == pytest.approx(1.0)
    assert ds.probas_.columns.tolist() == ds.classes_.tolist() == [0, 1, 2, 3]
    assert ds.labels_.index.equals(ds.probas_.index)
    assert (ds.labels_ == ds.probas_.idxmax(axis=1)).all()
    expected_skill = np.einsum("jkk,k->j", ds.confusions_, ds.priors_.to_numpy())
    np.testing.assert_allclose(ds.skills_.to_numpy(), expected_skill)
    assert ds.n_ratings_.sum() == len(events)
    assert ds.convergence_.columns.tolist() == ["iteration", "log_likelihood", "objective", "delta"]
    assert len(ds.convergence_) == ds.n_iter_ and ds.converged_
    assert ds.log_likelihood_ == ds.convergence_["log_likelihood"].iloc[-1]
    # EM never decreases its objective.
    assert (np.diff(ds.convergence_["objective"]) > -1e-9).all()
    heatmap = ds.confusion(ds.annotators_[0])
    assert heatmap.index.name == "true_label" and heatmap.columns.name == "given_label"


def test_dawid_skene_is_deterministic_and_invariant_to_row_order(small_crowd):
    events, _ = small_crowd
    before = events.copy()
    first, second = DawidSkene().fit(events), DawidSkene().fit(events)
    shuffled = DawidSkene().fit(events.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(first.probas_, second.probas_)
    pd.testing.assert_frame_equal(first.probas_, shuffled.probas_, atol=1e-10, rtol=0)
    np.testing.assert_allclose(first.confusions_, shuffled.confusions_, atol=1e-10)
    pd.testing.assert_frame_equal(events, before)
    seeded = [DawidSkene(init="random", random_state=7).fit(events).probas_ for _ in range(2)]
    pd.testing.assert_frame_equal(*seeded)


def test_warm_start_converges_in_fewer_iterations_when_new_events_arrive(small_crowd):
    events, truth = small_crowd
    old, new = events[events["item_id"] < 360], events
    cold = DawidSkene().fit(new)
    warm = DawidSkene(warm_start=True).fit(old)
    warm.fit(new)
    assert warm.n_iter_ < cold.n_iter_
    assert warm.converged_ and warm.probas_.index.equals(cold.probas_.index)
    assert (warm.labels_ == cold.labels_).mean() > 0.99
    # A new annotator and a new class do not break the warm start.
    extra = _events([1000, 1000, 1000], ["newcomer", 0, 1], [9, 9, 9])
    warm.fit(pd.concat([new, extra], ignore_index=True))
    assert warm.classes_.tolist() == [0, 1, 2, 3, 9] and "newcomer" in warm.annotators_


def test_dawid_skene_one_annotator_keeps_their_labels():
    events = _events([1, 2, 3, 4], ["a"] * 4, ["x", "y", "x", "x"])
    ds = DawidSkene().fit(events)
    assert ds.labels_.tolist() == ["x", "y", "x", "x"]
    assert ds.confusions_.shape == (1, 2, 2)


def test_dawid_skene_one_class():
    ds = DawidSkene().fit(_events([1, 1, 2], list("aba"), ["only"] * 3))
    assert ds.labels_.tolist() == ["only", "only"]
    np.testing.assert_allclose(ds.confusions_, 1.0)
    np.testing.assert_allclose(ds.probas_.to_numpy(), 1.0)
    assert ds.converged_


def test_sparse_pooling_shares_one_matrix_among_annotators_with_few_labels(small_crowd):
    events, _ = small_crowd
    ds = DawidSkene(pooling="sparse", min_labels=60).fit(events)
    few = ds.n_ratings_ < 60
    assert few.any() and (~few).any()
    assert ds.pooled_.equals(few.rename("pooled"))
    shared = ds.confusions_[few.to_numpy()]
    np.testing.assert_allclose(shared, np.broadcast_to(shared[0], shared.shape))
    assert not DawidSkene().fit(events).pooled_.any()


# --- integer codes, precision, chunks and threads ---------------------------------------------------------


def _codes(events: pd.DataFrame) -> tuple[list[np.ndarray], list[pd.Index]]:
    """Integer codes of the three columns and their sorted dictionaries, as the store hands them over."""
    factorized = [pd.factorize(events[c], sort=True) for c in ("item_id", "annotator_id", "label")]
    return [codes for codes, _ in factorized], [pd.Index(uniques) for _, uniques in factorized]


def test_fit_codes_matches_fit_on_the_same_ratings(small_crowd):
    events, _ = small_crowd
    (item, annotator, label), (items, annotators, classes) = _codes(events)
    framed = DawidSkene().fit(events)
    coded = DawidSkene().fit_codes(item, annotator, label, items=items, annotators=annotators,
                                   classes=classes)
    pd.testing.assert_frame_equal(coded.probas_, framed.probas_, atol=1e-12, rtol=0)
    pd.testing.assert_series_equal(coded.labels_, framed.labels_)
    np.testing.assert_allclose(coded.confusions_, framed.confusions_, atol=1e-12)
    assert coded.annotators_.equals(framed.annotators_) and coded.n_iter_ == framed.n_iter_
    # Without dictionaries the codes label the results; the order of the ratings does not matter.
    order = np.random.default_rng(0).permutation(len(item))
    bare = DawidSkene().fit_codes(item[order], annotator[order], label[order])
    assert bare.labels_.index.equals(pd.RangeIndex(len(items))) and bare.classes_.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(bare.probas_.to_numpy(), framed.probas_.to_numpy(), atol=1e-10)


def test_fit_codes_gives_items_without_ratings_the_priors():
    ds = DawidSkene().fit_codes([0, 0, 2, 2], [0, 1, 0, 1], [0, 0, 1, 1], items=list("abcd"),
                                classes=["x", "y"])
    assert ds.labels_.loc[["a", "c"]].tolist() == ["x", "y"]
    for unrated in ("b", "d"):  # in the middle and after the last rated item
        np.testing.assert_allclose(ds.probas_.loc[unrated].to_numpy(), ds.priors_.to_numpy())


@pytest.mark.parametrize(
    "codes, dictionaries, error, message",
    [
        (([0, 1], [0], [0, 1]), {}, ValueError, "differ in length: item_codes 2, annotator_codes 1"),
        (([0.5], [0], [0]), {}, TypeError, "item_codes must be a 1-D array of integers"),
        (([0], [[0]], [0]), {}, TypeError, "annotator_codes must be a 1-D array"),
        (([0, 2], [0, 0], [0, 1]), {"items": ["a", "b"]}, ValueError, r"item_codes must lie in \[0, 2\)"),
        (([0], [0], [-1]), {}, ValueError, "label_codes must lie in"),
        (([], [], []), {}, ValueError, "empty"),
    ],
)
def test_fit_codes_rejects_bad_codes(codes, dictionaries, error, message):
    with pytest.raises(error, match=message):
        DawidSkene().fit_codes(*codes, **dictionaries)


def test_single_precision_agrees_with_double_and_is_chosen_for_large_fits(small_crowd, monkeypatch):
    events, _ = small_crowd
    double = DawidSkene().fit(events)
    single = DawidSkene(dtype="float32").fit(events)
    assert double.dtype_ == np.float64 and single.dtype_ == np.float32
    assert single.probas_.dtypes.eq(np.float32).all()
    np.testing.assert_allclose(single.probas_.to_numpy(), double.probas_.to_numpy(), atol=1e-5)
    np.testing.assert_allclose(single.confusions_, double.confusions_, atol=1e-5)
    assert (single.labels_ == double.labels_).all()
    monkeypatch.setattr(dawid_skene, "SINGLE_PRECISION_FROM", len(events))
    assert DawidSkene().fit(events).dtype_ == np.float32


def test_chunks_and_threads_do_not_change_the_fit(small_crowd, monkeypatch):
    events, _ = small_crowd
    whole = DawidSkene(n_jobs=1).fit(events)
    monkeypatch.setattr(dawid_skene, "_CHUNK_RATINGS", 128)  # 4 chunks of whole items, 2 threads
    for n_jobs in (1, 2, -1):
        chunked = DawidSkene(n_jobs=n_jobs).fit(events)
        pd.testing.assert_frame_equal(chunked.probas_, whole.probas_, atol=1e-12, rtol=0)
        np.testing.assert_allclose(chunked.confusions_, whole.confusions_, atol=1e-12)
        assert chunked.n_iter_ == whole.n_iter_


def test_items_with_hundreds_of_ratings_are_normalised_exactly(monkeypatch):
    """400 ratings move an item's log-odds by ~280 on the first sweep, beyond float32's exp (88): those rows
    are redone in float64 and the fit equals the double-precision one."""
    rng = np.random.default_rng(4)
    truth = np.array(["x", "y", "x"])
    labels = np.where(rng.random((3, 400)) < 0.8, truth[:, None], np.where(truth[:, None] == "x", "y", "x"))
    events = _events(np.repeat([1, 2, 3], 400), np.tile(np.arange(400), 3), labels.ravel())
    exact_rows = []
    redo = dawid_skene._Incidence._exact_rows

    def counted(which, *rest):
        exact_rows.append(len(which))
        redo(which, *rest)

    monkeypatch.setattr(dawid_skene._Incidence, "_exact_rows", staticmethod(counted))
    single = DawidSkene(dtype="float32").fit(events)
    assert exact_rows and np.isfinite(single.probas_.to_numpy()).all()
    double = DawidSkene(dtype="float64").fit(events)
    assert single.labels_.tolist() == double.labels_.tolist() == ["x", "y", "x"]
    np.testing.assert_allclose(single.probas_.to_numpy(), double.probas_.to_numpy(), atol=1e-6)


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", [["item_id"], ["annotator_id", "label"]])
@pytest.mark.parametrize("run", [majority_vote, lambda events: DawidSkene().fit(events)])
def test_missing_columns_are_named(run, missing):
    events = _events([1], ["a"], ["x"]).drop(columns=missing)
    with pytest.raises(ValueError, match=", ".join(missing)):
        run(events)


@pytest.mark.parametrize("run", [majority_vote, lambda events: DawidSkene().fit(events)])
def test_empty_and_incomplete_input_is_rejected(run):
    with pytest.raises(ValueError, match="empty"):
        run(_events([], [], []))
    with pytest.raises(ValueError, match="'label' has 1 missing"):
        run(_events([1, 2], ["a", "b"], ["x", None]))
    with pytest.raises(ValueError, match="labeled_at"):
        run(_events([1], ["a"], ["x"], labeled_at=["not a time"]))
    with pytest.raises(TypeError, match="DataFrame"):
        run([("1", "a", "x")])


def test_unknown_repeated_rule_lists_the_valid_ones():
    with pytest.raises(ValueError, match="latest, all"):
        majority_vote(_events([1], ["a"], ["x"]), repeated="first")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"init": "kmeans"}, "majority, random"),
        ({"smoothing": -0.5}, "smoothing"),
        ({"prior_accuracy": 1.5}, "prior_accuracy"),
        ({"pooling": "hierarchical"}, "none, shrink, sparse"),
        ({"min_labels": -1}, "min_labels"),
        ({"repeated": "first"}, "latest, all"),
        ({"dtype": "float16"}, "dtype"),
        ({"dtype": "double precision"}, "dtype"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"n_jobs": 1.5}, "n_jobs"),
    ],
)
def test_bad_hyperparameters_are_rejected_at_fit(params, message):
    model = DawidSkene(**params)  # __init__ only stores them, as in scikit-learn
    with pytest.raises(ValueError, match=message):
        model.fit(_events([1], ["a"], ["x"]))


def test_public_names_are_documented():
    for obj in (
        consensus.majority_vote,
        consensus.DawidSkene,
        DawidSkene.fit,
        DawidSkene.fit_predict,
        DawidSkene.confusion,
        DawidSkene.fit_codes,
    ):
        assert obj.__doc__ and obj.__doc__.strip()
    assert set(consensus.__all__) == {"majority_vote", "MajorityVote", "DawidSkene", "ChanceCheck",
                                      "chance_check", "TooManyClasses", "check_model_size"}
    assert consensus.chance_check.__doc__.strip() and consensus.MajorityVote.__doc__.strip()


# --- the estimator contract --------------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [DawidSkene(max_iter=7, smoothing=2.0, pooling="sparse"),
                                       consensus.MajorityVote(repeated="all")])
def test_estimators_follow_the_scikit_learn_contract(estimator):
    params = estimator.get_params()
    twin = clone(estimator)
    assert twin is not estimator and twin.get_params() == params
    assert twin.set_params(repeated="latest") is twin and twin.get_params()["repeated"] == "latest"
    assert estimator.get_params()["repeated"] == params["repeated"]  # the original is untouched
    with pytest.raises(ValueError, match="Invalid parameter"):
        twin.set_params(no_such_parameter=1)
    events = _events([1, 1, 1, 2, 2, 2], list("abcabc"), ["x", "x", "y", "y", "y", "x"])
    estimator.fit(events)
    assert estimator.get_params() == params  # fitting changes no parameter
    assert not hasattr(clone(estimator), "labels_")  # a clone is unfitted


def test_majority_vote_estimator_equals_the_function_on_a_real_crowd():
    events, _ = _snow("rte")
    table = majority_vote(events, repeated="all").set_index("item_id")
    model = consensus.MajorityVote(repeated="all").fit(events)
    pd.testing.assert_series_equal(model.labels_, table["label"])
    pd.testing.assert_series_equal(model.support_, table["support"])
    latest = majority_vote(events).set_index("item_id")["label"]
    assert consensus.MajorityVote().fit_predict(events).equals(latest)


# --- crowds that defeat the model ------------------------------------------------------------------------


def lone_expert_crowd(seed: int, *, n_items: int = 400, k: int = 4):
    """One annotator right 90% of the time among six who ignore the item: three answer at random, three
    always give one label (each their own). Each item gets three of the seven."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(k, n_items, p=[0.4, 0.3, 0.2, 0.1])
    raters = np.argsort(rng.random((n_items, 7)), axis=1)[:, :3]
    item = np.repeat(np.arange(n_items), 3)
    who = raters.ravel()
    wrong = (truth[item] + rng.integers(1, k, item.size)) % k
    label = np.where(who == 0, np.where(rng.random(item.size) < 0.9, truth[item], wrong),
                     np.where(who <= 3, rng.integers(0, k, item.size), (who - 4) % k))
    return _events(item, who, label), pd.Series(truth)


@pytest.mark.parametrize("seed", [0, 4])
def test_a_crowd_whose_agreement_hinges_on_one_annotator_falls_back_to_majority_vote(seed):
    """Before the check, EM relabeled the classes here: 0.23 (seed 0) and 0.22 (seed 4) right against 0.44
    and 0.46 for majority vote."""
    events, truth = lone_expert_crowd(seed)
    with pytest.warns(UserWarning, match="fell back to majority vote"):
        ds = DawidSkene().fit(events)
    assert ds.fallback_ == "majority vote" and ds.n_iter_ == 0
    assert ds.agreement_beyond_chance_.hinges_on_one and ds.agreement_beyond_chance_.z < 2.33
    assert ds.labels_.equals(_mv_labels(events).rename("label"))
    assert _accuracy(ds.labels_, truth) == _accuracy(_mv_labels(events), truth)
    np.testing.assert_allclose(ds.probas_.sum(axis=1), 1.0)


def test_the_chance_check_leaves_ordinary_crowds_alone():
    events, truth, _ = simulate_crowd(0, n_items=2000, n_annotators=500, per_item=(2, 5))
    ds = DawidSkene().fit(events)
    assert ds.fallback_ is None and not ds.agreement_beyond_chance_.hinges_on_one
    assert ds.agreement_beyond_chance_.z > 10 and ds.n_iter_ > 1


def spammed_crowd(seed: int, *, shared: bool, n_items: int = 2000, n_annotators: int = 750, k: int = 4):
    """About 8 ratings per annotator. ``shared=False``: confusions of their own and a fifth of the
    annotators spammers who always give one label; ``shared=True``: no spammer, everyone sends their errors
    the same way (a crowd-wide 1 ↔ 7)."""
    rng = np.random.default_rng(seed)
    prior = 0.5 ** np.arange(k) + 0.1
    truth = rng.choice(k, n_items, p=prior / prior.sum())
    accuracy = rng.uniform(0.45, 0.95, n_annotators)
    errors = rng.dirichlet(np.full(k - 1, 0.3 if shared else 0.5), size=(1 if shared else n_annotators, k))
    errors = np.broadcast_to(errors, (n_annotators, k, k - 1))
    confusion = np.empty((n_annotators, k, k))
    for c in range(k):
        confusion[:, c, np.arange(k) != c] = errors[:, c] * (1 - accuracy[:, None])
        confusion[:, c, c] = accuracy
    spam = rng.random(n_annotators) < (0.0 if shared else 0.2)
    confusion[spam] = np.eye(k)[rng.integers(0, k, spam.sum())][:, None, :]
    n_labels = rng.integers(2, 5, n_items)
    item = np.repeat(np.arange(n_items), n_labels)
    annotator = np.concatenate([rng.choice(n_annotators, size=m, replace=False) for m in n_labels])
    cumulative = confusion[annotator, truth[item]].cumsum(axis=1)
    label = np.minimum((rng.random(len(item))[:, None] > cumulative).sum(axis=1), k - 1)
    return _events(item, annotator, label), pd.Series(truth)


def test_shrink_pooling_does_not_collapse_on_a_sparse_crowd_with_one_label_spammers():
    """Shrinking whole confusion rows toward the pooled matrix gave 0.57 here, 91% of the items one label;
    majority vote gives 0.756, the default pooling 0.746."""
    events, truth = spammed_crowd(2, shared=False)
    assert events.groupby("annotator_id").size().median() == 8
    shrink = DawidSkene(pooling="shrink").fit(events)
    assert _accuracy(shrink.labels_, truth) >= _accuracy(_mv_labels(events), truth) - 0.01
    assert _accuracy(shrink.labels_, truth) >= _accuracy(DawidSkene().fit_predict(events), truth) - 0.01
    assert shrink.labels_.value_counts(normalize=True).iloc[0] < 0.7  # the largest class holds ~0.48


def test_shrink_pooling_still_learns_confusions_the_crowd_shares():
    events, truth = spammed_crowd(1, shared=True)
    assert _accuracy(DawidSkene(pooling="shrink").fit_predict(events), truth) >= _accuracy(
        DawidSkene().fit_predict(events), truth) + 0.04


def test_a_label_set_too_large_for_memory_is_refused_before_the_fit(monkeypatch):
    # 40 labels, 3 annotators, 200 items: 4 copies × 8 bytes × (3·40² + 200·40) = 409,600 bytes planned.
    rng = np.random.default_rng(0)
    events = pd.DataFrame({"item_id": np.repeat(np.arange(200), 3), "annotator_id": np.tile(list("abc"), 200),
                           "label": rng.integers(0, 40, 600).astype(str)})
    monkeypatch.setattr(limits, "MAX_MODEL_BYTES", 409_600)
    DawidSkene(dtype="float64").fit(events)  # exactly at the limit: fitted
    monkeypatch.setattr(limits, "MAX_MODEL_BYTES", 409_599)
    with pytest.raises(consensus.TooManyClasses, match=r"over 40 labels \(200 items, 3 annotator groups\)"):
        DawidSkene(dtype="float64").fit(events)


def test_more_confusion_cells_than_a_fit_can_update_in_seconds_are_refused(monkeypatch):
    rng = np.random.default_rng(0)
    events = pd.DataFrame({"item_id": np.repeat(np.arange(200), 3), "annotator_id": np.tile(list("abc"), 200),
                           "label": rng.integers(0, 40, 600).astype(str)})
    monkeypatch.setattr(limits, "MAX_CONFUSION_CELLS", 3 * 40 * 40)  # 3 annotators × 40²: fitted
    DawidSkene().fit(events)
    monkeypatch.setattr(limits, "MAX_CONFUSION_CELLS", 3 * 40 * 40 - 1)
    expected = r"3 confusion matrices of 40 × 40 labels \(4,800 cells"
    with pytest.raises(consensus.TooManyClasses, match=expected):
        DawidSkene().fit(events)


@pytest.mark.parametrize("dense", [True, False], ids=["dense-pairs", "sparse-products"])
@pytest.mark.parametrize("repeats", [False, True], ids=["one-per-pair", "repeated-pairs"])
def test_chance_check_on_item_sorted_ratings_equals_the_general_path(monkeypatch, dense, repeats):
    """Ratings sorted by item take the chunked path (pair counts per item, repeats found on neighbours);
    the same ratings shuffled take the general one (sparse product, pandas' duplicates): every field
    agrees, over many chunks, with dense pair counts and with the sparse fallback."""
    from analytics.consensus import chance

    monkeypatch.setattr(chance, "_CHUNK_RATINGS", 64)
    if not dense:
        monkeypatch.setattr(chance, "_DENSE_PAIRS", 1)
    rng = np.random.default_rng(11)
    n_items, n_annotators, n_classes = 700, 12, 3
    truth = rng.integers(0, n_classes, n_items)
    item = np.repeat(np.arange(n_items), 3)
    annotator = np.concatenate([rng.choice(n_annotators, 3, replace=False) for _ in range(n_items)])
    given = np.where(rng.random(len(item)) < 0.7, truth[item], rng.integers(0, n_classes, len(item)))
    if repeats:  # a tenth of the ratings given twice, the second time at random
        again = rng.random(len(item)) < 0.1
        item, annotator = np.r_[item, item[again]], np.r_[annotator, annotator[again]]
        given = np.r_[given, rng.integers(0, n_classes, again.sum())]
    order = np.lexsort((annotator, item))
    sorted_args = (item[order], annotator[order], given[order])
    shuffle = rng.permutation(len(item))
    shuffled_args = (item[shuffle], annotator[shuffle], given[shuffle])
    assert not (shuffled_args[0][1:] >= shuffled_args[0][:-1]).all()
    fast = chance.chance_check(*sorted_args, n_items, n_annotators, n_classes)
    general = chance.chance_check(*shuffled_args, n_items, n_annotators, n_classes)
    assert fast.pairs > 1000
    assert (fast.best, fast.hinges_on_one) == (general.best, general.hinges_on_one)
    for name in ("pairs", "agreeing", "expected", "z"):
        assert getattr(fast, name) == pytest.approx(getattr(general, name), rel=1e-12), name
