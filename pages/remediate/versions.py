"""Dataset versions: snapshots of every item's resolved label, what changed between two, rollback, export."""

import streamlit as st

from analytics.remediation import actions, versions
from analytics.remediation.roles import PermissionDenied, Role
from ui import empty_state, export_download, identity, loaders
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.safe_text import md

src = loaders.source()
me = rl.actor()
st.title("Dataset versions")
done = st.session_state.pop("versions.done", None)
if done:
    st.success(done, icon=":material/check:")
admin = me.role >= Role.ADMIN


def _write(work: object, message: str) -> None:
    try:
        row = work()
    except (actions.ActionError, PermissionDenied) as exc:
        st.error(md(str(exc)))
        return
    st.session_state["versions.done"] = message.format(**row)
    loaders.clear()
    st.rerun()


if admin:
    with st.form("versions.create", border=True):
        st.markdown("**Snapshot the resolved labels now**")
        note = st.text_input("Note", key="versions.note", placeholder="e.g. after the November review round")
        if st.form_submit_button("Create version"):
            _write(lambda: versions.create_version(app_store.current(), me, note=note or None),
                   "Created {version_id}: {items:,} items.")
else:
    st.caption(identity.needs(Role.ADMIN, "create versions or roll back"))

listed = rl.version_list(src, rl.state())
if listed.empty:
    empty_state.show("No versions yet", "A version freezes every item's resolved label with where it came "
                     "from, so a training run can name exactly the labels it used.", key="versions.empty",
                     import_link=False)
    st.stop()
st.dataframe(listed, hide_index=True, key="versions.table")

ids = listed["version_id"].tolist()
st.subheader("What changed")
left, right = st.columns(2)
old = left.selectbox("From", ids, index=min(1, len(ids) - 1), key=f"versions.old.{len(ids)}")
new = right.selectbox("To", ids, index=0, key=f"versions.new.{len(ids)}")
compared = rl.version_diff(src, rl.state(), old, new)
summary = compared.summary()
st.markdown(f"**{summary['changed']:,} items differ** between " + md(old) + " and " + md(new)
            + f": {summary['relabeled']:,} relabeled, {summary['excluded']:,} excluded, "
            f"{summary['included']:,} included again.")
st.dataframe(compared.changes, hide_index=True, key="versions.diff")
st.dataframe(compared.classes, hide_index=True, key="versions.classes")

st.subheader("Export and roll back")
pick = st.selectbox("Version", ids, key=f"versions.pick.{len(ids)}")
labels = rl.version_labels(src, rl.state(), pick)

# The file is written on the click (a callable), not on every run: a version holds every item.
export_download.show(labels, stem=f"labels_{pick}", key="versions.labels", label="Download labels")
if not admin:
    st.stop()
with st.form("versions.rollback", border=True):
    reason = st.text_input("Why roll back (required)", key="versions.reason")
    if st.form_submit_button(f"Roll back to {pick}"):
        _write(lambda: versions.rollback(app_store.current(), me, pick, reason=reason),
               "Rolled back to " + pick + ": {reverted:,} actions reverted; new version {version_id}.")
