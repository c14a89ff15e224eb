"""The Data page's undo of an import: retract a batch (with a reason), see what was retracted and why, and
the events the store holds but leaves out of every read for their timestamp. Retracting needs the admin
role: below it the form is not drawn (and ``analytics.ingest.retraction.retract`` refuses anyway)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.ingest import retraction
from analytics.remediation.roles import PermissionDenied, Role
from ui import identity, loaders
from ui import store as app_store
from ui.safe_text import md


def show(src: loaders.Source, batches: pd.DataFrame, *, key: str) -> None:
    """Render the unreadable-events warning, the retraction form and the list of retractions.

    Parameters
    ----------
    src : Source
        The store.
    batches : DataFrame
        ``loaders.import_batches`` (every batch, newest first).
    key : str
        Prefix of the widget keys.
    """
    done = st.session_state.pop(f"{key}.done", None)
    if done:
        st.success(done, icon=":material/check:")
    unreadable = loaders.unreadable_events(src)
    if len(unreadable):
        st.warning(
            f"{int(unreadable['events'].sum()):,} label events have a time no reader can hold (before 1900, "
            "after 2199, or infinite), so every page leaves them out. They were imported before LabelWatch "
            "checked timestamps. Retract their batch below, fix the file, and import it again.",
            icon=":material/event_busy:",
        )
        st.dataframe(unreadable, hide_index=True, key=f"{key}.unreadable")
    retracted = loaders.retracted_batches(src)
    live = batches.loc[~batches["batch_id"].isin(retracted["batch_id"]), "batch_id"].tolist()
    if not identity.may(Role.ADMIN):
        st.caption(identity.needs(Role.ADMIN, "retract an import"))
    else:
        _retract_box(src, batches, live, key=key)
    if len(retracted):
        st.markdown("**Retracted imports**")
        st.dataframe(retracted, hide_index=True, key=f"{key}.retracted")


def _retract_box(src: loaders.Source, batches: pd.DataFrame, live: list[str], *, key: str) -> None:
    with st.expander("Retract an import", icon=":material/undo:", expanded=False):
        st.caption(
            "A retracted import is left out of every page and command from now on. Nothing is deleted: the "
            "batch, its rows and its rejects stay in the store, and the retraction is recorded with who did "
            "it and why. To take the rows back, import the file again."
        )
        if not live:
            st.caption("There is no import to retract.")
        else:
            _form(src, batches.set_index("batch_id").loc[live], key=key)


def _form(src: loaders.Source, live: pd.DataFrame, *, key: str) -> None:
    with st.form(f"{key}.form", border=False, clear_on_submit=False):
        batch_id = st.selectbox(
            "Batch", live.index.tolist(), key=f"{key}.batch", format_func=lambda b: _describe(b, live.loc[b]),
        )
        reason = st.text_area("Why should this import not count? (recorded)", key=f"{key}.reason")
        sure = st.checkbox("I understand that every page will leave these rows out", key=f"{key}.sure")
        submitted = st.form_submit_button("Retract the batch", icon=":material/undo:", type="primary")
    if not submitted:
        return
    if not sure:
        st.error("Tick the box to confirm the retraction.")
        return
    me = identity.actor()
    try:
        done = retraction.retract(app_store.open_store(src.path), batch_id, actor=me, reason=reason)
    except (retraction.RetractionError, PermissionDenied) as exc:
        st.error(md(str(exc)))
        return
    loaders.clear()
    st.session_state[f"{key}.done"] = (
        f"Retracted batch {md(done['batch_id'])} ({md(done['kind'])}, {done['rows_accepted']:,} rows) as "
        f"{md(me.name)}: every page leaves its rows out from now on."
    )
    st.rerun()


def _describe(batch_id: str, row: pd.Series) -> str:
    # Options of a selectbox are shown as text, not Markdown: no escaping needed.
    return f"{batch_id} · {row['kind']} · {row['rows_accepted']:,} rows · {row['source']}"
