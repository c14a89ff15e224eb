"""The Suspects page's two writes: start a detection run (with progress) and send items to review (the
rows picked by hand at once; every matching item only after a confirmation that says how many); and the
way to a relabel campaign of the picked rows (the Campaigns page opens with them).

Each control is drawn only for a role that may use it (running detection and sending to review: reviewer;
a campaign: admin); a viewer reads the words that say so instead. The engine checks the role again."""

from __future__ import annotations

import streamlit as st

from analytics.core.schema import EventFilter
from analytics.detection import suspects
from analytics.ingest import rules
from analytics.remediation import requests
from analytics.remediation.roles import PermissionDenied, Role
from ui import identity, loaders, page_files
from ui import store as app_store
from ui.safe_text import md

CROSS_VALIDATED = "Cross-validated model on the items' features"


def run_form(src: loaders.Source, flt: EventFilter, *, has_runs: bool, key: str, run_key: str) -> None:
    """An expander with the run's options and a button that runs detection on the filtered events.

    Parameters
    ----------
    src : Source
        The store.
    flt : EventFilter
        The global filters: the run scores the items of these events, from these events alone.
    has_runs : bool
        Open the expander when there is no run yet.
    key : str
        Prefix of the widget keys.
    run_key : str
        Key of the page's run picker: the new run is selected in it.
    """
    if not identity.may(Role.REVIEWER):
        st.caption(identity.needs(Role.REVIEWER, "run detection"))
        return
    store = app_store.open_store(src.path)
    rules_path = rules.find_rules_file(store.path)
    with st.expander("Run detection", expanded=not has_runs, icon=":material/troubleshoot:"):
        models = [CROSS_VALIDATED, *loaders.prediction_models(src)]
        left, middle, right = st.columns([2, 1, 1])
        model = left.selectbox("Model's second opinion", models, key=f"{key}.model",
                               help="Imported predictions must be out-of-sample (cross-validated).")
        folds = middle.number_input("Folds", 2, 10, 5, key=f"{key}.folds")
        neighbours = right.number_input("Neighbours", 0, 50, 10, key=f"{key}.neighbours")
        scope = suspects.filter_words(flt)
        st.text("Scores the labels that pass the sidebar filters (" + (scope or "no filter: every label")
                + "), and those labels alone decide each item's given label.")
        st.caption(("Rules: " + md(rules_path)) if rules_path else
                   "No rules file (set LABELWATCH_RULES or put rules.toml next to the store).")
        if not st.button("Run detection on the filtered events", key=f"{key}.go", type="primary",
                         icon=":material/play_arrow:"):
            return
        me = identity.actor()
        with st.status("Running detection…", expanded=True) as status:
            bar = st.progress(0.0)

            def progress(fraction: float, message: str) -> None:
                bar.progress(min(max(fraction, 0.0), 1.0), text=message)

            try:
                run_id = suspects.run_detection(
                    store, flt, created_by=me, model_version=None if model == CROSS_VALIDATED else model,
                    rules=rules.load_rules(rules_path) if rules_path else None, n_splits=int(folds),
                    n_neighbours=int(neighbours), progress=progress)
            except (ValueError, PermissionDenied) as exc:  # our own messages: no events, a bad rules file,
                # too many labels, a role that may not run it
                status.update(label="Detection did not run", state="error")
                st.error(md(exc))
                return
            status.update(label=f"Stored {run_id}", state="complete")
    loaders.detection_runs.clear()
    # Set, not dropped: a picker whose value is dropped keeps showing its old choice in the browser.
    st.session_state[run_key] = run_id
    st.rerun()


def review_box(src: loaders.Source, run_id: str, *, flt: EventFilter, filters: dict, total: int,
               selected: list[str], what: str, cluster_id: str | None, key: str) -> None:
    """Send the selected rows, or after a confirmation every matching item, to review.

    Parameters
    ----------
    src : Source
        The store.
    run_id : str
        The run the items come from.
    flt : EventFilter
        The global filters (only items in view are sent).
    filters : dict
        The page's own filters (``analytics.store.detection.suspects_page``).
    total : int
        How many items match ``filters`` in view.
    selected : list of str
        Item ids picked in the table.
    what : str
        The matching items in words, e.g. "likely mislabeled items (source = fax)".
    cluster_id : str, optional
        Kept with the requests.
    key : str
        Prefix of the widget keys.
    """
    st.markdown("**Send to review**")
    if not identity.may(Role.REVIEWER):
        st.caption(identity.needs(Role.REVIEWER, "send items to review"))
        return
    note = st.text_input("Note for the reviewers (optional)", key=f"{key}.note")
    pending, outcome = f"{key}.pending", f"{key}.outcome"
    # what a confirmation is for: it lapses when the run, a filter or the set of items changes
    scope = (run_id, flt, tuple(sorted(filters.items())), total)
    if st.button(f"Send the picked rows ({len(selected):,})", key=f"{key}.selected", disabled=not selected,
                 icon=":material/send:", width="stretch",
                 help="Pick rows in the table (their left edge) to choose items by hand."):
        st.session_state.pop(pending, None)
        st.session_state[outcome] = (_send(src, run_id, selected, cluster_id=cluster_id, note=note),
                                     len(selected))
    if identity.may(Role.ADMIN) and st.button(
            f"Relabel campaign from the picked rows ({len(selected):,})", key=f"{key}.campaign",
            disabled=not selected, icon=":material/campaign:", width="stretch",
            help="Open the Campaigns page with these items, to send them back to labelers."):
        st.session_state["campaigns.kind"] = "a list of item ids"
        st.session_state["campaigns.ids"] = "\n".join(selected)
        st.switch_page(page_files.page("remediate/campaigns.py"))
    if st.button(f"Send all {total:,} matching items…", key=f"{key}.all", disabled=total == 0,
                 icon=":material/forward_to_inbox:", width="stretch"):
        st.session_state[pending] = scope
        st.session_state.pop(outcome, None)
    if outcome in st.session_state:
        _report(*st.session_state.pop(outcome))
    if st.session_state.get(pending) != scope:
        return
    with st.container(border=True, key=f"{key}-confirm"):
        st.warning(md(f"Send all {total:,} {what} to review?"), icon=":material/help:")
        yes, no = st.columns(2)
        if yes.button(f"Yes, send {total:,} items", key=f"{key}.confirm", type="primary"):
            item_ids = loaders.suspect_item_ids(src, run_id, flt, tuple(sorted(filters.items())))
            st.session_state[outcome] = (_send(src, run_id, item_ids, cluster_id=cluster_id, note=note),
                                         len(item_ids))
        if no.button("Cancel", key=f"{key}.cancel") or outcome in st.session_state:
            st.session_state.pop(pending, None)
            st.rerun()  # the question goes away; the outcome, if any, shows on the next run


def _send(src: loaders.Source, run_id: str, item_ids: list[str], *, cluster_id: str | None,
          note: str) -> int | None:
    """Save ``item_ids`` as review requests by the current user; return how many were new (None when the
    user's role may not send)."""
    actor = identity.actor()
    try:
        added = requests.send_items(app_store.open_store(src.path), actor, item_ids, run_id=run_id,
                                    cluster_id=cluster_id, note=note or None)
    except PermissionDenied as exc:
        st.session_state["suspects.refused"] = str(exc)
        return None
    loaders.remediation_history.clear()  # the drill-down's history now holds the new requests
    return added


def _report(added: int | None, asked: int) -> None:
    """Say what a send did: only new requests are a success."""
    refused = st.session_state.pop("suspects.refused", None)
    if added is None:
        st.error(md(refused or "Sending to review was refused."), icon=":material/lock:")
    elif added == 0:
        st.info(f"Nothing added: all {_items(asked)} were already in the review requests of this run.",
                icon=":material/info:")
    elif added < asked:
        st.success(f"{_items(added)} added to the review requests; {asked - added:,} were already there.")
    else:
        st.success(f"{_items(added)} added to the review requests.")


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n:,} items"
