"""Review: every item waiting for a reviewer, the most consequential first, its evidence, and the decision."""

import streamlit as st

from analytics.remediation import actions, queue
from analytics.remediation.roles import PermissionDenied, Role
from ui import csv_download, empty_state, filters, item_drilldown, loaders
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.safe_text import md

src = loaders.source()
me = rl.actor()
st.title("Review")
done = st.session_state.pop("review.done", None)
if done:
    st.success(done, icon=":material/check:")

runs = loaders.detection_runs(src, loaders.runs_version(src))
run_id = None if runs.empty else runs["run_id"].iloc[0]
mine = st.toggle("Hide items I already reviewed", value=True, key="review.mine",
                 help="A reviewer never sees an item twice, nor the second review of their own relabel.")
waiting = rl.review_queue(src, rl.state(), me.name if mine else None, run_id)

if waiting.empty:
    empty_state.show(
        "Nothing waits for review",
        "Send items to review from the Suspects page (a cluster, a selection or every suspect in view); "
        "escalations and relabels that need a second reviewer also land here.",
        key="review.empty", import_link=False,
    )
    st.stop()

second = int((waiting["reason"] == "second review").sum())
escalated = int((waiting["reason"] == "escalated").sum())
st.markdown(f"**{len(waiting):,} items wait for review**: {second:,} for a second review, {escalated:,} "
            f"escalated, {len(waiting) - second - escalated:,} sent to review.")
st.caption(queue.ORDER_WORDS + f" You act as {me.name} ({me.role}).")

COLUMNS = ["item_id", "reason", "label", "suggested_label", "p_wrong", "impact", "needs_second_review", "why"]
shown = waiting[COLUMNS].assign(label=waiting["label"].fillna("(no consensus)"))
picked = st.dataframe(
    shown, hide_index=True, key="review.table", on_select="rerun", selection_mode="single-row",
    column_config={
        "item_id": "Item", "reason": "Why it waits", "label": "Label now", "suggested_label": "Suggested",
        "p_wrong": st.column_config.NumberColumn("P(wrong)", format="%.2f"),
        "impact": st.column_config.NumberColumn("Impact", format="%.2f"),
        "needs_second_review": "Second review", "why": "Order, in words",
    },
)
csv_download.show(waiting[COLUMNS], filename="review_queue.csv", key="review.csv")
rows = picked.selection.rows
position = rows[0] if rows and rows[0] < len(waiting) else 0
item = waiting.iloc[position]
item_id = str(item["item_id"])
st.subheader(f"Item {md(item_id)}")
st.caption(md(item["why"]))

labels = rl.vocabulary(src)
model = item["model_suggested_prob"]
evidence = (f"P(wrong) {item['p_wrong']:.2f}; suggested {item['suggested_label']}"
            + ("" if model != model else f"; the model gives it {model:.2f}"))
if st.session_state.get("review.shown") != item_id or "review.rationale" not in st.session_state:
    # The form's widgets keep their state by key: without this, the next item would open with the last
    # one's decision, target and rationale.
    st.session_state["review.shown"] = item_id
    st.session_state["review.kind"] = "relabel" if item["suggested_label"] else "confirm"
    suggested = item["suggested_label"]
    st.session_state["review.target"] = suggested if suggested in labels else labels[0]
    st.session_state["review.rationale"] = evidence

with st.form("review.form", border=True):
    kinds = ["confirm", "relabel", "escalate", "exclude"]
    kind = st.radio("Decision", kinds, horizontal=True, key="review.kind")
    target = st.selectbox("Relabel to", labels, key="review.target",
                          help="Used when the decision is relabel; the run's suggestion comes first.")
    rationale = st.text_area("Rationale (required)", key="review.rationale")
    submitted = st.form_submit_button("Record decision", type="primary", disabled=me.role < Role.REVIEWER)
if me.role < Role.REVIEWER:
    st.info(f"{me.name} is a viewer: decisions need the reviewer role.", icon=":material/lock:")
if submitted:
    try:
        written = actions.act(
            app_store.current(), me, item["item_id"], kind, rationale=rationale,
            to_label=target if kind == "relabel" else None, run_id=run_id,
            evidence={"p_wrong": float(item["p_wrong"]), "impact": float(item["impact"]),
                      "suggested_label": item["suggested_label"], "run_id": run_id},
            second_review=bool(item["needs_second_review"]) and kind == "relabel",
        )
    except (actions.ActionError, PermissionDenied) as exc:
        st.error(md(str(exc)))
    else:
        words = ", ".join(f"{w.action} {w.item_id}" for w in written.itertuples())
        waits = " It takes effect when a second reviewer agrees." if written["second_review"].any() else ""
        st.session_state["review.done"] = f"Recorded: {words}.{waits}"
        loaders.clear()
        st.rerun()

if run_id is not None:
    item_drilldown.show(src, run_id, item["item_id"], flt=filters.current(), key="review.drill")
