"""The dashboard's global filter as a parameterised SQL condition over the store's live label events.

The condition is assembled from fixed fragments only; every user value travels as a parameter. Reads go
through the ``live_*`` views (retracted batches and unreadable timestamps left out), never the tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from analytics.core.schema import EventFilter

if TYPE_CHECKING:
    import duckdb


def event_condition(
    flt: EventFilter | None, alias: str = "e", *, sample_modulus: int = 1, base: int = 1
) -> tuple[str, list]:
    """Return ``(condition, params)`` selecting the events of ``alias`` that pass ``flt``.

    ``alias`` must be one of the fixed aliases of the store's queries (``e`` or ``live_label_events``); the
    condition is ``TRUE`` for an empty filter. ``sample_modulus`` m > 1 also keeps only the items with
    ``hash(item_id) % m = 0``, a deterministic 1-in-m sample of items; the sample is repeated inside the
    filter's item subqueries, so their semi-join tables shrink with it (at 1e7 events a slice filter costs
    0.39 s instead of 0.69 s when the filtered events are materialised first, and never builds its tables
    from millions of events). A sample inside the store's base sample (``base``, ``events_source``) reads the
    base sample's attributes (``BASE_SAMPLE_ATTRIBUTES``) for a slice filter, not every item's.
    """
    if alias not in ("e", "live_label_events"):
        raise ValueError(f"unknown alias {alias!r}; use 'e' or 'live_label_events'")
    flt = flt or EventFilter()
    clauses: list[str] = []
    params: list = []
    sample, sample_params = "", []
    if sample_modulus > 1:
        sample, sample_params = " AND hash(item_id) % ?::UBIGINT = 0", [int(sample_modulus)]
        clauses.append("hash(" + alias + ".item_id) % ?::UBIGINT = 0")
        params.extend(sample_params)
    if flt.dataset:
        clauses.append(alias + ".item_id IN (SELECT item_id FROM live_items WHERE dataset = ?" + sample + ")")
        params.extend([flt.dataset, *sample_params])
    _dates(flt, alias, clauses, params)
    if flt.cohorts:
        clauses.append(
            alias
            + ".annotator_id IN (SELECT annotator_id FROM live_annotators WHERE list_contains(?, cohort))"
        )
        params.append(list(flt.cohorts))
    if _sliced(flt):
        inside = events_source(sample_modulus, base) == BASE_SAMPLE
        attributes = BASE_SAMPLE_ATTRIBUTES if inside else "live_item_attributes"
        clauses.append(
            alias + ".item_id IN (SELECT item_id FROM " + attributes + " WHERE key = ? AND value = ?"
            + sample + ")"
        )
        params.extend([flt.attribute, flt.attribute_value, *sample_params])
    return (" AND ".join(clauses) if clauses else "TRUE"), params


def _dates(flt: EventFilter, alias: str, clauses: list[str], params: list) -> None:
    """Append the conditions of ``flt``'s dates on ``alias.labeled_at`` (whole days, end included)."""
    if flt.start:
        clauses.append(alias + ".labeled_at >= ?")
        params.append(dt.datetime.combine(flt.start, dt.time()))
    if flt.end:
        clauses.append(alias + ".labeled_at < ?")
        params.append(dt.datetime.combine(flt.end + dt.timedelta(days=1), dt.time()))


#: The table of a store's base sample of events (``analytics.store.lake``; ``Store.sample_base``).
BASE_SAMPLE = "lake_sample_events"
#: A lake's events counted per day, annotator, label and guideline version (``analytics.store.lake``).
DAYS = "lake_event_days"
#: A lake's events of the (item, annotator) pairs with more than one event (``analytics.store.lake``).
REPEAT_EVENTS = "lake_repeat_events"
#: A lake's slice attribute values with their items: ``key, value, n`` (``analytics.store.lake``).
ATTRIBUTE_VALUES = "lake_attribute_values"
#: A lake's slice attributes of the base sample's items (``analytics.store.lake``).
BASE_SAMPLE_ATTRIBUTES = "lake_sample_attributes"
#: A lake's events counted per slice attribute value and day, annotator, label and guideline version: ``key,
#: value`` then ``DAYS``' columns, for the attributes of at most ``ROLLED_VALUES`` values
#: (``analytics.store.lake``; ``Store.rolled_attributes``).
ATTRIBUTE_DAYS = "lake_attribute_days"
#: An attribute with more values than this (an id, free text) has no rollup: its filter reads the events.
ROLLED_VALUES = 50
#: A lake's HyperLogLog registers of its items per day and annotator cohort: ``labeled_at`` (the day),
#: ``cohort, register, rho`` (``analytics.core.hyperloglog``, ``analytics.store.lake``).
ITEM_SKETCH = "lake_item_sketch"
#: ``ITEM_SKETCH`` of the items of each slice attribute value: ``key, value`` then its columns, for the
#: attributes ``ATTRIBUTE_DAYS`` rolls up.
ATTRIBUTE_SKETCH = "lake_attribute_sketch"


def days_cte(flt: EventFilter | None, lake_tables: bool, *, name: str = "ev",
             attributes: frozenset[str] = frozenset()) -> tuple[str, list] | None:
    """``(WITH <name> AS (…), params)``: the rows of a lake's day rollup (``DAYS``: ``labeled_at`` the day,
    ``annotator_id, label, guideline_version, events, first_at, last_at``) whose events pass ``flt``; None
    when the store keeps no rollup (``Store.lake_tables``) or the filter needs the items (a dataset, or an
    attribute not among ``attributes``, the store's ``rolled_attributes``). A filter on one of those reads
    the attribute rollup (``ATTRIBUTE_DAYS``) of its value, with the same columns. Dates filter whole days,
    so the rows hold exactly the events that pass.

    Examples
    --------
    >>> days_cte(EventFilter(dataset="d"), True) is None, days_cte(None, False) is None
    (True, True)
    >>> days_cte(EventFilter(cohorts=("crowd",)), True)[0][:48]
    'WITH ev AS (SELECT e.* FROM lake_event_days e WH'
    """
    flt = flt or EventFilter()
    if not _rolled(flt, lake_tables, attributes):
        return None
    if not _sliced(flt):
        condition, params = event_condition(flt)
        return "WITH " + name + " AS (SELECT e.* FROM " + DAYS + " e WHERE " + condition + ") ", params
    condition, params = event_condition(dataclasses.replace(flt, attribute=None, attribute_value=None))
    return ("WITH " + name + " AS (SELECT e.* EXCLUDE (key, value) FROM " + ATTRIBUTE_DAYS + " e WHERE "
            "e.key = ? AND e.value = ? AND " + condition + ") ",
            [flt.attribute, flt.attribute_value, *params])


def _sliced(flt: EventFilter) -> bool:
    """Whether ``flt`` keeps the items of one slice attribute value."""
    return bool(flt.attribute and flt.attribute_value is not None)


def _rolled(flt: EventFilter, lake_tables: bool, attributes: frozenset[str]) -> bool:
    """Whether a store's derived tables hold what ``flt`` keeps: the store keeps them, the filter names no
    dataset, and any slice attribute is one of the rolled ``attributes``."""
    return lake_tables and not flt.dataset and (not _sliced(flt) or flt.attribute in attributes)


def sketch_cte(flt: EventFilter | None, lake_tables: bool, *, name: str = "sk",
               attributes: frozenset[str] = frozenset()) -> tuple[str, list] | None:
    """``(WITH <name> AS (…), params)``: the rows (``labeled_at, cohort, register, rho``) of a lake's item
    sketch of the days and cohorts ``flt`` keeps, of its slice value's items (``ATTRIBUTE_SKETCH``) when it
    has one; None, as ``days_cte``, when the store keeps none or the filter needs the items. An annotator
    with no cohort has a NULL ``cohort`` and, as in ``event_condition``, no cohort filter keeps it.

    Examples
    --------
    >>> sketch_cte(EventFilter(cohorts=("crowd",)), True)
    ('WITH sk AS (SELECT s.* FROM lake_item_sketch s WHERE list_contains(?, s.cohort)) ', [['crowd']])
    >>> sketch_cte(EventFilter(attribute="source", attribute_value="fax"), True) is None
    True
    >>> sql, params = sketch_cte(EventFilter(attribute="source", attribute_value="fax"), True,
    ...                          attributes={"source"})
    >>> sql[:70], params
    ('WITH sk AS (SELECT s.* EXCLUDE (key, value) FROM lake_attribute_sketch', ['source', 'fax'])
    """
    flt = flt or EventFilter()
    if not _rolled(flt, lake_tables, attributes):
        return None
    clauses: list[str] = []
    params: list = []
    sketch = "SELECT s.* FROM " + ITEM_SKETCH
    if _sliced(flt):
        sketch = "SELECT s.* EXCLUDE (key, value) FROM " + ATTRIBUTE_SKETCH
        clauses += ["s.key = ?", "s.value = ?"]
        params += [flt.attribute, flt.attribute_value]
    _dates(flt, "s", clauses, params)
    if flt.cohorts:
        clauses.append("list_contains(?, s.cohort)")
        params.append(list(flt.cohorts))
    condition = " AND ".join(clauses) if clauses else "TRUE"
    return "WITH " + name + " AS (" + sketch + " s WHERE " + condition + ") ", params


def store_values(cur: duckdb.DuckDBPyConnection, lake_tables: bool, *columns: str) -> list[list[str]]:
    """Every distinct non-null value of each of the events' ``columns`` (``annotator_id``, ``label``),
    sorted: one scan of the live events, or of the day rollup (``DAYS``, which holds every live event) when
    the store keeps one (``Store.lake_tables``)."""
    row = cur.execute(
        "SELECT " + ", ".join("list(DISTINCT " + c + " ORDER BY " + c + ") FILTER (WHERE " + c
                              + " IS NOT NULL)" for c in columns)
        + " FROM " + (DAYS if lake_tables else "live_label_events")
    ).fetchall()[0]
    return [list(values or []) for values in row]


def events_source(sample_modulus: int = 1, base: int = 1) -> str:
    """The relation a 1-in-``sample_modulus`` item sample reads: the store's base sample (``BASE_SAMPLE``,
    the items with ``hash(item_id) % base = 0``) when ``base`` > 1 divides ``sample_modulus``, since the
    sample is then a subset of it; else every live event.

    Examples
    --------
    >>> events_source(40, 4), events_source(40, 3), events_source(1, 4), events_source(40)
    ('lake_sample_events', 'live_label_events', 'live_label_events', 'live_label_events')
    """
    inside = base > 1 and sample_modulus > 1 and sample_modulus % base == 0
    return BASE_SAMPLE if inside else "live_label_events"


def events_cte(
    flt: EventFilter | None, sample_modulus: int = 1, *, base: int = 1, source: str | None = None
) -> tuple[str, list]:
    """``(WITH ev AS (…), params)``: the events passing ``flt``, of a 1-in-``sample_modulus`` item sample.

    The sample keeps the items with ``hash(item_id) % m = 0`` (``event_condition``): every rating of a
    sampled item, so per-item statistics stay exact within the sample. ``base`` is the store's
    ``sample_base``: a sample inside it reads it (``events_source``). ``source`` names another relation of
    events to read instead (``REPEAT_EVENTS``).
    """
    condition, params = event_condition(flt, sample_modulus=sample_modulus, base=base)
    source = source or events_source(sample_modulus, base)
    return "WITH ev AS (SELECT e.* FROM " + source + " e WHERE " + condition + ") ", params
