"""The whole-lake statistics on the Data page: every event of the store's lake, no sample, aggregated on
DuckDB or on Apache Spark (``analytics.engine``), computed when asked for."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.engine.statistics import LakeStatistics
from analytics.store import Store
from ui import loaders
from ui import store as app_store

_COEFFICIENTS = {"percent_agreement": "Percent agreement", "krippendorff_alpha": "Krippendorff's alpha",
                 "fleiss_kappa": "Fleiss' kappa", "gwet_ac1": "Gwet's AC1"}


def show(store: Store, src: loaders.Source, *, key: str) -> None:
    """Render the panel when ``store`` reads a lake (nothing otherwise).

    Parameters
    ----------
    store : Store
        The open store.
    src : ui.loaders.Source
        Its cache key: a result is kept until the lake's files change.
    key : str
        Prefix of the widgets' keys.
    """
    if store.lake is None:
        return
    st.subheader("Whole-lake statistics")
    try:
        engine, master = app_store.engine_setting()
    except ValueError as exc:
        st.error(str(exc))
        return
    where = f"Apache Spark at {master or 'local[2]'}" if engine == "spark" else "DuckDB on this machine"
    st.caption(f"Agreement, annotator reliability, label drift, noisy slices and a Dawid–Skene fit over "
               f"every event of the lake, no sample. The heavy grouping runs on {where} (LABELWATCH_ENGINE, "
               f"LABELWATCH_SPARK_MASTER); the statistics are computed here from its small results. It reads "
               f"the whole lake, so it runs when asked for and is kept until the lake's files change.")
    asked = f"{key}.asked"
    if st.button("Compute on every event", key=f"{key}.compute", icon=":material/calculate:"):
        st.session_state[asked] = True
    if not st.session_state.get(asked):
        return
    with st.spinner(f"Aggregating the lake on {engine}…"):
        result, error = loaders.lake_statistics(src, engine, master)
    if error is not None:
        st.error(error)
        return
    _results(result)


def _results(result: LakeStatistics) -> None:
    agreement = result.agreement
    columns = st.columns(len(_COEFFICIENTS))
    for column, (name, title) in zip(columns, _COEFFICIENTS.items(), strict=True):
        column.metric(title, f"{agreement[name]:.3f}")
    steps = ", ".join(f"{step} {seconds:.1f}" for step, seconds in result.seconds.items())
    st.caption(f"Over {agreement['items']:,} items and {agreement['ratings']:,} ratings, aggregated on "
               f"{result.engine}. Seconds: {steps}.")
    flagged = result.flagged()
    st.markdown(f"**Annotators:** {len(result.annotators):,}, {len(flagged):,} flagged")
    if len(flagged):
        shown = flagged.assign(flags=flagged["flags"].map(", ".join))
        st.dataframe(shown, hide_index=True, key="lake_stats.annotators")
    shifted = result.shifted()
    st.markdown(f"**Label drift by {result.grain}:** {len(result.drift):,} windows tested, "
                f"{len(shifted):,} shifted")
    if len(shifted):
        st.dataframe(shifted, hide_index=True, key="lake_stats.drift")
    noisy = result.noisy()
    st.markdown(f"**Slices (disagreement):** {len(result.slices):,} slices, {len(noisy):,} noisier than the "
                "rest")
    if len(noisy):
        st.dataframe(noisy, hide_index=True, key="lake_stats.slices")
    ds = result.consensus
    state = "converged" if ds.converged_ else "not converged"
    st.markdown(f"**Dawid–Skene:** {ds.n_iter_} iterations ({state}), median annotator skill "
                f"{ds.skills_.median():.3f}")
    priors = pd.DataFrame({"class": [str(k) for k in ds.priors_.index], "prior": ds.priors_.to_numpy()})
    st.dataframe(priors, hide_index=True, key="lake_stats.priors")
