"""Where the page scripts are, for ``st.Page``, ``st.page_link`` and ``st.switch_page``.

Streamlit resolves a page's relative path against the main page script's folder; that is ``ui/`` (the frame,
``ui/frame.py``), not the repository, so every page is named by its absolute path through ``page``.
"""

from __future__ import annotations

from pathlib import Path

#: The page scripts, one folder per navigation section.
PAGES = Path(__file__).resolve().parents[1] / "pages"


def page(name: str) -> str:
    """The page script ``name`` (``"remediate/review.py"``) as an absolute path.

    Examples
    --------
    >>> page("remediate/review.py").endswith("pages/remediate/review.py")
    True
    """
    return str(PAGES / name)
