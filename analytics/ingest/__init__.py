"""Importing files into the store: detect, read, validate, stage and commit, with every reject kept.

- ``pipeline``: ``prepare`` (read, validate, stage), ``commit`` (one transaction); ``ingest`` does both.
- ``report``: ``ValidationReport``, what an import read, accepted and rejected.
- ``plausible_range``: ``TimeRange`` and ``time_range``, the range of timestamps an import accepts.
- ``readers``: what a file is, its hash, and the formats parsed in Python (JSONL, Label Studio, Labelbox).
- ``csv_scan``: a CSV scanner for which one bad row is one reject.
- ``rules``: the user's label rules (TOML) checked at import.
- ``retraction``: ``retract``, the undo of an import (checks the batch, records the retraction).
"""
