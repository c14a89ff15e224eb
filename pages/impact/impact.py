"""Impact: did the remediation work? Before/after on the same items, verdict first, with paired intervals;
a presentation mode for stakeholders and the standalone report."""

import streamlit as st

from analytics.impact import ab
from analytics.narrative import impact as words
from analytics.remediation.roles import PermissionDenied, Role, require
from charts import impact as charts
from ui import chart_panel, csv_download, empty_state, identity, loaders
from ui import impact_loaders as il
from ui import remediation_loaders as rl
from ui import store as app_store
from ui.chart_panel import built
from ui.safe_text import md

src = loaders.source()
me = rl.actor()
state = rl.state()
top, switch = st.columns([4, 1])
top.title("Impact of remediation")
present = switch.toggle(
    "Presentation mode", key="impact.present", help="The same page without controls, for a screen or a call."
)
done = st.session_state.pop("impact.done", None)
if done:
    st.success(done, icon=":material/check:")

stored = il.results(src, state)
if not present and me.role < Role.REVIEWER:
    st.caption(identity.needs(Role.REVIEWER, "run an analysis"))
elif not present:
    with st.expander("Run an analysis", expanded=stored.empty, icon=":material/science:"):
        kind = st.radio(
            "Arms",
            ["Dataset versions", "Imported predictions"],
            horizontal=True,
            key="impact.kind",
            help="Versions: labels before and after, and a model trained here "
            "on each. Predictions: per-item predictions of two model versions you trained elsewhere.",
        )
        if kind == "Dataset versions":
            options = rl.version_list(src, state)["version_id"].tolist()[::-1]
        else:
            options = il.prediction_models(src)
        if len(options) < 2:
            st.info(
                "Two arms are needed: create dataset versions before and after a remediation (Versions "
                "page), or import predictions of two model versions.",
                icon=":material/info:",
            )
        else:
            left, right = st.columns(2)
            arm_a = left.selectbox("A (before)", options, index=0, key=f"impact.a.{kind}")
            arm_b = right.selectbox("B (after)", options, index=len(options) - 1, key=f"impact.b.{kind}")
            go = st.button(
                "Run the analysis",
                type="primary",
                key="impact.run",
                disabled=arm_a == arm_b,
            )
            if go:
                try:
                    require(me, Role.REVIEWER, "run an impact analysis")
                    with st.spinner("Training the model on each arm and bootstrapping the differences…"):
                        run = ab.compare_versions if kind == "Dataset versions" else ab.compare_predictions
                        made = run(app_store.current(), arm_a, arm_b, created_by=me.name)
                except (ab.ImpactError, PermissionDenied) as exc:
                    st.error(md(str(exc)))
                else:
                    st.session_state["impact.done"] = f"Stored analysis {made.impact_id}."
                    st.session_state["impact.open"] = made.impact_id
                    loaders.clear()
                    st.rerun()

if stored.empty:
    empty_state.show(
        "No analysis yet",
        "Compare the labels before and after a remediation: each version's labels against trusted gold "
        "labels, "
        "and a model trained on each version evaluated on held-out items the remediation never touched — "
        "with paired intervals overall, per class and per slice.",
        key="impact.empty",
        import_link=False,
    )
    st.stop()

ids = stored["impact_id"].tolist()
wanted = st.session_state.get("impact.open")
if present:
    pick = wanted if wanted in ids else ids[0]
else:
    names = {
        r.impact_id: f"{r.arm_a} → {r.arm_b} ({r.kind}, {r.created_at:%Y-%m-%d %H:%M}, {r.created_by})"
        for r in stored.itertuples()
    }
    pick = st.selectbox(
        "Analysis",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: names[i],
        key=f"impact.pick.{len(ids)}",
    )
    st.session_state["impact.open"] = pick
result = il.result(src, pick)

st.markdown("\n".join(f"- {md(line)}" for line in words.verdict(result)))

tiles = st.columns(4)
shown = []
if not result.label_quality.empty:
    shown.append(("Labels right (gold)", result.label_quality.iloc[0], True))
for metric, name, up in (
    ("accuracy", "Model accuracy", True),
    ("macro_f1", "Macro-F1", True),
    ("ece", "Calibration error", False),
):
    rows = result.model_quality[result.model_quality["metric"] == metric] if len(result.model_quality) else []
    if len(rows):
        shown.append((name, rows.iloc[0], up))
for column, (name, row, up) in zip(tiles, shown[:4], strict=False):
    clear = row["ci_low"] > 0 or row["ci_high"] < 0  # coloured only when the interval excludes zero
    column.metric(
        name,
        f"{row['b']:.3f}",
        f"{row['delta']:+.3f}",
        delta_color=("normal" if up else "inverse") if clear else "off",
        help=f"A {row['a']:.3f} → B {row['b']:.3f}; 95% CI of B − A {row['ci_low']:+.3f} to "
        f"{row['ci_high']:+.3f} ({row['method']}, {int(row['n']):,} items).",
    )
    column.caption(f"95% CI {row['ci_low']:+.3f} to {row['ci_high']:+.3f}")

panels = []
if not result.label_slices.empty:
    panels.append(
        (
            "label_slices",
            built(
                charts.forest_figure,
                result.label_slices,
                label=["key", "value"],
                title="Label accuracy against gold by slice: B − A",
            ),
            result.label_slices,
        )
    )
if not result.subgroups.empty:
    panels.append(
        (
            "subgroups",
            built(
                charts.forest_figure,
                result.subgroups, label=["key", "value"], title="Model accuracy by subgroup: B − A"
            ),
            result.subgroups,
        )
    )
if not result.per_class.empty:
    panels.append(
        (
            "per_class",
            built(
                charts.forest_figure,
                result.per_class, label="label", title="F1 per class on the held-out set: B − A"
            ),
            result.per_class,
        )
    )
if not result.reliability.empty:
    panels.append(("reliability", built(charts.reliability_figure, result.reliability), result.reliability))
if not result.changes.empty:
    panels.append(("changes", built(charts.changes_figure, result.changes), result.changes))

if present:
    for name, fig, data in panels:
        chart_panel.show(fig, data, filename=f"impact_{pick}_{name}.csv", key=f"impact.{name}")
else:
    left, right = st.columns(2)
    for n, (name, fig, data) in enumerate(panels):
        with left if n % 2 == 0 else right:
            chart_panel.show(fig, data, filename=f"impact_{pick}_{name}.csv", key=f"impact.{name}")
    with st.expander("Guardrails: what each arm trained on and what the held-out set left out"):
        s = result.summary
        st.markdown(
            f"Held-out items: **{s.get('held_out', 0):,}** ({s.get('held_out_touched', 0):,} touched by "
            f"the remediation left out); gold items: {s.get('gold_items', 0):,}."
        )
        st.caption(md(f"Model: {s.get('model')}; {s.get('n_boot')} bootstrap replicates."))
        if not result.class_mix.empty:
            st.dataframe(result.class_mix, hide_index=True, key="impact.mix")
            csv_download.show(result.class_mix, filename=f"impact_{pick}_class_mix.csv", key="impact.mix_csv")
        if not result.label_classes.empty:
            st.dataframe(result.label_classes, hide_index=True, key="impact.label_classes")

st.download_button(
    "Download the report (HTML)",
    lambda: il.report_html(src, state, pick),
    file_name=f"labelwatch_report_{pick}.html",
    mime="text/html",
    key="impact.report",
    icon=":material/description:",
    help="One file that opens offline: activity, trends, findings, what changed and its effect.",
)
