"""Reads behind the Agreement page: ratings, label-count tables, per-annotator reliability sums.

A *rating* is one annotator's label of one item: the latest of their events on it (``arg_max`` by
``labeled_at``), so a test–retest re-label never makes an annotator agree with themself. A rating carries the
time, guideline version and campaign of that latest event and the annotator's cohort.

Every statistic of ``analytics.agreement`` works from a label-count table (how many annotators gave each
label to each item): it is aggregated here in DuckDB, so 1e7 events travel to Python as a few million
``(item, label, n)`` rows of integers, never as events. Items travel as 64-bit hashes of their ids
(``item_key``) where only grouping by item matters; ids are read only for the rows a user drills into.
"""

from __future__ import annotations

import pandas as pd

from analytics.schema import TIME_GRAINS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition

#: What a label-count table can be split by: the SQL of each grouping over a rating row ``r``.
GROUPINGS = {
    "cohort": "r.cohort",
    "guideline_version": "coalesce(r.guideline_version, '(none)')",
    **{grain: "date_trunc('" + part + "', r.labeled_at)" for grain, part in TIME_GRAINS.items()},
}


def _ratings_cte(flt: EventFilter | None) -> tuple[str, list]:
    """``WITH r AS (…)``: one rating per (item, annotator) of the filtered events, with its context."""
    condition, params = event_condition(flt)
    return (
        """WITH r AS (SELECT e.item_id, e.annotator_id, arg_max(e.label, e.labeled_at) AS label,
                max(e.labeled_at) AS labeled_at,
                arg_max(e.guideline_version, e.labeled_at) AS guideline_version,
                count(*) AS n_events, any_value(coalesce(a.cohort, 'unknown')) AS cohort
            FROM label_events e LEFT JOIN annotators a USING (annotator_id)
            WHERE """
        + condition
        + " GROUP BY e.item_id, e.annotator_id) ",
        params,
    )


def _grouping(by: str | None) -> tuple[str, str]:
    """(select fragment, group-by fragment) of an allow-listed grouping, or empty ones."""
    if by is None:
        return "", ""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; use one of {', '.join(GROUPINGS)}")
    return GROUPINGS[by] + " AS grp, ", "grp, "


def label_counts(store: Store, flt: EventFilter | None = None, *, by: str | None = None) -> pd.DataFrame:
    """How many annotators gave each label to each item: ``[grp,] item_key, label, n``.

    Parameters
    ----------
    by : str or None
        Split the table by one of ``GROUPINGS`` (a rating falls in the group of its latest event): the
        same item can then appear in several groups, each with the ratings given in it.

    Returns
    -------
    DataFrame
        ``item_key`` (UBIGINT hash of ``item_id``), ``label``, ``n`` (≥ 1), plus ``grp`` first when
        ``by`` is given.
    """
    cte, params = _ratings_cte(flt)
    select, group = _grouping(by)
    return store.query(
        cte + "SELECT " + select + "hash(r.item_id) AS item_key, r.label, count(*) AS n FROM r "
        "GROUP BY " + group + "item_key, r.label ORDER BY ALL",
        params,
    )


def ratings(store: Store, flt: EventFilter | None = None) -> pd.DataFrame:
    """Every rating of the filtered events: ``item_id, annotator_id, label, labeled_at, cohort``.

    For consensus models (Dawid–Skene), which need who said what; one row per (item, annotator).
    """
    cte, params = _ratings_cte(flt)
    return store.query(
        cte + "SELECT item_id, annotator_id, label, labeled_at, cohort FROM r ORDER BY item_id, annotator_id",
        params,
    )


def annotator_stats(store: Store, flt: EventFilter | None = None, *, by: str | None = None) -> pd.DataFrame:
    """Per annotator: volume, agreement with the other annotators of their items, gold and re-test counts.

    ``by`` splits each annotator's ratings by one of ``GROUPINGS`` or ``"half"`` (up to / after the
    median time of their own ratings: 0 / 1); the counts of the other raters always cover the whole
    filter. Split tables carry a ``grp`` column and no re-test counts.

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
    """
    cte, params = _ratings_cte(flt)
    condition, retest_params = event_condition(flt)
    if by == "half":
        select, group = (
            "(r.labeled_at > quantile_disc(r.labeled_at, 0.5) OVER (PARTITION BY r.annotator_id))"
            "::INTEGER AS grp, ", "grp, "
        )
    else:
        select, group = _grouping(by)
    frame = store.query(
        cte
        + """, c AS (SELECT item_id, label, count(*) AS n FROM r GROUP BY ALL),
        m AS (SELECT item_id, sum(n)::BIGINT AS raters FROM c GROUP BY ALL),
        loo AS (
            -- the most frequent label among the others: the item's label counts with the rater removed
            SELECT r.item_id, r.annotator_id, r.label,
                   max(CASE WHEN c.label = r.label THEN c.n - 1 ELSE c.n END) AS top_n
            FROM r JOIN c USING (item_id) GROUP BY ALL),
        loo_label AS (
            SELECT l.item_id, l.annotator_id, l.label,
                   list(c.label) FILTER (WHERE (CASE WHEN c.label = l.label THEN c.n - 1 ELSE c.n END)
                                         = l.top_n) AS top_labels
            FROM loo l JOIN c USING (item_id) WHERE l.top_n > 0 GROUP BY ALL),
        gold AS (SELECT item_id, list(DISTINCT label) AS gold FROM gold_labels GROUP BY ALL),
        seq AS (
            SELECT e.annotator_id, e.label,
                   lag(e.label) OVER (PARTITION BY e.item_id, e.annotator_id
                                      ORDER BY e.labeled_at, e.event_id) AS previous
            FROM label_events e WHERE """
        + condition
        + """),
        retest AS (SELECT annotator_id, count(*) AS retest_n,
                          count(*) FILTER (WHERE label = previous) AS retest_same
                   FROM seq WHERE previous IS NOT NULL GROUP BY ALL),
        rg AS (SELECT """ + select + """r.* FROM r),
        per AS (
            SELECT """ + group + """r.annotator_id, any_value(r.cohort) AS cohort,
                   sum(r.n_events)::BIGINT AS events,
                   count(*) AS items, min(r.labeled_at) AS first_at, max(r.labeled_at) AS last_at,
                   count(*) FILTER (WHERE m.raters > 1) AS shared_items,
                   coalesce(sum(c.n - 1), 0)::BIGINT AS agree_pairs,
                   coalesce(sum(m.raters - 1), 0)::BIGINT AS other_pairs,
                   count(ll.top_labels) FILTER (WHERE len(ll.top_labels) = 1) AS loo_items,
                   count(*) FILTER (WHERE len(ll.top_labels) = 1 AND ll.top_labels[1] = r.label)
                       AS loo_agree,
                   count(g.gold) AS gold_n,
                   count(*) FILTER (WHERE list_contains(g.gold, r.label)) AS gold_correct
            FROM rg AS r JOIN c USING (item_id, label) JOIN m USING (item_id)
            LEFT JOIN loo_label ll USING (item_id, annotator_id)
            LEFT JOIN gold g USING (item_id)
            GROUP BY """ + group + """r.annotator_id)
        SELECT per.*, coalesce(t.retest_n, 0) AS retest_n, coalesce(t.retest_same, 0) AS retest_same
        FROM per LEFT JOIN retest t USING (annotator_id)
        ORDER BY ALL""",
        [*params, *retest_params],
    )
    return frame.drop(columns=["retest_n", "retest_same"]) if by is not None else frame


def annotator_ratings(store: Store, annotator_id: str, flt: EventFilter | None = None) -> pd.DataFrame:
    """One annotator's ratings with the other annotators' votes on the same items.

    Returns
    -------
    DataFrame
        ``item_id, label, labeled_at, raters, agreeing`` (raters of the item including this annotator;
        how many of them gave the same label), newest first.
    """
    cte, params = _ratings_cte(flt)
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
    return store.query("SELECT version, effective_at, summary FROM guidelines ORDER BY effective_at, version")


def label_order(store: Store) -> list[str]:
    """The vocabulary's labels in declaration order (import order), for ordinal levels; [] if none."""
    return store.query("SELECT label FROM label_schema ORDER BY rowid")["label"].tolist()
