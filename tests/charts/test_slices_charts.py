"""The slice × class heatmap: one column per class, the pooled other classes last and said so."""

import numpy as np
import pandas as pd

from charts import slices as charts


def _cells(labels):
    n = len(labels)
    return pd.DataFrame({
        "attribute": ["source"] * n, "value": ["fax"] * n, "label": labels, "n": [40] * n,
        "errors": [10] * n, "noise_rate": np.linspace(0.1, 0.5, n), "ci_low": [0.0] * n, "ci_high": [1.0] * n,
        "class_rate": [0.25] * n, "ratio": np.linspace(0.4, 2.0, n),
    })


def test_the_pooled_classes_are_the_last_column_and_the_title_says_how_many():
    fig = charts.heatmap_figure(_cells(["a", "<b>", None]), metric_title="rate", classes=120, max_classes=2)
    (heat,) = fig.data
    assert list(heat.x) == ["&lt;b&gt;", "a", charts.OTHER_CLASSES]  # sorted, as text
    assert list(heat.y) == ["source = fax"]
    assert heat.customdata[0][2][0] == 0.5  # the pooled cell keeps its rate
    assert heat.customdata[0][1][0] == 0.1
    assert "The 2 most rated of 120 classes apart; the other 118 pooled" in fig.layout.title.text


def test_without_pooled_classes_the_columns_are_the_classes():
    fig = charts.heatmap_figure(_cells(["7", "1"]), metric_title="rate", classes=2, max_classes=20)
    assert list(fig.data[0].x) == ["1", "7"] and "pooled" not in fig.layout.title.text


def test_the_colour_scale_is_fixed_so_a_small_ratio_stays_pale():
    # ratios 0.9× to 1.1× only: an automatic scale would paint them deep blue and deep red
    cells = _cells(["a", "b", "c"]).assign(ratio=[0.9, 1.0, 1.1])
    (heat,) = charts.heatmap_figure(cells, metric_title="rate").data
    assert (heat.zmin, heat.zmax) == (-2, 2)
    assert heat.colorbar.ticktext == ("¼×", "½×", "1×", "2×", "4×")
    assert min(heat.colorbar.tickvals) == heat.zmin and max(heat.colorbar.tickvals) == heat.zmax
    assert np.nanmax(np.abs(np.asarray(heat.z, float))) < 0.15 * heat.zmax
