"""Cached reads behind the pages: each loader runs one store or analytics function and caches its result.

Every loader takes a ``Source`` first: the store's path and its data version (how many import batches it
holds, when the last one was written, and how many were retracted), read once per write to the store. An
import adds a batch and a retraction a retraction, so the version changes and every page reads fresh data
without waiting for the ``ttl``; ``clear`` drops everything at once after a commit.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd
import streamlit as st

from analytics import consensus
from analytics.agreement import cohen
from analytics.agreement import report as agreement_report
from analytics.core import sampling
from analytics.core.schema import EventFilter
from analytics.detection import suspects
from analytics.monitoring import alerts, drift, indicators, overview, periods, slice_classes, slices
from analytics.store import agreement as agreement_queries
from analytics.store import batches, detection_inputs, item_drilldown, retractions
from analytics.store import detection as detection_queries
from analytics.store import drift as drift_queries
from analytics.store import overview as overview_queries
from analytics.store import slices as slice_queries
from analytics.store import summary as summary_queries
from ui import store as app_store

if TYPE_CHECKING:
    from analytics.engine.statistics import LakeStatistics

#: Every cached loader, in definition order: ``clear`` drops them all, so a new loader cannot be left out.
REGISTRY: list = []


def _registered(cache: Callable) -> Callable:
    """``cache`` (an ``st.cache_data``/``st.cache_resource`` decorator) that also records what it wraps."""
    def decorate(function: Callable) -> Callable:
        loader = cache(function)
        REGISTRY.append(loader)
        return loader
    return decorate


_cached = _registered(st.cache_data(ttl=600, max_entries=64, show_spinner=False))


class Source(NamedTuple):
    """The store a loader reads and the version of its data (part of every cache key)."""

    path: str
    version: tuple[int, str | None, int, str | None]


def source() -> Source:
    """The current store and its data version, as of the store's latest write.

    Returns
    -------
    Source
        ``version`` is ``(number of import batches, time of the latest one, number retracted, the lake's
        fingerprint or None)``: a file added to the store's lake changes it too.
    """
    store = app_store.current()
    return Source(store.path, _data_version(store.path, store.state()))


@functools.lru_cache(maxsize=16)
def _data_version(path: str, state: int) -> tuple[int, str | None, int, str | None]:
    """The data version of the store at ``path`` in its state ``state`` (``Store.state``): read once per
    write, not twice per run of every session."""
    store = app_store.open_store(path)
    return *store.data_version(), None if store.lake is None else store.lake.fingerprint


@_cached
def lake_statistics(src: Source, engine: str, master: str | None) -> tuple[LakeStatistics | None, str | None]:
    """Every event of the store's lake aggregated on ``engine`` (``analytics.engine.statistics``), or why
    not: ``(statistics, None)`` or ``(None, reason)`` (Spark unavailable, the lake unreadable). Kept per
    state of the lake, like every loader."""
    from analytics.engine import engines
    from analytics.engine import statistics as lake_stats

    store = app_store.open_store(src.path)
    if store.lake is None:
        return None, "This store reads no lake."
    try:
        with engines.open_engine(engine, store.lake.root, master=master) as running:
            return lake_stats.lake_statistics(running), None
    except (engines.EngineUnavailable, FileNotFoundError, ValueError) as exc:
        return None, str(exc)


@_cached
def filter_options(src: Source) -> dict:
    """Values the sidebar filters offer (``analytics.store.overview.filter_options``)."""
    return overview_queries.filter_options(app_store.open_store(src.path))


@_cached
def summary(
    src: Source, flt: EventFilter
) -> tuple[overview.OverviewSummary, overview.TrendComparison | None]:
    """Headline numbers of the filtered events and what changed (``analytics.monitoring.overview.trend``).

    Parameters
    ----------
    src : Source
        From ``source``.
    flt : EventFilter
        The global filters.

    Returns
    -------
    tuple
        ``(OverviewSummary, TrendComparison or None)``: with no date filter the last 30 days against the
        30 before; with one, the filtered window against the window of equal length before it.
    """
    store = app_store.open_store(src.path)
    headline = overview.overview_summary(store, flt)
    return headline, overview.trend(store, flt, days=30, summary=headline)


@_cached
def noise_trend(src: Source, flt: EventFilter, run_id: str | None) -> indicators.NoiseTrend | None:
    """The label-noise indicators of the Overview's two windows (``analytics.monitoring.indicators``).

    ``run_id`` is the latest detection run (its flags give the suspect rate; it keys the cache, since a new
    run changes no import batch). Read on the Agreement page's 1-in-m item sample on large stores.
    """
    _, comparison = summary(src, flt)
    return indicators.noise_trend(app_store.open_store(src.path), flt, comparison, run_id=run_id,
                                  sample_modulus=agreement_sample(src, flt))


def alert_source(src: Source) -> tuple[str | None, str | None]:
    """The store's alerts file and its text, read fresh on every run (an edit shows at once); ``(None,
    None)`` without one. Raises ``alerts.AlertConfigError`` when the file named cannot be read."""
    return alerts.alert_source(src.path)


@_cached
def alert_report(src: Source, runs: tuple, source: str | None,
                 text: str | None) -> tuple[alerts.AlertReport | None, str | None]:
    """``(report, None)``: the alert rules of ``text`` (None: the defaults) evaluated on the whole store,
    as ``python -m analytics check`` evaluates them; ``(None, message)`` for a file that is wrong.

    ``runs`` (``runs_version``) keys the cache to the detection runs, ``text`` to the file's content. On a
    large store the inputs are read on the Agreement page's 1-in-m item sample.
    """
    try:
        config = (alerts.AlertConfig(alerts.DEFAULT_RULES) if source is None
                  else alerts.parse_alerts(text, source))
    except alerts.AlertConfigError as exc:
        return None, str(exc)
    everything = EventFilter()
    evidence = _PageEvidence(src, everything, agreement_sample(src, everything))
    return alerts.evaluate(evidence.store, config, evidence=evidence), None


class _PageEvidence(alerts.Evidence):
    """The alert rules' evidence read through the pages' cached loaders: what the Overview's rules read,
    the Agreement, Drift and Slices pages then find computed, and the other way round.

    The summary is the Overview's (its item count estimated on large stores; the rules read its events,
    dates and raw agreement, never its items). Annotator reliability stays the rules' own table (without
    the Dawid–Skene skills the page adds).
    """

    def __init__(self, src: Source, flt: EventFilter, sample_modulus: int) -> None:
        super().__init__(app_store.open_store(src.path), flt, sample_modulus=sample_modulus)
        self.src = src

    @functools.cached_property
    def overview(self) -> overview.OverviewSummary:
        return summary(self.src, self.flt)[0]

    @functools.cached_property
    def headline(self) -> agreement_report.Headline:
        return agreement_headline(self.src, self.flt, "nominal", "items")

    @functools.cached_property
    def drift(self) -> drift.DriftFindings | None:
        inputs, findings = drift_findings(self.src, self.flt, drift.ANALYSIS_GRAIN, self.run_id, False)
        return None if inputs.label_counts.empty else findings

    @functools.cached_property
    def cube(self) -> pd.DataFrame:
        return slice_cube(self.src, self.flt, self.run_id)[0]


def _with_partial(src: Source, flt: EventFilter, frame: pd.DataFrame, grain: str) -> pd.DataFrame:
    options = filter_options(src)
    return periods.with_partial(frame, grain=grain, flt=flt, first=options["first_date"],
                                last=options["last_date"])


@_cached
def activity(src: Source, flt: EventFilter, grain: str, *, approx_items: bool = False) -> pd.DataFrame:
    """``period, cohort, events, items, annotators, labels, partial`` per ``grain`` (day, week or month).

    ``approx_items`` estimates the distinct items by HyperLogLog, for very large stores, with the relative
    standard error ``attrs["items_rse"]`` (``analytics.store.overview.activity``); ``partial`` marks a
    period that the data or the date filter cover only in part.
    """
    store = app_store.open_store(src.path)
    frame = overview_queries.activity(store, flt, grain=grain, approx_items=approx_items)
    marked = _with_partial(src, flt, frame, grain)
    marked.attrs = dict(frame.attrs)
    return marked


@_cached
def agreement_over_time(
    src: Source, flt: EventFilter, grain: str, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """Raw agreement per period with its 95% interval.

    ``sample_modulus`` m > 1 computes it on a deterministic 1-in-m sample of items (large stores), as the
    summary does (``analytics.core.sampling.sample_modulus``).

    Returns
    -------
    DataFrame
        ``period, items_multi, pa_mean, pa_sd, ci_low, ci_high, partial``
        (``analytics.monitoring.overview.agreement_by_period``), and whether the data or the date filter
        cover the period only in part.
    """
    frame = overview.agreement_by_period(app_store.open_store(src.path), flt, grain=grain,
                                         sample_modulus=sample_modulus)
    return _with_partial(src, flt, frame, grain)


@_cached
def label_distribution(src: Source, flt: EventFilter) -> pd.DataFrame:
    """``label, events, share``, most frequent first."""
    return overview_queries.label_distribution(app_store.open_store(src.path), flt)


@_cached
def label_order(src: Source) -> list[str]:
    """The vocabulary's labels in declaration order (for ordinal alpha); [] when none is declared."""
    return agreement_queries.label_order(app_store.open_store(src.path))


@_cached
def agreement_sample(src: Source, flt: EventFilter) -> int:
    """The m of the 1-in-m item sample the Agreement page reads (1: every item)."""
    store = app_store.open_store(src.path)
    events = overview_queries.event_totals(store, flt)["events"]
    return sampling.statistics_modulus(events, base=store.sample_base)


@_cached
def agreement_headline(src: Source, flt: EventFilter, level: str,
                       resample: str = "items") -> agreement_report.Headline:
    """Alpha, Fleiss' kappa and AC1 with bootstrap CIs, overall and over the last two 30-day windows;
    ``resample`` ("items" or "items and annotators") decides what the overall intervals treat as random."""
    store = app_store.open_store(src.path)
    return agreement_report.headline(
        store, flt, level=level, order=_order(src, level), sample_modulus=agreement_sample(src, flt),
        resample=resample,
    )


@_cached
def cohort_order(src: Source) -> list[str]:
    """The store's cohorts in first-seen order: pass to ``charts.theme.color_map(order=...)`` so each cohort
    keeps its colour on every chart, whatever the filter or a new import adds."""
    return agreement_queries.cohort_order(app_store.open_store(src.path))


@_cached
def agreement_by(src: Source, flt: EventFilter, by: str, level: str) -> pd.DataFrame:
    """``grp, metric, value, ci_low, ci_high, n_items, n_ratings`` per group of ``by`` (a period grain,
    ``cohort`` or ``guideline_version``)."""
    counts = agreement_queries.label_counts(
        app_store.open_store(src.path), flt, by=by, sample_modulus=agreement_sample(src, flt)
    )
    return agreement_report.estimates_frame(counts, level=level, order=_order(src, level))


@_cached
def agreement_by_cohort_over_time(src: Source, flt: EventFilter, grain: str, level: str) -> pd.DataFrame:
    """Krippendorff's alpha per period within each cohort: ``period, cohort, metric, value, ci_low, ci_high,
    n_items, n_ratings`` (only the cohort's own ratings of an item count)."""
    return agreement_report.cohort_estimates_over_time(
        app_store.open_store(src.path), flt, cohorts=flt.cohorts or tuple(filter_options(src)["cohorts"]),
        grain=grain, level=level, order=_order(src, level), sample_modulus=agreement_sample(src, flt),
    )


@_cached
def guidelines(src: Source) -> pd.DataFrame:
    """Declared guideline versions: ``version, effective_at, summary``."""
    return agreement_queries.guideline_changes(app_store.open_store(src.path))


def _order(src: Source, level: str) -> list[str] | None:
    order = label_order(src) if level in ("ordinal", "interval") else []
    return order or None


# Fitted models are kept as objects (not copied per session): they are only read.
_model = _registered(st.cache_resource(ttl=600, max_entries=8,
                                       show_spinner="Fitting the Dawid–Skene consensus model…"))


@_model
def _dawid_skene_fit(src: Source, flt: EventFilter) -> tuple[consensus.DawidSkene | None, str | None]:
    """``(model, why not)`` (``analytics.agreement.report.consensus_model``): the fit on the filtered
    ratings, or None and the reason a label set too large for it was refused; the outcome is kept per
    filter."""
    return agreement_report.consensus_model(app_store.open_store(src.path), flt,
                                            sample_modulus=agreement_sample(src, flt))


def dawid_skene(src: Source, flt: EventFilter) -> consensus.DawidSkene | None:
    """Dawid–Skene fitted on the filtered ratings (None without ratings, or on a label set too large).

    Ratings come from DuckDB as integer codes (``analytics.store.consensus.coded_ratings``), so no string
    column of millions of rows is ever built in pandas.
    """
    return _dawid_skene_fit(src, flt)[0]


def dawid_skene_refusal(src: Source, flt: EventFilter) -> str | None:
    """Why Dawid–Skene was not fitted on these ratings (a label set too large), or None."""
    return _dawid_skene_fit(src, flt)[1]


@_cached
def annotator_tables(src: Source, flt: EventFilter) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(annotator reliability table, cohort table)``, with Dawid–Skene skills."""
    model = dawid_skene(src, flt)
    skills = model.skills_ if model is not None else None
    return agreement_report.annotator_tables(
        app_store.open_store(src.path), flt, skills=skills, sample_modulus=agreement_sample(src, flt)
    )


@_cached
def annotator_disagreements(src: Source, flt: EventFilter, annotator_id: str) -> pd.DataFrame:
    """One annotator's ratings where they differ from the Dawid–Skene consensus, most confident first.

    Returns
    -------
    DataFrame
        ``item_id, label, consensus, consensus_prob, raters, agreeing, labeled_at``.
    """
    rows = agreement_queries.annotator_ratings(
        app_store.open_store(src.path), annotator_id, flt, sample_modulus=agreement_sample(src, flt)
    )
    return agreement_report.disagreements(rows, dawid_skene(src, flt))


@_cached
def pairwise_kappa(src: Source, flt: EventFilter, annotators: tuple[str, ...],
                   min_overlap: int) -> pd.DataFrame:
    """Cohen's kappa for pairs among ``annotators`` with ``min_overlap`` shared items
    (``analytics.agreement.report.heatmap_annotators`` picks them: flagged first, then the busiest).

    Pairs are counted in DuckDB (``analytics.store.agreement.pairwise_tables``) over every filtered event.
    """
    store = app_store.open_store(src.path)
    tables = agreement_queries.pairwise_tables(store, flt, min_overlap=min_overlap,
                                               annotators=list(annotators))
    return cohen.pairwise_kappa_from_tables(tables)


@_cached
def label_confusion(src: Source, flt: EventFilter) -> pd.DataFrame:
    """``label_a, label_b, pairs, expected, lift, items`` of the filtered ratings."""
    return agreement_report.label_confusion(app_store.open_store(src.path), flt,
                                            sample_modulus=agreement_sample(src, flt))


@_cached
def table_counts(src: Source) -> dict[str, int]:
    """Row count of each table (``analytics.store.summary.table_counts``)."""
    return summary_queries.table_counts(app_store.open_store(src.path))


@_cached
def import_batches(src: Source) -> pd.DataFrame:
    """Every import batch (``analytics.store.batches.list_batches``)."""
    return batches.list_batches(app_store.open_store(src.path))


@_cached
def retracted_batches(src: Source) -> pd.DataFrame:
    """Every retraction, newest first (``analytics.store.retractions.list_retractions``)."""
    return retractions.list_retractions(app_store.open_store(src.path))


@_cached
def unreadable_events(src: Source) -> pd.DataFrame:
    """Events left out of every read for their timestamp, by batch (``retractions.unreadable_events``)."""
    return retractions.unreadable_events(app_store.open_store(src.path))


@_cached
def rejects(src: Source, batch_id: str | None) -> pd.DataFrame:
    """Rejected rows with their reasons, of one batch or (``None``) of all batches."""
    return batches.list_rejects(app_store.open_store(src.path), batch_id=batch_id)


# --- Drift ----------------------------------------------------------------------------------------------


@_cached
def drift_findings(src: Source, flt: EventFilter, grain: str, run_id: str | None,
                   with_dawid_skene: bool = False) -> tuple:
    """``(DriftInputs drawn at grain, DriftFindings)`` of the filtered events (item reads on the sample).

    The tests run on ``drift.ANALYSIS_GRAIN`` windows whatever ``grain``, so every grain tells the same
    story; ``grain`` sets the windows drawn (and dates changes within their week on days).
    ``with_dawid_skene`` adds each annotator's Dawid–Skene accuracy per window (the Agreement page's fit,
    about a second more at 1e7 events).
    """
    store, modulus = app_store.open_store(src.path), agreement_sample(src, flt)
    tested = drift.ANALYSIS_GRAIN
    inputs = drift_queries.drift_inputs(store, flt, grain=tested, run_id=run_id, sample_modulus=modulus)
    shown = None if grain == tested else drift_queries.display_inputs(store, flt, grain=grain, run_id=run_id,
                                                                      sample_modulus=modulus)
    model = dawid_skene(src, flt) if with_dawid_skene else None
    ds = None
    if model is not None:
        ratings = agreement_queries.ratings(store, flt, sample_modulus=modulus)
        ds = drift.ds_accuracy_windows(ratings, model.probas_, grain=tested)
    return shown or inputs, drift.drift_findings(inputs, display=shown, ds=ds)


# --- Slices ---------------------------------------------------------------------------------------------


@_cached
def slice_cube(src: Source, flt: EventFilter, run_id: str | None) -> tuple[pd.DataFrame, int]:
    """The slice cube of the filtered ratings (``analytics.store.slices.slice_cube``) and its sample m.

    Large stores are read on the Agreement page's 1-in-m item sample: every rate and test is then that of
    the sampled items, which the page says.
    """
    modulus = agreement_sample(src, flt)
    store = app_store.open_store(src.path)
    cube = slice_queries.slice_cube(store, flt, run_id=run_id, sample_modulus=modulus)
    return cube, modulus


def _compared_cube(src: Source, flt: EventFilter, run_id: str | None) -> pd.DataFrame:
    """The slice cube without the sidebar's pinned attribute (``slices.without_attribute``): a slice filter
    keeps one slice, which then has no rest to be compared with."""
    cube = slice_cube(src, flt, run_id)[0]
    if flt.attribute and flt.attribute_value is not None:
        return slices.without_attribute(cube, flt.attribute)
    return cube


@_cached
def slice_table(src: Source, flt: EventFilter, run_id: str | None, metric: str, pairs: bool,
                min_items: int) -> pd.DataFrame:
    """Every slice's noise rate against the rest (``analytics.monitoring.slices.slice_noise_table``)."""
    return slices.slice_noise_table(_compared_cube(src, flt, run_id), metric=metric, pairs=pairs,
                                    min_items=min_items)


@_cached
def discovered_slices(src: Source, flt: EventFilter, run_id: str | None, metric: str,
                      min_items: int) -> slices.SliceDiscovery:
    """Combinations of attributes noisier than their parts (``slices.discover_slices``)."""
    return slices.discover_slices(_compared_cube(src, flt, run_id), metric=metric, min_items=min_items)


@_cached
def slice_class_cells(src: Source, flt: EventFilter, run_id: str | None, metric: str) -> pd.DataFrame:
    """Noise per slice and class (``analytics.monitoring.slice_classes.slice_class_heatmap``)."""
    return slice_classes.slice_class_heatmap(_compared_cube(src, flt, run_id), metric=metric)


# --- Suspects: a detection run never changes once stored, so its reads are cached by run id -------------


def runs_version(src: Source) -> tuple:
    """How many detection runs the store holds and the newest one's time (read fresh, never cached)."""
    return detection_queries.runs_version(app_store.open_store(src.path))


@_cached
def detection_runs(src: Source, version: tuple) -> pd.DataFrame:
    """Every detection run, newest first (``version`` from ``runs_version`` keys the cache)."""
    return detection_queries.runs(app_store.open_store(src.path))


@_cached
def run_params(src: Source, run_id: str) -> dict:
    """The stored parameters of a run."""
    return detection_queries.run_params(app_store.open_store(src.path), run_id)


@_cached
def run_has_pred_probs(src: Source, run_id: str) -> bool:
    """Whether a run kept its cleanlab arrays (``analytics.store.detection.has_pred_probs``)."""
    return detection_queries.has_pred_probs(app_store.open_store(src.path), run_id)


@_cached
def run_view(src: Source, run_id: str, flt: EventFilter) -> suspects.RunView:
    """The run's items in view under ``flt``, counted by status and cluster, with precision on gold."""
    return suspects.run_view(detection_queries.view_counts(app_store.open_store(src.path), run_id, flt))


@_cached
def run_comparison(src: Source, run_id: str, previous_id: str, flt: EventFilter) -> dict:
    """Flags of ``run_id`` against an earlier run on the items in view
    (``analytics.store.detection.compare_runs``)."""
    return detection_queries.compare_runs(app_store.open_store(src.path), run_id, previous_id, flt)


@_cached
def run_clusters(src: Source, run_id: str) -> pd.DataFrame:
    """The run's clusters with their summaries, largest first."""
    return detection_queries.clusters(app_store.open_store(src.path), run_id)


@_cached
def suspects_page(src: Source, run_id: str, flt: EventFilter, filters: tuple, limit: int, offset: int,
                  with_total: bool = True) -> tuple[pd.DataFrame, int | None]:
    """One page of the run's items in view (``filters``: sorted ``(name, value)`` pairs of
    ``suspects_page``'s filters)."""
    return detection_queries.suspects_page(app_store.open_store(src.path), run_id, flt=flt, limit=limit,
                                           offset=offset, with_total=with_total, **dict(filters))


@_cached
def item_detail(src: Source, run_id: str, item_id: str, flt: EventFilter) -> dict | None:
    """One item of a run: its signals, label events (``in_filter`` marks those passing ``flt``),
    neighbours and attributes; None if not scored."""
    store = app_store.open_store(src.path)
    signals = item_drilldown.item_signals(store, run_id, item_id)
    if signals is None:
        return None
    return {
        "signals": signals,
        "events": item_drilldown.item_events(store, item_id, run_id, flt),
        "neighbours": item_drilldown.item_neighbours(store, run_id, list(signals.get("neighbours") or [])),
        "attributes": item_drilldown.item_attributes(store, item_id),
    }


@_cached
def suspect_item_ids(src: Source, run_id: str, flt: EventFilter, filters: tuple) -> list[str]:
    """Every item id in view matching ``filters`` (sorted ``(name, value)`` pairs), to send to review."""
    store = app_store.open_store(src.path)
    return detection_queries.suspect_item_ids(store, run_id, flt=flt, **dict(filters))


@_cached
def remediation_history(src: Source, item_id: str) -> pd.DataFrame:
    """Past remediation actions and review requests of one item, oldest first (cleared by a send)."""
    return item_drilldown.remediation_history(app_store.open_store(src.path), item_id)


@_cached
def prediction_models(src: Source) -> list[str]:
    """The model versions of the store's imported predictions, sorted."""
    return detection_inputs.prediction_models(app_store.open_store(src.path))


def clear() -> None:
    """Drop every cached result (every loader in ``REGISTRY``), e.g. right after an import commits."""
    for loader in REGISTRY:
        loader.clear()
    _data_version.cache_clear()
