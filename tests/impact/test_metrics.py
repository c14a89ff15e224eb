"""One arm's metrics: accuracy and F1 exactly scikit-learn's, on random labels and on the edge cases (a class
never predicted, a class predicted but never true, a single class); ECE and its reliability table on a worked
example computed by hand."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from analytics.impact import metrics


def _sklearn_prfs(y_true, y_pred, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return precision_recall_fscore_support(y_true, y_pred, **kwargs)


def _sklearn_macro(y_true, y_pred, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return f1_score(y_true, y_pred, average="macro", **kwargs)


@pytest.mark.parametrize("seed", range(5))
def test_random_labels_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    n = int(rng.integers(5, 300))
    y_true = rng.choice([f"c{j}" for j in range(k)], n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.choice([f"c{j}" for j in range(k + 1)], n))
    assert metrics.accuracy(y_true, y_pred) == accuracy_score(y_true, y_pred)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(_sklearn_macro(y_true, y_pred), rel=1e-15)
    table = metrics.per_class_f1(y_true, y_pred)
    precision, recall, f1, support = _sklearn_prfs(y_true, y_pred)
    assert table["label"].tolist() == sorted(set(y_true) | set(y_pred))
    np.testing.assert_array_equal(table["precision"], precision)
    np.testing.assert_array_equal(table["recall"], recall)
    np.testing.assert_array_equal(table["f1"], f1)
    np.testing.assert_array_equal(table["support"], support)


def test_a_class_never_predicted():
    # c is true twice and never predicted; b is predicted for one c.
    y_true = ["a", "a", "b", "c", "c"]
    y_pred = ["a", "a", "b", "b", "a"]
    table = metrics.per_class_f1(y_true, y_pred).set_index("label")
    # a: tp 2, predicted 3, support 2 -> P 2/3, R 1, F1 4/5; b: tp 1, predicted 2, support 1 -> P 1/2, R 1,
    # F1 2/3; c: tp 0, predicted 0, support 2 -> P 0 (zero division), R 0, F1 0.
    assert table.loc["a", ["precision", "recall", "f1"]].tolist() == pytest.approx([2 / 3, 1, 4 / 5])
    assert table.loc["b", ["precision", "recall", "f1"]].tolist() == pytest.approx([1 / 2, 1, 2 / 3])
    assert table.loc["c", ["precision", "recall", "f1", "support", "predicted"]].tolist() == [0, 0, 0, 2, 0]
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx((4 / 5 + 2 / 3 + 0) / 3, rel=1e-15)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx(_sklearn_macro(y_true, y_pred), rel=1e-15)
    assert metrics.accuracy(y_true, y_pred) == 3 / 5
    # zero_division = nan: precision of c is undefined, and scikit-learn agrees
    nan_table = metrics.per_class_f1(y_true, y_pred, zero_division=np.nan)
    np.testing.assert_array_equal(nan_table["precision"],
                                  _sklearn_prfs(y_true, y_pred, zero_division=np.nan)[0])
    assert np.isnan(nan_table["precision"].iloc[2]) and nan_table["f1"].iloc[2] == 0


def test_a_class_predicted_but_never_true_counts_in_the_macro_average():
    y_true = [0, 0, 1, 1]
    y_pred = [0, 2, 1, 1]
    # 0: F1 2/3 (tp 1, support 2, predicted 1); 1: F1 1; 2: F1 0 (tp 0, support 0, predicted 1)
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + 1 + 0) / 3, rel=1e-15)
    assert metrics.macro_f1(y_true, y_pred) == _sklearn_macro(y_true, y_pred)


def test_a_single_class():
    assert metrics.macro_f1(["x"] * 4, ["x"] * 4) == 1.0 == f1_score(["x"] * 4, ["x"] * 4, average="macro")
    assert metrics.accuracy(["x"] * 4, ["x"] * 4) == 1.0
    # one class in truth, two predicted: x has tp 3, predicted 3, support 4 -> F1 6/7; y F1 0
    y_true, y_pred = ["x"] * 4, ["x", "x", "x", "y"]
    assert metrics.macro_f1(y_true, y_pred) == pytest.approx((6 / 7 + 0) / 2, rel=1e-15)
    assert metrics.macro_f1(y_true, y_pred) == _sklearn_macro(y_true, y_pred)


def test_explicit_labels_as_sklearn():
    y_true = ["a", "b", "b", "d"]
    y_pred = ["a", "b", "a", "a"]
    labels = ["b", "a", "c"]  # c neither true nor predicted; d left out
    table = metrics.per_class_f1(y_true, y_pred, labels=labels)
    assert table["label"].tolist() == labels
    for column, expected in zip(["precision", "recall", "f1", "support"],
                                _sklearn_prfs(y_true, y_pred, labels=labels), strict=True):
        np.testing.assert_array_equal(table[column], expected)
    assert metrics.macro_f1(y_true, y_pred, labels=labels) == _sklearn_macro(y_true, y_pred, labels=labels)
    with_nan = metrics.macro_f1(y_true, y_pred, labels=labels, zero_division=np.nan)
    assert with_nan == pytest.approx(_sklearn_macro(y_true, y_pred, labels=labels, zero_division=np.nan))


def test_macro_f1_from_counts_is_vectorised_over_replicates():
    rng = np.random.default_rng(4)
    y_true, y_pred = rng.integers(0, 4, 50), rng.integers(0, 5, 50)
    rows = []
    expected = []
    for _ in range(6):
        idx = rng.integers(0, 50, 50)
        t, p = y_true[idx], y_pred[idx]
        rows.append([np.bincount(t[t == p], minlength=5), np.bincount(p, minlength=5),
                     np.bincount(t, minlength=5)])
        expected.append(_sklearn_macro(t, p))
    counts = np.array(rows)  # (6, 3, 5)
    got = metrics.macro_f1_from_counts(counts[:, 0], counts[:, 1], counts[:, 2])
    np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="lengths differ"):
        metrics.accuracy([1, 2], [1])
    with pytest.raises(ValueError, match="missing"):
        metrics.macro_f1(["a", None], ["a", "b"])
    with pytest.raises(ValueError, match="no evaluation items"):
        metrics.accuracy([], [])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.expected_calibration_error([1], [1], [1.2])


# --- calibration --------------------------------------------------------------------------------------------

WORKED = pd.DataFrame({
    "y_true": ["a", "a", "b", "b", "c", "c"],
    "y_pred": ["a", "a", "a", "b", "a", "b"],
    "prob": [0.95, 0.85, 0.85, 0.62, 0.55, 0.30],
})


def test_ece_of_a_worked_example():
    """Six items, 10 bins of width 0.1; correct = [1, 1, 0, 1, 0, 0].

    0.95 -> bin 9 (0.9, 1.0]: n 1, acc 1, conf 0.95, |gap| 0.05
    0.85, 0.85 -> bin 8 (0.8, 0.9]: n 2, acc 1/2, conf 0.85, |gap| 0.35
    0.62 -> bin 6 (0.6, 0.7]: n 1, acc 1, conf 0.62, |gap| 0.38
    0.55 -> bin 5 (0.5, 0.6]: n 1, acc 0, conf 0.55, |gap| 0.55
    0.30 -> bin 2 (0.2, 0.3] (on an edge: the bin below it): n 1, acc 0, conf 0.30, |gap| 0.30
    ECE = (1·0.05 + 2·0.35 + 1·0.38 + 1·0.55 + 1·0.30) / 6 = 1.98 / 6 = 0.33
    """
    ece = metrics.expected_calibration_error(WORKED.y_true, WORKED.y_pred, WORKED.prob)
    assert ece == pytest.approx(0.33, abs=1e-15)
    table = metrics.reliability_table(WORKED.y_true, WORKED.y_pred, WORKED.prob)
    assert table.columns.tolist() == ["bin", "lower", "upper", "n", "mean_confidence", "accuracy"]
    assert table["n"].tolist() == [0, 0, 1, 0, 0, 1, 1, 0, 2, 1]
    filled = table[table["n"] > 0]
    assert filled["bin"].tolist() == [2, 5, 6, 8, 9]
    assert filled["mean_confidence"].tolist() == pytest.approx([0.30, 0.55, 0.62, 0.85, 0.95])
    assert filled["accuracy"].tolist() == [0, 0, 1, 0.5, 1]
    assert table.loc[table["n"] == 0, ["mean_confidence", "accuracy"]].isna().all().all()
    assert table["lower"].iloc[2] == pytest.approx(0.2) and table["upper"].iloc[2] == pytest.approx(0.3)
    # the ECE is the n-weighted mean gap of the table
    weighted = (filled["n"] * (filled["accuracy"] - filled["mean_confidence"]).abs()).sum() / 6
    assert ece == pytest.approx(weighted, rel=1e-14)


def test_ece_with_fewer_bins_and_the_edges():
    """Two bins: (0, 0.5] and (0.5, 1]. 0.30 goes to bin 0 (acc 0, conf 0.30, |gap| 0.30); the other five to
    bin 1: acc 3/5, conf (0.95 + 0.85 + 0.85 + 0.62 + 0.55) / 5 = 3.82 / 5 = 0.764, |gap| 0.164.
    ECE = (1·0.30 + 5·0.164) / 6 = (0.30 + 0.82) / 6 = 1.12 / 6."""
    ece = metrics.expected_calibration_error(WORKED.y_true, WORKED.y_pred, WORKED.prob, n_bins=2)
    assert ece == pytest.approx(1.12 / 6, abs=1e-15)
    # 0 is in the first bin, 1 in the last, an edge in the bin below it
    assert metrics.confidence_bins([0.0, 0.5, 0.5000001, 1.0], n_bins=2).tolist() == [0, 0, 1, 1]
    # calibrated: confidence 1 and right twice, confidence 0.5 and right once in two -> ECE 0
    assert metrics.expected_calibration_error([1, 1, 1, 0], [1, 1, 1, 1], [1.0, 1.0, 0.5, 0.5]) == 0.0
    # overconfident: 0.5 in bin 4 right 2 of 3 -> gap 1/6, weight 3/4; 1.0 in bin 9 right -> ECE 1/8
    assert metrics.expected_calibration_error([1, 1, 1, 1], [1, 1, 1, 0], [1.0, 0.5, 0.5, 0.5]) == \
        pytest.approx(1 / 8, abs=1e-15)


def test_top_label_gives_the_predicted_class_and_its_probability():
    proba = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25], [0.3, 0.3, 0.4]])
    y_pred, prob = metrics.top_label(proba, ["x", "y", "z"])
    assert y_pred.tolist() == ["y", "x", "z"] and prob.tolist() == [0.7, 0.5, 0.4]
