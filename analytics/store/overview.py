"""Reads behind the Overview page and the global filter widgets; every count is aggregated in DuckDB.

Agreement counts use one rating per (item, annotator): the annotator's latest label of the item, so a
test–retest re-label never makes an annotator agree with themself.

On large stores the caller may pass ``sample_modulus`` m > 1 to the agreement queries: they then read only
the items with ``hash(item_id) % m = 0``, a deterministic uniform sample of about 1/m of the items. Items are
the sampling unit of the agreement interval anyway, so the interval stays honest; it just widens.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.schema import TIME_GRAINS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition
from analytics.store.ratings import LATEST, ratings_sql


def _events_cte(
    flt: EventFilter | None, sample_modulus: int = 1, *, window: bool = False, inline: bool = False
) -> tuple[str, list]:
    """``WITH e AS (…)``: the filtered (and sampled) events; with ``window`` also their trend window.

    With ``window`` the first parameter of the CTE is the split time of ``_WINDOW``. ``inline`` asks
    DuckDB to re-read a CTE referenced twice rather than materialise it: faster even when filtered. The
    item sample is part of the filter (``event_condition``).
    """
    condition, params = event_condition(flt, sample_modulus=sample_modulus)
    tag = (", " + _WINDOW) if window else ""
    hint = "NOT MATERIALIZED " if inline else ""
    select = "(SELECT e.*" + tag + " FROM label_events e WHERE " + condition + ") "
    return "WITH e AS " + hint + select, params


def filter_options(store: Store) -> dict:
    """Values the filter widgets offer: datasets, cohorts, attribute keys and values, the date range."""
    cur = store.cursor()
    first, last = cur.execute("SELECT min(labeled_at), max(labeled_at) FROM label_events").fetchone()
    attributes = store.query(
        "SELECT key, value, count(*) AS n FROM item_attributes GROUP BY ALL ORDER BY key, value"
    )
    return {
        "datasets": store.query("SELECT DISTINCT dataset FROM items ORDER BY 1")["dataset"].tolist(),
        "cohorts": store.query(
            "SELECT DISTINCT coalesce(cohort, 'unknown') AS cohort FROM annotators ORDER BY 1"
        )["cohort"].tolist(),
        "attributes": {
            key: group["value"].tolist() for key, group in attributes.groupby("key", sort=True)
        },
        "first_date": first.date() if first is not None else None,
        "last_date": last.date() if last is not None else None,
    }


# Distinct annotators and labels are counted over (annotator, label) groups, items in a second read of
# the events: DuckDB is slow on several DISTINCT aggregates over millions of rows (0.6 s → 0.17 s at 1e7).
_TOTALS = """, g AS (SELECT {window} annotator_id, label, count(*) AS n, min(labeled_at) AS lo,
                          max(labeled_at) AS hi FROM e GROUP BY ALL),
        i AS (SELECT {window} {items} AS items FROM e GROUP BY ALL)
        SELECT {window} sum(n)::BIGINT AS events, any_value(i.items) AS items,
               count(DISTINCT annotator_id) AS annotators, count(DISTINCT label) AS labels,
               min(lo) AS first_at, max(hi) AS last_at
        FROM g {join} GROUP BY ALL"""
_ITEM_STATS = """, r AS ({ratings}),
        c AS (SELECT {window} item_id, label, count(*) AS n, sum(n_ev) AS n_ev FROM r GROUP BY ALL),
        i AS (SELECT {window} item_id, sum(n_ev) AS n_labels,
                     sum(n * (n - 1))::DOUBLE / nullif(sum(n) * (sum(n) - 1), 0) AS pa
              FROM c GROUP BY ALL)
        SELECT {window} n_labels, count(*) AS items, count(pa) AS rated_multi,
               coalesce(sum(pa), 0) AS pa_sum, coalesce(sum(pa * pa), 0) AS pa_sumsq
        FROM i GROUP BY ALL ORDER BY ALL"""


def _item_stats_sql(*, window: bool) -> str:
    """The item pass after ``WITH e AS (…)``: one rating per (item, annotator), of each window if asked."""
    keys = {"win": "e.win"} if window else {}
    ratings = ratings_sql(
        "e",
        {**keys, "item_id": "e.item_id", "annotator_id": "e.annotator_id"},
        {"label": LATEST["label"], "n_ev": LATEST["n_events"]},
    )
    return _ITEM_STATS.format(window="win," if window else "", ratings=ratings)


# Trend reads: every event of both windows in one scan, tagged 0 (previous) or 1 (current).
_WINDOW = "(e.labeled_at >= ?)::INTEGER AS win"


def totals(store: Store, flt: EventFilter | None = None, *, approx_items: bool = False) -> dict:
    """Counts of events, items, annotators and distinct labels, and the first and last event time.

    With ``approx_items`` the items are counted by HyperLogLog (``approx_count_distinct``, about 2%
    relative error): the exact distinct count of millions of item ids is most of this query's cost.
    """
    cte, params = _events_cte(flt, inline=True)
    items = "approx_count_distinct(item_id)" if approx_items else "count(DISTINCT item_id)"
    row = store.cursor().execute(
        cte + _TOTALS.format(window="", items=items, join=", i"), params
    ).fetchone()
    keys = ("events", "items", "annotators", "labels", "first_at", "last_at")
    counts = dict(zip(keys, row, strict=True))
    return {**counts, "events": counts["events"] or 0}


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
    cte, params = _events_cte(flt, sample_modulus)
    return store.query(cte + _item_stats_sql(window=False), params)


def window_totals(store: Store, flt: EventFilter, split_at: dt.datetime) -> pd.DataFrame:
    """``totals`` (items by HyperLogLog) of the events before ``split_at`` (win 0) and after (win 1).

    One scan for a trend's two windows: ``flt`` spans both, ``split_at`` is where the current one starts.
    """
    cte, params = _events_cte(flt, window=True, inline=True)
    return store.query(
        cte
        + _TOTALS.format(window="win,", items="approx_count_distinct(item_id)", join="JOIN i USING (win)"),
        [split_at, *params],
    )


def window_item_stats(
    store: Store, flt: EventFilter, split_at: dt.datetime, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """``item_stats`` of the events before ``split_at`` (win 0) and after (1), with a ``win`` column.

    An item labeled in both windows counts in each, with the labels of that window.
    """
    cte, params = _events_cte(flt, sample_modulus, window=True)
    return store.query(cte + _item_stats_sql(window=True), [split_at, *params])


def agreement_by_period(
    store: Store, flt: EventFilter | None = None, *, grain: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Per-item agreement by period of labeling: period, items_multi, pa_mean, pa_sd.

    An item counts in a period when 2+ annotators labeled it within that period.
    """
    part = TIME_GRAINS[grain]
    cte, params = _events_cte(flt, sample_modulus)
    return store.query(
        cte + ", r AS (" + ratings_sql("e", {"period": "date_trunc('" + part + "', e.labeled_at)",
                                            "item_id": "e.item_id", "annotator_id": "e.annotator_id"},
                                     {"label": LATEST["label"]}) + """),
        c AS (SELECT period, item_id, label, count(*) AS n FROM r GROUP BY ALL),
        i AS (SELECT period, sum(n * (n - 1))::DOUBLE / (sum(n) * (sum(n) - 1)) AS pa
              FROM c GROUP BY period, item_id HAVING sum(n) >= 2)
        SELECT period, count(*) AS items_multi, avg(pa) AS pa_mean, stddev_samp(pa) AS pa_sd
        FROM i GROUP BY period ORDER BY period""",
        params,
    )


def activity(
    store: Store, flt: EventFilter | None = None, *, grain: str = "day", approx_items: bool = False
) -> pd.DataFrame:
    """Activity per period and annotator cohort: period, cohort, events, items, annotators, labels.

    ``items`` counts distinct items labeled in the period by the cohort — with ``approx_items`` by
    HyperLogLog (``approx_count_distinct``, about 2% relative error) instead of an exact distinct count,
    which is what costs most on tens of millions of events. ``labels`` is the number of distinct labels.
    """
    part = TIME_GRAINS[grain]
    cte, params = _events_cte(flt)
    items = "approx_count_distinct(e.item_id)" if approx_items else "count(DISTINCT e.item_id)"
    return store.query(
        cte + "SELECT date_trunc(?, e.labeled_at) AS period, coalesce(a.cohort, 'unknown') AS cohort, "
        "count(*) AS events, " + items + " AS items, "
        """count(DISTINCT e.annotator_id) AS annotators, count(DISTINCT e.label) AS labels
        FROM e LEFT JOIN annotators a USING (annotator_id)
        GROUP BY ALL ORDER BY period, cohort""",
        [*params, part],
    )


def label_distribution(store: Store, flt: EventFilter | None = None) -> pd.DataFrame:
    """Events per label: label, events, share (of all filtered events), most frequent first."""
    cte, params = _events_cte(flt)
    return store.query(
        cte + """SELECT label, count(*) AS events, count(*)::DOUBLE / sum(count(*)) OVER () AS share
        FROM e GROUP BY label ORDER BY events DESC, label""",
        params,
    )


def busiest_annotators(store: Store, flt: EventFilter | None = None, *, limit: int) -> list[str]:
    """The ``limit`` annotators with the most filtered events, busiest first (ties by id)."""
    cte, params = _events_cte(flt)
    return store.query(
        cte + "SELECT annotator_id FROM e GROUP BY annotator_id ORDER BY count(*) DESC, annotator_id LIMIT ?",
        [*params, int(limit)],
    )["annotator_id"].tolist()
