"""Policies: declared auto-corrections, a dry run that shows exactly what would change, and apply."""

from pathlib import Path

import streamlit as st

from analytics.remediation import actions, policies
from analytics.remediation.roles import PermissionDenied, Role
from ui import empty_state, identity, loaders
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.safe_text import md

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "policies.example.toml"

src = loaders.source()
me = rl.actor()
st.title("Policies")
done = st.session_state.pop("policies.done", None)
if done:
    st.success(done, icon=":material/check:")
runs = loaders.detection_runs(src, loaders.runs_version(src))
if runs.empty:
    empty_state.show("No detection run yet", "A policy acts on what a detection run found: score the store "
                     "on the Suspects page first.", key="policies.empty", import_link=False)
    st.stop()
run_id = st.selectbox("Detection run", runs["run_id"].tolist(), key="policies.run")
admin = me.role >= Role.ADMIN
text = st.text_area("Policy file (TOML)", value=EXAMPLE.read_text(encoding="utf-8"), height=260,
                    key="policies.text", disabled=not admin,
                    help="Each [[policy]] has a name, a version, an action and `when` conditions "
                    "(field op value over the run's stored signals). Admins edit; a dry run writes nothing.")
try:
    declared = policies.parse_policies(text, "the policy file")
except policies.PolicyError as exc:
    st.error(md(str(exc)))
    st.stop()
name = st.selectbox("Policy", [p.name for p in declared], key="policies.name")
policy = next(p for p in declared if p.name == name)
st.caption(md(policy.words()))
preview = rl.policy_dry_run(src, rl.state(), text, name, run_id)
(st.warning if preview.blocked else st.info)(md(preview.verdict()))
CHANGE_COLUMNS = ["item_id", "from_label", "to_label", "score", "model_suggested_prob", "n_ratings"]
st.dataframe(preview.changes[CHANGE_COLUMNS],
             hide_index=True, key="policies.changes", column_config={
                 "item_id": "Item", "from_label": "From", "to_label": "To",
                 "score": st.column_config.NumberColumn("Score (log10 odds)", format="%.2f"),
                 "model_suggested_prob": st.column_config.NumberColumn("Model p(to)", format="%.2f"),
                 "n_ratings": "Ratings"})
left, right = st.columns(2)
left.markdown("**Class distribution**")
left.dataframe(preview.classes, hide_index=True, key="policies.classes", column_config={
    "label": "Class", "before": "Items now", "after": "After", "change": "Change",
    "shrink": st.column_config.NumberColumn("Shrinks by", format="percent")})
right.markdown("**Slices touched**")
right.dataframe(preview.slices, hide_index=True, key="policies.slices",
                column_config={"key": "Attribute", "value": "Value", "items": "Items changed"})

if not admin:
    st.info(identity.needs(Role.ADMIN, "apply a policy"), icon=":material/lock:")
    st.stop()
with st.form("policies.apply", border=True):
    reason = st.text_input("Override the guardrails because (admins; required when blocked)",
                           key="policies.reason", disabled=not preview.blocked)
    if st.form_submit_button(f"Apply {policy.ref} to {len(preview.changes):,} items", type="primary",
                             disabled=preview.changes.empty):
        try:
            written = policies.apply(app_store.current(), me, policy, run_id, confirm_reason=reason,
                                     preview=preview)
        except (actions.ActionError, PermissionDenied) as exc:
            st.error(md(str(exc)))
        else:
            st.session_state["policies.done"] = f"Applied {policy.ref}: {len(written):,} actions recorded."
            loaders.clear()
            st.rerun()
