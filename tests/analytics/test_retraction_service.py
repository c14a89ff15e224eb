"""The retraction service the Data page writes through (``analytics.ingest.retraction``)."""

from __future__ import annotations

import pytest

from analytics.ingest import pipeline as ingest
from analytics.ingest import retraction
from analytics.store import Store, retractions


def test_retract_records_the_retraction_through_the_store(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("item_id,annotator_id,label,labeled_at\nx-1,ann-1,cat,2026-05-01T10:00:00\n")
    with Store(str(tmp_path / "s.duckdb")) as store:
        batch_id = ingest.ingest(store, path).batch_id
        done = retraction.retract(store, batch_id, actor="lead", reason=" wrong export ")
        assert (done["batch_id"], done["retracted_by"], done["reason"]) == (batch_id, "lead", "wrong export")
        assert retractions.list_retractions(store)["batch_id"].tolist() == [batch_id]


@pytest.mark.parametrize(("batch_id", "actor", "reason", "message"), [
    ("", "lead", "why", "Choose the import batch"),
    ("   ", "lead", "why", "Choose the import batch"),
    (None, "lead", "why", "Choose the import batch"),
    ("b-1", "lead", "  ", "needs a reason"),
    ("b-1", "", "why", "needs the name"),
    ("b-1", "lead", "why", "no import batch 'b-1'"),
])
def test_retract_refuses_what_it_cannot_record(tmp_path, batch_id, actor, reason, message):
    with Store(str(tmp_path / "s.duckdb")) as store, pytest.raises(retraction.RetractionError, match=message):
        retraction.retract(store, batch_id, actor=actor, reason=reason)
    assert retraction.RetractionError is retractions.RetractionError
