"""Review: every item waiting for a reviewer, the most consequential first, its evidence, and the decision —
from the form, or from the keyboard (one key per action: next, confirm, relabel to the suggestion,
escalate). Below the reviewer role the decision form is not drawn: a viewer moves through the queue and
reads the evidence."""

import streamlit as st

from analytics.remediation import queue
from analytics.remediation.roles import Role
from ui import csv_download, empty_state, filters, identity, item_drilldown, loaders
from ui import remediation_loaders as rl
from ui import review_actions as ra
from ui.safe_text import md

src = loaders.source()
me = rl.actor()
can_write = me.role >= Role.REVIEWER
# What the reviewer saw and sent, before this run reads the queue again (see ui.review_actions).
acted_on = ra.seen()
st.title("Review")
done = st.session_state.pop("review.done", None)
if done:
    st.success(done, icon=":material/check:")
stale = st.session_state.pop("review.stale", None)
if stale:
    st.error(stale, icon=":material/block:")


def _stay_on_item() -> None:
    # the queue changes under the table: keep the item shown, not its row number
    st.session_state["review.goto"] = st.session_state.get("review.shown")


runs = loaders.detection_runs(src, loaders.runs_version(src))
run_id = None if runs.empty else runs["run_id"].iloc[0]
mine = st.toggle("Hide items I already reviewed", value=True, key="review.mine", on_change=_stay_on_item,
                 help="A reviewer never sees an item twice, nor the second review of their own relabel.")
waiting = rl.review_queue(src, rl.state(), me.name if mine else None, run_id)

if waiting.empty:
    empty_state.show(
        "Nothing waits for review",
        "Send items to review from the Suspects page (a cluster, a selection or every suspect in view) or "
        "the Slices page (a slice's suspects); escalations and relabels that need a second reviewer also "
        "land here.",
        key="review.empty", import_link=False,
    )
    st.stop()

second = int((waiting["reason"] == "second review").sum())
escalated = int((waiting["reason"] == "escalated").sum())
st.markdown(f"**{len(waiting):,} items wait for review**: {second:,} for a second review, {escalated:,} "
            f"escalated, {len(waiting) - second - escalated:,} sent to review.")
st.caption(queue.ORDER_WORDS + f" You act as {md(me.name)} ({me.role}).")

ids = waiting["item_id"].astype(str).tolist()
goto = st.session_state.pop("review.goto", None)
if goto is not None:
    # the next item after a decision or N: select its row (none, so the first shows, when it left the queue)
    st.session_state["review.table"] = {"selection": {"rows": [ids.index(goto)] if goto in ids else []}}
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
item_id = ids[position]
ra.remember(item)
label, suggested = ra.text(item["label"]), ra.text(item["suggested_label"])
st.subheader(f"Item {md(item_id)}")
st.caption(f"{position + 1:,} of {len(waiting):,} in the queue. " + md(item["why"]))

labels = rl.vocabulary(src)
if st.session_state.get("review.shown") != item_id or "review.rationale" not in st.session_state:
    # The form's widgets keep their state by key: without this, the next item would open with the last
    # one's decision, target and rationale.
    detail = None if run_id is None else loaders.item_detail(src, run_id, item_id, filters.current())
    st.session_state["review.shown"] = item_id
    st.session_state["review.kind"] = "relabel" if suggested else "confirm"
    st.session_state["review.target"] = suggested if suggested in labels else next(iter(labels), None)
    st.session_state["review.rationale"] = ra.evidence_words(
        item, None if detail is None else detail["signals"].get("explanation"))

pressed = submitted = None
if not can_write:
    st.info(identity.needs(Role.REVIEWER, "decide on items"), icon=":material/lock:")
    if st.button("Next item", key="review.key.next", shortcut="N", icon=":material/skip_next:"):
        pressed = "next"
else:
    with st.form("review.form", border=True):
        kinds = ["confirm", "relabel", "escalate", "exclude"]
        kind = st.radio("Decision", kinds, horizontal=True, key="review.kind")
        target = st.selectbox("Relabel to", labels, key="review.target",
                              help="Used when the decision is relabel; the run's suggestion comes first.")
        rationale = st.text_area("Rationale (required)", key="review.rationale")
        submitted = st.form_submit_button("Record decision", type="primary")
        st.caption(ra.KEYS_WORDS)
        buttons = st.columns(len(ra.KEYS))
        titles = {"next": "Next item", "escalate": "Escalate",
                  "confirm": "Confirm " + ("(no label)" if label is None else "label " + md(label)),
                  "relabel": "Relabel as " + ("(no suggestion)" if suggested is None else md(suggested))}
        why_not = {
            "next": None,
            "confirm": None if label is not None else "Its annotators do not agree: there is no label to "
                                                      "confirm.",
            "relabel": None if suggested in labels else "The detection run suggests no label for it.",
            "escalate": None,
        }
        for column, key in zip(buttons, ra.KEYS, strict=True):
            refused = why_not[key.kind]
            if column.form_submit_button(titles[key.kind], key=f"review.key.{key.kind}",
                                         shortcut=key.shortcut, width="stretch", disabled=refused is not None,
                                         help=refused or key.words.capitalize()):
                pressed = key.kind
if pressed == "next":
    st.session_state["review.goto"] = ra.following(ids, item_id)
    st.rerun()
if (submitted or pressed is not None) and acted_on is not None:
    row = acted_on.row
    chosen, to_label = ((acted_on.kind, acted_on.target) if submitted
                        else (pressed, ra.text(row["suggested_label"])))
    words = ra.record(me, row, chosen, rationale=acted_on.rationale, to_label=to_label, run_id=run_id)
    if words is not None:
        st.session_state["review.done"] = words
        st.session_state["review.goto"] = ra.following(ids, str(row["item_id"]))
        st.rerun()

if run_id is not None:
    item_drilldown.show(src, run_id, item_id, flt=filters.current(), key="review.drill")
