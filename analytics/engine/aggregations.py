"""The heavy aggregations of a Parquet lake, written once in DuckDB's dialect and run on DuckDB or Spark.

Every query reads the relations the engines register (``analytics.engine.engines``), with the columns of
``RELATIONS``:

- ``events``: one row per label event (``event_id, item_id, annotator_id, label, labeled_at,
  guideline_version, confidence, campaign_id``; a column the lake lacks is NULL);
- ``annotators``: ``annotator_id, cohort, source``;
- ``item_attributes``: ``item_id, key, value`` (one row per item and key);
- ``gold``: ``item_id, label``.

A *rating* is an annotator's latest event on an item: by ``labeled_at`` (a missing time counts as the
oldest), then ``event_id``, then the label, so ties among events without an ``event_id`` are broken the same
way on every engine. Rows missing the item, the annotator or the label are no rating. This is
``analytics.core.ratings.latest_ratings``'s rule, with ``event_id`` for the row order it keeps on ties.

Each query is a ``Query``: its DuckDB text, and its Spark text generated from it with
``sqlglot.transpile(sql, read="duckdb", write="spark")``. Parameters are named (``$name`` in DuckDB,
``:name`` in Spark, which sqlglot translates); identifiers come only from ``RELATIONS`` and ``GRAINS``.
Every query here transpiles: where the store's SQL does not (the leave-one-out majority of
``analytics.store.agreement.annotator_stats`` sorts each item's counts with ``list`` and ``list_filter``),
the query is written with constructs that do (window aggregates, ``annotator_tallies``) rather than twice.
The one place where DuckDB and Spark need different text is where the relations come from (DuckDB's
``read_parquet`` against Spark's own Parquet reader), which is each engine's business, not SQL (see
``analytics.engine.engines``). Besides the lake's relations, every query reads the two ``DERIVED`` ones,
``label_events`` and ``ratings``. The environment notes list the DuckDB functions whose
transpilation fails or is silently wrong (``dayofweek``, ``list(… ORDER BY)``, ``percentile_cont``, …):
none is used here, and ``tests/engine`` compares every query's Spark result with DuckDB's.

Integer results are cast to BIGINT (DuckDB's ``sum`` of BIGINT is HUGEINT), so both engines return int64.
"""

from __future__ import annotations

import dataclasses
import functools

from analytics.store.lake import LAYOUT

__all__ = [
    "GRAINS", "RELATIONS", "Query", "relation", "label_counts", "annotator_tallies", "window_label_counts",
    "class_labels", "attribute_values", "slice_cube", "ds_initial_counts", "ds_pass", "ds_posteriors",
]

#: The columns the queries read of each lake folder; names and types come from the lake's one layout
#: (``analytics.store.lake.LAYOUT``).
_READ = {
    "events": ("event_id", "item_id", "annotator_id", "label", "labeled_at", "guideline_version",
               "confidence", "campaign_id"),
    "annotators": ("annotator_id", "cohort", "source"),
    "item_attributes": ("item_id", "key", "value"),
    "gold": ("item_id", "label"),
}
#: The relations the queries read: name -> ((column, DuckDB type), …). The engines build each from the
#: lake folder of the same name (``gold`` from ``gold/``), casting what is there and filling the rest with
#: NULL.
RELATIONS = {
    name: tuple((column, sql_type) for column, sql_type, _ in LAYOUT[name].columns if column in read)
    for name, read in _READ.items()
}
#: The lake folder columns a relation cannot do without.
REQUIRED = {"events": tuple(column for column, _, required in LAYOUT["events"].columns if required)}
#: Time grains of ``window_label_counts``: option -> ``date_trunc`` part (weeks start on Monday on both
#: engines).
GRAINS = {"day": "day", "week": "week", "month": "month"}


@dataclasses.dataclass(frozen=True)
class Query:
    """One aggregation: ``name`` for messages and timings, ``duckdb`` its text in DuckDB's dialect."""

    name: str
    duckdb: str

    @property
    def spark(self) -> str:
        """The Spark SQL text, transpiled by sqlglot (cached: a query's text is fixed)."""
        return _transpiled(self.duckdb)


@functools.cache
def _transpiled(sql: str) -> str:
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def relation(name: str, present: frozenset[str] | set[str], source: str) -> Query:
    """The ``SELECT`` that turns a lake folder's columns into relation ``name``.

    Parameters
    ----------
    name : str
        A key of ``RELATIONS``.
    present : set of str
        Columns the folder's files have (partition columns included).
    source : str
        The engine's name for the raw folder (a view or registered relation: an identifier the engine
        chose, never user text).

    Returns
    -------
    Query
        Casts each column of ``RELATIONS[name]`` to its type, NULL where ``present`` lacks it.

    Raises
    ------
    ValueError
        When a column of ``REQUIRED[name]`` is missing (the message names it).

    Examples
    --------
    >>> query = relation("gold", {"item_id", "label", "month"}, "gold_files")
    >>> query.duckdb
    'SELECT CAST(item_id AS VARCHAR) AS item_id, CAST(label AS VARCHAR) AS label FROM gold_files'
    >>> query.spark
    'SELECT CAST(item_id AS STRING) AS item_id, CAST(label AS STRING) AS label FROM gold_files'
    """
    missing = [column for column in REQUIRED.get(name, ()) if column not in present]
    if missing:
        raise ValueError(f"the lake's {name}/ files lack the column(s) {', '.join(missing)}")
    columns = ", ".join(
        f"CAST({column if column in present else 'NULL'} AS {kind}) AS {column}"
        for column, kind in RELATIONS[name]
    )
    return Query(f"relation {name}", f"SELECT {columns} FROM {source}")


def empty_relation(name: str) -> Query:
    """Relation ``name`` with no rows, for a lake without its folder."""
    columns = ", ".join(f"CAST(NULL AS {kind}) AS {column}" for column, kind in RELATIONS[name])
    return Query(f"empty {name}", f"SELECT {columns} WHERE 1 = 0")


#: Relations the engines derive from the lake's once all of ``RELATIONS`` are registered, in this order:
#: ``label_events`` (events with an item, an annotator and a label) and ``ratings`` (``item_id,
#: annotator_id, label, labeled_at``, one per item and annotator, the module docstring's rule). Every query
#: reads them, so an engine may materialise them once (Spark caches them).
DERIVED = {
    "label_events": """SELECT * FROM events
    WHERE item_id IS NOT NULL AND annotator_id IS NOT NULL AND label IS NOT NULL""",
    "ratings": """SELECT item_id, annotator_id, label, labeled_at FROM (
        SELECT item_id, annotator_id, label, labeled_at,
               row_number() OVER (PARTITION BY item_id, annotator_id
                                  ORDER BY labeled_at DESC NULLS LAST, event_id DESC NULLS LAST,
                                           label DESC) AS pick
        FROM label_events) AS ranked
    WHERE pick = 1""",
}


def derived(name: str) -> Query:
    """The ``SELECT`` of derived relation ``name`` (a key of ``DERIVED``)."""
    return Query(f"relation {name}", DERIVED[name])


_COUNTS = """
    counts AS (SELECT item_id, label, count(*) AS n FROM ratings GROUP BY item_id, label)"""


def label_counts() -> Query:
    """Per item and label, how many annotators gave it: ``item_id, label, n`` (int64), by item then label.

    The count table of ``analytics.core.ratings.label_counts``, the input of every
    ``analytics.agreement.*_from_counts`` coefficient.
    """
    return Query("label counts", "WITH" + _COUNTS + """
    SELECT item_id, label, n FROM counts ORDER BY item_id, label""")


def annotator_tallies() -> Query:
    """Per annotator, the counts ``analytics.monitoring.annotators.annotator_table`` reads.

    Columns (as ``analytics.store.agreement.annotator_stats`` without a split): ``annotator_id, cohort``
    ('unknown' when ``annotators`` lacks them), ``events, items, first_at, last_at, shared_items,
    agree_pairs, other_pairs, loo_items, loo_agree, gold_n, gold_correct, retest_n, retest_same``; ordered by
    annotator.

    Notes
    -----
    The store finds each (item, label)'s leave-one-out majority from a sorted list of the item's label
    counts (``list``, ``list_filter``), which does not transpile; here the same two largest counts
    (t1 ≥ t2) and the number of labels at each (n1, n2) come from window aggregates over the item's
    labels. A rater whose label has n votes leaves the others a largest count ``max_other`` held by
    ``at_max_other`` labels: the leave-one-out majority is their label when n − 1 > max_other, another single
    label when max_other > n − 1 and at_max_other = 1, a tie otherwise.
    """
    return Query("annotator tallies", "WITH" + _COUNTS + """,
    w AS (SELECT item_id, label, n, sum(n) OVER (PARTITION BY item_id) AS raters,
                 max(n) OVER (PARTITION BY item_id) AS t1 FROM counts),
    x AS (SELECT item_id, label, n, raters, t1,
                 sum(CASE WHEN n = t1 THEN 1 ELSE 0 END) OVER (PARTITION BY item_id) AS n1,
                 max(CASE WHEN n < t1 THEN n END) OVER (PARTITION BY item_id) AS t2 FROM w),
    u AS (SELECT item_id, label, n, raters, t1, n1, t2,
                 sum(CASE WHEN n = t2 THEN 1 ELSE 0 END) OVER (PARTITION BY item_id) AS n2 FROM x),
    cs AS (SELECT item_id, label, n, raters,
                  CASE WHEN n < t1 THEN t1 WHEN n1 > 1 THEN t1 ELSE coalesce(t2, 0) END AS max_other,
                  CASE WHEN n < t1 THEN n1 WHEN n1 > 1 THEN n1 - 1 ELSE n2 END AS at_max_other FROM u),
    gold_items AS (SELECT DISTINCT item_id FROM gold WHERE label IS NOT NULL),
    gold_labels AS (SELECT DISTINCT item_id, label FROM gold WHERE label IS NOT NULL),
    per AS (
        SELECT r.annotator_id, count(*) AS items, min(r.labeled_at) AS first_at, max(r.labeled_at) AS last_at,
               CAST(sum(CASE WHEN cs.raters > 1 THEN 1 ELSE 0 END) AS BIGINT) AS shared_items,
               CAST(sum(cs.n - 1) AS BIGINT) AS agree_pairs,
               CAST(sum(cs.raters - 1) AS BIGINT) AS other_pairs,
               CAST(sum(CASE WHEN cs.n - 1 > cs.max_other
                              OR (cs.max_other > cs.n - 1 AND cs.at_max_other = 1) THEN 1 ELSE 0 END)
                    AS BIGINT) AS loo_items,
               CAST(sum(CASE WHEN cs.n - 1 > cs.max_other THEN 1 ELSE 0 END) AS BIGINT) AS loo_agree,
               count(gi.item_id) AS gold_n, count(gl.item_id) AS gold_correct
        FROM ratings r JOIN cs ON cs.item_id = r.item_id AND cs.label = r.label
        LEFT JOIN gold_items gi ON gi.item_id = r.item_id
        LEFT JOIN gold_labels gl ON gl.item_id = r.item_id AND gl.label = r.label
        GROUP BY r.annotator_id),
    volume AS (SELECT annotator_id, count(*) AS events FROM label_events GROUP BY annotator_id),
    seq AS (SELECT annotator_id, label,
                   lag(label) OVER (PARTITION BY item_id, annotator_id
                                    ORDER BY labeled_at ASC NULLS FIRST, event_id ASC NULLS FIRST,
                                             label ASC) AS previous
            FROM label_events),
    retest AS (SELECT annotator_id, count(*) AS retest_n,
                      CAST(sum(CASE WHEN label = previous THEN 1 ELSE 0 END) AS BIGINT) AS retest_same
               FROM seq WHERE previous IS NOT NULL GROUP BY annotator_id),
    cohorts AS (SELECT annotator_id, max(cohort) AS cohort FROM annotators GROUP BY annotator_id)
    SELECT per.annotator_id, coalesce(c.cohort, 'unknown') AS cohort, v.events, per.items, per.first_at,
           per.last_at, per.shared_items, per.agree_pairs, per.other_pairs, per.loo_items, per.loo_agree,
           per.gold_n, per.gold_correct, CAST(coalesce(t.retest_n, 0) AS BIGINT) AS retest_n,
           CAST(coalesce(t.retest_same, 0) AS BIGINT) AS retest_same
    FROM per JOIN volume v ON v.annotator_id = per.annotator_id
    LEFT JOIN retest t ON t.annotator_id = per.annotator_id
    LEFT JOIN cohorts c ON c.annotator_id = per.annotator_id
    ORDER BY per.annotator_id""")


def window_label_counts(grain: str = "week") -> Query:
    """Ratings per time window and label: ``window, label, n``, the input of
    ``analytics.monitoring.drift.distribution.shift_table`` and ``series.share_series``.

    Parameters
    ----------
    grain : {"day", "week", "month"}
        The window (``GRAINS``); a rating falls in the window of its ``labeled_at`` (``date_trunc``).
        Ratings without a time are left out.

    Notes
    -----
    A rating is the annotator's latest label of the item over the whole lake, where the store's
    ``label_counts_by_window(unit="ratings")`` keeps the latest within each window: the two differ only for
    annotators who re-labeled an item in another window.
    """
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    return Query(f"window label counts ({grain})", f"""
    SELECT date_trunc('{GRAINS[grain]}', labeled_at) AS "window", label, count(*) AS n
    FROM ratings WHERE labeled_at IS NOT NULL
    GROUP BY date_trunc('{GRAINS[grain]}', labeled_at), label ORDER BY "window", label""")


def class_labels() -> Query:
    """Every label of the events (superseded ones included, as ``DawidSkene.fit`` counts its classes):
    ``label``, sorted."""
    return Query("class labels", """
    SELECT DISTINCT label FROM label_events ORDER BY label""")


def attribute_values() -> Query:
    """Every attribute key and value of the rated items with its item count: ``key, value, items``."""
    return Query("attribute values", """
    WITH rated AS (SELECT DISTINCT item_id FROM ratings)
    SELECT a.key, a.value, count(*) AS items
    FROM item_attributes a JOIN rated r ON r.item_id = a.item_id
    WHERE a.key IS NOT NULL AND a.value IS NOT NULL
    GROUP BY a.key, a.value ORDER BY a.key, a.value""")


def slice_cube(n_keys: int) -> Query:
    """The slice cube of ``n_keys`` attributes: one row per combination of their values that a rated item has.

    Parameters
    ----------
    n_keys : int
        How many attributes; the query takes their keys as parameters ``$key0`` … and returns them as
        columns ``a0`` … (NULL where an item lacks the attribute).

    Returns
    -------
    Query
        Columns ``a0 … a{n-1}, items, ratings, rated_items, disputed`` (int64): the items of each
        combination, their ratings, the items with two or more ratings and those among them whose ratings
        are not unanimous, the counts ``analytics.monitoring.slices.slice_noise_table`` reads for
        ``metric="disagreement"``. Ordered by the values, missing first.
    """
    if int(n_keys) != n_keys or n_keys < 0:
        raise ValueError("n_keys must be a whole number ≥ 0")
    slots = [f"a{i}" for i in range(n_keys)]
    pivot = "".join(f", max(CASE WHEN key = $key{i} THEN value END) AS {slot}"
                    for i, slot in enumerate(slots))
    selected = "".join(f"att.{slot}, " for slot in slots)
    grouped = (" GROUP BY " + ", ".join(f"att.{slot}" for slot in slots)
               + " ORDER BY " + ", ".join(f"att.{slot} NULLS FIRST" for slot in slots)) if slots else ""
    return Query(f"slice cube ({n_keys} attributes)", "WITH" + _COUNTS + """,
    it AS (SELECT item_id, sum(n) AS ratings, count(*) AS labels FROM counts GROUP BY item_id),
    att AS (SELECT item_id""" + pivot + """ FROM item_attributes GROUP BY item_id)
    SELECT """ + selected + """count(*) AS items, CAST(sum(it.ratings) AS BIGINT) AS ratings,
           CAST(sum(CASE WHEN it.ratings > 1 THEN 1 ELSE 0 END) AS BIGINT) AS rated_items,
           CAST(sum(CASE WHEN it.labels > 1 THEN 1 ELSE 0 END) AS BIGINT) AS disputed
    FROM it LEFT JOIN att ON att.item_id = it.item_id""" + grouped)


# Dawid–Skene, wide over the K classes so that every step is a plain GROUP BY of about R rows: class k's
# columns are named by its position (p0, lp0, …), never by its label. Small tables and values come in from
# Python: ds_classes (label, code) the K classes, ds_confusion (annotator_id, label, lp0 … lp{K-1}) each
# annotator's log P(label | true class k), and parameters $lr0 … the log class priors. The posteriors are
# read once, by one aggregation with two grouping sets, since Spark inlines a CTE at every use: per
# (annotator, label) the M-step's counts, and over all ratings the class mass and the log-likelihood as sums
# of each item's values divided by its number of ratings m (each item has m rating rows).


def _class_columns(k: int) -> list[int]:
    if int(k) != k or k < 1:
        raise ValueError("the number of classes must be a whole number ≥ 1")
    return list(range(int(k)))


def _m_step_sql(k: int, log_norm: str) -> str:
    columns = _class_columns(k)
    sums = ", ".join(
        f"CASE WHEN grouping(r.annotator_id) = 0 THEN sum(t.p{c}) ELSE sum(t.p{c} / t.m) END AS v{c}"
        for c in columns
    )
    return f"""
    SELECT CASE WHEN grouping(r.annotator_id) = 0 THEN 'count' ELSE 'mass' END AS part,
           r.annotator_id, r.label, {sums}, sum({log_norm} / t.m) AS log_likelihood
    FROM ratings r JOIN posterior t ON t.item_id = r.item_id
    GROUP BY GROUPING SETS ((r.annotator_id, r.label), ())"""


def _e_step_sql(k: int) -> str:
    classes = _class_columns(k)
    sums = ", ".join(f"sum(c.lp{c}) + $lr{c} AS s{c}" for c in classes)
    top = "greatest(" + ", ".join(f"s{c}" for c in classes) + ")" if k > 1 else "s0"
    total = " + ".join(f"exp(s{c} - top)" for c in classes)
    post = ", ".join(f"exp(s{c} - log_norm) AS p{c}" for c in classes)
    return f"""
    joint AS (SELECT r.item_id, count(*) AS m, {sums}
              FROM ratings r JOIN ds_confusion c ON c.annotator_id = r.annotator_id AND c.label = r.label
              GROUP BY r.item_id),
    shifted AS (SELECT *, {top} AS top FROM joint),
    normed AS (SELECT *, top + ln({total}) AS log_norm FROM shifted),
    posterior AS (SELECT item_id, m, log_norm, {post} FROM normed)"""


def ds_initial_counts(k: int) -> Query:
    """The M-step statistics of the majority-vote start: each item's posterior is its share of votes.

    Parameters
    ----------
    k : int
        K, the number of classes; the query joins ``ds_classes (label, code)`` to number them 0 … K − 1.

    Returns
    -------
    Query
        Columns ``part, annotator_id, label, v0 … v{K-1}, log_likelihood``. Rows ``part = 'count'``:
        (annotator, label) → ``v0 … v{K-1}``, the sum over the annotator's ratings with that label of their
        item's share of votes for class k; one row ``part = 'mass'``: the sum over items of the shares
        (``log_likelihood`` NULL throughout). This is ``DawidSkene(init="majority")``'s first M-step input.
    """
    votes = ", ".join(f"CAST(sum(CASE WHEN d.code = {c} THEN 1 ELSE 0 END) AS DOUBLE) / count(*) AS p{c}"
                      for c in _class_columns(k))
    return Query("Dawid–Skene start", f"""
    WITH posterior AS (SELECT r.item_id, count(*) AS m, {votes}
                       FROM ratings r JOIN ds_classes d ON d.label = r.label GROUP BY r.item_id)"""
                 + _m_step_sql(k, "CAST(NULL AS DOUBLE)"))


def ds_pass(k: int) -> Query:
    """One EM pass: the E-step under ``ds_confusion`` and ``$lr0 …``, and the next M-step's statistics.

    Returns
    -------
    Query
        Rows as in ``ds_initial_counts``; the ``mass`` row's ``log_likelihood`` is the sum over items of
        log Σ_k prior_k Π_r P(label_r | k), the log-likelihood under the parameters passed in.

    Notes
    -----
    The E-step is log T_ik = log prior_k + Σ_r log P(label_r | k) − log-sum-exp over k, with the item's
    largest term subtracted before ``exp`` (no overflow), in DOUBLE on both engines.
    """
    return Query("Dawid–Skene pass", "WITH" + _e_step_sql(k) + _m_step_sql(k, "t.log_norm"))


def ds_posteriors(k: int) -> Query:
    """The E-step's posteriors: ``item_id, p0 … p{K-1}``, one row per item, by item."""
    columns = ", ".join(f"p{c}" for c in _class_columns(k))
    return Query("Dawid–Skene posteriors", "WITH" + _e_step_sql(k) + f"""
    SELECT item_id, {columns} FROM posterior ORDER BY item_id""")
