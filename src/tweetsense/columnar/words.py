"""The words of each post's scored text, the ``term`` drivers: found once, when the staging copy
is written, so that no engine splits texts with regexes on every batch.

A word is a run of lowercase letters, digits and apostrophes (apostrophes trimmed from its
ends), at least 3 characters long, not a stopword and not only digits; links, hashtags and
mentions are drivers of their own kinds, not words. The scored text is the one the analyzers
score (``contracts.StagingDoc.tweet_texts``): a repost's original's whole text when the file
includes the original, else the post's own whole text.
"""

from __future__ import annotations

import re

from tweetsense.columnar.stopwords import STOPWORDS

_LINK = re.compile(r"(https?://|www\.)[^ \t\r\n]+")
_TAG = re.compile(r"[#@][a-z0-9_]+")
_TOKEN = re.compile(r"[a-z0-9']+")
_DIGITS = re.compile(r"[0-9']+")
# Token -> its word, or "" for none: a window's texts repeat most of their tokens.
_known: dict[str, str] = {}
_KNOWN_MAX = 100_000


def words(text: str | None) -> list[str]:
    """The distinct words of ``text``, in the order they first appear."""
    if not text:
        return []
    lowered = text.lower().replace("\u2019", "'")
    if "http" in lowered or "www." in lowered:
        lowered = _LINK.sub(" ", lowered)
    if "#" in lowered or "@" in lowered:
        lowered = _TAG.sub(" ", lowered)
    found: dict[str, None] = {}
    for token in _TOKEN.findall(lowered):
        word = _known.get(token)
        if word is None:
            word = _word(token)
            if len(_known) < _KNOWN_MAX:
                _known[token] = word
        if word:
            found[word] = None
    return list(found)


def _word(token: str) -> str:
    word = token.strip("'")
    return word if len(word) >= 3 and word not in STOPWORDS and not _DIGITS.fullmatch(word) else ""
