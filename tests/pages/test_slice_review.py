"""The Slices page sends a slice to review through the real app (AppTest) on a copy of the demo store: the
latest detection run's flags in the chosen slice, after a confirmation that says how many, recorded as review
requests that name the slice and wait on the Review page; a viewer cannot send."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.schema import EventFilter
from analytics.remediation import requests
from analytics.store import Store, review_requests
from analytics.store import remediation as sql
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "ana")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


def _slices(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=120)
    at.query_params.update(params)
    at.run()
    at.switch_page("../pages/monitor/slices.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _suspects(db: pathlib.Path, attribute: str, value: str, flt: EventFilter | None = None) -> list[str]:
    with Store(db) as store:
        return requests.slice_suspects(store, sql.latest_run(store), attribute, value, flt=flt)


def _requests(db: pathlib.Path):
    with Store(db) as store:
        return review_requests.review_requests(store)


def test_a_slice_goes_to_review_after_a_confirmation_that_says_how_many(db):
    fax = _suspects(db, "source", "fax")
    at = _slices()
    at.selectbox(key="slices.open").select("source = fax").run()
    send = at.button(key="slices.review.send")
    assert send.label == f"Send its {len(fax):,} suspects to review…" and not send.disabled
    send.click().run()
    assert any(w.value == md(f"Send the {len(fax):,} likely mislabeled items of source = fax to review?")
               for w in at.warning)
    assert _requests(db).empty  # nothing is sent before the confirmation
    at.button(key="slices.review.confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == md(f"{len(fax):,} items of source = fax added to the review queue.")
               for s in at.success)
    assert not at.warning  # the question went away
    sent = _requests(db)
    assert sorted(sent["item_id"]) == sorted(fax)
    assert set(sent["note"]) == {"slice source = fax"} and set(sent["requested_by"]) == {"ana"}

    at.button(key="slices.review.send").click().run()
    at.button(key="slices.review.confirm").click().run()
    assert any("Nothing added" in i.value for i in at.info)
    assert len(_requests(db)) == len(fax)

    review = at.switch_page("../pages/remediate/review.py").run()
    assert not review.exception
    assert any(f"**{len(fax):,} items wait for review**" in m.value for m in review.markdown)
    assert set(review.dataframe(key="review.table").value["item_id"]) == set(fax)


def test_cancel_sends_nothing_and_another_slice_drops_the_question(db):
    at = _slices()
    at.selectbox(key="slices.open").select("source = fax").run()
    at.button(key="slices.review.send").click().run()
    at.button(key="slices.review.cancel").click().run()
    assert not at.warning and _requests(db).empty
    at.button(key="slices.review.send").click().run()
    at.selectbox(key="slices.open").select("source = mobile").run()
    assert not at.warning  # the confirmation was for fax
    assert _requests(db).empty


def test_within_the_sidebars_slice_only_the_items_in_view_are_sent(db):
    pinned = EventFilter(attribute="source", attribute_value="fax")
    both = _suspects(db, "region", "north", pinned)
    at = _slices(slice="source", slice_value="fax")
    at.selectbox(key="slices.open").select("region = north").run()
    assert at.button(key="slices.review.send").label == f"Send its {len(both):,} suspects to review…"
    at.button(key="slices.review.send").click().run()
    at.button(key="slices.review.confirm").click().run()
    sent = _requests(db)
    assert sorted(sent["item_id"]) == sorted(both)
    assert set(sent["note"]) == {"slice region = north (in view: source = fax)"}


def test_a_viewer_cannot_send_a_slice(db, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nviewer = ["ana"]\n')
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    at = _slices()
    assert "slices.review.send" not in {b.key for b in at.button}
    words = "ana (viewer) may not send a slice to review: needs the reviewer role"
    assert any(words in c.value for c in at.caption)
    assert not at.button(key="slices.suspects").disabled  # reading stays open
