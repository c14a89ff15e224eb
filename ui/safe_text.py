"""Stored text shown as text in the few Streamlit places that read Markdown.

Widget labels, ``st.markdown``, ``st.caption``, ``st.info``/``st.success``/``st.warning``/``st.error``,
``st.metric`` labels and ``st.expander`` titles all read Markdown (links, images, ``:material/…:`` icons,
``:red[…]`` colours, LaTeX). Annotator ids, cohorts, labels, item ids and slice attributes come from
imported files, so they reach those places only through ``md``. ``st.text``, ``st.code``, tables and
charts (through ``charts.theme.plain``) need no escaping.
"""

from __future__ import annotations

import re
import string

_ESCAPED = frozenset(string.punctuation)
#: The renderer turns bare addresses into links even when escaped (GitHub's autolink literals: a scheme and
#: "://", "www." or an e-mail's "@"); an invisible word joiner before their last character breaks them.
_AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp|mailto|xmpp):|\bwww\.|(?<=[\w.+-])@")
_JOINER = "\u2060"


def md(value: object) -> str:
    """``value`` as a Markdown string that renders exactly as its characters.

    Every ASCII punctuation character is backslash-escaped (CommonMark renders an escaped punctuation
    character literally), line breaks become spaces, and a word joiner (U+2060, invisible) splits what
    would read as a bare web or e-mail address, so a stored string can neither open a link, an image, a
    directive nor a new block.

    Examples
    --------
    >>> md("![px](http://x.test/a.png)")
    '\\\\!\\\\[px\\\\]\\\\(http\u2060\\\\:\\\\/\\\\/x\\\\.test\\\\/a\\\\.png\\\\)'
    >>> md("ann-7")
    'ann\\\\-7'
    """
    text = " ".join(str(value).splitlines())
    text = _AUTOLINK.sub(lambda m: m.group(0)[:-1] + _JOINER + m.group(0)[-1], text)
    return "".join("\\" + ch if ch in _ESCAPED else ch for ch in text)
