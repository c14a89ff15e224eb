"""LabelWatch: the file given to ``streamlit run app.py``. It serves the dashboard and, on the same port,
the HTTP API beside it (``ui/api.py``: health, summary, check, ingest and every CLI command, with tokens).

The dashboard's main page script is ``ui/frame.py`` (page config, the store, the sidebar filters, the
navigation over ``pages/``); it lives away from ``pages/`` so that Streamlit never takes that folder for
a legacy multipage app (see its docstring).

The store is ``LABELWATCH_DB``, else ``db_path`` in ``.streamlit/secrets.toml``, else
``data/labelwatch.duckdb`` (built from the demo on first start).
"""

from pathlib import Path

import streamlit as st

from ui import api

FRAME = Path(__file__).resolve().parent / "ui" / "frame.py"

app = st.App(FRAME, routes=api.ROUTES, lifespan=api.lifespan)
