"""Plotly figure builders: a result frame in, a ``go.Figure`` out. No Streamlit
here (docs/ARCHITECTURE.md)."""
