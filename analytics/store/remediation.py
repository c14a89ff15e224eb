"""Remediation in SQL: the append-only action log, every item's resolved label, dataset versions.

The rules these queries implement are stated once, in ``analytics.remediation`` (and tested there against
a replay of the log in Python); this module only writes rows and reads them back.

- ``remediation_actions`` is only appended to. ``seq`` (a sequence) orders the log; a revert names the
  action it undoes in ``reverts``.
- An item's **resolved label** is the label that holds a strict majority of its annotators' ratings (the
  consensus; none when no label does), overridden by the latest *effective* confirm or relabel. An action
  is effective unless a revert names it; a relabel marked ``second_review`` is effective only once another
  reviewer's relabel of the same item to the same label is (both are then effective). An item is
  **excluded** while an exclude that was not reverted stands. Escalations change no label.
- A **dataset version** copies every item's resolved label, provenance and the action that set it into
  ``version_labels`` as of the log's ``seq`` at that moment; versions are never changed afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import duckdb
import pandas as pd

from analytics.store.connection import Store, StoreError
from analytics.store.ratings import LATEST, ratings_sql

#: Columns of one action, in the order ``append_actions`` takes them.
ACTION_COLUMNS = (
    "action_id", "item_id", "action", "from_label", "to_label", "actor", "actor_role", "rationale",
    "evidence", "policy", "run_id", "campaign_id", "review_id", "reverts", "second_review",
)

_RATINGS = ratings_sql("live_label_events", {"item_id": "e.item_id", "annotator_id": "e.annotator_id"},
                       {"label": LATEST["label"]})

#: The ``seq`` of the latest action: "now" for the resolution.
_NOW = "(SELECT coalesce(max(seq), 0) FROM remediation_actions)"

#: Every item's consensus: the label with a strict majority of its ratings, NULL when none holds one.
CONSENSUS_SQL = (
    "SELECT item_id, CASE WHEN 2 * max(n) > sum(n) THEN arg_max(label, n) END AS label, "
    "sum(n)::BIGINT AS n_ratings FROM (SELECT item_id, label, count(*) AS n FROM (" + _RATINGS + ") r "
    "GROUP BY item_id, label) GROUP BY item_id"
)


def _effective_sql(until: str) -> str:
    """CTEs ``live`` (actions up to ``until`` not reverted, reverts left out) and ``labeling`` (the
    effective confirms and relabels); ``until`` is SQL for the last ``seq`` to count."""
    return (
        "WITH acts AS (SELECT * FROM remediation_actions WHERE coalesce(seq, 0) <= " + until + "), "
        "live AS (SELECT * FROM acts WHERE action <> 'revert' AND action_id NOT IN "
        "(SELECT reverts FROM acts WHERE action = 'revert' AND reverts IS NOT NULL)), "
        "labeling AS (SELECT a.* FROM live a WHERE a.action IN ('confirm', 'relabel') AND "
        "(NOT coalesce(a.second_review, FALSE) OR EXISTS (SELECT 1 FROM live b WHERE b.item_id = a.item_id "
        "AND b.action = 'relabel' AND coalesce(b.second_review, FALSE) AND b.to_label = a.to_label "
        "AND b.actor <> a.actor))) "
    )


def resolved_sql(until: str = _NOW) -> str:
    """A SELECT of every live item's ``item_id, consensus, label, excluded, provenance, action_id`` with
    the actions up to ``seq`` ``until`` (SQL) applied; ``provenance`` is ``consensus``, ``no consensus``
    or the source of the action that set the label (``review``, ``policy``, ``campaign``)."""
    return (
        _effective_sql(until)
        + ", last_label AS (SELECT item_id, arg_max(to_label, seq) AS label, arg_max(action_id, seq) AS "
        "action_id, arg_max(CASE WHEN policy IS NOT NULL THEN 'policy' WHEN campaign_id IS NOT NULL "
        "THEN 'campaign' ELSE 'review' END, seq) AS source FROM labeling GROUP BY item_id), "
        "excluded AS (SELECT DISTINCT item_id FROM live WHERE action = 'exclude'), "
        "consensus AS (" + CONSENSUS_SQL + ") "
        "SELECT i.item_id, c.label AS consensus, coalesce(l.label, c.label) AS label, "
        "x.item_id IS NOT NULL AS excluded, CASE WHEN l.item_id IS NOT NULL THEN l.source "
        "WHEN c.label IS NOT NULL THEN 'consensus' ELSE 'no consensus' END AS provenance, l.action_id "
        "FROM (SELECT DISTINCT item_id FROM live_items) i LEFT JOIN consensus c USING (item_id) "
        "LEFT JOIN last_label l USING (item_id) LEFT JOIN excluded x USING (item_id)"
    )


def now() -> dt.datetime:
    """The store's clock: UTC without a time zone (actions, versions, campaigns)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def last_seq(cur: duckdb.DuckDBPyConnection) -> int:
    """The ``seq`` of the latest action (0 for an empty log)."""
    return int(cur.execute("SELECT coalesce(max(seq), 0) FROM remediation_actions").fetchall()[0][0])


def insert_actions(cur: duckdb.DuckDBPyConnection, actions: Sequence[dict]) -> pd.DataFrame:
    """Append ``actions`` (dicts with ``ACTION_COLUMNS``) inside the caller's transaction, in order; return
    them as written (with ``seq`` and ``created_at``)."""
    if not actions:
        return pd.DataFrame(columns=[*ACTION_COLUMNS, "seq", "created_at"])
    stamp = now()
    rows = pd.DataFrame([{c: a.get(c) for c in ACTION_COLUMNS} for a in actions],
                        columns=list(ACTION_COLUMNS))
    rows["evidence"] = [None if e is None else json.dumps(e, default=str, sort_keys=True)
                        for e in rows["evidence"]]
    rows["second_review"] = rows["second_review"].fillna(False).astype(bool)
    rows["pos"] = range(len(rows))
    rows["created_at"] = stamp
    cur.register("lw_new_actions", rows)
    try:
        cur.execute(
            "INSERT INTO remediation_actions BY NAME SELECT * EXCLUDE (pos), "
            "nextval('remediation_seq') AS seq "
            "FROM (SELECT * FROM lw_new_actions ORDER BY pos)"
        )
    finally:
        cur.unregister("lw_new_actions")
    first = cur.execute("SELECT currval('remediation_seq')").fetchall()[0][0] - len(rows) + 1
    rows["seq"] = range(first, first + len(rows))
    return rows.drop(columns="pos")


def vocabulary(store: Store) -> list[str]:
    """The labels an item can be given: the label schema when one was imported, else every label seen."""
    frame = store.query("SELECT label FROM label_schema UNION SELECT DISTINCT label FROM live_label_events "
                        "WHERE NOT EXISTS (SELECT 1 FROM label_schema) ORDER BY 1")
    return frame["label"].tolist()


def current_labels(cur: duckdb.DuckDBPyConnection, items: Sequence[str]) -> dict[str, tuple]:
    """Resolved ``(label, excluded)`` of those of ``items`` that exist, inside the caller's transaction."""
    rows = cur.execute("SELECT item_id, label, excluded FROM (" + resolved_sql() + ") WHERE item_id IN "
                       "(SELECT unnest(?::VARCHAR[]))", [sorted(set(items))]).fetchall()
    return {r[0]: (r[1], bool(r[2])) for r in rows}


#: The second-review relabels (of the CTE ``live``, aliased ``a``) still waiting for another reviewer: no
#: relabel, confirm or escalation by someone else came after, and they were not themselves the second
#: review of an earlier one.
_PENDING_SECOND = (
    "FROM live a WHERE a.action = 'relabel' AND a.second_review AND NOT EXISTS (SELECT 1 FROM live b "
    "WHERE b.item_id = a.item_id AND b.actor <> a.actor AND (b.seq > a.seq AND b.action IN ('relabel', "
    "'confirm', 'escalate') OR b.seq < a.seq AND b.action = 'relabel' AND b.second_review))"
)


def pending_second_reviews(cur: duckdb.DuckDBPyConnection,
                           items: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Items of ``items`` whose second-review relabel still waits (``_PENDING_SECOND``): item → (first
    actor, label)."""
    rows = cur.execute(
        _effective_sql(_NOW) + "SELECT a.item_id, a.actor, a.to_label " + _PENDING_SECOND
        + " AND a.item_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY a.seq", [sorted(set(items))]).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


#: Each item's latest action ``seq`` (0 without actions): what a reader saw, for a write to check that
#: nothing happened to the item since (``latest_actions``); a column of the queue and of a policy's dry run.
_LAST_SEQ = "coalesce((SELECT max(z.seq) FROM remediation_actions z WHERE z.item_id = {item}), 0)"


def latest_actions(cur: duckdb.DuckDBPyConnection, items: Sequence[str]) -> dict[str, tuple[int, str, str]]:
    """The latest action on each of ``items`` that has one, inside the caller's transaction: item →
    ``(seq, actor, action)``."""
    rows = cur.execute(
        "SELECT item_id, max(seq), arg_max(actor, seq), arg_max(action, seq) FROM remediation_actions "
        "WHERE item_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY item_id", [sorted(set(items))]).fetchall()
    return {r[0]: (int(r[1]), r[2], r[3]) for r in rows}


def action_state(cur: duckdb.DuckDBPyConnection, action_id: str) -> dict | None:
    """``item_id, action, to_label, reverted`` of one action, None when there is none."""
    rows = cur.execute(
        "SELECT item_id, action, to_label, EXISTS (SELECT 1 FROM remediation_actions r WHERE r.reverts = ?) "
        "FROM remediation_actions WHERE action_id = ?", [action_id, action_id]).fetchall()
    if not rows:
        return None
    return dict(zip(("item_id", "action", "to_label", "reverted"), rows[0], strict=True))


def resolved_labels(store: Store, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every item's resolved label now (``resolved_sql``), or those of ``item_ids``, sorted by item."""
    sql = "SELECT * FROM (" + resolved_sql() + ")"
    if item_ids is None:
        return store.query(sql + " ORDER BY item_id")
    return store.query(sql + " WHERE item_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY item_id",
                       [[str(i) for i in item_ids]])


def action_log(store: Store, *, item_id: str | None = None, actor: str | None = None,
               action: str | None = None, policy: str | None = None, campaign_id: str | None = None,
               since: dt.datetime | None = None, until: dt.datetime | None = None,
               limit: int | None = None) -> pd.DataFrame:
    """The action log, newest first, with each action's ``reverted_by`` (the revert that undid it, if any);
    every argument given narrows it (``policy`` matches the name with or without ``@version``)."""
    where, params = [], []
    for column, value in (("item_id", item_id), ("actor", actor), ("action", action),
                          ("campaign_id", campaign_id)):
        if value:
            where.append("a." + column + " = ?")
            params.append(value)
    if policy:
        where.append("(a.policy = ? OR split_part(a.policy, '@', 1) = ?)")
        params += [policy, policy]
    if since is not None:
        where.append("a.created_at >= ?")
        params.append(since)
    if until is not None:
        where.append("a.created_at < ?")
        params.append(until)
    sql = (
        "SELECT a.seq, a.created_at, a.item_id, a.action, a.from_label, a.to_label, a.actor, a.actor_role, "
        "a.rationale, a.policy, a.campaign_id, a.review_id, a.run_id, a.reverts, a.second_review, "
        "a.evidence, a.action_id, r.action_id AS reverted_by FROM remediation_actions a "
        "LEFT JOIN (SELECT reverts, min(action_id) AS action_id FROM remediation_actions "
        "WHERE action = 'revert' GROUP BY reverts) r ON r.reverts = a.action_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY a.seq DESC NULLS LAST, a.created_at DESC"
        + (" LIMIT " + str(int(limit)) if limit else "")
    )
    return store.query(sql, params)


def action(store: Store, action_id: str) -> dict | None:
    """One action as a dict, None when there is no such action."""
    frame = store.query("SELECT * FROM remediation_actions WHERE action_id = ?", [action_id])
    return None if frame.empty else frame.iloc[0].to_dict()


# --- versions ------------------------------------------------------------------------------------------


def versions(store: Store) -> pd.DataFrame:
    """Every dataset version, newest first."""
    return store.query(
        "SELECT version_id, parent_id, created_at, created_by, note, seq, rollback_of, items FROM "
        "dataset_versions ORDER BY created_at DESC, version_id DESC"
    )


def next_version_id(cur: duckdb.DuckDBPyConnection) -> str:
    """``v<N+1>`` for a store with N versions (inside the caller's transaction)."""
    return f"v{cur.execute('SELECT count(*) FROM dataset_versions').fetchall()[0][0] + 1}"


def insert_version(cur: duckdb.DuckDBPyConnection, version_id: str, *, created_by: str, note: str | None,
                   rollback_of: str | None = None) -> dict:
    """Snapshot the resolved labels as version ``version_id`` inside the caller's transaction (a rollback
    copies the labels of ``rollback_of`` instead); the parent is the newest earlier version."""
    if cur.execute("SELECT count(*) FROM dataset_versions WHERE version_id = ?",
                   [version_id]).fetchall()[0][0]:
        raise StoreError(f"There is a dataset version {version_id!r} already.")
    parent = next(iter(cur.execute("SELECT version_id FROM dataset_versions ORDER BY created_at DESC, "
                                   "version_id DESC LIMIT 1").fetchall()), None)
    seq = last_seq(cur)
    if rollback_of is None:
        cur.execute(
            "INSERT INTO version_labels (version_id, item_id, label, provenance, excluded, action_id) "
            "SELECT ?, item_id, label, provenance, excluded, action_id FROM (" + resolved_sql(str(seq)) + ")",
            [version_id],
        )
    else:
        cur.execute(
            "INSERT INTO version_labels (version_id, item_id, label, provenance, excluded, action_id) "
            "SELECT ?, item_id, label, provenance, excluded, action_id FROM version_labels "
            "WHERE version_id = ?",
            [version_id, rollback_of],
        )
    items = cur.execute("SELECT count(*) FROM version_labels WHERE version_id = ?",
                        [version_id]).fetchall()[0][0]
    row = {"version_id": version_id, "parent_id": None if parent is None else parent[0], "created_at": now(),
           "created_by": created_by, "note": note, "seq": seq, "rollback_of": rollback_of,
           "items": int(items)}
    cur.execute(
        "INSERT INTO dataset_versions (version_id, parent_id, created_at, created_by, note, seq, "
        "rollback_of, items) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", list(row.values()),
    )
    return row


def version_row(store: Store | duckdb.DuckDBPyConnection, version_id: str) -> dict | None:
    """One version's row as a dict, None when there is none."""
    cur = store.cursor() if isinstance(store, Store) else store
    frame = cur.execute("SELECT * FROM dataset_versions WHERE version_id = ?", [version_id]).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def version_labels(store: Store, version_id: str) -> pd.DataFrame:
    """A version's labels: ``item_id, label, excluded, provenance, action_id``, sorted by item."""
    return store.query(
        "SELECT item_id, label, excluded, provenance, action_id FROM version_labels WHERE version_id = ? "
        "ORDER BY item_id", [version_id],
    )


def version_diff(store: Store, old: str, new: str) -> pd.DataFrame:
    """Items whose label or exclusion differs between two versions, with the action behind the new one
    (its kind, actor, policy, campaign): ``item_id, old_label, new_label, old_excluded, new_excluded,
    provenance, action_id, action, actor, policy, campaign_id, rationale``."""
    return store.query(
        "SELECT coalesce(b.item_id, a.item_id) AS item_id, a.label AS old_label, b.label AS new_label, "
        "a.excluded AS old_excluded, b.excluded AS new_excluded, b.provenance, b.action_id, r.action, "
        "r.actor, r.policy, r.campaign_id, r.rationale "
        "FROM (SELECT * FROM version_labels WHERE version_id = ?) a "
        "FULL JOIN (SELECT * FROM version_labels WHERE version_id = ?) b USING (item_id) "
        "LEFT JOIN remediation_actions r ON r.action_id = b.action_id "
        "WHERE a.label IS DISTINCT FROM b.label "
        "OR coalesce(a.excluded, FALSE) <> coalesce(b.excluded, FALSE) "
        "OR a.item_id IS NULL OR b.item_id IS NULL ORDER BY item_id",
        [old, new],
    )


def version_class_counts(store: Store, old: str, new: str) -> pd.DataFrame:
    """Per label, how many included items carry it in each version: ``label, old, new, change``."""
    return store.query(
        "SELECT label, count(*) FILTER (WHERE version_id = ?) AS old, count(*) FILTER (WHERE version_id = ?) "
        "AS new, new - old AS change FROM version_labels WHERE version_id IN (?, ?) "
        "AND NOT coalesce(excluded, FALSE) GROUP BY label ORDER BY label NULLS LAST",
        [old, new, old, new],
    )


def rollback_actions(cur: duckdb.DuckDBPyConnection, seq: int) -> pd.DataFrame:
    """What undoing every action after ``seq`` takes: the actions after it that still stand (to revert)
    and the earlier actions that a revert after it undid (to apply again), oldest first, with a column
    ``undo`` (``revert`` or ``reapply``)."""
    return cur.execute(
        _effective_sql(_NOW)
        + "SELECT 'revert' AS undo, * FROM live WHERE seq > ? "
        "UNION ALL BY NAME SELECT 'reapply' AS undo, t.* FROM remediation_actions r "
        "JOIN remediation_actions t ON t.action_id = r.reverts WHERE r.action = 'revert' AND r.seq > ? "
        "AND t.seq <= ? AND t.action_id NOT IN (SELECT action_id FROM live) ORDER BY seq",
        [seq, seq, seq],
    ).df()


# --- policies ------------------------------------------------------------------------------------------

#: Condition fields stored as columns of ``suspects`` (every other field is read from its ``signals``).
_SUSPECT_COLUMNS = {"score": "s.score", "status": "s.status"}
_OPS = {">=": " >= ", "<=": " <= ", ">": " > ", "<": " < ", "==": " = ", "!=": " <> "}
_SIGNALS = ("annotator_prob", "model_suggested_prob", "n_ratings", "votes_given", "votes_suggested")


def run_exists(store: Store, run_id: str) -> bool:
    """Whether detection run ``run_id`` is stored."""
    return bool(store.scalar("SELECT count(*) FROM detection_runs WHERE run_id = ?", [run_id]))


def latest_run(store: Store) -> str | None:
    """The newest detection run's id, None without runs."""
    return store.scalar("SELECT run_id FROM detection_runs ORDER BY created_at DESC, run_id DESC LIMIT 1")


def run_item_count(store: Store, run_id: str) -> int:
    """How many items run ``run_id`` scored."""
    return int(store.scalar("SELECT count(*) FROM suspects WHERE run_id = ?", [run_id]) or 0)


def _field(name: str, numeric: bool) -> str:
    if name in _SUSPECT_COLUMNS:
        return _SUSPECT_COLUMNS[name]
    if not name.isidentifier():
        raise ValueError(f"Not a signal name: {name!r}")
    text = "(s.signals->>'" + name + "')"
    return "TRY_CAST(" + text + " AS DOUBLE)" if numeric else text


def policy_candidates(store: Store, run_id: str,
                      conditions: Sequence[tuple[str, str, object]]) -> pd.DataFrame:
    """The items of run ``run_id`` meeting every ``(field, op, value)`` whose resolved label is still the
    run's given label, set by no action (a policy never overrides a reviewer's confirm or relabel) and not
    excluded: ``item_id, from_label, to_label`` (the suggested label), ``score``, the signals a policy
    records as evidence and ``last_seq`` (the item's latest action), by rank."""
    where, params = ["s.run_id = ?"], [run_id]
    for field, op, value in conditions:
        numeric = not isinstance(value, str)
        where.append(_field(field, numeric) + _OPS[op] + "?")
        params.append(value)
    signals = ", ".join("TRY_CAST(s.signals->>'" + s + "' AS DOUBLE) AS " + s for s in _SIGNALS)
    return store.query(
        "WITH r AS (" + resolved_sql() + ") SELECT s.item_id, r.label AS from_label, "
        "s.suggested_label AS to_label, s.score, " + signals + ", " + _LAST_SEQ.format(item="s.item_id")
        + " AS last_seq FROM suspects s JOIN r USING (item_id) "
        "WHERE " + " AND ".join(where) + " AND r.label IS NOT DISTINCT FROM s.given_label AND NOT r.excluded "
        "AND r.action_id IS NULL "
        "AND s.suggested_label IS NOT NULL AND s.suggested_label IS DISTINCT FROM s.given_label "
        "ORDER BY s.rank NULLS LAST, s.item_id",
        params,
    )


def class_counts(store: Store) -> pd.DataFrame:
    """Included items per resolved label now: ``label, before`` (items without a label are left out)."""
    return store.query(
        "SELECT label, count(*)::BIGINT AS before FROM (" + resolved_sql() + ") WHERE label IS NOT NULL "
        "AND NOT excluded GROUP BY label ORDER BY label"
    )


def slices_of(store: Store, item_ids: Sequence[str]) -> pd.DataFrame:
    """The slices (attribute values) the items belong to: ``key, value, items`` most items first."""
    return store.query(
        "SELECT key, value, count(DISTINCT item_id) AS items FROM live_item_attributes "
        "WHERE item_id IN (SELECT unnest(?::VARCHAR[])) GROUP BY key, value ORDER BY items DESC, key, value",
        [[str(i) for i in item_ids]],
    )


def policy_runs(store: Store, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Past policy applications, one row per (policy, run, actor, transaction time), newest first."""
    where, params = "policy IS NOT NULL", []
    if names:
        where += " AND split_part(policy, '@', 1) IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(names))
    return store.query(
        "SELECT policy, run_id, actor, created_at AS applied_at, count(*) AS items FROM remediation_actions "
        "WHERE " + where + " GROUP BY ALL ORDER BY applied_at DESC", params,
    )


# --- review queue --------------------------------------------------------------------------------------


def queue_items(store: Store, run_id: str | None) -> pd.DataFrame:
    """Every item waiting for a reviewer, with what the queue orders and explains it by.

    An item waits when it was sent to review and no decision (confirm, relabel, exclude, escalate) that
    still stands came after the request; when its latest standing decision is an escalation; or when a
    second-review relabel waits for its second reviewer. Columns: ``item_id, reason`` (requested,
    escalated, second review), ``requested_by, requested_at, note, cluster_id, label`` (resolved now),
    ``suggested_label, score, annotator_prob, model_suggested_prob, split, class_share, n_classes,
    first_reviewer, first_label, reviewed_by`` (everyone who acted on it since it entered the queue),
    ``last_seq`` (its latest action's ``seq``, 0 for none: a decision passes it back as ``seen_seq``).

    The class shares need every item's resolved label, which reads every rating (a minute at 1e8 events);
    when nothing waits, the empty queue is read without them.
    """
    anything = store.scalar(_WAITING + " SELECT EXISTS (FROM waiting)")
    resolved = (resolved_sql() if anything
                else "SELECT NULL::VARCHAR AS item_id, NULL::VARCHAR AS label LIMIT 0")
    return store.query(
        _WAITING
        + ", resolved AS (" + resolved + "), "
        "shares AS (SELECT label, count(*) / sum(count(*)) OVER () AS class_share, "
        "count(*) OVER () AS n_classes FROM resolved WHERE label IS NOT NULL GROUP BY label) "
        "SELECT w.item_id, w.reason, q.requested_by, q.requested_at, q.note, q.cluster_id, r.label, "
        "s.suggested_label, s.score, "
        "TRY_CAST(s.signals->>'annotator_prob' AS DOUBLE) AS annotator_prob, "
        "TRY_CAST(s.signals->>'model_suggested_prob' AS DOUBLE) AS model_suggested_prob, i.split, "
        "sh.class_share, sh.n_classes, w.first_reviewer, w.first_label, "
        "(SELECT list(DISTINCT a.actor) FROM remediation_actions a WHERE a.item_id = w.item_id "
        "AND a.created_at >= w.entered_at) AS reviewed_by, " + _LAST_SEQ.format(item="w.item_id")
        + " AS last_seq FROM waiting w LEFT JOIN requests q USING (item_id) "
        "LEFT JOIN resolved r USING (item_id) "
        "LEFT JOIN (SELECT * FROM suspects WHERE run_id = ?) s USING (item_id) "
        "LEFT JOIN (SELECT item_id, any_value(split) AS split FROM live_items GROUP BY item_id) i "
        "USING (item_id) "
        "LEFT JOIN shares sh ON sh.label = coalesce(r.label, s.given_label) ORDER BY w.item_id",
        [run_id],
    )


#: The CTEs up to ``waiting`` (``queue_items``): every item waiting for a reviewer and why.
_WAITING = (
    _effective_sql(_NOW)
    + ", decisions AS (SELECT item_id, max(created_at) AS decided_at, "
    "arg_max(action, seq) AS last_action FROM live "
    "WHERE action IN ('confirm', 'relabel', 'exclude', 'escalate') GROUP BY item_id), "
    "requests AS (SELECT item_id, max(requested_at) AS requested_at, arg_max(requested_by, requested_at) "
    "AS requested_by, arg_max(note, requested_at) AS note, "
    "arg_max(cluster_id, requested_at) AS cluster_id FROM review_requests GROUP BY item_id), "
    "pending AS (SELECT a.item_id, arg_max(a.actor, a.seq) AS first_reviewer, arg_max(a.to_label, a.seq) "
    "AS first_label, max(a.created_at) AS at " + _PENDING_SECOND + " GROUP BY a.item_id), "
    "waiting AS (SELECT item_id, CASE WHEN p.item_id IS NOT NULL THEN 'second review' "
    "WHEN d.last_action = 'escalate' THEN 'escalated' ELSE 'requested' END AS reason, "
    "p.first_reviewer, p.first_label, coalesce(q.requested_at, d.decided_at, p.at) AS entered_at "
    "FROM requests q FULL JOIN decisions d USING (item_id) FULL JOIN pending p USING (item_id) "
    "WHERE p.item_id IS NOT NULL OR d.last_action = 'escalate' "
    "OR (q.item_id IS NOT NULL AND (d.decided_at IS NULL OR d.decided_at < q.requested_at)))"
)


def slice_memberships(store: Store, item_ids: Sequence[str]) -> pd.DataFrame:
    """``item_id, key, value`` of the items' slice attributes."""
    return store.query(
        "SELECT item_id, key, value FROM live_item_attributes WHERE item_id IN (SELECT unnest(?::VARCHAR[])) "
        "ORDER BY ALL", [[str(i) for i in item_ids]],
    )


def remediation_state(store: Store) -> tuple[int, int, int]:
    """``(latest action seq, number of versions, number of review requests)``."""
    row = store.cursor().execute(
        "SELECT (SELECT coalesce(max(seq), 0) FROM remediation_actions), (SELECT count(*) FROM "
        "dataset_versions), (SELECT count(*) FROM review_requests)"
    ).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2])
