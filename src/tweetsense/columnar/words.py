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
from typing import Any

import pyarrow as pa

from tweetsense.columnar.stopwords import STOPWORDS
from tweetsense.contracts import unescape_text

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


def with_words(table: pa.Table) -> pa.Table:
    """A staging copy (one window file's rows) with each post row's ``words`` set."""
    rows = table.select(["kind", "id", "text", "note_text", "referenced_tweets", "position"])
    columns: dict[str, list[Any]] = rows.to_pydict()
    included: dict[str, tuple[int, str | None]] = {}
    for kind, tid, text, note, position in zip(
        columns["kind"], columns["id"], columns["text"], columns["note_text"],
        columns["position"], strict=True,
    ):  # fmt: skip
        # The last copy in the file wins, as it does for the scored text.
        if kind == "included" and (tid not in included or included[tid][0] < position):
            included[tid] = (position, note if note is not None else text)
    out: list[list[str] | None] = []
    for kind, text, note, refs in zip(
        columns["kind"], columns["text"], columns["note_text"], columns["referenced_tweets"],
        strict=True,
    ):  # fmt: skip
        if kind != "post":
            out.append(None)
            continue
        own = note if note is not None else text
        original = included.get(_reposted(refs) or "", (0, None))[1]
        scored = original if original is not None else own
        out.append(words(unescape_text(scored)) if scored is not None else [])
    index = table.schema.get_field_index("words")
    return table.set_column(index, "words", pa.array(out, pa.list_(pa.string())))


def _reposted(refs: list[dict[str, Any]] | None) -> str | None:
    for ref in refs or ():
        if ref.get("type") == "retweeted":
            return ref.get("id")
    return None
