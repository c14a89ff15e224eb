"""Reads behind the Agreement page: ratings, label-count tables, per-annotator reliability sums.

A *rating* is one annotator's label of one item: the latest of their events on it (``arg_max`` by
``labeled_at``, then ``event_id``), so a test–retest re-label never makes an annotator agree with themself.
A rating carries the time, guideline version and campaign of that latest event and the annotator's cohort.

Every statistic of ``analytics.agreement.coefficients`` works from a label-count table (how many annotators
gave each
label to each item): it is aggregated here in DuckDB, so 1e7 events travel to Python as a few million
``(item, label, n)`` rows of integers, never as events. Items travel as 64-bit hashes of their ids
(``item_key``) where only grouping by item matters; ids are read only for the rows a user drills into.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics.core.schema import TIME_GRAINS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition, events_cte, store_values
from analytics.store.ratings import LATEST, ratings_sql, repeated_events_sql

#: What a label-count table can be split by: the SQL of each grouping over a rating row ``r``.
GROUPINGS = {
    "cohort": "r.cohort",
    "guideline_version": "coalesce(r.guideline_version, '(none)')",
    **{grain: "date_trunc('" + part + "', r.labeled_at)" for grain, part in TIME_GRAINS.items()},
}


#: A rating's context: the latest event's time and guideline version, and how many events the pair has.
_CONTEXT = {name: LATEST[name] for name in ("label", "labeled_at", "guideline_version", "n_events")}


def _ratings_cte(store: Store, flt: EventFilter | None, sample_modulus: int = 1) -> tuple[str, list]:
    """``WITH ev AS (…), r AS (…)``: one rating per (item, annotator) of the filtered events, with context."""
    cte, params = events_cte(flt, sample_modulus, base=store.sample_base)
    ratings = ratings_sql("ev", {"item_id": "e.item_id", "annotator_id": "e.annotator_id"}, _CONTEXT)
    return (
        cte
        + ", r AS (SELECT x.*, coalesce(a.cohort, 'unknown') AS cohort FROM ("
        + ratings
        + ") AS x LEFT JOIN live_annotators a USING (annotator_id)) ",
        params,
    )


def _grouping(by: str | None) -> tuple[str, str]:
    """(select fragment, group-by fragment) of an allow-listed grouping, or empty ones."""
    if by is None:
        return "", ""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    return GROUPINGS[by] + " AS grp, ", "grp, "


def label_counts(
    store: Store, flt: EventFilter | None = None, *, by: str | None = None, sample_modulus: int = 1
) -> pd.DataFrame:
    """How many annotators gave each label to each item: ``[grp,] item_key, label, n``.

    Parameters
    ----------
    by : str or None
        Split the table by one of ``GROUPINGS`` (a rating falls in the group of its latest event): the
        same item can then appear in several groups, each with the ratings given in it.
    sample_modulus : int
        Above 1, only a 1-in-m sample of items (all their ratings): for very large stores.

    Returns
    -------
    DataFrame
        ``item_key`` (UBIGINT hash of ``item_id``), ``label``, ``n`` (≥ 1), plus ``grp`` first when
        ``by`` is given.
    """
    if by is None:
        # The headline path at 1e7 events: items keyed by a 64-bit hash, only the label carried.
        cte, params = events_cte(flt, sample_modulus, base=store.sample_base)
        ratings = ratings_sql("ev", {"item_key": "hash(e.item_id)", "annotator_id": "e.annotator_id"},
                              {"label": LATEST["label"]})
        select, group = "", ""
    else:
        cte, params = _ratings_cte(store, flt, sample_modulus)
        ratings = "SELECT hash(r.item_id) AS item_key, r.* FROM r"
        select, group = _grouping(by)
    # Labels travel as codes of the store's sorted labels, decoded into a Categorical: millions of rows
    # of small integers rather than of Python strings (at 1e7 events 4.6M rows, ~250 MB less).
    with store.snapshot() as cur:
        labels = store.remembered("store_labels", lambda: store_values(cur, store.lake_tables, "label")[0])
        frame = cur.execute(
            cte + ", counted AS (" + ratings + "), " + _LABEL_CODES
            + " SELECT " + select + "r.item_key, lab.code AS label, count(*)::INTEGER AS n "
            "FROM counted AS r JOIN lab USING (label) GROUP BY ALL ORDER BY ALL",
            [*params, labels],
        ).df()
    frame["label"] = pd.Categorical.from_codes(frame["label"], categories=labels)
    return frame


#: ``lab``: the code of each label of a parameter list (its position, from 0).
_LABEL_CODES = ("lab AS (SELECT label, (i - 1)::INTEGER AS code "
                "FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(label, i))")


def pairwise_tables(store: Store, flt: EventFilter | None = None, *, min_overlap: int = 10,
                    annotators: Sequence[str] | None = None) -> pd.DataFrame:
    """Contingency tables of every pair of annotators who rated at least ``min_overlap`` items in common.

    The input of ``analytics.agreement.cohen.pairwise_kappa_from_tables``: each annotator's rating of an item
    (the
    latest event, as in ``label_counts``) is paired in SQL with every other annotator's rating of that item,
    and the pairs are counted per (annotator_a, annotator_b, label_a, label_b), so 1e7 events travel to
    Python as a few million rows of small integer codes, never as events or rating pairs.

    Parameters
    ----------
    flt : EventFilter or None
        The dashboard filter, applied to the events.
    min_overlap : int
        Pairs sharing fewer items are left out (≥ 1).
    annotators : sequence of str, optional
        Only events of these annotators count, so only pairs of two of them are returned.

    Returns
    -------
    DataFrame with columns ``annotator_a, annotator_b, label_a, label_b, n``
        One row per non-empty cell of a pair's table, ``annotator_a < annotator_b``, rows in no particular
        order. The four id columns are categoricals (categories: the sorted distinct annotators, resp.
        labels, of the filtered events); ``n`` (≥ 1) counts the items rated ``label_a`` by ``annotator_a``
        and ``label_b`` by ``annotator_b``, and sums to the items the two share.

    Notes
    -----
    Annotators and labels are coded 0, 1, … in a first, small read (distinct values of the filtered
    events); the pairs query joins those codes, both reads in one snapshot of the store. Within the
    query, items are keyed by the 64-bit hash of their id, as in ``label_counts``. The self-join produces
    Σ_i m_i (m_i − 1) / 2 rating pairs (about 1.4e7 for 1e7 events with 2–5 ratings per item) and never
    an items × annotators matrix.
    """
    if int(min_overlap) != min_overlap or min_overlap < 1:
        raise ValueError("min_overlap must be a whole number ≥ 1")
    condition, params = event_condition(flt)
    if annotators is not None:
        condition += " AND list_contains(?, e.annotator_id)"
        params = [*params, [str(a) for a in annotators]]
    with store.snapshot() as cur:
        names = cur.execute(
            "SELECT list(DISTINCT e.annotator_id ORDER BY e.annotator_id), "
            "list(DISTINCT e.label ORDER BY e.label) FROM live_label_events e WHERE " + condition,
            params,
        ).fetchone()
        annotator_ids, labels = (list(values or []) for values in names)
        cells = cur.execute(
            """WITH ann AS (SELECT annotator_id, (i - 1)::INTEGER AS a
                    FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(annotator_id, i)),
        lab AS (SELECT label, (i - 1)::INTEGER AS l FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(label, i)),
        coded AS (SELECT e.item_id, e.annotator_id, e.labeled_at, e.event_id, ann.a, lab.l
                  FROM live_label_events e JOIN ann USING (annotator_id) JOIN lab USING (label)
                  WHERE """
            + condition
            + "), r AS ("
            + ratings_sql("coded", {"item_key": "hash(e.item_id)", "a": "e.a"},
                          {"l": ("e.l", "arg_max(e.l, (e.labeled_at, e.event_id))")})
            + """),
        cells AS (SELECT x.a AS annotator_a, y.a AS annotator_b, x.l AS label_a, y.l AS label_b, count(*) AS n
                  FROM r x JOIN r y ON x.item_key = y.item_key AND x.a < y.a GROUP BY ALL),
        shared AS (SELECT annotator_a, annotator_b FROM cells GROUP BY ALL HAVING sum(n) >= ?)
            SELECT * FROM cells SEMI JOIN shared USING (annotator_a, annotator_b)""",
            [annotator_ids, labels, *params, int(min_overlap)],
        ).df()
    return pd.DataFrame({
        "annotator_a": pd.Categorical.from_codes(cells["annotator_a"], categories=annotator_ids),
        "annotator_b": pd.Categorical.from_codes(cells["annotator_b"], categories=annotator_ids),
        "label_a": pd.Categorical.from_codes(cells["label_a"], categories=labels),
        "label_b": pd.Categorical.from_codes(cells["label_b"], categories=labels),
        "n": cells["n"].to_numpy(np.int64),
    })


def ratings(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> pd.DataFrame:
    """Every rating of the filtered events: ``item_id, annotator_id, label, labeled_at, cohort``.

    For consensus models (Dawid–Skene), which need who said what; one row per (item, annotator); of a
    1-in-``sample_modulus`` sample of items when above 1.
    """
    cte, params = _ratings_cte(store, flt, sample_modulus)
    return store.query(
        cte + "SELECT item_id, annotator_id, label, labeled_at, cohort FROM r ORDER BY item_id, annotator_id",
        params,
    )


def annotator_stats(
    store: Store, flt: EventFilter | None = None, *, by: str | None = None, sample_modulus: int = 1
) -> pd.DataFrame:
    """Per annotator: volume, agreement with the other annotators of their items, gold and re-test counts.

    ``by`` splits each annotator's ratings by one of ``GROUPINGS`` or ``"half"`` (up to / after the
    median time of their own ratings: 0 / 1); the counts of the other raters always cover the whole
    filter. Split tables carry a ``grp`` column and no re-test counts. Above 1, ``sample_modulus`` reads
    a 1-in-m sample of items (all ratings of each): every rate stays unbiased, its interval widens.

    Returns
    -------
    DataFrame, one row per annotator with at least one filtered event:

    - ``annotator_id, cohort, events, items, first_at, last_at``;
    - ``shared_items``: their items that another annotator rated too;
    - ``agree_pairs, other_pairs``: over those items, Σ (raters of the annotator's label − 1) and
      Σ (raters − 1), whose ratio is the share of the other annotators' ratings that agree with theirs;
    - ``loo_items, loo_agree``: items whose other raters have a single most frequent label (the
      leave-one-out majority, ties excluded), and how many of those the annotator's label equals;
    - ``gold_n, gold_correct``: their ratings of items with a gold label (any source; an item with several
      gold labels counts as correct when the rating equals any of them);
    - ``retest_n, retest_same``: their repeated labels of the same item (each event after the first, in
      time order) and how many repeat the label of the event before it.

    Read once per state of the store (``Store.remembered``); the frame returned is the caller's own.
    """
    # the alert rules, the Agreement and the Drift pages ask for the same tables of one state; the whole
    # and the halves (the reliability table needs both) come from one query
    if by in (None, "half"):
        whole, halves = store.remembered(("annotator_stats", flt, "whole+half", sample_modulus),
                                         lambda: _whole_and_halves(store, flt, sample_modulus))
        return whole.copy() if by is None else halves.drop(columns=["retest_n", "retest_same"])
    frame = store.remembered(("annotator_stats", flt, by, sample_modulus),
                             lambda: _annotator_stats_query(store, flt, by, sample_modulus))
    return frame.drop(columns=["retest_n", "retest_same"])


#: ``grp`` of the ``"half"`` split: 0 up to the median time of the annotator's own ratings, 1 after.
_HALF = "(r.labeled_at > quantile_disc(r.labeled_at, 0.5) OVER (PARTITION BY r.annotator_id))::INTEGER"


def _annotator_stats_sql(cte: str, select: str, keys: str, group: str) -> str:
    """``annotator_stats``' query over the ratings ``r`` of ``cte``, unsorted: ``select`` adds a ``grp``
    column to each rating, ``keys`` are the columns ``per`` starts with before the annotator, ``group`` its
    ``GROUP BY`` (a list of columns, or ``GROUPING SETS``)."""
    # Whether an item's other raters agree with a rater depends only on (item, label): with the label
    # counts of the item sorted (t1 ≥ t2 the two largest distinct counts, n1 and n2 labels at each), the
    # rater's own label with count n leaves the others a largest count max_other and a number of labels
    # at it; the leave-one-out majority is the rater's label when n − 1 > max_other, another single label
    # when max_other > n − 1 is held by one label, and a tie otherwise.
    return (
        cte
        + """, c AS (SELECT item_id, label, count(*) AS n FROM r GROUP BY ALL),
        s AS (SELECT item_id, sum(n)::BIGINT AS raters, list(n ORDER BY n DESC) AS l FROM c GROUP BY item_id),
        t AS (SELECT item_id, raters, l, l[1] AS t1, len(list_filter(l, lambda x: x = l[1])) AS n1,
                     list_filter(l, lambda x: x < l[1])[1] AS t2 FROM s),
        u AS (SELECT item_id, raters, t1, n1, t2, len(list_filter(l, lambda x: x = t2)) AS n2 FROM t),
        cs AS (SELECT c.item_id, c.label, c.n, u.raters,
                      CASE WHEN c.n < u.t1 THEN u.t1 WHEN u.n1 > 1 THEN u.t1 ELSE coalesce(u.t2, 0) END
                          AS max_other,
                      CASE WHEN c.n < u.t1 THEN u.n1 WHEN u.n1 > 1 THEN u.n1 - 1 ELSE u.n2 END AS at_max_other
               FROM c JOIN u USING (item_id)),
        gold AS (SELECT item_id, list(DISTINCT label) AS gold FROM live_gold_labels GROUP BY ALL),
        seq AS (
            SELECT e.annotator_id, e.label,
                   lag(e.label) OVER (PARTITION BY e.item_id, e.annotator_id
                                      ORDER BY e.labeled_at, e.event_id) AS previous
            """ + repeated_events_sql("ev") + """),
        retest AS (SELECT annotator_id, count(*) AS retest_n,
                          count(*) FILTER (WHERE label = previous) AS retest_same
                   FROM seq WHERE previous IS NOT NULL GROUP BY ALL),
        rg AS (SELECT """ + select + """r.* FROM r),
        per AS (
            SELECT """ + keys + """r.annotator_id, any_value(r.cohort) AS cohort,
                   sum(r.n_events)::BIGINT AS events,
                   count(*) AS items, min(r.labeled_at) AS first_at, max(r.labeled_at) AS last_at,
                   count(*) FILTER (WHERE cs.raters > 1) AS shared_items,
                   coalesce(sum(cs.n - 1), 0)::BIGINT AS agree_pairs,
                   coalesce(sum(cs.raters - 1), 0)::BIGINT AS other_pairs,
                   count(*) FILTER (WHERE cs.n - 1 > cs.max_other
                                    OR (cs.max_other > cs.n - 1 AND cs.at_max_other = 1)) AS loo_items,
                   count(*) FILTER (WHERE cs.n - 1 > cs.max_other) AS loo_agree,
                   count(g.gold) AS gold_n,
                   count(*) FILTER (WHERE list_contains(g.gold, r.label)) AS gold_correct
            FROM rg AS r JOIN cs USING (item_id, label) LEFT JOIN gold g USING (item_id)
            GROUP BY """ + group + """)
        SELECT per.*, coalesce(t.retest_n, 0) AS retest_n, coalesce(t.retest_same, 0) AS retest_same
        FROM per LEFT JOIN retest t USING (annotator_id)"""
    )


def _annotator_stats_query(store: Store, flt: EventFilter | None, by: str | None,
                           sample_modulus: int) -> pd.DataFrame:
    """``annotator_stats`` split by ``by`` (None, ``"half"`` or one of ``GROUPINGS``), in one query of
    its own."""
    cte, params = _ratings_cte(store, flt, sample_modulus)
    select, keys = (_HALF + " AS grp, ", "grp, ") if by == "half" else _grouping(by)
    sql = _annotator_stats_sql(cte, select, keys, keys + "r.annotator_id")
    return store.query(sql + " ORDER BY ALL", params)


def _whole_and_halves(store: Store, flt: EventFilter | None,
                      sample_modulus: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``annotator_stats`` with ``by=None`` and with ``by="half"``, from one query grouped by both sets:
    the ratings, their items' label counts and the gold labels are read once (at 1e7 events one query of
    ~0.25 s instead of two)."""
    cte, params = _ratings_cte(store, flt, sample_modulus)
    sets = "GROUPING SETS ((r.annotator_id), (grp, r.annotator_id))"
    frame = store.query(_annotator_stats_sql(cte, _HALF + " AS grp, ", "grp, grouping(grp) AS whole, ", sets),
                        params)
    is_whole = frame.pop("whole") == 1
    whole, halves = frame[is_whole].drop(columns="grp"), frame[~is_whole].astype({"grp": "int32"})
    return tuple(part.sort_values(list(part.columns), ignore_index=True) for part in (whole, halves))


def annotator_ratings(
    store: Store, annotator_id: str, flt: EventFilter | None = None, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """One annotator's ratings with the other annotators' votes on the same items.

    Returns
    -------
    DataFrame
        ``item_id, label, labeled_at, raters, agreeing`` (raters of the item including this annotator;
        how many of them gave the same label), newest first.
    """
    cte, params = _ratings_cte(store, flt, sample_modulus)
    return store.query(
        cte
        + """, c AS (SELECT item_id, label, count(*) AS n FROM r GROUP BY ALL),
        m AS (SELECT item_id, sum(n)::BIGINT AS raters FROM c GROUP BY ALL)
        SELECT r.item_id, r.label, r.labeled_at, m.raters, c.n AS agreeing
        FROM r JOIN c USING (item_id, label) JOIN m USING (item_id)
        WHERE r.annotator_id = ? ORDER BY r.labeled_at DESC, r.item_id""",
        [*params, annotator_id],
    )


def guideline_changes(store: Store) -> pd.DataFrame:
    """Declared guideline versions in time order: ``version, effective_at, summary``."""
    return store.query(
        "SELECT version, effective_at, summary FROM live_guidelines ORDER BY effective_at, version"
    )


def label_order(store: Store) -> list[str]:
    """The vocabulary's labels in declaration order (import order), for ordinal levels; [] if none."""
    return store.query("SELECT label FROM label_schema ORDER BY rowid")["label"].tolist()


def cohort_order(store: Store) -> list[str]:
    """Every cohort of the store in the order it first appeared: by the time of the first import batch
    that brought one of its annotators, then by name; ``unknown`` (annotators without a cohort, or events
    of annotators the store does not list) last when it occurs.

    Pass it to ``charts.theme.color_map(..., order=...)``: a new cohort is appended, so the cohorts already
    there keep their colours, and a filter that hides some cohorts moves no colour either.
    """
    frame = store.query(
        """SELECT coalesce(a.cohort, 'unknown') AS cohort, min(b.created_at) AS first_at
           FROM live_annotators a LEFT JOIN ingest_batches b USING (batch_id) GROUP BY ALL
           UNION ALL
           SELECT 'unknown', NULL WHERE EXISTS (
               SELECT 1 FROM live_label_events e ANTI JOIN live_annotators a USING (annotator_id))"""
    )
    frame = frame.groupby("cohort", as_index=False)["first_at"].min()
    frame = frame.assign(unknown=frame["cohort"] == "unknown")
    return frame.sort_values(["unknown", "first_at", "cohort"], na_position="last")["cohort"].tolist()
