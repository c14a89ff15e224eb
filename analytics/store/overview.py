"""Reads behind the Overview page and the global filter widgets; every count is aggregated in DuckDB.

Every read starts from the filtered events (``analytics.store.filters.events_cte``). Agreement counts use
one rating per (item, annotator): the annotator's latest label of the item, so a test–retest re-label never
makes an annotator agree with themself.

On large stores the caller may pass ``sample_modulus`` m > 1 to the per-item reads: they then read only
the items with ``hash(item_id) % m = 0``, a deterministic uniform sample of about 1/m of the items. Items are
the sampling unit of the agreement interval anyway, so the interval stays honest; it just widens.

Distinct items are counted as distinct 64-bit hashes of their ids: DuckDB counts those faster than strings,
and among 10 million items two ids share a hash with probability about 3 in a million, so the count is
exact for any store this tool holds. Headline counts never use HyperLogLog (``approx_count_distinct``):
DuckDB's sketch errs by 2–3% on a few hundred thousand ids.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.core import hyperloglog
from analytics.core.schema import TIME_GRAINS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import ATTRIBUTE_VALUES, DAYS, days_cte, events_cte, sketch_cte
from analytics.store.ratings import LATEST, ratings_sql


def _windowed(cte: str, params: list, split_at: dt.datetime | None) -> tuple[str, list, str]:
    """``(cte, params, relation)``: ``ev`` of ``cte`` as it is, or with ``split_at``, ``w``: its rows with
    ``win`` = 1 for those labeled at or after ``split_at`` (the current window) and 0 for the others."""
    if split_at is None:
        return cte, params, "ev"
    return (cte + ", w AS (SELECT ev.*, (ev.labeled_at >= ?)::INTEGER AS win FROM ev) ",
            [*params, split_at], "w")


def _days(
    store: Store, flt: EventFilter | None, split_at: dt.datetime | None = None
) -> tuple[str, list, str] | None:
    """As ``_events``, over the rows of a lake's day rollup instead (``filters.days_cte``: ``events`` per
    day, annotator, label and guideline version); None when the store has none or ``flt`` needs the items.
    ``split_at`` is the start of a day (a trend's window), so each row falls wholly in one window."""
    found = days_cte(flt, store.lake_tables, attributes=store.rolled_attributes)
    return None if found is None else _windowed(*found, split_at)


def _events(
    store: Store, flt: EventFilter | None, sample_modulus: int = 1, split_at: dt.datetime | None = None
) -> tuple[str, list, str]:
    """``(WITH …, params, relation)``: the filtered (and sampled) events (``events_cte``), tagged by trend
    window if asked (``_windowed``)."""
    return _windowed(*events_cte(flt, sample_modulus, base=store.sample_base), split_at)


def filter_options(store: Store) -> dict:
    """Values the filter widgets offer: datasets, cohorts, attribute keys and values, the date range."""
    cur = store.cursor()
    times = ("SELECT min(first_at), max(last_at) FROM " + DAYS if store.lake_tables
             else "SELECT min(labeled_at), max(labeled_at) FROM live_label_events")
    first, last = cur.execute(times).fetchone()
    attributes = store.query(
        "SELECT key, value, n FROM " + ATTRIBUTE_VALUES + " ORDER BY key, value" if store.lake_tables else
        "SELECT key, value, count(*) AS n FROM live_item_attributes GROUP BY ALL ORDER BY key, value"
    )
    return {
        "datasets": store.query("SELECT DISTINCT dataset FROM live_items ORDER BY 1")["dataset"].tolist(),
        "cohorts": store.query(
            "SELECT DISTINCT coalesce(cohort, 'unknown') AS cohort FROM live_annotators ORDER BY 1"
        )["cohort"].tolist(),
        "attributes": {
            key: group["value"].tolist() for key, group in attributes.groupby("key", sort=True)
        },
        "first_date": first.date() if first is not None else None,
        "last_date": last.date() if last is not None else None,
    }


# Distinct annotators and labels are counted over (annotator, label) groups: DuckDB is slow on several
# DISTINCT aggregates over millions of rows (0.6 s → 0.17 s at 1e7). ``keys`` below is "" or "win, ".
def _totals_sql(relation: str, *, window: bool, days: bool = False) -> str:
    """``days``: ``relation`` holds a lake's day rollup (``_days``), its events counted."""
    keys = "win, " if window else ""
    counts = "sum(events) AS n, min(first_at) AS lo, max(last_at) AS hi" if days else (
        "count(*) AS n, min(labeled_at) AS lo, max(labeled_at) AS hi")
    return (
        ", g AS (SELECT " + keys + "annotator_id, label, " + counts + " FROM " + relation + " GROUP BY ALL) "
        "SELECT " + keys + "sum(n)::BIGINT AS events, count(DISTINCT annotator_id) AS annotators, "
        "count(DISTINCT label) AS labels, min(lo) AS first_at, max(hi) AS last_at FROM g GROUP BY ALL"
    )


def _item_stats_sql(relation: str, *, window: bool) -> str:
    """The item pass after the events' CTE: one rating per (item, annotator), of each window if asked."""
    keys = "win, " if window else ""
    ratings = ratings_sql(
        relation,
        {**({"win": "e.win"} if window else {}), "item_id": "e.item_id", "annotator_id": "e.annotator_id"},
        {"label": LATEST["label"], "n_ev": LATEST["n_events"]},
    )
    return (
        ", r AS (" + ratings + "), "
        "c AS (SELECT " + keys + "item_id, label, count(*) AS n, sum(n_ev) AS n_ev FROM r GROUP BY ALL), "
        "i AS (SELECT " + keys + "item_id, sum(n_ev) AS n_labels, "
        "sum(n * (n - 1))::DOUBLE / nullif(sum(n) * (sum(n) - 1), 0) AS pa FROM c GROUP BY ALL) "
        "SELECT " + keys + "n_labels, count(*) AS items, count(pa) AS rated_multi, "
        "coalesce(sum(pa), 0) AS pa_sum, coalesce(sum(pa * pa), 0) AS pa_sumsq "
        "FROM i GROUP BY ALL ORDER BY ALL"
    )


def event_totals(store: Store, flt: EventFilter | None = None) -> dict:
    """Counts of events, annotators and distinct labels, and the first and last event time.

    Returns
    -------
    dict
        ``events`` (0 when nothing passes), ``annotators``, ``labels``, ``first_at``, ``last_at`` (None
        when nothing passes). Items are counted apart (``item_count``, ``item_stats``): their distinct
        count is most of the cost on a large store. Read once per state of the store
        (``Store.remembered``).
    """
    rolled = _days(store, flt)
    cte, params, relation = rolled or _events(store, flt)
    sql = cte + _totals_sql(relation, window=False, days=rolled is not None)

    def read() -> tuple:
        return store.cursor().execute(sql, params).fetchone()

    row = store.remembered(("event_totals", flt), read)
    keys = ("events", "annotators", "labels", "first_at", "last_at")
    counts = dict(zip(keys, row, strict=True))
    return {**counts, "events": counts["events"] or 0}


def totals(store: Store, flt: EventFilter | None = None, *, approx_items: bool = False) -> dict:
    """``event_totals`` plus ``items``, the number of distinct items labeled.

    With ``approx_items`` the items are counted by HyperLogLog (``approx_count_distinct``: 2–3% error on
    a few hundred thousand ids), for callers that only need the order of magnitude; otherwise exactly
    (``item_count``).
    """
    counts = event_totals(store, flt)
    if approx_items:
        cte, params, relation = _events(store, flt)
        items = store.cursor().execute(
            cte + "SELECT approx_count_distinct(item_id) FROM " + relation, params
        ).fetchone()[0]
    else:
        items = item_count(store, flt)
    return {"events": counts["events"], "items": int(items or 0),
            **{key: counts[key] for key in ("annotators", "labels", "first_at", "last_at")}}


def item_count(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> int:
    """Distinct items among the filtered events (of the 1-in-``sample_modulus`` item sample when above 1).

    Counted as distinct hashes of the ids (see the module docstring): exact with 1, and with m > 1 the size
    of the sample that ``analytics.monitoring.overview`` scales by m into an estimate.
    """
    cte, params, relation = _events(store, flt, sample_modulus)
    return int(store.cursor().execute(
        cte + "SELECT count(DISTINCT hash(item_id)) FROM " + relation, params
    ).fetchone()[0])


def item_stats(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> pd.DataFrame:
    """Items by their number of label events, with the sums behind per-item pairwise agreement.

    One pass over the (sampled) events gives both the labels-per-item histogram and raw agreement.
    For an item rated by n ≥ 2 annotators of which n_k gave label k, the share of agreeing ordered rating
    pairs is pa = Σ_k n_k (n_k − 1) / (n (n − 1)).

    Returns
    -------
    DataFrame
        ``n_labels, items, rated_multi, pa_sum, pa_sumsq``, by ``n_labels`` (label events per item,
        re-labels included): how many items, how many of them have 2+ annotators, and Σ pa, Σ pa² over
        those. Within the 1-in-``sample_modulus`` item sample when it is above 1.
    """
    cte, params, relation = _events(store, flt, sample_modulus)
    return store.query(cte + _item_stats_sql(relation, window=False), params)


def window_totals(store: Store, flt: EventFilter, split_at: dt.datetime) -> pd.DataFrame:
    """``event_totals`` of the events before ``split_at`` (``win`` 0) and after (``win`` 1).

    One scan for a trend's two windows: ``flt`` spans both, ``split_at`` is where the current one starts.
    A window without events has no row.
    """
    rolled = _days(store, flt, split_at)
    cte, params, relation = rolled or _events(store, flt, split_at=split_at)
    return store.query(cte + _totals_sql(relation, window=True, days=rolled is not None), params)


def window_item_counts(
    store: Store, flt: EventFilter, split_at: dt.datetime, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """``item_count`` of each window: ``win, items`` (an item labeled in both windows counts in each)."""
    cte, params, relation = _events(store, flt, sample_modulus, split_at)
    return store.query(
        cte + "SELECT win, count(DISTINCT hash(item_id)) AS items FROM " + relation + " GROUP BY win",
        params,
    )


def window_item_stats(
    store: Store, flt: EventFilter, split_at: dt.datetime, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """``item_stats`` of the events before ``split_at`` (win 0) and after (1), with a ``win`` column.

    An item labeled in both windows counts in each, with the labels of that window.
    """
    cte, params, relation = _events(store, flt, sample_modulus, split_at)
    return store.query(cte + _item_stats_sql(relation, window=True), params)


def agreement_by_period(
    store: Store, flt: EventFilter | None = None, *, grain: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Per-item agreement by period of labeling: period, items_multi, pa_mean, pa_sd.

    An item counts in a period when 2+ annotators labeled it within that period.
    """
    cte, params, relation = _events(store, flt, sample_modulus)
    period = "date_trunc('" + TIME_GRAINS[grain] + "', e.labeled_at)"
    keys = {"period": period, "item_id": "e.item_id", "annotator_id": "e.annotator_id"}
    return store.query(
        cte + ", r AS (" + ratings_sql(relation, keys, {"label": LATEST["label"]}) + """),
        c AS (SELECT period, item_id, label, count(*) AS n FROM r GROUP BY ALL),
        i AS (SELECT period, sum(n * (n - 1))::DOUBLE / (sum(n) * (sum(n) - 1)) AS pa
              FROM c GROUP BY period, item_id HAVING sum(n) >= 2)
        SELECT period, count(*) AS items_multi, avg(pa) AS pa_mean, stddev_samp(pa) AS pa_sd
        FROM i GROUP BY period ORDER BY period""",
        params,
    )


#: The relative standard error of DuckDB's ``approx_count_distinct`` (measured: 60 sets of 200,000 ids, RMS
#: relative error 3.4%, largest 7.4%); the lake's item sketch errs by ``hyperloglog.RSE`` (0.8%).
DUCKDB_HLL_RSE = 0.034

#: ``c``: the events, annotators and labels per period (``?``: the grain) and cohort of the day rollup ``d``.
_ROLLED_COUNTS = (
    "g AS (SELECT date_trunc(?, e.labeled_at) AS period, coalesce(a.cohort, 'unknown') AS cohort, "
    "e.annotator_id, e.label, sum(e.events) AS events FROM d e LEFT JOIN live_annotators a "
    "USING (annotator_id) GROUP BY ALL), c AS (SELECT period, cohort, sum(events)::BIGINT AS events, "
    "count(DISTINCT annotator_id) AS annotators, count(DISTINCT label) AS labels FROM g GROUP BY ALL)"
)


def activity(
    store: Store, flt: EventFilter | None = None, *, grain: str = "day", approx_items: bool = False
) -> pd.DataFrame:
    """Activity per period and annotator cohort: period, cohort, events, items, annotators, labels.

    ``items`` counts distinct items labeled in the period by the cohort: exactly (as distinct hashes of
    the ids), or with ``approx_items`` by HyperLogLog, which costs a third as much on tens of millions of
    events: on a store with derived tables and a filter they hold (dates, cohorts, a rolled slice
    attribute), from its item sketch (``analytics.core.hyperloglog``, 0.8% standard error; no event is
    read), else by DuckDB's ``approx_count_distinct`` (``DUCKDB_HLL_RSE``, 3.4%). The estimate's relative
    standard error is then ``attrs["items_rse"]``. ``labels`` is the number of distinct labels.
    """
    cte, params, relation = _events(store, flt)
    items = "approx_count_distinct(e.item_id)" if approx_items else "count(DISTINCT hash(e.item_id))"
    rolled = days_cte(flt, store.lake_tables, name="d", attributes=store.rolled_attributes)
    sketch = approx_items and sketch_cte(flt, store.lake_tables, attributes=store.rolled_attributes)
    if rolled is not None and sketch:  # no event read at all
        frame = _activity_from_sketch(store, grain, rolled, sketch)
        frame.attrs["items_rse"] = hyperloglog.RSE
        return frame
    if rolled is not None:  # events, annotators and labels from the day rollup; only the items from events
        days, day_params = rolled
        frame = store.query(
            cte + ", i AS (SELECT date_trunc(?, e.labeled_at) AS period, coalesce(a.cohort, 'unknown') AS "
            "cohort, " + items + " AS items FROM ev e LEFT JOIN live_annotators a USING (annotator_id) "
            "GROUP BY ALL), " + days.removeprefix("WITH ")
            + ", " + _ROLLED_COUNTS + " SELECT period, cohort, c.events, i.items, c.annotators, c.labels "
            "FROM c JOIN i USING (period, cohort) ORDER BY period, cohort",
            [*params, TIME_GRAINS[grain], *day_params, TIME_GRAINS[grain]],
        )
    else:
        frame = store.query(
            cte + "SELECT date_trunc(?, e.labeled_at) AS period, coalesce(a.cohort, 'unknown') AS cohort, "
            "count(*) AS events, " + items + " AS items, "
            "count(DISTINCT e.annotator_id) AS annotators, count(DISTINCT e.label) AS labels FROM "
            + relation
            + " e LEFT JOIN live_annotators a USING (annotator_id) GROUP BY ALL ORDER BY period, cohort",
            [*params, TIME_GRAINS[grain]],
        )
    if approx_items:
        frame.attrs["items_rse"] = DUCKDB_HLL_RSE
    return frame


def _activity_from_sketch(
    store: Store, grain: str, rolled: tuple[str, list], sketch: tuple[str, list]
) -> pd.DataFrame:
    """``activity`` from a lake's day rollup and its item sketch: the registers of a period's days merged by
    maximum, their histogram per (period, cohort) estimated in ``hyperloglog.estimates``."""
    days, day_params = rolled
    registers, sketch_params = sketch
    histograms = store.query(
        registers + ", r AS (SELECT date_trunc(?, labeled_at) AS period, coalesce(cohort, 'unknown') AS "
        "cohort, register, max(rho) AS rho FROM sk GROUP BY ALL) "
        "SELECT period, cohort, rho, count(*) AS registers FROM r GROUP BY ALL",
        [*sketch_params, TIME_GRAINS[grain]],
    )
    counts = store.query(
        days + ", " + _ROLLED_COUNTS + " SELECT * FROM c",
        [*day_params, TIME_GRAINS[grain]],
    )
    items = hyperloglog.estimates(histograms, ["period", "cohort"])
    frame = counts.merge(items, on=["period", "cohort"], how="inner")
    return frame[["period", "cohort", "events", "items", "annotators", "labels"]].sort_values(
        ["period", "cohort"], ignore_index=True
    )


def label_distribution(store: Store, flt: EventFilter | None = None) -> pd.DataFrame:
    """Events per label: label, events, share (of all filtered events), most frequent first."""
    rolled = _days(store, flt)
    cte, params, relation = rolled or _events(store, flt)
    count = "sum(events)::BIGINT" if rolled is not None else "count(*)"
    return store.query(
        cte + "SELECT label, " + count + " AS events, " + count + "::DOUBLE / sum(" + count + ") OVER () "
        "AS share FROM " + relation + " GROUP BY label ORDER BY events DESC, label",
        params,
    )


def busiest_annotators(store: Store, flt: EventFilter | None = None, *, limit: int) -> list[str]:
    """The ``limit`` annotators with the most filtered events, busiest first (ties by id)."""
    cte, params, relation = _events(store, flt)
    return store.query(
        cte + "SELECT annotator_id FROM " + relation
        + " GROUP BY annotator_id ORDER BY count(*) DESC, annotator_id LIMIT ?",
        [*params, int(limit)],
    )["annotator_id"].tolist()
