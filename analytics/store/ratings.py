"""Ratings in SQL: one per (item, annotator), the latest of that annotator's events on that item.

A re-label (an annotator labeling the same item again) is rare, and ``rating_repeats`` lists the
(item, annotator) pairs it happened to, kept whole at every commit (``batches._write_events``, backfilled
by migration 2). The events of every other pair are ratings as they stand, so only the repeated pairs'
events are grouped: at 1e7 events the label counts take 0.7 s where grouping every pair took 2.0 s, and
none of the 1e7-group hash tables is built.

"Latest" is by ``labeled_at``, then the later ``event_id``: an annotator who labels an item twice at the same
instant is rated by the event written last, as ``analytics.store.consensus.coded_ratings`` and
``analytics.core.ratings.latest_ratings`` rate them.
"""

from __future__ import annotations

import duckdb

#: Rating columns: (SQL over a lone event ``e``, aggregate over the events ``e`` of a repeated pair).
LATEST = {
    "label": ("e.label", "arg_max(e.label, (e.labeled_at, e.event_id))"),
    "labeled_at": ("e.labeled_at", "max(e.labeled_at)"),
    "guideline_version": ("e.guideline_version", "arg_max(e.guideline_version, (e.labeled_at, e.event_id))"),
    "n_events": ("1::BIGINT", "count(*)::BIGINT"),
}

#: Every repeated pair of the store's events, for a store written outside ``batches`` (migration 2, the
#: hand-made stores of tests); the batch is the latest one that labeled the pair.
REPEATS_SQL = (
    "SELECT item_id, annotator_id, max(batch_id) AS batch_id FROM label_events "
    "GROUP BY item_id, annotator_id HAVING count(*) > 1"
)

_ON = " p ON e.item_id = p.item_id AND e.annotator_id = p.annotator_id"


def ratings_sql(events: str, keys: dict[str, str], columns: dict[str, tuple[str, str]]) -> str:
    """A SELECT with one row per rating of the relation ``events`` (aliased ``e``).

    Parameters
    ----------
    events : str
        A table or CTE name (or a parenthesised subquery) with at least ``item_id, annotator_id`` and the
        columns ``columns`` and ``keys`` read; it is read twice (lone events, repeated pairs).
    keys : dict of str to str
        Output name → SQL over ``e`` identifying a rating. They must separate different (item, annotator)
        pairs (e.g. ``hash(e.item_id)`` and ``e.annotator_id``); more keys (a period) split a repeated
        pair's events further, one rating per key value.
    columns : dict of str to (str, str)
        Output name → (expression for a lone event, aggregate over a repeated pair's events), e.g.
        ``LATEST["label"]``.

    Notes
    -----
    A pair listed in ``rating_repeats`` whose events the filter leaves at one still gives one rating, the
    same as the lone-event branch would; so the table may list more pairs than repeat, never fewer.
    """
    keyed = [expr + " AS " + name for name, expr in keys.items()]
    lone = ", ".join(keyed + [single + " AS " + name for name, (single, _) in columns.items()])
    grouped = ", ".join(keyed + [many + " AS " + name for name, (_, many) in columns.items()])
    return (
        "SELECT " + lone + " FROM " + events + " e ANTI JOIN live_rating_repeats" + _ON
        + " UNION ALL SELECT " + grouped + " FROM " + events + " e SEMI JOIN live_rating_repeats" + _ON
        + " GROUP BY " + ", ".join(keys.values())
    )


def repeated_events_sql(events: str) -> str:
    """``FROM …`` clause of the events of ``events`` (aliased ``e``) whose pair has more than one event."""
    return "FROM " + events + " e SEMI JOIN live_rating_repeats" + _ON


def rebuild_repeats(cur: duckdb.DuckDBPyConnection) -> None:
    """Recompute ``rating_repeats`` from every event (inside the caller's transaction)."""
    cur.execute("DELETE FROM rating_repeats")
    cur.execute("INSERT INTO rating_repeats " + REPEATS_SQL)
