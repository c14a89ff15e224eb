"""The dashboard's global filter as a parameterised SQL condition over ``label_events``.

The condition is assembled from fixed fragments only; every user value travels as a parameter.
"""

from __future__ import annotations

import datetime as dt

from analytics.schema import EventFilter


def event_condition(flt: EventFilter | None, alias: str = "e") -> tuple[str, list]:
    """Return ``(condition, params)`` selecting the events of ``alias`` that pass ``flt``.

    ``alias`` must be one of the fixed aliases used by the store's queries (``e`` or ``label_events``); the
    condition is ``TRUE`` for an empty filter.
    """
    if alias not in ("e", "label_events"):
        raise ValueError(f"unknown alias {alias!r}; use 'e' or 'label_events'")
    flt = flt or EventFilter()
    clauses: list[str] = []
    params: list = []
    if flt.dataset:
        clauses.append(alias + ".item_id IN (SELECT item_id FROM items WHERE dataset = ?)")
        params.append(flt.dataset)
    if flt.start:
        clauses.append(alias + ".labeled_at >= ?")
        params.append(dt.datetime.combine(flt.start, dt.time()))
    if flt.end:
        clauses.append(alias + ".labeled_at < ?")
        params.append(dt.datetime.combine(flt.end + dt.timedelta(days=1), dt.time()))
    if flt.cohorts:
        clauses.append(
            alias + ".annotator_id IN (SELECT annotator_id FROM annotators WHERE list_contains(?, cohort))"
        )
        params.append(list(flt.cohorts))
    if flt.attribute and flt.attribute_value is not None:
        clauses.append(
            alias + ".item_id IN (SELECT item_id FROM item_attributes WHERE key = ? AND value = ?)"
        )
        params.extend([flt.attribute, flt.attribute_value])
    return (" AND ".join(clauses) if clauses else "TRUE"), params
