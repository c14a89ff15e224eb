"""Stored text escaped for Streamlit's Markdown: checked against a real CommonMark renderer's rules."""

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
    assert "".join(unescaped) == " ".join(text.splitlines())


def test_plain_words_pass_through():
    assert md("crowd worker 12") == "crowd worker 12"
