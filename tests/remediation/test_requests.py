"""Sending a slice to review on the demo store: which items (the run's flags in the slice, in view), the note
that names the slice, once per item and run, the queue they land in, and the reviewer role."""

from __future__ import annotations

import pytest

from analytics.core.schema import EventFilter
from analytics.monitoring import slices
from analytics.remediation import queue, requests
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import review_requests
from analytics.store import slices as slice_queries

ANA, GUEST = Actor("ana", Role.REVIEWER), Actor("guest", Role.VIEWER)


@pytest.fixture
def run_id(store):
    return store.query("SELECT run_id FROM detection_runs ORDER BY created_at DESC LIMIT 1")["run_id"][0]


def _flagged_in(store, run_id, pairs):
    """The run's flagged items carrying every (attribute, value) of ``pairs``, by rank (written plainly)."""
    frame = store.query("SELECT s.item_id, s.rank FROM suspects s WHERE s.run_id = ? AND s.flagged", [run_id])
    attributes = store.query("SELECT item_id, key, value FROM item_attributes")
    keep = set(frame["item_id"])
    for key, value in pairs:
        keep &= set(attributes[(attributes["key"] == key) & (attributes["value"] == value)]["item_id"])
    return frame[frame["item_id"].isin(keep)].sort_values("rank")["item_id"].tolist()


def test_a_slices_suspects_are_the_runs_flags_in_it_as_the_slices_page_counts_them(store, run_id):
    fax = requests.slice_suspects(store, run_id, "source", "fax")
    assert fax == _flagged_in(store, run_id, [("source", "fax")]) and len(fax) > 5
    cube = slice_queries.slice_cube(store, run_id=run_id)
    table = slices.slice_noise_table(cube, metric="suspect").set_index("slice")
    for value in ("fax", "mobile", "scanner"):
        assert len(requests.slice_suspects(store, run_id, "source", value)) == table.loc[
            f"source = {value}", "errors"]
    assert requests.slice_suspects(store, run_id, "source", "no such value") == []


def test_within_a_pinned_slice_only_the_items_in_view_are_sent(store, run_id):
    pinned = EventFilter(attribute="source", attribute_value="fax")
    both = requests.slice_suspects(store, run_id, "region", "north", flt=pinned)
    assert both == _flagged_in(store, run_id, [("source", "fax"), ("region", "north")]) != []
    assert set(both) < set(requests.slice_suspects(store, run_id, "region", "north"))
    assert requests.slice_note("region", "north", pinned) == "slice region = north (in view: source = fax)"


def test_a_sent_slice_waits_for_review_named_in_its_note_once_per_item(store, run_id):
    fax = requests.slice_suspects(store, run_id, "source", "fax")
    sent = requests.send_slice(store, ANA, run_id, "source", "fax")
    assert sent == requests.SliceSend(len(fax), len(fax), "slice source = fax")
    asked = review_requests.review_requests(store)
    assert sorted(asked["item_id"]) == sorted(fax)
    assert set(asked["note"]) == {"slice source = fax"} and set(asked["requested_by"]) == {"ana"}
    assert set(asked["run_id"]) == {run_id}
    waiting = queue.review_queue(store, run_id=run_id)
    assert set(waiting["item_id"]) == set(fax) and set(waiting["reason"]) == {"requested"}
    assert requests.send_slice(store, ANA, run_id, "source", "fax").added == 0


def test_a_viewer_cannot_send_a_slice(store, run_id):
    with pytest.raises(PermissionDenied, match="guest \\(viewer\\) may not send items to review"):
        requests.send_slice(store, GUEST, run_id, "source", "fax")
    assert review_requests.review_requests(store).empty
