"""The readable-table helper: labels, formats, key columns first, the guide; shown through AppTest."""

from __future__ import annotations

import doctest
import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui import tables


def _page():
    import pandas as pd

    from ui import tables

    frame = pd.DataFrame({"raw": [1], "n": [1234], "p": [3.2e-12], "slice": ["a = b"], "rate": [0.5]})
    tables.show(frame, {
        "n": tables.Column("Items", "How many.", "count"),
        "p": tables.Column("p", "The test's p-value.", "p_value"),
        "slice": tables.Column("Slice", "Which items.", key=True),
        "rate": tables.Column("Rate", "The share.", "percent", key=True),
    }, key="t")


def test_show_labels_formats_orders_and_explains_the_columns():
    at = AppTest.from_function(_page).run()
    table = at.dataframe[0]
    assert list(table.proto.column_order) == ["slice", "rate", "n", "p"]  # keys first; "raw" not shown
    config = json.loads(table.proto.columns)
    assert {name: config[name]["label"] for name in ("slice", "rate", "n", "p")} == {
        "slice": "Slice", "rate": "Rate", "n": "Items", "p": "p"}
    assert config["p"]["type_config"]["format"] == "%.2g"
    assert config["n"]["type_config"]["format"] == "localized"
    assert list(table.value.columns) == ["raw", "n", "p", "slice", "rate"]  # the data keeps its names
    assert table.value["rate"].tolist() == [50.0] and config["rate"]["type_config"]["format"] == "%.1f%%"
    assert at.expander[0].markdown[0].value == (
        "- **Slice**: Which items.\n- **Rate**: The share.\n- **Items**: How many.\n"
        "- **p**: The test's p-value.")


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format 'money'"):
        tables.Column("Price", "What it costs.", "money")


def test_interval_text_reads_as_one_value():
    frame = tables.interval_text(pd.DataFrame({"lo": [0.1234, float("nan")], "hi": [0.5, 0.2]}), "lo", "hi",
                                 into="ci")
    assert frame["ci"].tolist() == ["12.3%–50.0%", ""]


def test_examples_in_docstrings_run():
    assert doctest.testmod(tables).failed == 0
