"""Stored text shown as text in the few Streamlit places that read Markdown.

Widget labels, ``st.markdown``, ``st.caption``, ``st.info``/``st.success``/``st.warning``/``st.error``,
``st.metric`` labels and ``st.expander`` titles all read Markdown (links, images, ``:material/…:`` icons,
``:red[…]`` colours, LaTeX). Annotator ids, cohorts, labels, item ids and slice attributes come from
imported files, so they reach those places only through ``md``. ``st.text``, ``st.code``, tables and
charts (through ``charts.theme.plain``) need no escaping.
"""

from __future__ import annotations

import string

_ESCAPED = frozenset(string.punctuation)


def md(value: object) -> str:
    """``value`` as a Markdown string that renders exactly as its characters.

    Every ASCII punctuation character is backslash-escaped (CommonMark renders an escaped punctuation
    character literally), and line breaks become spaces, so a stored string can neither open a link, an
    image, a directive nor a new block.

    Examples
    --------
    >>> md("![px](http://x.test/a.png)")
    '\\\\!\\\\[px\\\\]\\\\(http\\\\:\\\\/\\\\/x\\\\.test\\\\/a\\\\.png\\\\)'
    >>> md("ann-7")
    'ann\\\\-7'
    """
    text = " ".join(str(value).splitlines())
    return "".join("\\" + ch if ch in _ESCAPED else ch for ch in text)
