"""The drill-down's verdict in words survives the runs an older build stored (fewer signals)."""

from analytics.core.schema import NO_CONSENSUS
from ui import item_drilldown


def test_a_no_consensus_item_of_an_old_run_without_a_posterior_still_gets_its_verdict():
    old = {"status": NO_CONSENSUS, "rank": 3, "score": 2.5, "suggested_label": "7", "n_ratings": 4,
           "signals_agreeing": None, "signals_available": None}
    lines = item_drilldown._summary("digits-0001", old)
    assert lines[1].endswith("The evidence suggests '7' (log10 odds 2.5 for it).")
    new = {**old, "suggested_prob": 0.91}
    assert "(posterior 0.91; log10 odds 2.5 for it)" in item_drilldown._summary("digits-0001", new)[1]
