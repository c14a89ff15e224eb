"""Temporal drift of labels and of label quality: distribution shift, change points, guideline versions,
annotator drift, the onboarding of new cohorts, test–retest divergence, and what changed, in words.

Every function is pure: it reads the per-window count tables of ``analytics.store.drift`` (aggregated in
DuckDB) and returns DataFrames or frozen dataclasses. A *window* is a period of labeling (the start of a
day, week or month, a ``window`` column of timestamps); T windows, K classes, M annotators.

A *series* is a DataFrame with one row per window: ``window, value, std_error, n`` (and ``low, high``), where
``std_error`` is the window's own sampling error (binomial for a share). The labels of one item are
correlated, and windows differ in ways no binomial error covers (who was working, which items came in), so
every test on a series lets a window vary by φ σ_t² + τ²: a design effect φ on its sampling variance and a
variance τ² of its own, both estimated from the series (``change_points``); the tests on label
distributions divide χ² by a dispersion factor estimated in the same spirit (``label_dispersion``).

``drift_findings`` runs the tests on weekly windows (``ANALYSIS_GRAIN``) whatever grain is drawn, so days,
weeks and months tell one story; segments between changes span at least ``MIN_SEGMENT_DAYS``; the
``TOP_LABELS`` most frequent labels are followed one by one and the rest together, so the work stays bounded
however many labels a store has. At millions of events every difference is significant: read the effect
sizes (points of change, Cramér's V, Jensen–Shannon distance) before the p-values.
"""

from analytics.monitoring.drift.annotator_trends import AnnotatorDrift, annotator_drift, ds_accuracy_windows
from analytics.monitoring.drift.change_detection import ChangePoints, change_points, fitted_variance
from analytics.monitoring.drift.distribution import (
    AGAINST,
    DistributionShift,
    baseline_windows,
    distribution_shift,
    label_dispersion,
    shift_table,
)
from analytics.monitoring.drift.findings import (
    ANALYSIS_GRAIN,
    MIN_SEGMENT_DAYS,
    QUALITY_DESIGN_EFFECTS,
    TOP_LABELS,
    DriftFindings,
    changes_table,
    collapse_labels,
    confused_pairs,
    declared_shift,
    drift_findings,
    other_label,
    quality_series,
    top_labels,
)
from analytics.monitoring.drift.guidelines import COMPARISON_COLUMNS, guideline_comparison
from analytics.monitoring.drift.onboarding import ONBOARDING_METRICS, onboarding_effects
from analytics.monitoring.drift.retest import RetestDrift, retest_drift
from analytics.monitoring.drift.series import (
    GRAIN_DAYS,
    agreement_series,
    parse_expected,
    proportion_series,
    rate_series,
    share_series,
)

__all__ = [
    "AGAINST",
    "ANALYSIS_GRAIN",
    "AnnotatorDrift",
    "COMPARISON_COLUMNS",
    "ChangePoints",
    "DistributionShift",
    "DriftFindings",
    "GRAIN_DAYS",
    "MIN_SEGMENT_DAYS",
    "ONBOARDING_METRICS",
    "QUALITY_DESIGN_EFFECTS",
    "RetestDrift",
    "TOP_LABELS",
    "agreement_series",
    "annotator_drift",
    "baseline_windows",
    "change_points",
    "changes_table",
    "collapse_labels",
    "confused_pairs",
    "declared_shift",
    "distribution_shift",
    "drift_findings",
    "ds_accuracy_windows",
    "fitted_variance",
    "guideline_comparison",
    "label_dispersion",
    "onboarding_effects",
    "other_label",
    "parse_expected",
    "proportion_series",
    "quality_series",
    "rate_series",
    "retest_drift",
    "share_series",
    "shift_table",
    "top_labels",
]
