"""Tweet text as the transformer models see it, in training and at run time alike.

The training pool (TweetEval) writes every mention as ``@user`` and has no links or emoji left,
so live posts are brought to the same form: mentions become ``@user``, links ``http``, and each
emoji its Unicode name in words ("😟" -> "worried face"), which the pretrained vocabulary knows
although it has no token for the emoji itself.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata

_MENTION = re.compile(r"@\w{1,15}")
_LINK = re.compile(r"https?://\S+|www\.\S+")
_SPACE = re.compile(r"\s+")
# Symbols worth a name: emoji and pictographs (So), not letters, digits or punctuation.
_NAMED_CATEGORIES = frozenset({"So"})
# Skin tones, variation selectors and joiners carry no sentiment; they only split emoji.
_DROP_CATEGORIES = frozenset({"Sk", "Mn", "Cf"})


@functools.lru_cache(maxsize=4096)
def _symbol(char: str) -> str:
    category = unicodedata.category(char)
    if category in _NAMED_CATEGORIES:
        name = unicodedata.name(char, "")
        return f" {name.lower()} " if name else " "
    if category in _DROP_CATEGORIES and not char.isspace():
        return "" if category != "Cf" else " "
    return char


def _has_symbols(text: str) -> bool:
    return any(ord(c) > 0x2000 for c in text)


def handles_and_links(text: str) -> str:
    """Mentions as ``@user`` and links as ``http``: what the cardiffnlp Twitter models expect."""
    return _LINK.sub("http", _MENTION.sub("@user", text))


def normalize(text: str) -> str:
    """One line of text: entities decoded, mentions and links replaced, emoji named."""
    text = handles_and_links(html.unescape(text))
    if _has_symbols(text):
        out: list[str] = []
        previous = ""
        for char in text:
            # A run of one emoji ("😂😂😂") says no more than one of it.
            mapped = char if ord(char) <= 0x2000 else _symbol(char)
            if mapped == char or char != previous:
                out.append(mapped)
            previous = char
        text = "".join(out)
    return _SPACE.sub(" ", text).strip()
