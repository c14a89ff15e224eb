"""Stored text in the Drift page's figures: labels, series names, guideline versions and annotator ids reach
plotly only as inert text, whatever markup they hold."""

import json

import numpy as np
import pandas as pd

from analytics.monitoring import drift
from charts import drift as charts

HOSTILE = "<b>x</b><a href='http://evil.test'>y</a>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;&lt;a href='http://evil.test'&gt;y&lt;/a&gt;"


def _texts(fig) -> str:
    """Every string the figure hands to plotly, as one JSON document."""
    return json.dumps(fig.to_plotly_json(), default=str)


def _guidelines() -> pd.DataFrame:
    return pd.DataFrame({"version": [HOSTILE], "effective_at": [pd.Timestamp("2026-03-16")]})


def test_label_mix_escapes_labels_and_guideline_versions():
    windows = pd.date_range("2026-03-02", periods=4, freq="W-MON")
    counts = pd.DataFrame({"window": list(windows) * 2, "label": [HOSTILE] * 4 + ["7"] * 4,
                           "n": [5, 6, 7, 8, 9, 8, 7, 6]})
    fig = charts.label_mix_figure(counts, guidelines=_guidelines())
    assert HOSTILE not in _texts(fig)
    assert ESCAPED in {trace.name for trace in fig.data}
    assert [a.text for a in fig.layout.annotations] == [ESCAPED]


def test_a_series_figure_escapes_the_series_name():
    rng = np.random.default_rng(0)
    series = pd.DataFrame({"window": pd.date_range("2026-03-02", periods=12, freq="W-MON"),
                           "value": 0.5 + rng.normal(0, 0.02, 12), "std_error": np.full(12, 0.02)})
    result = drift.change_points(series, name=f"share of '{HOSTILE}' among all labels", n_sim=99)
    fig = charts.series_figure(result, guidelines=_guidelines())
    assert HOSTILE not in _texts(fig)
    assert ESCAPED in fig.layout.title.text


def test_guideline_and_annotator_figures_escape_versions_metrics_and_ids():
    comparison = pd.DataFrame({"version": [HOSTILE], "metric": ["percent agreement"], "before": [0.7],
                               "before_low": [0.6], "before_high": [0.8], "after": [0.6], "after_low": [0.5],
                               "after_high": [0.7]})
    windows = pd.DataFrame({"window": pd.date_range("2026-03-02", periods=3, freq="W-MON"),
                            "annotator_id": [HOSTILE] * 3, "agreement": [0.8, 0.7, 0.6],
                            "low": [0.7, 0.6, 0.5], "high": [0.9, 0.8, 0.7], "peer_agreement": [0.8] * 3})
    for fig in (charts.guideline_figure(comparison),
                charts.annotators_figure(windows, [HOSTILE], flagged={HOSTILE})):
        assert HOSTILE not in _texts(fig)
        assert ESCAPED in _texts(fig)
