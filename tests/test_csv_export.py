"""Every CSV LabelWatch writes neutralises cells a spreadsheet would run as a formula (OWASP's CSV
injection advice): the page downloads (annotator reliability, import batches, audit trail, …) through
``ui.csv_download`` and the CLI's exports (a dataset version, a campaign)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from analytics.core.csv_export import FORMULA_STARTS, neutralise, to_csv
from analytics.remediation import campaigns, versions
from analytics.remediation.roles import Actor, Role
from analytics.store import Store

HOSTILE = ['=HYPERLINK("http://x.test","ok")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_formula_looking_cell_is_written_as_text(value):
    written = _cells(to_csv(pd.DataFrame({"note": [value], "n": [1]})))
    assert written[1][0] == "'" + value and written[1][1] == "1"
    assert not written[1][0].startswith(FORMULA_STARTS)


def test_numbers_and_plain_text_are_left_alone():
    frame = pd.DataFrame({"label": ["-1", "+3.5", "cat", "1e-3", None], "score": [-1.5, 2.0, 3.0, 4.0, 5.0]})
    written = _cells(to_csv(frame))
    assert [row[0] for row in written[1:]] == ["-1", "+3.5", "cat", "1e-3", ""]
    assert [row[1] for row in written[1:]] == ["-1.5", "2.0", "3.0", "4.0", "5.0"]
    assert neutralise(-3) == -3 and to_csv(pd.DataFrame({"=x": ["a"]})).startswith("'=x")


def test_the_version_and_campaign_exports_hold_no_runnable_cell(demo_store_path, tmp_path):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    lead = Actor("lead", Role.ADMIN)
    with Store(copy) as store:
        item = store.scalar("SELECT item_id FROM suspects WHERE flagged ORDER BY rank LIMIT 1")
        chosen = campaigns.selection(store, [item])
        cid = campaigns.create_campaign(store, lead, "x", chosen, assignees=['=HYPERLINK("http://x.test")'])
        versions.create_version(store, lead, note="v")
        campaigns.export_campaign(store, cid, tmp_path / "campaign.csv")
        versions.export_version(store, "v1", tmp_path / "v1.csv")
    for name in ("campaign.csv", "v1.csv"):
        rows = _cells((tmp_path / name).read_text(encoding="utf-8"))
        assert all(not cell.startswith(FORMULA_STARTS) or cell.lstrip("+-").replace(".", "").isdigit()
                   for row in rows for cell in row)
    assignee = _cells((tmp_path / "campaign.csv").read_text(encoding="utf-8"))[1][2]
    assert assignee == '\'=HYPERLINK("http://x.test")'
