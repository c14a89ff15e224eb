"""Audit trail: every remediation action with who, when, why and the evidence, filterable and downloadable."""

import datetime as dt

import streamlit as st

from analytics.remediation import actions
from ui import csv_download, empty_state, loaders
from ui import remediation_loaders as rl

src = loaders.source()
st.title("Audit trail")
everything = rl.audit_log(src, rl.state())
if everything.empty:
    empty_state.show(
        "No remediation actions yet",
        "Every confirm, relabel, escalation, exclusion and revert lands here with who made it, when, why and "
        "the evidence they saw — from the Review page, a policy run or a campaign.",
        key="audit.empty", import_link=False,
    )
    st.stop()

left, middle, right, last = st.columns(4)
actor = left.selectbox("Actor", ["(all)", *sorted(everything["actor"].unique())], key="audit.actor")
kind = middle.selectbox("Action", ["(all)", *actions.KINDS], key="audit.action")
policy_names = sorted({p.split("@")[0] for p in everything["policy"].dropna()})
policy = right.selectbox("Policy", ["(all)", *policy_names], key="audit.policy")
days = last.number_input("Last days (0: all)", min_value=0, value=0, step=1, key="audit.days")
since = None if not days else dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=int(days))
item = st.text_input("Item id (exact)", key="audit.item").strip() or None
shown = rl.audit_log(src, rl.state(), actor=None if actor == "(all)" else actor,
                     action=None if kind == "(all)" else kind, policy=None if policy == "(all)" else policy,
                     since=since, item_id=item)
st.markdown(f"**{len(shown):,} of {len(everything):,} actions**, newest first.")
COLUMNS = ["created_at", "actor", "actor_role", "action", "item_id", "from_label", "to_label", "rationale",
           "policy", "campaign_id", "reverts", "reverted_by", "second_review", "evidence", "action_id"]
st.dataframe(shown[COLUMNS], hide_index=True, key="audit.table", column_config={
    "created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
    "actor": "Who", "actor_role": "Role", "action": "Action", "item_id": "Item", "from_label": "From",
    "to_label": "To", "rationale": "Why", "policy": "Policy", "campaign_id": "Campaign",
    "reverts": "Reverts", "reverted_by": "Reverted by", "second_review": "Second review",
    "evidence": "Evidence", "action_id": "Action id",
})
csv_download.show(shown[COLUMNS], filename="audit_trail.csv", key="audit.csv")
st.caption("Open an item's full story from the Suspects page's drill-down (search its id there).")
