"""LabelWatch: the entry script. Page config, the store, the global sidebar filters, navigation.

Page scripts live in one sub-folder of ``pages/`` per navigation section, never directly in ``pages/``:
Streamlit runs a ``pages/*.py`` script on its own (without this frame) when a fresh server's first
request names its URL, whereas sub-folders are only reachable through ``st.navigation`` below.

Run with ``streamlit run app.py``. The store is ``LABELWATCH_DB``, else ``db_path`` in
``.streamlit/secrets.toml``, else ``data/labelwatch.duckdb`` (built from the demo on first start).
"""

from pathlib import Path

import streamlit as st

from analytics.store import StoreError
from ui import filters, identity, loaders
from ui import store as app_store

# Our own SVG, sent inline as the tab icon: with a ":material/…:" page icon the browser fetches the icon from
# a font server on the internet (icons elsewhere in the app come from the font Streamlit serves itself).
ICON = Path(__file__).parent / "ui" / "icon.svg"

st.set_page_config(page_title="LabelWatch", page_icon=ICON, layout="wide")
identity.require_login()  # with [auth] in the secrets: the login screen, and nothing else, until logged in

try:
    store = app_store.current()
except StoreError as exc:
    # StoreLockedError included: the message says which file and what to do.
    st.error(str(exc))
    st.stop()
app_store.ensure_demo(store)

pages = st.navigation({
    "Monitor": [
        st.Page("pages/monitor/overview.py", title="Overview", icon=":material/monitoring:", default=True),
        st.Page("pages/monitor/agreement.py", title="Agreement", icon=":material/handshake:"),
        st.Page("pages/monitor/drift.py", title="Drift", icon=":material/timeline:"),
        st.Page("pages/monitor/slices.py", title="Slices", icon=":material/pie_chart:"),
    ],
    "Investigate": [
        st.Page("pages/investigate/suspects.py", title="Suspects", icon=":material/troubleshoot:"),
    ],
    "Remediate": [
        st.Page("pages/remediate/review.py", title="Review", icon=":material/rule:"),
        st.Page("pages/remediate/policies.py", title="Policies", icon=":material/policy:"),
        st.Page("pages/remediate/campaigns.py", title="Campaigns", icon=":material/campaign:"),
        st.Page("pages/remediate/versions.py", title="Versions", icon=":material/history:"),
        st.Page("pages/remediate/audit.py", title="Audit trail", icon=":material/receipt_long:"),
    ],
    "Impact": [
        st.Page("pages/impact/impact.py", title="Impact", icon=":material/insights:"),
    ],
    "Data": [
        st.Page("pages/data/import_data.py", title="Import", icon=":material/upload_file:"),
        st.Page("pages/data/data.py", title="Data", icon=":material/database:"),
    ],
}, expanded=True)  # every page in view: 14 pages would fold behind "View more" at the default
filters.show(loaders.filter_options(loaders.source()), key="filters")
pages.run()
