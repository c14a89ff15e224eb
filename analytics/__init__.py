"""LabelWatch's engine: the store, ingest, demo data and the statistics. Never imports streamlit."""
