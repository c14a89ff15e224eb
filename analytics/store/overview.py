"""Reads behind the Overview page and the global filter widgets; every count is aggregated in DuckDB.

Agreement counts use one rating per (item, annotator): the annotator's latest label of the item, so a
test–retest re-label never makes an annotator agree with themself.

On large stores the caller may pass ``sample_modulus`` m > 1 to the agreement queries: they then read only
the items with ``hash(item_id) % m = 0``, a deterministic uniform sample of about 1/m of the items. Items are
the sampling unit of the agreement interval anyway, so the interval stays honest; it just widens.
"""

from __future__ import annotations

import pandas as pd

from analytics.schema import TIME_GRAINS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition


def _events_cte(flt: EventFilter | None, sample_modulus: int = 1) -> tuple[str, list]:
    condition, params = event_condition(flt)
    if sample_modulus <= 1:
        return "WITH e AS (SELECT * FROM label_events e WHERE " + condition + ") ", params
    # The filter is materialised before sampling: with both in one WHERE, DuckDB's planner underestimates
    # the events side and builds its semi-join tables from millions of events (out of memory at 1e7).
    # UBIGINT keeps the modulus in 64-bit arithmetic (10× faster than the default 128-bit).
    return (
        "WITH f AS MATERIALIZED (SELECT e.item_id, e.annotator_id, e.label, e.labeled_at "
        "FROM label_events e WHERE " + condition + "), "
        "e AS (SELECT * FROM f WHERE hash(f.item_id) % ?::UBIGINT = 0) ",
        [*params, int(sample_modulus)],
    )


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


def totals(store: Store, flt: EventFilter | None = None) -> dict:
    """Counts of events, items, annotators and distinct labels, and the first and last event time."""
    cte, params = _events_cte(flt)
    row = store.cursor().execute(
        cte + "SELECT count(*), count(DISTINCT item_id), count(DISTINCT annotator_id), "
        "count(DISTINCT label), min(labeled_at), max(labeled_at) FROM e",
        params,
    ).fetchone()
    keys = ("events", "items", "annotators", "labels", "first_at", "last_at")
    return dict(zip(keys, row, strict=True))


def item_agreement(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> dict:
    """Per-item pairwise agreement, summarised: items rated by 2+ annotators, mean and standard deviation.

    For an item with n ratings of which n_k carry label k, the share of agreeing ordered rating pairs is
    Σ_k n_k (n_k − 1) / (n (n − 1)); ``pa_mean`` averages it over items with n ≥ 2. ``items_multi`` counts
    those items (within the sample when ``sample_modulus`` > 1).
    """
    cte, params = _events_cte(flt, sample_modulus)
    row = store.cursor().execute(
        cte + """, r AS (SELECT item_id, annotator_id, arg_max(label, labeled_at) AS label
                         FROM e GROUP BY ALL),
        c AS (SELECT item_id, label, count(*) AS n FROM r GROUP BY ALL),
        i AS (SELECT sum(n * (n - 1))::DOUBLE / (sum(n) * (sum(n) - 1)) AS pa
              FROM c GROUP BY item_id HAVING sum(n) >= 2)
        SELECT count(*), avg(pa), stddev_samp(pa) FROM i""",
        params,
    ).fetchone()
    return {"items_multi": row[0], "pa_mean": row[1], "pa_sd": row[2]}


def agreement_by_period(
    store: Store, flt: EventFilter | None = None, *, grain: str = "week", sample_modulus: int = 1
) -> pd.DataFrame:
    """Per-item agreement by period of labeling: period, items_multi, pa_mean, pa_sd.

    An item counts in a period when 2+ annotators labeled it within that period.
    """
    part = TIME_GRAINS[grain]
    cte, params = _events_cte(flt, sample_modulus)
    return store.query(
        cte + """, r AS (SELECT date_trunc(?, labeled_at) AS period, item_id, annotator_id,
                         arg_max(label, labeled_at) AS label FROM e GROUP BY ALL),
        c AS (SELECT period, item_id, label, count(*) AS n FROM r GROUP BY ALL),
        i AS (SELECT period, sum(n * (n - 1))::DOUBLE / (sum(n) * (sum(n) - 1)) AS pa
              FROM c GROUP BY period, item_id HAVING sum(n) >= 2)
        SELECT period, count(*) AS items_multi, avg(pa) AS pa_mean, stddev_samp(pa) AS pa_sd
        FROM i GROUP BY period ORDER BY period""",
        [*params, part],
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


def labels_per_item(store: Store, flt: EventFilter | None = None) -> pd.DataFrame:
    """How many items carry 1, 2, 3, … label events: n_labels, items (re-labels count as labels)."""
    cte, params = _events_cte(flt)
    return store.query(
        cte + """SELECT n_labels, count(*) AS items FROM (
            SELECT item_id, count(*) AS n_labels FROM e GROUP BY item_id)
        GROUP BY n_labels ORDER BY n_labels""",
        params,
    )

