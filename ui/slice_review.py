"""The Slices page's write: send a slice's suspects (the latest detection run's flags in it) to review, after
a confirmation that says how many, through ``analytics.remediation.requests.send_slice`` (which checks the
reviewer role). Below the reviewer role the button is not drawn: the slot says what it needs instead."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from analytics.core.schema import EventFilter
from analytics.remediation import requests
from analytics.remediation.roles import PermissionDenied, Role
from ui import identity, loaders, page_files
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.safe_text import md

REVIEW_PAGE = page_files.page("remediate/review.py")


def review_box(slot: DeltaGenerator, src: loaders.Source, run_id: str | None, flt: EventFilter,
               attribute: str, value: str, *, key: str) -> None:
    """A button in ``slot`` that asks to send the slice's suspects to review; the question, then the
    outcome, below it.

    Parameters
    ----------
    slot : DeltaGenerator
        Where the button goes (e.g. a column next to the page's other action on the slice).
    src : Source
        The store.
    run_id : str, optional
        The latest detection run (None: nothing to send).
    flt : EventFilter
        The global filters: only items in view are sent.
    attribute, value : str
        The slice.
    key : str
        Prefix of the widget keys.
    """
    me = rl.actor()
    if me.role < Role.REVIEWER:
        slot.caption(identity.needs(Role.REVIEWER, "send a slice to review"))
        return
    items = [] if run_id is None else rl.slice_suspects(src, run_id, attribute, value, flt)
    total, name = len(items), f"{attribute} = {value}"
    refused = ("No detection run yet: run one on the Suspects page." if run_id is None
               else "The latest detection run flags no item of this slice in view." if not total else None)
    pending, outcome = f"{key}.pending", f"{key}.outcome"
    # what a confirmation is for: it lapses when the run, the slice, a filter or the count changes
    scope = (run_id, attribute, value, flt, total)
    why = md(refused) if refused else ("The latest detection run's flags in this slice, among the items in "
                                       "view, join the review queue (each item once per run).")
    if slot.button(f"Send its {total:,} suspects to review…", key=f"{key}.send", width="stretch",
                   icon=":material/forward_to_inbox:", disabled=refused is not None, help=why):
        st.session_state[pending] = scope
        st.session_state.pop(outcome, None)
    if outcome in st.session_state:
        _report(*st.session_state.pop(outcome))
    if st.session_state.get(pending) != scope:
        return
    with st.container(border=True, key=f"{key}-confirm"):
        st.warning(md(f"Send the {total:,} likely mislabeled items of {name} to review?"),
                   icon=":material/help:")
        st.caption(md(f"The flags of the latest detection run ({run_id}) in this slice, among the items in "
                      "view; an item already sent to review in this run is not added twice."))
        yes, no = st.columns(2)
        if yes.button(f"Yes, send {total:,} items", key=f"{key}.confirm", type="primary"):
            try:
                sent = requests.send_slice(app_store.current(), me, run_id, attribute, value, flt=flt)
            except PermissionDenied as exc:
                st.error(md(exc), icon=":material/lock:")
            else:
                loaders.remediation_history.clear()  # the drill-down's history now holds the new requests
                st.session_state[outcome] = (sent.added, sent.asked, name)
        if no.button("Cancel", key=f"{key}.cancel") or outcome in st.session_state:
            st.session_state.pop(pending, None)
            st.rerun()  # the question goes away; the outcome, if any, shows on the next run


def _report(added: int, asked: int, name: str) -> None:
    """Say what a send did (only new requests are a success), with the way to the queue."""
    if added == 0:
        st.info(md(f"Nothing added: all {_items(asked)} of {name} were already sent to review in this run."),
                icon=":material/info:")
    else:
        rest = f"; {asked - added:,} were already there" if added < asked else ""
        st.success(md(f"{_items(added)} of {name} added to the review queue{rest}."), icon=":material/check:")
    st.page_link(REVIEW_PAGE, label="Open the review queue", icon=":material/rule:")


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n:,} items"
