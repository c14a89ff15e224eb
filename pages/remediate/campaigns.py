"""Relabel campaigns: send a cluster, a slice or a selection back to labelers, follow their progress and
agreement, take their labels back and record the campaign's verdict."""

import datetime as dt
import json
import tempfile
from pathlib import Path

import streamlit as st

from analytics.ingest.readers import IngestError
from analytics.remediation import campaigns
from analytics.remediation.actions import ActionError
from analytics.remediation.roles import PermissionDenied, Role
from analytics.store import StoreError
from ui import empty_state, export_download, filters, identity, item_drilldown, loaders, validation_report
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.safe_text import md

src = loaders.source()
store = app_store.current()  # the exports read it when their button is pressed
me = rl.actor()
admin = me.role >= Role.ADMIN
st.title("Relabel campaigns")
done = st.session_state.pop("campaigns.done", None)
if done:
    st.success(md(done), icon=":material/check:")
REFUSED = (ActionError, PermissionDenied, IngestError, StoreError, ValueError)
#: Where a campaign's items come from; the Suspects page opens this page on the last with its picked rows.
KINDS = ["a cluster", "a slice", "a list of item ids"]


def _create_form() -> None:
    """Pick the items (a cluster of the latest run, a slice, or ids), the assignees and the due date."""
    runs = loaders.detection_runs(src, loaders.runs_version(src))
    run_id = None if runs.empty else runs["run_id"].iloc[0]
    kind = st.radio("Items from", KINDS, horizontal=True, key="campaigns.kind")
    chosen = None
    try:
        if kind == "a cluster":
            clusters = loaders.run_clusters(src, run_id) if run_id else None
            if clusters is None or clusters.empty:
                st.info("The store has no detection run with clusters: score it on the Suspects page first.")
                return
            names = clusters["cluster_id"].tolist()
            sizes = dict(zip(clusters["cluster_id"], clusters["size"], strict=True))
            cluster = st.selectbox("Cluster", names, key="campaigns.cluster",
                                   format_func=lambda c: f"{c} ({sizes[c]:,} items)")
            chosen = campaigns.cluster_selection(app_store.current(), run_id, cluster)
        elif kind == "a slice":
            values = rl.slice_values(src)
            if values.empty:
                st.info("The items carry no slice attributes; import items with attributes first.")
                return
            left, right = st.columns(2)
            key = left.selectbox("Attribute", sorted(values["key"].unique()), key="campaigns.key")
            these = values[values["key"] == key]
            counts = dict(zip(these["value"], these["items"], strict=True))
            value = right.selectbox("Value", these["value"].tolist(), key=f"campaigns.value.{key}",
                                    format_func=lambda v: f"{v} ({counts[v]:,} items)")
            only = st.toggle("Only its flagged suspects", value=run_id is not None, disabled=run_id is None,
                             key="campaigns.flagged",
                             help="Off: every item of the slice (at most "
                                  f"{campaigns.MAX_ITEMS:,}).")
            unresolved = st.toggle("Add its items without a consensus", value=False,
                                   disabled=run_id is None or not only, key="campaigns.unresolved",
                                   help="The items the run found with no label holding a majority.")
            chosen = campaigns.slice_selection(app_store.current(), key, value, run_id if only else None,
                                               unresolved=unresolved)
        else:
            text = st.text_area("Item ids (one per line, or separated by commas)", key="campaigns.ids")
            ids = [t.strip() for t in text.replace(",", "\n").splitlines() if t.strip()]
            if not ids:
                st.caption("Paste the ids of the items to relabel (e.g. from a Suspects download).")
                return
            chosen = campaigns.selection(app_store.current(), ids, run_id=run_id)
    except campaigns.CampaignError as exc:
        st.warning(md(str(exc)))
        return
    st.markdown(f"**{len(chosen.items):,} items**: " + md(chosen.source + "."))
    with st.form("campaigns.create", border=True):
        name = st.text_input("Name", key="campaigns.name", placeholder="e.g. fax slice, second opinion")
        people = st.text_input("Assignees (annotator ids, comma-separated)", key="campaigns.assignees",
                               help="The ids their labels will carry when they come back (e.g. Label "
                                    "Studio users' e-mails).")
        left, right = st.columns(2)
        per_item = left.number_input("Labels per item", min_value=1, max_value=9, value=2, step=1,
                                     key="campaigns.per_item",
                                     help="Two or more lets the campaign measure its own agreement.")
        due = right.date_input("Due", value=dt.date.today() + dt.timedelta(days=14), key="campaigns.due")
        note = st.text_area("Instructions for the labelers", key="campaigns.note")
        if st.form_submit_button("Create campaign", type="primary"):
            assignees = [p.strip() for p in people.split(",") if p.strip()]
            try:
                made = campaigns.create_campaign(app_store.current(), me, name, chosen, assignees=assignees,
                                                 labels_per_item=int(per_item), due_at=due, note=note)
            except REFUSED as exc:
                st.error(md(str(exc)))
            else:
                st.session_state["campaigns.done"] = (f"Created campaign {made} of {len(chosen.items):,} "
                                                      "items.")
                st.session_state["campaigns.open"] = made
                loaders.clear()
                st.rerun()


listed = rl.campaign_list(src, rl.state())
if admin:
    with st.expander("New campaign", expanded=listed.empty or bool(st.session_state.get("campaigns.ids")),
                     icon=":material/add:"):
        _create_form()
else:
    st.caption(identity.needs(Role.ADMIN, "create, import or resolve campaigns"))

if listed.empty:
    empty_state.show(
        "No campaigns yet",
        "A campaign sends items (a cluster of suspects, a noisy slice, a hand-picked list) back to labelers: "
        "export them for Label Studio with the suggested label pre-filled, import the labels back, and see "
        "how far the campaign got, how well its labelers agree and which labels it changed.",
        key="campaigns.empty", import_link=False,
    )
    st.stop()

by_status = listed["status"].value_counts()
plural = "" if len(listed) == 1 else "s"
counted = ", ".join(f"{n:,} {s}" for s, n in by_status.items())
st.markdown(f"**{len(listed):,} campaign{plural}**: {counted}.")
table = listed.assign(progress=listed["labels_in"] / listed["assignments"].clip(lower=1))
COLUMNS = ["name", "status", "progress", "labels_in", "assignments", "items", "due_at", "source",
           "created_by", "campaign_id"]
picked = st.dataframe(table[COLUMNS], hide_index=True, key="campaigns.table", on_select="rerun",
                      selection_mode="single-row", column_config={
    "name": "Campaign", "status": "Status",
    "progress": st.column_config.ProgressColumn("Labels in", format="percent", min_value=0, max_value=1),
    "labels_in": "Received", "assignments": "Expected", "items": "Items",
    "due_at": st.column_config.DatetimeColumn("Due", format="YYYY-MM-DD"), "source": "From",
    "created_by": "Created by", "campaign_id": "Id",
})
ids = listed["campaign_id"].tolist()
wanted = st.session_state.get("campaigns.open")
rows = picked.selection.rows
pick = ids[rows[0]] if rows else wanted if wanted in ids else ids[0]
st.session_state["campaigns.open"] = pick
st.caption("Select a campaign's row to open it.")
progress = rl.campaign_progress(src, rl.state(), pick)
summary = progress.summary()
campaign = progress.campaign
alpha = progress.agreement.get("krippendorff_alpha")
st.subheader(md(campaign["name"]))
st.markdown(
    f"**{summary['status'].capitalize()}**: {summary['labels_in']:,} of {summary['labels_expected']:,} "
    f"labels in, {summary['items_done']:,} of {summary['items']:,} items fully labeled; "
    f"**{summary['changed']:,} items** now have a different resolved label than when the campaign began."
)
st.caption(md(f"From {campaign['source']}; created by {campaign['created_by']} on "
              f"{campaign['created_at']:%Y-%m-%d}" + (f", due {campaign['due_at']:%Y-%m-%d}"
                                                       if campaign["due_at"] == campaign["due_at"] and
                                                       campaign["due_at"] is not None else "")
              + (f". Instructions: {campaign['note']}" if campaign["note"] else ".")))
tiles = st.columns(4)
tiles[0].metric("Labels in", f"{summary['labels_in']:,} / {summary['labels_expected']:,}")
tiles[1].metric("Items with a majority", f"{summary['majority']:,}")
tiles[2].metric("Resolved labels changed", f"{summary['changed']:,}")
if alpha is not None:
    tiles[3].metric("Agreement (alpha)", f"{alpha.value:.2f}",
                    help=f"Krippendorff's alpha among the campaign's labels, 95% CI {alpha.ci_low:.2f} to "
                         f"{alpha.ci_high:.2f} over {alpha.n_items:,} items (bootstrap over items).")
    st.caption(f"Agreement within the campaign: alpha {alpha.value:.2f} (95% CI {alpha.ci_low:.2f} to "
               f"{alpha.ci_high:.2f}, {alpha.n_items:,} items with two or more labels).")
else:
    tiles[3].metric("Agreement (alpha)", "—", help=f"Needs {campaigns.MIN_AGREEMENT_ITEMS} items with two or "
                    "more labels from the campaign.")

st.markdown("**Assignees**")
st.dataframe(progress.assignees.assign(share=progress.assignees["done"] / progress.assignees["assigned"]),
             hide_index=True, key="campaigns.assignees", column_config={
                 "assignee": "Assignee", "assigned": "Assigned", "done": "Labeled",
                 "share": st.column_config.ProgressColumn("Done", format="percent", min_value=0,
                                                          max_value=1)})
items = progress.items.assign(votes=[", ".join(f"{k} ×{v}" for k, v in d.items())
                                     for d in progress.items["votes"]],
                              assignees=[", ".join(a) for a in progress.items["assignees"]])
ITEM_COLUMNS = ["item_id", "label_before", "label", "campaign_label", "votes", "labels_in", "changed",
                "provenance", "suggested_label", "assignees"]
st.markdown("**Items** (select one for its full story)")
chosen_item = st.dataframe(items[ITEM_COLUMNS], hide_index=True, key="campaigns.items", on_select="rerun",
                           selection_mode="single-row", column_config={
    "item_id": "Item", "label_before": "Label at start", "label": "Label now", "campaign_label":
    "Campaign majority", "votes": "Campaign votes", "labels_in": "Labels in", "changed": "Changed",
    "provenance": "Label from", "suggested_label": "Suggested", "assignees": "Assignees"})
export_download.show(lambda: campaigns.campaign_items(store, pick), stem=f"campaign_{pick}_items",
                     key="campaigns.items_file", label="Download the items",
                     help="One row per item: its label before and now, the campaign's votes and majority.")
if chosen_item.selection.rows and campaign["run_id"]:
    item_drilldown.show(src, campaign["run_id"], items["item_id"].iloc[chosen_item.selection.rows[0]],
                        flt=filters.current(), key="campaigns.drill")

st.subheader("Send to the labeling tool")
tasks = rl.campaign_tasks(src, rl.state(), pick)
left, right = st.columns(2)
left.download_button("Label Studio tasks (JSON)", lambda: json.dumps(tasks, indent=1, ensure_ascii=False),
                     file_name=f"campaign_{pick}_tasks.json", mime="application/json", key="campaigns.json",
                     help="Import into a Label Studio project; the suggested label comes pre-filled.")
with right:
    export_download.show(lambda: campaigns.assignments(store, pick), stem=f"campaign_{pick}_assignments",
                         key="campaigns.assignments_file", label="Assignments",
                         help="One row per item and assignee, for any other labeling tool.")
with st.expander("Label Studio labeling config"):
    st.code(campaigns.label_config(rl.vocabulary(src)), language="xml")

if not admin:
    st.stop()
st.subheader("Take the labels back")
upload = st.file_uploader("Label Studio export (JSON)", type=["json"], key=f"campaigns.upload.{pick}")
if upload is not None and st.button("Import these labels", key="campaigns.import"):
    with tempfile.TemporaryDirectory(prefix="labelwatch-upload-") as folder:
        path = Path(folder) / "upload.json"
        path.write_bytes(upload.getvalue())
        try:
            report = campaigns.import_labels(app_store.current(), me, pick, path, name=upload.name)
        except REFUSED as exc:
            st.error(md(str(exc)))
        else:
            st.session_state["campaigns.report"] = report
            loaders.clear()
            st.rerun()
report = st.session_state.pop("campaigns.report", None)
if report is not None:
    validation_report.show(report, key="campaigns.report")

st.subheader("Record the campaign's verdict")
st.caption("Where the campaign's labels hold a strict majority, that label becomes the item's label (a "
           "relabel, or a confirm when it agrees), with the campaign as its source and its votes as "
           "evidence. Items without a majority keep their label.")
with st.form("campaigns.resolve", border=True):
    why = st.text_input("Rationale", value=f"Relabel campaign {campaign['name']}", key="campaigns.why")
    if st.form_submit_button(f"Record {summary['majority']:,} majority labels"):
        try:
            written = campaigns.resolve(app_store.current(), me, pick, rationale=why)
        except REFUSED as exc:
            st.error(md(str(exc)))
        else:
            st.session_state["campaigns.done"] = (f"Recorded {len(written):,} actions from campaign "
                                                  f"{campaign['name']}.")
            loaders.clear()
            st.rerun()
