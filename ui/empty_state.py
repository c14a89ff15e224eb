"""The designed empty state: what is missing, why, and where to go next."""

from __future__ import annotations

import streamlit as st

from ui import page_files

#: The CLI command that fills a store, shown where the app has nothing to display.
CLI_HINT = "python -m analytics --db PATH ingest events.csv --kind events"


def show(title: str, body: str, *, key: str, import_link: bool = True, cli_hint: bool = False) -> None:
    """Explain an empty view.

    Parameters
    ----------
    title, body : str
        Our own text (Markdown); never user input.
    key : str
        Prefix of the container's key.
    import_link : bool
        Offer a link to the Import page.
    cli_hint : bool
        Show the command-line alternative to the Import page.
    """
    with st.container(border=True, key=f"{key}_empty"):
        st.markdown(f"**{title}**")
        st.markdown(body)
        if import_link:
            st.page_link(page_files.page("data/import_data.py"), label="Import data",
                         icon=":material/upload:")
        if cli_hint:
            st.caption("Or from the command line:")
            st.code(CLI_HINT, language="bash")
