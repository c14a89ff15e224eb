"""Coverage of the agreement intervals on populations whose coefficients are known exactly: a seeded, light
version of ``bench/agreement_coverage.py`` (whose full results are in ``bench/README.md``)."""

import numpy as np
import pandas as pd
import pytest

from analytics.agreement import estimates as reliability
from analytics.agreement import two_way

SHARES = np.array([0.4, 0.3, 0.2, 0.1])
K = SHARES.size


def _confusion(accuracy):
    return np.where(np.eye(K, dtype=bool), accuracy[:, None, None], (1 - accuracy)[:, None, None] / (K - 1))


def _alpha_of(pair_agreement, label_shares):
    """Alpha (= Fleiss' kappa) of the population, 3 ratings per item: (P_a − Σ p²) / (1 − Σ p²)."""
    chance = float((label_shares**2).sum())
    return (float(SHARES @ pair_agreement) - chance) / (1 - chance)


def panel_alpha(accuracy):
    """These annotators' alpha over the population of items, each item rated by 3 of them at random."""
    p = _confusion(accuracy)
    joint = np.einsum("jkc,hkc->jhk", p, p)
    m = accuracy.size
    return _alpha_of((joint.sum(axis=(0, 1)) - np.einsum("jjk->k", joint)) / (m * (m - 1)),
                     SHARES @ p.mean(axis=0))


def sample(rng, n_items, accuracy):
    true = rng.choice(K, n_items, p=SHARES)
    raters = np.argsort(rng.random((n_items, accuracy.size)), axis=1)[:, :3]
    p = _confusion(accuracy)[raters, true[:, None]]
    label = np.minimum((rng.random((n_items, 3, 1)) > p.cumsum(axis=2)).sum(axis=2), K - 1)
    return pd.DataFrame({"item_id": np.repeat(np.arange(n_items), 3), "annotator_id": raters.ravel(),
                         "label": label.ravel()})


@pytest.mark.slow
def test_bca_over_items_holds_its_level_on_20_items():
    """A fixed panel; 400 samples of 20 items. BCa covered 94–95% in the bench, the percentile interval
    91–92%: the 93% floor fails an interval that undercovers like the percentile one (92.5% here)."""
    panel = np.array([0.9, 0.85, 0.8, 0.75, 0.65])
    truth = panel_alpha(panel)
    rng = np.random.default_rng(20)
    covered = {"bca": 0, "percentile": 0}
    samples = 400
    for s in range(samples):
        counts = sample(rng, 20, panel).groupby(["item_id", "label"]).size().rename("n").reset_index()
        for interval in covered:
            (estimate,) = reliability.agreement_estimates(counts, metrics=["krippendorff_alpha"], n_boot=200,
                                                          random_state=s, interval=interval).values()
            covered[interval] += estimate.ci_low <= truth <= estimate.ci_high
    assert covered["bca"] / samples >= 0.93
    assert covered["bca"] > covered["percentile"]


@pytest.mark.slow
def test_only_resampling_annotators_too_covers_the_alpha_of_their_population():
    """Panels of 3 drawn from a population of annotators (accuracy ~ Beta(8, 2)), 60 items each: the
    interval over items ignores which annotators were drawn and misses the population's alpha most of the
    time; the interval over items and annotators recovers much of it (never all: 3 annotators are few)."""
    mean = 0.8
    expected = _confusion(np.array([mean]))[0]
    truth = _alpha_of((expected**2).sum(axis=1), SHARES @ expected)
    rng = np.random.default_rng(3)
    samples, items_only, both = 150, 0, 0
    for s in range(samples):
        events = sample(rng, 60, rng.beta(8, 2, 3))
        counts = events.groupby(["item_id", "label"]).size().rename("n").reset_index()
        over_items = reliability.agreement_estimates(counts, metrics=["krippendorff_alpha"], n_boot=200,
                                                     random_state=s)["krippendorff_alpha"]
        crossed = two_way.agreement_estimates_two_way(events, metrics=["krippendorff_alpha"], n_boot=200,
                                                      random_state=s)["krippendorff_alpha"]
        items_only += over_items.ci_low <= truth <= over_items.ci_high
        both += crossed.ci_low <= truth <= crossed.ci_high
    assert items_only / samples < 0.75
    assert both / samples >= 0.8 and both - items_only >= 0.15 * samples
