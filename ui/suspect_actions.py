"""The Suspects page's two writes: start a detection run (with progress) and send a selection to review."""

from __future__ import annotations

import streamlit as st

from analytics import rules, suspects
from analytics.schema import EventFilter
from analytics.store import detection as detection_queries
from ui import identity, loaders
from ui import store as app_store

CROSS_VALIDATED = "Cross-validated model on the items' features"


def run_form(src: loaders.Source, flt: EventFilter, *, has_runs: bool, key: str) -> None:
    """An expander with the run's options and a button that runs detection on the filtered events.

    Parameters
    ----------
    src : Source
        The store.
    flt : EventFilter
        The global filters: the run scores the items of these events.
    has_runs : bool
        Open the expander when there is no run yet.
    key : str
        Prefix of the widget keys.
    """
    store = app_store.open_store(src.path)
    rules_path = rules.find_rules_file(store.path)
    with st.expander("Run detection", expanded=not has_runs, icon=":material/troubleshoot:"):
        models = [CROSS_VALIDATED, *detection_queries.prediction_models(store)]
        left, middle, right = st.columns([2, 1, 1])
        model = left.selectbox("Model's second opinion", models, key=f"{key}.model",
                               help="Imported predictions must be out-of-sample (cross-validated).")
        folds = middle.number_input("Folds", 2, 10, 5, key=f"{key}.folds")
        neighbours = right.number_input("Neighbours", 0, 50, 10, key=f"{key}.neighbours")
        st.caption(("Rules: " + str(rules_path)) if rules_path else
                   "No rules file (set LABELWATCH_RULES or put rules.toml next to the store).")
        if not st.button("Run detection on the filtered events", key=f"{key}.go", type="primary",
                         icon=":material/play_arrow:"):
            return
        user = identity.user_name()
        with st.status("Running detection…", expanded=True) as status:
            bar = st.progress(0.0)

            def progress(fraction: float, message: str) -> None:
                bar.progress(min(max(fraction, 0.0), 1.0), text=message)

            try:
                run_id = suspects.run_detection(
                    store, flt, created_by=user, model_version=None if model == CROSS_VALIDATED else model,
                    rules=rules.load_rules(rules_path) if rules_path else None, n_splits=int(folds),
                    n_neighbours=int(neighbours), progress=progress)
            except ValueError as exc:  # our own messages: no events, a bad rules file
                status.update(label="Detection did not run", state="error")
                st.error(str(exc))
                return
            status.update(label=f"Stored {run_id}", state="complete")
    loaders.detection_runs.clear()
    st.session_state.pop("suspects.run", None)  # the newest run is selected on the rerun
    st.rerun()


def send_to_review(src: loaders.Source, run_id: str, filters: dict, *, cluster_id: str | None,
                   note: str | None) -> int:
    """Save every suspect matching ``filters`` as a review request by the current user; return how many."""
    store = app_store.open_store(src.path)
    item_ids = detection_queries.suspect_item_ids(store, run_id, **filters)
    return detection_queries.request_review(store, item_ids, run_id=run_id, cluster_id=cluster_id,
                                            requested_by=identity.user_name(), note=note)
