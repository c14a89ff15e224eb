"""Past one machine: the heavy aggregations of a Parquet lake on DuckDB or Apache Spark.

- ``aggregations``: the aggregation SQL, once, in DuckDB's dialect; Spark's text transpiled by sqlglot.
- ``engines``: ``DuckDBEngine`` and ``SparkEngine`` over the same lake folder, with the same results.
- ``statistics``: LabelWatch's existing statistics, unchanged, on the engines' small results; Dawid–Skene
  with its E-step and sufficient statistics in SQL.

``python -m analytics stats --lake DIR [--engine spark]`` prints them.
"""
