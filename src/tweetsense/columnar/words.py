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
_NOT_WORD = re.compile(r"[^a-z0-9']+")
_DIGITS = re.compile(r"[0-9']+")


def words(text: str | None) -> list[str]:
    """The distinct words of ``text``, in the order they first appear."""
    if not text:
        return []
    lowered = text.lower().replace("\u2019", "'")
    spaced = _NOT_WORD.sub(" ", _TAG.sub(" ", _LINK.sub(" ", lowered)))
    found: dict[str, None] = {}
    for token in spaced.split(" "):
        word = token.strip("'")
        if len(word) >= 3 and word not in STOPWORDS and not _DIGITS.fullmatch(word):
            found[word] = None
    return list(found)
