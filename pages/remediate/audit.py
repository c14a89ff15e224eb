"""Audit trail: every remediation action with who, when, why and the evidence, filterable and downloadable;
a row opens its item's full story below the table."""

import datetime as dt

import streamlit as st

from analytics.remediation import actions, audit
from ui import empty_state, export_download, filters, item_drilldown, loaders
from ui import remediation_loaders as rl
from ui.safe_text import md

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

left, middle, right, campaign_box, last = st.columns([1, 1, 1, 1.6, 1])
actor = left.selectbox("Actor", ["(all)", *sorted(everything["actor"].unique())], key="audit.actor")
kind = middle.selectbox("Action", ["(all)", *actions.KINDS], key="audit.action")
policy_names = sorted({p.split("@")[0] for p in everything["policy"].dropna()})
policy = right.selectbox("Policy", ["(all)", *policy_names], key="audit.policy")
campaigns = sorted(everything["campaign_id"].dropna().astype(str).unique())
listed = rl.campaign_list(src, rl.state())
names = dict(zip(listed["campaign_id"], listed["name"], strict=True))
campaign = campaign_box.selectbox("Campaign", ["(all)", *campaigns], key="audit.campaign",
                                  disabled=not campaigns,
                                  format_func=lambda c: f"{names[c]} ({c})" if names.get(c) else c,
                                  help=None if campaigns else "No action came from a campaign yet.")
days = last.number_input("Last days (0: all)", min_value=0, value=0, step=1, key="audit.days")
since = None if not days else dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=int(days))
item = st.text_input("Item id (exact)", key="audit.item").strip() or None
shown = rl.audit_log(src, rl.state(), actor=None if actor == "(all)" else actor,
                     action=None if kind == "(all)" else kind, policy=None if policy == "(all)" else policy,
                     campaign_id=None if campaign == "(all)" else campaign, since=since, item_id=item)
st.markdown(f"**{len(shown):,} of {len(everything):,} actions**, newest first.")
scope = (actor, kind, policy, campaign, days, item, rl.state())
if st.session_state.get("audit.scope") != scope:
    # a picked row is a position in the table: it would name another action once the rows change
    st.session_state["audit.scope"] = scope
    st.session_state["audit.table"] = {"selection": {"rows": []}}
COLUMNS = ["created_at", "actor", "actor_role", "action", "item_id", "from_label", "to_label", "rationale",
           "policy", "campaign_id", "reverts", "reverted_by", "second_review", "evidence", "action_id"]
picked = st.dataframe(
    shown[COLUMNS], hide_index=True, key="audit.table", on_select="rerun", selection_mode="single-row",
    column_config={
        "created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm"),
        "actor": "Who", "actor_role": "Role", "action": "Action", "item_id": "Item", "from_label": "From",
        "to_label": "To", "rationale": "Why", "policy": "Policy", "campaign_id": "Campaign",
        "reverts": "Reverts", "reverted_by": "Reverted by", "second_review": "Second review",
        "evidence": "Evidence", "action_id": "Action id",
    },
)
export_download.show(lambda: audit.export_rows(shown), stem="audit_trail", key="audit.export",
                     label=f"Download these {len(shown):,} actions", disabled=shown.empty)
rows = [r for r in picked.selection.rows if r < len(shown)]
if not rows:
    st.caption("Pick a row (its left edge) to open that item's full story here: why it was flagged, every "
               "label it received, the model's opinion, its neighbours and what was done.")
    st.stop()

chosen = shown.iloc[rows[0]]
item_id = str(chosen["item_id"])
st.subheader(f"Item {md(item_id)}")
runs = loaders.detection_runs(src, loaders.runs_version(src))
if runs.empty:
    st.info("No detection run yet: an item's full story needs one (run it on the Suspects page). Its "
            "remediation history is in the table above (search its id).", icon=":material/info:")
else:
    run_id = runs["run_id"].iloc[0]
    st.caption(f"As the latest detection run ({md(run_id)}) saw it.")
    item_drilldown.show(src, run_id, item_id, flt=filters.current(), key="audit.drill")
