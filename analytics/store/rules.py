"""Label rules (``analytics.ingest.rules``) checked in DuckDB: over the store, and over a staged import.

Each rule selects label events (CTE ``r<k>`` for the k-th rule): the events that break it (vocabulary,
contextual), or the events of an item that may break it together (hierarchy: all of them; impossible: those
with the rule's labels). Grouped by item, the selection gives one hit per (item, rule), for hierarchy and
impossible rules only where the item's labels (parents) differ. Every rule runs in the same query, nothing
loops over events in Python, and messages are written in SQL.

A query runs in two passes over the selections: the first finds the hits with cheap aggregates (a count, a
min and a max), the second gathers the labels and contexts of only the hits that are returned. At 1e7 events
a hierarchy rule flags about a million items; listing the labels of all of them takes seconds, finding them
one.

The SQL is fixed: labels, attribute names and values, rule ids and the text of messages travel as
parameters; a rule names no table or column (the one event field a rule may name, ``guideline_version``,
maps to a fixed column reference here, and the CTE names come from the rules' positions).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pandas as pd

from analytics.core.schema import EventFilter
from analytics.ingest.rules import Rule
from analytics.store.connection import Store
from analytics.store.filters import event_condition
from analytics.store.staging import store_rows_near

#: Columns of ``rule_hits``.
HIT_COLUMNS = ("item_id", "rule_id", "kind", "events", "labels", "message")
#: Columns of ``staged_rule_hits``: the file's record number (header excluded), then those of ``rule_hits``.
STAGED_HIT_COLUMNS = ("row_number", *HIT_COLUMNS)

#: The event columns a rule reads.
_EVENT_COLUMNS = ("item_id", "label", "guideline_version")
#: Context fields of contextual rules (``analytics.ingest.rules.CONTEXT_FIELDS``) as column references of
#: ``ev``.
_CONTEXT_COLUMNS = {"guideline_version": "ev.guideline_version"}
#: When an item's selected events make a hit, by kind (over the columns of a selection ``r<k>``).
_HAVING = {
    "vocabulary": "TRUE",
    "hierarchy": "min(detail) <> max(detail)",
    "impossible": "min(label) <> max(label)",
    "contextual": "TRUE",
}

# The message of a hit ``s`` with details ``d`` and rule ``m``: "R4: label '0' is not allowed when
# source = fax (2 events)". ``m.phrase`` is the contextual rule's words around its context.
_QUOTED = "'''' || array_to_string(d.labels, ''', ''') || ''''"
_LABELS_ARE = (
    "CASE WHEN len(d.labels) = 1 THEN 'label ' ELSE 'labels ' END || " + _QUOTED + " || "
    "CASE WHEN len(d.labels) = 1 THEN ' is' ELSE ' are' END"
)
_MESSAGE = (
    "m.rule_id || ': ' || CASE m.kind "
    "WHEN 'vocabulary' THEN " + _LABELS_ARE + " || ' not in the vocabulary' "
    "WHEN 'hierarchy' THEN 'labels ' || " + _QUOTED + " || ' fall under different parents: ' || "
    "array_to_string(d.details, ', ') "
    "WHEN 'impossible' THEN 'labels ' || " + _QUOTED + " || ' must not be given to the same item' "
    "ELSE " + _LABELS_ARE + " || m.phrase || CASE WHEN len(d.details) = 0 THEN ' is missing' "
    "ELSE ' = ' || array_to_string(d.details, ' or ') END END "
    "|| ' (' || s.events || CASE WHEN s.events = 1 THEN ' event)' ELSE ' events)' END"
)


def rule_hits(
    store: Store, rules: Iterable[Rule], flt: EventFilter | None = None, *, limit: int | None = None
) -> pd.DataFrame:
    """Every (item, rule) whose label events break the rule, over the events that pass the filter.

    Parameters
    ----------
    store : Store
    rules : RuleSet or iterable of Rule
        From ``analytics.ingest.rules.load_rules``.
    flt : EventFilter or None
        The dashboard filter: rules see only the events it keeps (a hierarchy or impossible rule compares the
        labels of an item within the filtered events).
    limit : int or None
        At most this many hits (the first in rule order).

    Returns
    -------
    DataFrame
        One row per hit, in rule order then by ``item_id``: ``item_id, rule_id, kind``; ``events``, the
        number of label events involved (the offending ones for vocabulary and contextual rules, the item's
        events with the rule's labels for impossible ones, every event of the item for hierarchy ones);
        ``labels``, the sorted distinct labels of those events (a list of str); ``message``, a sentence such
        as ``"R4: label '0' is not allowed when source = fax (2 events)"``.

    Notes
    -----
    A hierarchy rule groups every event by item, the costliest kind (about 1 s at 1e7 events to find the
    hits); the other kinds first keep the events with their labels. Returning a million hits costs more than
    finding them: pass ``limit``, and ``rule_hit_counts`` for the totals.

    Examples
    --------
    With an open store::

        from analytics.ingest.rules import load_rules
        rules = load_rules("data/rules.example.toml")
        rule_hits(store, rules, limit=3)["message"].tolist()
        # ["R2: labels '0', '1', '9' fall under different parents: round, straight (5 events)", ...]
    """
    rules = list(rules)
    if not rules:
        return pd.DataFrame(columns=list(HIT_COLUMNS))
    ctes, params = _store_ctes(rules, flt)
    sql = (
        ctes + ", hits AS (" + _find_hits(rules, batch=False) + "), "
        "s AS MATERIALIZED (SELECT * FROM hits ORDER BY rule_pos, item_id LIMIT ?), "
        "d AS (" + _details(rules) + ") "
        "SELECT s.item_id, m.rule_id, m.kind, s.events, d.labels, " + _MESSAGE + " AS message "
        "FROM s JOIN d USING (rule_pos, item_id) JOIN m USING (rule_pos) ORDER BY s.rule_pos, s.item_id"
    )
    return _with_label_lists(store.query(sql, [*params, limit]))


def rule_hit_counts(store: Store, rules: Iterable[Rule], flt: EventFilter | None = None) -> pd.DataFrame:
    """How many items and events break each rule, over the events that pass the filter.

    Parameters
    ----------
    store : Store
    rules : RuleSet or iterable of Rule
    flt : EventFilter or None
        As for ``rule_hits``.

    Returns
    -------
    DataFrame
        One row per rule, in rule order (rules without hits included): ``rule_id, kind, items, events``,
        where ``items`` is the number of rows ``rule_hits`` gives for the rule and ``events`` the sum of
        their ``events``.
    """
    rules = list(rules)
    if not rules:
        return pd.DataFrame(columns=["rule_id", "kind", "items", "events"])
    ctes, params = _store_ctes(rules, flt)
    sql = (
        ctes + ", hits AS (" + _find_hits(rules, batch=False) + ") "
        "SELECT m.rule_id, m.kind, count(hits.item_id) AS items, "
        "coalesce(sum(hits.events), 0)::BIGINT AS events "
        "FROM m LEFT JOIN hits USING (rule_pos) GROUP BY m.rule_pos, m.rule_id, m.kind ORDER BY m.rule_pos"
    )
    return store.query(sql, params)


def staged_rule_hits(
    cur: duckdb.DuckDBPyConnection, rules: Iterable[Rule], limit: int
) -> tuple[dict[str, int], pd.DataFrame]:
    """Rule hits of the accepted rows of a staged events import (``lw_stage``), before it is committed.

    Hierarchy and impossible rules compare an item's labels in the file with those the store holds for it
    already, so a row that completes an impossible pair with a stored event is flagged; only rows of the
    file are reported. Run on the cursor that holds the stage (``analytics.ingest.pipeline``).

    Parameters
    ----------
    cur : duckdb.DuckDBPyConnection
        The cursor holding the TEMP table ``lw_stage`` of an events import.
    rules : RuleSet or iterable of Rule
    limit : int
        How many flagged rows to return (the counts cover all of them).

    Returns
    -------
    (dict of str to int, DataFrame)
        Rule id to number of flagged rows, in rule order (rules without hits left out); and the first
        ``limit`` flagged rows in file order, one per (row, rule): ``STAGED_HIT_COLUMNS``, that is
        ``row_number`` then the columns of ``rule_hits`` (``events`` and ``message`` describe the row's item,
        its stored events included).

    Notes
    -----
    Contextual rules on an item attribute read the attributes the store holds: an item that arrives with
    this import (one not imported as an item before, or the data of a Label Studio task) has none yet, so
    an ``allowed = true`` rule flags its labels as given where the attribute is missing.
    """
    rules = list(rules)
    if not rules:
        return {}, pd.DataFrame(columns=list(STAGED_HIT_COLUMNS))
    accepted = "SELECT item_id, label, guideline_version, lw__row FROM lw_stage WHERE lw__fail IS NULL"
    if any(rule.kind in ("hierarchy", "impossible") for rule in rules):
        held = store_rows_near(cur, "lw_stage", "label_events", ("item_id",), _EVENT_COLUMNS)
        accepted += (
            " UNION ALL SELECT x.item_id, x.label, x.guideline_version, NULL FROM " + held + " AS x "
            "WHERE x.item_id IN (SELECT item_id FROM lw_stage WHERE lw__fail IS NULL)"
        )
    ev = (
        "WITH ev AS NOT MATERIALIZED (SELECT item_id, label, guideline_version, lw__row AS lw_row FROM ("
        + accepted
        + "))"
    )
    selections, params = _selections(rules, scope="ev.lw_row IS NOT NULL")
    ctes = ev + selections
    # Each hit holds at least one flagged row, so the first `limit` flagged rows (in file order) lie in the
    # first `limit` hits ordered by their first row: only those get their details.
    hits = _find_hits(rules, batch=True)
    cur.execute("CREATE OR REPLACE TEMP TABLE lw_rule_hits AS " + ctes + hits, params)
    try:
        flagged = cur.execute(
            "SELECT rule_pos, sum(flagged) FROM lw_rule_hits GROUP BY rule_pos ORDER BY rule_pos"
        ).fetchall()
        first = cur.execute(
            ctes + ", s AS MATERIALIZED (SELECT * FROM lw_rule_hits ORDER BY first_row, rule_pos LIMIT ?), "
            "d AS (" + _details(rules) + ") "
            "SELECT unnest(d.rows) AS row_number, s.item_id, m.rule_id, m.kind, s.events, d.labels, "
            + _MESSAGE
            + " AS message FROM s JOIN d USING (rule_pos, item_id) JOIN m USING (rule_pos) "
            "ORDER BY row_number, s.rule_pos LIMIT ?",
            [*params, limit, limit],
        ).df()
    finally:
        cur.execute("DROP TABLE IF EXISTS lw_rule_hits")
    return {rules[pos].id: int(n) for pos, n in flagged}, _with_label_lists(first)


# --- private helpers -------------------------------------------------------------------------------------


def _store_ctes(rules: list[Rule], flt: EventFilter | None) -> tuple[str, list]:
    """``WITH ev AS (…), m AS (…), r0 AS (…), …`` over the store's events that pass ``flt``."""
    condition, params = event_condition(flt)
    ev = (
        "WITH ev AS NOT MATERIALIZED (SELECT e.item_id, e.label, e.guideline_version, NULL::BIGINT AS lw_row "
        "FROM live_label_events AS e WHERE " + condition + ")"
    )
    selections, selection_params = _selections(rules, scope="TRUE")
    return ev + selections, [*params, *selection_params]


def _selections(rules: list[Rule], *, scope: str) -> tuple[str, list]:
    """The CTEs after ``ev``: ``m`` (one row per rule) and ``r<k>``, the events the k-th rule selects.

    ``m`` holds ``rule_pos, rule_id, kind, phrase``; ``r<k>`` holds ``item_id, label, detail, lw_row`` where
    ``detail`` is the label's parent group (hierarchy) or the event's context (contextual). ``scope``
    narrows the events that vocabulary and contextual rules judge (a staged import: its own rows).
    """
    sql = (
        ", m AS (SELECT unnest(?::INTEGER[]) AS rule_pos, unnest(?::VARCHAR[]) AS rule_id, "
        "unnest(?::VARCHAR[]) AS kind, unnest(?::VARCHAR[]) AS phrase)"
    )
    params: list = [
        list(range(len(rules))),
        [rule.id for rule in rules],
        [rule.kind for rule in rules],
        [_phrase(rule) for rule in rules],
    ]
    for pos, rule in enumerate(rules):
        join, detail, condition, rule_params = _SELECT[rule.kind](rule, scope)
        sql += (
            ", r" + str(pos) + " AS NOT MATERIALIZED (SELECT ev.item_id, ev.label, " + detail + " AS detail, "
            "ev.lw_row FROM ev" + join + " WHERE " + condition + ")"
        )
        params.extend(rule_params)
    return sql, params


def _find_hits(rules: list[Rule], *, batch: bool) -> str:
    """First pass: ``rule_pos, item_id, events, flagged, first_row`` of every hit (``flagged``: file rows).

    A staged import (``batch``) keeps the hits that hold a row of the file.
    """
    having = " AND count(lw_row) > 0" if batch else ""
    return " UNION ALL ".join(
        "SELECT " + str(pos) + " AS rule_pos, item_id, count(*) AS events, count(lw_row) AS flagged, "
        "min(lw_row) AS first_row FROM r" + str(pos) + " GROUP BY item_id "
        "HAVING " + _HAVING[rule.kind] + having
        for pos, rule in enumerate(rules)
    )


def _details(rules: list[Rule]) -> str:
    """Second pass, for the hits in ``s``: ``rule_pos, item_id, labels, details, rows`` (lists, sorted)."""
    return " UNION ALL ".join(
        "SELECT " + str(pos) + " AS rule_pos, item_id, list_sort(list_distinct(list(label))) AS labels, "
        "list_sort(list_distinct(list(detail))) AS details, "
        "list_sort(list(lw_row) FILTER (WHERE lw_row IS NOT NULL)) AS rows FROM r" + str(pos) + " "
        "WHERE item_id IN (SELECT item_id FROM s WHERE rule_pos = " + str(pos) + ") GROUP BY item_id"
        for pos in range(len(rules))
    )


def _phrase(rule: Rule) -> str:
    """A contextual rule's words between its labels and the context it found (empty for other kinds)."""
    if rule.kind != "contextual":
        return ""
    if rule.allowed:
        return f" only allowed when {rule.context} is {' or '.join(rule.values)}; here {rule.context}"
    return f" not allowed when {rule.context}"


def _vocabulary(rule: Rule, scope: str) -> tuple[str, str, str, list]:
    """The events whose label is outside the vocabulary (the store's: only when it declares one)."""
    if rule.from_store:
        outside = "EXISTS (SELECT 1 FROM label_schema) AND ev.label NOT IN (SELECT label FROM label_schema)"
        return "", "NULL::VARCHAR", scope + " AND " + outside, []
    return "", "NULL::VARCHAR", scope + " AND NOT list_contains(?::VARCHAR[], ev.label)", [list(rule.labels)]


def _hierarchy(rule: Rule, scope: str) -> tuple[str, str, str, list]:
    """Every event, with its label's parent as detail; a label without a parent is its own group."""
    if rule.from_store:
        parents, params = "(SELECT label, parent FROM label_schema)", []
    else:
        parents = "(SELECT unnest(?::VARCHAR[]) AS label, unnest(?::VARCHAR[]) AS parent)"
        params = [[child for child, _ in rule.parents], [parent for _, parent in rule.parents]]
    join = " LEFT JOIN " + parents + " AS h ON h.label = ev.label"
    return join, "coalesce(h.parent, ev.label)", "TRUE", params


def _impossible(rule: Rule, scope: str) -> tuple[str, str, str, list]:
    """The events with one of the rule's labels."""
    return "", "NULL::VARCHAR", "list_contains(?::VARCHAR[], ev.label)", [list(rule.labels)]


def _contextual(rule: Rule, scope: str) -> tuple[str, str, str, list]:
    """The events of the rule's labels in a context it forbids (or outside the one it allows)."""
    if rule.field is not None:
        join, context, params = "", _CONTEXT_COLUMNS[rule.field], []
    else:
        join = (
            " LEFT JOIN (SELECT item_id, value FROM live_item_attributes WHERE key = ?) AS a "
            "ON a.item_id = ev.item_id"
        )
        context, params = "a.value", [rule.attribute]
    condition = (
        scope + " AND list_contains(?::VARCHAR[], ev.label) "
        "AND coalesce(list_contains(?::VARCHAR[], " + context + "), false) = ?"
    )
    return join, context, condition, [*params, list(rule.labels), list(rule.values), not rule.allowed]


#: Per kind: ``(join, detail, condition, params)`` of the events a rule selects from ``ev``.
_SELECT = {
    "vocabulary": _vocabulary,
    "hierarchy": _hierarchy,
    "impossible": _impossible,
    "contextual": _contextual,
}


def _with_label_lists(hits: pd.DataFrame) -> pd.DataFrame:
    """DuckDB hands lists over as numpy arrays; the ``labels`` column holds plain lists of str."""
    hits["labels"] = [list(labels) for labels in hits["labels"]]
    return hits
