"""Streamlit glue: the cached store, cached loaders, the global filters and reusable widgets.

The only package besides ``pages/`` and ``app.py`` that imports ``streamlit``; every cache lives here.
"""
