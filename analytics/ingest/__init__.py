"""Importing files into the store: detect, read, validate, stage and commit, with every reject kept.

- ``pipeline``: ``prepare`` (read, validate, stage), ``commit`` (one transaction); ``ingest`` does both.
- ``readers``: what a file is, its hash, and the formats parsed in Python (JSONL, Label Studio).
- ``csv_scan``: a CSV scanner for which one bad row is one reject.
- ``rules``: the user's label rules (TOML) checked at import.
"""
