"""Reads behind the Drift page: per-window tables of labels and label quality, aggregated in DuckDB.

A *window* is a period of labeling time (``date_trunc`` of ``labeled_at`` to a grain of
``schema.TIME_GRAINS``; a week starts on Monday) or a guideline version (``guideline_version`` of the events,
``'(none)'`` when missing). Every read returns counts per window, never events, so 1e7 events travel to
Python as a few thousand rows; ``analytics.monitoring.drift`` turns them into tests, change points and
sentences.

What each table counts:

- ``label_counts_by_window``: label *events* by default (every label given in the window, re-labels
  included: the distribution annotators produced), or *ratings* (one per item and annotator within the
  window, their latest label there).
- ``annotator_windows``: each annotator's ratings (latest label per item) by the window of that rating, with
  the leave-one-out majority of the item's other raters over the whole filter
  (``analytics.store.agreement.annotator_stats``, whose counts these are).
- ``suspect_windows``: the items a stored detection run scored, by the window of the item's first filtered
  label event, and how many it flagged.
- ``retest_windows``: consecutive label events of the same annotator on the same item, by the window of the
  later one and the gap between them in whole days.
- ``agreement_windows``: each item's percent agreement over all its filtered ratings, by the window of the
  item's first filtered label event, so an item counts once, with every pair of its ratings, at any grain.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from analytics.core.schema import TIME_GRAINS, EventFilter
from analytics.store import agreement as agreement_queries
from analytics.store.connection import Store
from analytics.store.filters import REPEAT_EVENTS, days_cte, events_cte
from analytics.store.ratings import LATEST, ratings_sql, repeated_events_sql

#: What a drift table can be split by: (SQL of the window of an event ``e``, of an item's first event).
WINDOWS = {
    **{
        grain: ("date_trunc('" + part + "', e.labeled_at)", "date_trunc('" + part + "', min(e.labeled_at))")
        for grain, part in TIME_GRAINS.items()
    },
    "guideline_version": (
        "coalesce(e.guideline_version, '(none)')",
        "arg_min(coalesce(e.guideline_version, '(none)'), (e.labeled_at, e.event_id))",
    ),
}
#: What ``label_counts_by_window`` can count.
UNITS = ("events", "ratings")


def _window(by: str, *, item: bool = False) -> str:
    if by not in WINDOWS:
        raise ValueError(f"unknown window {by!r}; use one of {', '.join(WINDOWS)}")
    return WINDOWS[by][1 if item else 0]


def label_counts_by_window(
    store: Store, flt: EventFilter | None = None, *, by: str = "week", unit: str = "events",
    sample_modulus: int = 1,
) -> pd.DataFrame:
    """Labels per window: ``window, label, n``.

    Parameters
    ----------
    flt : EventFilter or None
        The dashboard filter.
    by : str
        A key of ``WINDOWS``: ``day``, ``week``, ``month`` or ``guideline_version``.
    unit : {'events', 'ratings'}
        Count label events (one scan, no grouping by item), or ratings: one per (item, annotator) within
        the window, the latest label there, so a re-label inside a window counts once.
    sample_modulus : int
        Above 1, only a 1-in-m sample of items (``event_condition``).

    Returns
    -------
    DataFrame
        One row per (window, label) with ``n ≥ 1``, ordered by window and label; ``window`` is a timestamp
        (the window's start) for a time grain, the version string for ``guideline_version``.
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {', '.join(UNITS)}")
    window = _window(by)
    rolled = (days_cte(flt, store.lake_tables, attributes=store.rolled_attributes)
              if sample_modulus == 1 and unit == "events" else None)
    cte, params = rolled or events_cte(flt, sample_modulus, base=store.sample_base)
    if rolled is not None:  # a lake's day rollup: windows are days or longer
        return store.query(
            cte + "SELECT " + window + " AS \"window\", e.label, sum(e.events)::BIGINT AS n FROM ev e "
            "GROUP BY ALL ORDER BY ALL",
            params,
        )
    if unit == "events":
        source = "SELECT " + window + " AS win, e.label FROM ev e"
    else:
        keys = {"win": window, "item_key": "hash(e.item_id)", "annotator_id": "e.annotator_id"}
        source = ratings_sql("ev", keys, {"label": LATEST["label"]})
    return store.query(
        cte + ", x AS (" + source + ") SELECT win AS \"window\", label, count(*) AS n FROM x "
        "GROUP BY ALL ORDER BY ALL",
        params,
    )


def annotator_windows(
    store: Store, flt: EventFilter | None = None, *, by: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Per annotator and window: ratings and their agreement with the leave-one-out majority.

    Parameters
    ----------
    by : str
        A key of ``WINDOWS``; a rating falls in the window of its (latest) event.
    sample_modulus : int
        Above 1, a 1-in-m sample of items with all their ratings: every rate stays unbiased.

    Returns
    -------
    DataFrame with columns ``window, annotator_id, cohort, ratings, events, loo_items, loo_agree,
    agree_pairs, other_pairs, gold_n, gold_correct``
        ``loo_items`` counts the ratings whose item's *other* raters (over the whole filter, not only the
        window) have a single most frequent label, ``loo_agree`` those equal to it; ``agree_pairs /
        other_pairs`` is the share of the other raters who gave the same label; ``gold_*`` count ratings of
        gold items (see ``analytics.store.agreement.annotator_stats``, which computes them).
    """
    _window(by)
    frame = agreement_queries.annotator_stats(store, flt, by=by, sample_modulus=sample_modulus)
    frame = frame.rename(columns={"grp": "window", "items": "ratings"})
    columns = ["window", "annotator_id", "cohort", "ratings", "events", "loo_items", "loo_agree",
               "agree_pairs", "other_pairs", "gold_n", "gold_correct"]
    return frame[columns].sort_values(["window", "annotator_id"], ignore_index=True)


def suspect_windows(
    store: Store, run_id: str, flt: EventFilter | None = None, *, by: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Items a detection run scored, and flagged, per window: ``window, items, flagged``.

    An item falls in the window of its first filtered label event (for ``guideline_version``, the version of
    that event): when it entered labeling. Items of the run without a filtered event are left out. Items
    are keyed by the 64-bit hash of their id, so the 1e7-event grouping never builds a table of strings.
    """
    window = _window(by, item=True)
    cte, params = events_cte(flt, sample_modulus, base=store.sample_base)
    return store.query(
        cte + ", entered AS (SELECT hash(e.item_id) AS item_key, " + window + " AS win "
        "FROM ev e GROUP BY 1), "
        "run AS (SELECT hash(s.item_id) AS item_key, coalesce(s.flagged, FALSE) AS flagged "
        "FROM suspects s WHERE s.run_id = ?) "
        "SELECT entered.win AS \"window\", count(*) AS items, count(*) FILTER (WHERE run.flagged) AS flagged "
        "FROM entered JOIN run USING (item_key) GROUP BY ALL ORDER BY ALL",
        [*params, run_id],
    )


def agreement_windows(
    store: Store, flt: EventFilter | None = None, *, by: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Percent agreement of the items that entered labeling in each window: ``period, items_multi, pa_mean,
    pa_sd``.

    An item's agreement is the share of agreeing pairs among all pairs of its ratings (latest label per
    annotator) over the whole filter, Σ n_c (n_c − 1) / (m (m − 1)) for m ratings of which n_c gave label
    c; items with one rating are left out. The item falls in the window of its first filtered label event,
    as in ``suspect_windows``: unlike grouping the ratings by their own window, a daily table then still
    holds every pair of an item's ratings, so days, weeks and months measure the same thing. Items are keyed
    by the 64-bit hash of their id.
    """
    window = _window(by, item=True)
    cte, params = events_cte(flt, sample_modulus, base=store.sample_base)
    ratings = ratings_sql("ev", {"item_key": "hash(e.item_id)", "annotator_id": "e.annotator_id"},
                          {"label": LATEST["label"]})
    return store.query(
        cte + ", entered AS (SELECT hash(e.item_id) AS item_key, " + window + " AS win "
        "FROM ev e GROUP BY 1), "
        "r AS (" + ratings + "), "
        "c AS (SELECT item_key, label, count(*) AS n FROM r GROUP BY ALL), "
        "i AS (SELECT item_key, sum(n * (n - 1))::DOUBLE / (sum(n) * (sum(n) - 1)) AS pa "
        "FROM c GROUP BY item_key HAVING sum(n) >= 2) "
        "SELECT entered.win AS period, count(*) AS items_multi, avg(i.pa) AS pa_mean, "
        "stddev_samp(i.pa) AS pa_sd FROM i JOIN entered USING (item_key) GROUP BY ALL ORDER BY ALL",
        params,
    )


def retest_windows(store: Store, flt: EventFilter | None = None, *, by: str = "week") -> pd.DataFrame:
    """Test–retest pairs per window and gap: ``window, gap_days, across_versions, pairs, changed``.

    A pair is two consecutive label events (by time, then ``event_id``) of one annotator on one item, both
    passing the filter; it falls in the window of the later event. ``gap_days`` is the whole days between
    them, ``across_versions`` whether their guideline versions differ, ``changed`` how many pairs changed
    label. Only the (item, annotator) pairs listed in ``rating_repeats`` are read (a lake's store keeps
    their events apart, ``analytics.store.lake``).
    """
    window = _window(by)
    cte, params = events_cte(flt, source=REPEAT_EVENTS if store.lake_tables else None)
    return store.query(
        cte + """, seq AS (
            SELECT e.*, lag(e.label) OVER w AS previous_label, lag(e.labeled_at) OVER w AS previous_at,
                   lag(e.guideline_version) OVER w AS previous_version
            """ + repeated_events_sql("ev") + """
            WINDOW w AS (PARTITION BY e.item_id, e.annotator_id ORDER BY e.labeled_at, e.event_id))
        SELECT """ + window + """ AS "window",
               (datediff('second', e.previous_at, e.labeled_at) // 86400)::INTEGER AS gap_days,
               e.previous_version IS DISTINCT FROM e.guideline_version AS across_versions,
               count(*) AS pairs, count(*) FILTER (WHERE e.label <> e.previous_label) AS changed
        FROM seq e WHERE e.previous_label IS NOT NULL GROUP BY ALL ORDER BY ALL""",
        params,
    )


@dataclasses.dataclass(frozen=True, eq=False)
class DriftInputs:
    """Every per-window table ``analytics.monitoring.drift.drift_findings`` reads, for one filter and grain.

    Attributes
    ----------
    grain : str
        The time grain of the windows.
    label_counts : DataFrame
        ``label_counts_by_window`` (events).
    agreement : DataFrame
        ``agreement_windows``: ``period, items_multi, pa_mean, pa_sd``.
    annotators : DataFrame
        ``annotator_windows``.
    suspects : DataFrame or None
        ``suspect_windows`` of ``run_id``; None without a run.
    retest : DataFrame
        ``retest_windows``.
    guidelines : DataFrame
        ``version, effective_at, summary`` of the store's guideline versions.
    item_counts : DataFrame
        ``analytics.store.agreement.label_counts`` (``item_key, label, n``), for the label pairs
        annotators confuse (``analytics.monitoring.drift.confused_pairs``).
    run_id : str or None
        The detection run behind ``suspects``.
    sample_modulus : int
        The 1-in-m item sample of the agreement tables (1: every item).
    """

    grain: str
    label_counts: pd.DataFrame
    agreement: pd.DataFrame
    annotators: pd.DataFrame
    suspects: pd.DataFrame | None
    retest: pd.DataFrame
    guidelines: pd.DataFrame
    item_counts: pd.DataFrame
    run_id: str | None = None
    sample_modulus: int = 1


def drift_inputs(
    store: Store, flt: EventFilter | None = None, *, grain: str = "week", run_id: str | None = None,
    sample_modulus: int = 1,
) -> DriftInputs:
    """Read every table of ``DriftInputs``; ``sample_modulus`` applies to the item-level reads (agreement,
    annotators, suspects, item label counts).

    Label counts and re-test pairs always cover every filtered event: they are one cheap scan each.
    """
    if grain not in TIME_GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(TIME_GRAINS)}")
    return DriftInputs(
        grain=grain,
        label_counts=label_counts_by_window(store, flt, by=grain),
        agreement=agreement_windows(store, flt, by=grain, sample_modulus=sample_modulus),
        annotators=annotator_windows(store, flt, by=grain, sample_modulus=sample_modulus),
        suspects=(suspect_windows(store, run_id, flt, by=grain, sample_modulus=sample_modulus)
                  if run_id is not None else None),
        retest=retest_windows(store, flt, by=grain),
        guidelines=agreement_queries.guideline_changes(store),
        item_counts=agreement_queries.label_counts(store, flt, sample_modulus=sample_modulus),
        run_id=run_id,
        sample_modulus=sample_modulus,
    )


def display_inputs(
    store: Store, flt: EventFilter | None = None, *, grain: str = "week", run_id: str | None = None,
    sample_modulus: int = 1,
) -> DriftInputs:
    """The tables the Drift page draws at ``grain`` when its tests run at another grain: label counts,
    agreement, annotators, suspects and guidelines (re-tests and item label counts come empty; the
    tested grain's ``drift_inputs`` holds them)."""
    if grain not in TIME_GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(TIME_GRAINS)}")
    return DriftInputs(
        grain=grain,
        label_counts=label_counts_by_window(store, flt, by=grain),
        agreement=agreement_windows(store, flt, by=grain, sample_modulus=sample_modulus),
        annotators=annotator_windows(store, flt, by=grain, sample_modulus=sample_modulus),
        suspects=(suspect_windows(store, run_id, flt, by=grain, sample_modulus=sample_modulus)
                  if run_id is not None else None),
        retest=pd.DataFrame({c: [] for c in ("window", "gap_days", "across_versions", "pairs", "changed")}),
        guidelines=agreement_queries.guideline_changes(store),
        item_counts=pd.DataFrame({"item_key": [], "label": [], "n": []}),
        run_id=run_id,
        sample_modulus=sample_modulus,
    )
