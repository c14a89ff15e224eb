"""LabelWatch's main page script, the frame of every page: page config, the store, the global sidebar
filters, navigation.

``app.py`` serves it (``st.App``) beside the HTTP API; run both with ``streamlit run app.py``. It lives
here, not next to ``pages/``: Streamlit decides whether an app uses the legacy ``pages/`` folder from the
folder of the main script, before ``st.navigation`` runs, and a deep link (``/review``) as a fresh server's
first request then showed a "Page not found" dialog over the right page. Page scripts are still in one
sub-folder of ``pages/`` per navigation section, registered below.

The store is ``LABELWATCH_DB``, else ``db_path`` in ``.streamlit/secrets.toml``, else
``data/labelwatch.duckdb`` (built from the demo on first start).
"""

from pathlib import Path

import streamlit as st

from analytics.store import StoreError
from ui import filters, identity, loaders
from ui import store as app_store
from ui.page_files import page

# Our own SVG, sent inline as the tab icon: with a ":material/…:" page icon the browser fetches the icon from
# a font server on the internet (icons elsewhere in the app come from the font Streamlit serves itself).
ICON = Path(__file__).parent / "icon.svg"

st.set_page_config(page_title="LabelWatch", page_icon=ICON, layout="wide")
identity.require_login()  # with [auth] in the secrets: the login screen, and nothing else, until logged in

# No module-level name holds the store: Streamlit leaves this script's module in sys.modules["__main__"]
# after a run, and a global there would keep the file open after its cache entry was dropped.
try:
    app_store.ensure_demo(app_store.current())
except StoreError as exc:
    # StoreLockedError included: the message says which file and what to do.
    st.error(str(exc))
    st.stop()

pages = st.navigation({
    "Monitor": [
        st.Page(page("monitor/overview.py"), title="Overview", icon=":material/monitoring:", default=True),
        st.Page(page("monitor/agreement.py"), title="Agreement", icon=":material/handshake:"),
        st.Page(page("monitor/drift.py"), title="Drift", icon=":material/timeline:"),
        st.Page(page("monitor/slices.py"), title="Slices", icon=":material/pie_chart:"),
    ],
    "Investigate": [
        st.Page(page("investigate/suspects.py"), title="Suspects", icon=":material/troubleshoot:"),
    ],
    "Remediate": [
        st.Page(page("remediate/review.py"), title="Review", icon=":material/rule:"),
        st.Page(page("remediate/policies.py"), title="Policies", icon=":material/policy:"),
        st.Page(page("remediate/campaigns.py"), title="Campaigns", icon=":material/campaign:"),
        st.Page(page("remediate/versions.py"), title="Versions", icon=":material/history:"),
        st.Page(page("remediate/audit.py"), title="Audit trail", icon=":material/receipt_long:"),
    ],
    "Impact": [
        st.Page(page("impact/impact.py"), title="Impact", icon=":material/insights:"),
    ],
    "Data": [
        st.Page(page("data/import_data.py"), title="Import", icon=":material/upload_file:"),
        st.Page(page("data/data.py"), title="Data", icon=":material/database:"),
    ],
}, expanded=True)  # every page in view: 14 pages would fold behind "View more" at the default
filters.show(loaders.filter_options(loaders.source()), key="filters")
pages.run()
