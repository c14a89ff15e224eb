"""A Parquet lake in the fixed layout, built from the synthetic world of ``analytics.synthetic.scale``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analytics.synthetic import scale


def write_lake(folder: Path, n_events: int, *, seed: int = 0) -> Path:
    """``folder/lake`` with ``events/month=…/``, ``items/``, ``item_attributes/``, ``annotators/``, ``gold/``.

    Events get an ``event_id`` (their row number in the generator's order) and are partitioned by month of
    ``labeled_at``; items' ``source`` and ``region`` become ``item_attributes`` rows; annotators carry the
    generator's cohort; gold is the label of every 10th item's first event (so some ratings match it and
    some do not).
    """
    flat, lake = folder / "flat", folder / "lake"
    scale.write_scale_events(flat, n_events, seed=seed)
    scale.write_scale_items(flat, n_events, seed=seed)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute("CREATE TABLE ev AS SELECT row_number() OVER () AS event_id, * FROM read_parquet($p)",
                    {"p": str(flat / "events-*.parquet")})
        con.execute("CREATE TABLE it AS SELECT * FROM read_parquet($p)", {"p": str(flat / "items-*.parquet")})
        for name in ("events", "items", "item_attributes", "annotators", "gold"):
            (lake / name).mkdir(parents=True)
        # COPY takes no parameters for its target; the paths are ours (a pytest tmp folder), quoted here.
        con.execute(
            "COPY (SELECT event_id::BIGINT AS event_id, item_id, annotator_id, label, labeled_at, "
            "guideline_version, confidence::DOUBLE AS confidence, strftime(labeled_at, '%Y-%m') AS month "
            f"FROM ev) TO {_quoted(lake / 'events')} (FORMAT parquet, PARTITION_BY (month))"
        )
        con.execute(f"COPY it TO {_quoted(lake / 'items' / 'part-0.parquet')} (FORMAT parquet)")
        con.execute(
            "COPY (SELECT item_id, 'source' AS key, source AS value FROM it UNION ALL "
            "SELECT item_id, 'region', region FROM it) "
            f"TO {_quoted(lake / 'item_attributes' / 'part-0.parquet')} (FORMAT parquet)"
        )
        con.execute(
            "COPY (SELECT annotator_id, any_value(cohort) AS cohort, 'scale' AS source FROM ev GROUP BY ALL) "
            f"TO {_quoted(lake / 'annotators' / 'part-0.parquet')} (FORMAT parquet)"
        )
        con.execute(
            "COPY (SELECT item_id, arg_min(label, event_id) AS label, 'expert' AS source FROM ev "
            "WHERE hash(item_id) % 10 = 0 GROUP BY item_id) "
            f"TO {_quoted(lake / 'gold' / 'part-0.parquet')} (FORMAT parquet)"
        )
    finally:
        con.close()
    return lake


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
