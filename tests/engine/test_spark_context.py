"""The Spark context is one per process and outlives any one engine while another is open, whichever thread
opened them: the dashboard computes in its sessions' threads, and one session's engine closing must not stop
the context under another's (it did: the ownership test looked at this thread's active session only)."""

from __future__ import annotations

import threading

import pyspark

from analytics.engine import aggregations as agg
from analytics.engine.engines import SparkEngine


def test_an_engine_closed_in_another_thread_leaves_the_context_to_the_engines_still_open(spark):
    lake = spark.engine.lake
    first = spark.engine.run(agg.window_label_counts("month"))
    errors: list[BaseException] = []

    def other_session() -> None:
        try:
            engine = SparkEngine(lake)
            engine.run(agg.window_label_counts("month"))
            engine.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    worker = threading.Thread(target=other_session)
    worker.start()
    worker.join()
    assert errors == []
    assert pyspark.SparkContext._active_spark_context is not None
    again = spark.engine.run(agg.window_label_counts("month"))  # the session fixture's engine still runs
    assert again.equals(first)


def test_the_last_engine_that_started_the_context_stops_it(spark):
    # the session's engine holds the context open: a second engine in this thread neither started nor stops it
    second = SparkEngine(spark.engine.lake)
    second.close()
    assert pyspark.SparkContext._active_spark_context is not None
    assert SparkEngine._open >= 1 and SparkEngine._started_context
