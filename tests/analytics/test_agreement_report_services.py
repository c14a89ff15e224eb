"""The Agreement page's store-reading services of ``analytics.agreement.report``: per-cohort alpha over time,
the Dawid–Skene fit and the label confusion, each checked against the same computation done by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from analytics.agreement import coefficients, report
from analytics.consensus import DawidSkene
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import agreement as queries
from analytics.store import consensus as consensus_queries


def test_cohort_estimates_over_time_are_each_cohorts_own_estimates(demo_store_path):
    flt = EventFilter()
    with Store(demo_store_path, read_only=True) as store:
        cohorts = tuple(queries.cohort_order(store))[:2]
        found = report.cohort_estimates_over_time(store, flt, cohorts=cohorts, grain="month", level="nominal")
        for cohort in cohorts:
            counts = queries.label_counts(store, dataclasses.replace(flt, cohorts=(cohort,)), by="month")
            expected = report.estimates_frame(counts, metrics=("krippendorff_alpha",))
            got = found[found["cohort"] == cohort].drop(columns="cohort").reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected.rename(columns={"grp": "period"}))
        assert report.cohort_estimates_over_time(store, flt, cohorts=(), grain="month").empty


def test_consensus_model_is_the_fit_on_the_coded_ratings(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        model, why_not = report.consensus_model(store)
        coded = consensus_queries.coded_ratings(store, None)
        nothing = report.consensus_model(store, EventFilter(cohorts=("nobody",)))
    direct = DawidSkene().fit_codes(coded.item_codes, coded.annotator_codes, coded.label_codes,
                                    items=coded.items, annotators=coded.annotators, classes=coded.classes)
    assert why_not is None and nothing == (None, None)
    np.testing.assert_array_equal(model.probas_.to_numpy(), direct.probas_.to_numpy())


def test_label_confusion_reads_the_counts_and_is_empty_without_ratings(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        found = report.label_confusion(store)
        expected = coefficients.label_confusion_from_counts(queries.label_counts(store, None))
        empty = report.label_confusion(store, EventFilter(cohorts=("nobody",)))
    pd.testing.assert_frame_equal(found, expected)
    assert empty.empty and list(empty.columns) == ["label_a", "label_b", "pairs", "expected", "lift", "items"]
