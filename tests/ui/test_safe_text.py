"""Stored text escaped for Streamlit's Markdown: checked against a real CommonMark renderer's rules."""

import re

import pytest

from ui.safe_text import md


@pytest.mark.parametrize("text", [
    "![px](http://x.test/a.png)", "[x](http://x.test)", "<a href='http://x.test'>x</a>", ":red[alarm]",
    ":material/label:", "$x^2$", "**bold** _it_ `code`", "# heading", "line one\nline two", "ann-7",
])
def test_every_punctuation_character_is_escaped(text):
    escaped = md(text)
    unescaped, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            unescaped.append(escaped[i + 1])
            i += 2
        else:
            assert not (escaped[i].isascii() and not escaped[i].isalnum() and escaped[i] != " "), escaped
            unescaped.append(escaped[i])
            i += 1
    assert "".join(unescaped).replace("\u2060", "") == " ".join(text.splitlines())


def test_plain_words_pass_through():
    assert md("crowd worker 12") == "crowd worker 12"


@pytest.mark.parametrize("text", [
    "see http://x.test/a", "HTTPS://x.test", "www.x.test", "mail me: a.b+c@x.test", "ftp://x.test",
    "mailto:a@x.test", "ann-7 (www.x.test)",
])
def test_bare_addresses_cannot_become_links(text):
    # GitHub-flavoured autolink literals: a scheme and ':', 'www.' and an e-mail's '@' would be linked even
    # though every punctuation character is escaped; what is shown reads the same, but matches none of them.
    shown = md(text).replace("\\", "")
    assert shown.replace("\u2060", "") == text
    assert not re.search(r"(?i)\b(https?|ftp|mailto|xmpp):|\bwww\.|[\w.+-]@", shown)
