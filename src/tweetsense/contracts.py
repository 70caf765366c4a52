"""The data contracts between stages: staging files, stream records, sentiment files.

Each is plain JSON with a ``schema`` tag so a reader can refuse a file it does not understand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson

from tweetsense.errors import BadInputError
from tweetsense.timeutil import Window, format_utc, parse_utc

STAGING_SCHEMA = "tweetsense.staging/1"
SENTIMENT_SCHEMA = "tweetsense.sentiment/1"
RECORD_SCHEMA = "tweetsense.record/1"
# Every sentiment label, defined here once, in the order of Amazon Comprehend's four scores.
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")


def _loads(data: bytes, what: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadInputError(
            f"{what}: malformed JSON ({exc}); delete it and rerun the stage"
        ) from None
    if not isinstance(doc, dict):
        raise BadInputError(f"{what}: expected a JSON object at the top level")
    return doc


def unescape_text(text: str) -> str:
    """A post's text as its author wrote it: the X API escapes exactly these three characters.
    The batch engines apply the same replacements in SQL, in the same order."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def full_text(post: dict[str, Any]) -> str | None:
    """A post's whole text: ``note_tweet.text`` when the post is long, else ``text``."""
    note = post.get("note_tweet")
    if isinstance(note, dict) and isinstance(note.get("text"), str):
        return note["text"]
    text = post.get("text")
    return text if isinstance(text, str) else None


def included_texts(posts: Iterable[Any]) -> dict[str, str | None]:
    """Whole text of each of ``posts`` (a file's ``includes.tweets``), by id; later copies win."""
    texts: dict[str, str | None] = {}
    for post in posts:
        tid = post.get("id") if isinstance(post, dict) else None
        if isinstance(tid, str | int) and not isinstance(tid, bool):
            texts[str(tid)] = full_text(post)
    return texts


def retweeted_id(post: dict[str, Any]) -> str | None:
    """The id of the post a repost repeats (its first ``retweeted`` reference), else None."""
    refs = post.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, dict) and ref.get("type") == "retweeted":
            rid = ref.get("id")
            return str(rid) if isinstance(rid, str | int) and not isinstance(rid, bool) else None
    return None


def _envelope(schema: str, query: str, window: Window, fields: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "schema": schema,
            "query": query,
            "window_start": format_utc(window.start),
            "window_end": format_utc(window.end),
            **fields,
        }
    )


@contextmanager
def _opened(data: bytes, what: str, schema: str) -> Iterator[tuple[dict[str, Any], Window]]:
    """The document and its window; a missing or malformed field becomes one BadInputError."""
    doc = _loads(data, what)
    if doc.get("schema") != schema:
        raise BadInputError(f"{what}: schema is {doc.get('schema')!r}, not {schema}")
    try:
        yield doc, Window(parse_utc(doc["window_start"]), parse_utc(doc["window_end"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadInputError(f"{what}: field {exc} is missing or malformed") from None


@dataclass
class StagingDoc:
    """Raw X API v2 search response pages for one window, exactly as the source returned them."""

    query: str
    window: Window
    source: str
    pages: list[dict[str, Any]]
    # Posts matching the query in the window by the source's count (``Source.volumes``), of
    # which ``pages`` hold a sample; None when not counted.
    volume: int | None = None

    def encode(self) -> bytes:
        fields: dict[str, Any] = {"source": self.source, "pages": self.pages}
        if self.volume is not None:
            fields["volume"] = self.volume
        return _envelope(STAGING_SCHEMA, self.query, self.window, fields)

    @classmethod
    def decode(cls, data: bytes, what: str = "staging file") -> StagingDoc:
        with _opened(data, what, STAGING_SCHEMA) as (doc, window):
            if not isinstance(doc["pages"], list):
                raise KeyError("pages")  # reported like a missing field
            volume = doc.get("volume")
            if volume is not None and (not isinstance(volume, int) or isinstance(volume, bool)):
                raise KeyError("volume")
            return cls(doc["query"], window, doc.get("source", ""), doc["pages"], volume)

    def tweet_texts(self) -> list[tuple[str, str]]:
        """(tweet_id, text) of every post in the pages' ``data``: the text to score and store.

        A long post's ``text`` is cut short and its whole text is ``note_tweet.text``; a
        repost's ``text`` is "RT @user: " and a cut-short copy, so it takes the whole text of
        the original from ``includes.tweets`` (the last copy in the file), or keeps its own
        when the page did not include the original. The batch job applies the same rules."""
        originals = self._included_texts()
        pairs = []
        for p, page in enumerate(self.pages):
            posts = page.get("data") if isinstance(page, dict) else None
            if posts is not None and not isinstance(posts, list):
                raise BadInputError(f"window {self.window.id}: page {p} field data is not a list")
            for i, tweet in enumerate(posts or ()):
                tid = tweet.get("id") if isinstance(tweet, dict) else None
                text = tweet.get("text") if isinstance(tweet, dict) else None
                if not isinstance(tid, str | int) or isinstance(tid, bool) or not str(tid):
                    raise BadInputError(
                        f"window {self.window.id}: page {p} post {i} field id is missing or not "
                        "a string"
                    )
                if text is not None and not isinstance(text, str):
                    raise BadInputError(
                        f"window {self.window.id}: page {p} post {i} (id {str(tid)!r}) field "
                        "text is not a string"
                    )
                original = originals.get(retweeted_id(tweet) or "")
                text = original if original is not None else full_text(tweet)
                pairs.append((str(tid), unescape_text(text or "")))
        return pairs

    def _included_texts(self) -> dict[str, str | None]:
        """Whole text of each post in the pages' ``includes.tweets``, by id; later copies win."""
        included = []
        for page in self.pages:
            includes = page.get("includes") if isinstance(page, dict) else None
            posts = includes.get("tweets") if isinstance(includes, dict) else None
            included.extend(posts if isinstance(posts, list) else ())
        return included_texts(included)

    @property
    def tweet_count(self) -> int:
        return sum(len(page.get("data") or ()) for page in self.pages)


@dataclass
class WindowRecord:
    """One stream record: a window's posts to score."""

    query: str
    slug: str
    window: Window
    staging_key: str
    tweets: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Partition key: one window always lands on the same shard/partition."""
        return f"{self.slug}/{self.window.id}"

    def encode(self) -> bytes:
        fields = {"slug": self.slug, "staging_key": self.staging_key, "tweets": self.tweets}
        return _envelope(RECORD_SCHEMA, self.query, self.window, fields)

    def digest(self) -> str:
        return hashlib.sha256(orjson.dumps(self.tweets)).hexdigest()

    @classmethod
    def decode(cls, data: bytes, what: str = "stream record") -> WindowRecord:
        with _opened(data, what, RECORD_SCHEMA) as (doc, window):
            tweets = [(str(i), str(t)) for i, t in doc["tweets"]]
            return cls(doc["query"], doc["slug"], window, doc["staging_key"], tweets)


@dataclass
class SentimentDoc:
    """Scores for every post of one window, 1:1 with its staging file."""

    query: str
    window: Window
    analyzer: str
    staging_key: str
    input_digest: str  # of the scored (id, text) pairs: a rerun on the same input is skipped
    scores: list[dict[str, Any]]

    def encode(self) -> bytes:
        fields = {
            "input_digest": self.input_digest,
            "analyzer": self.analyzer,
            "staging_key": self.staging_key,
            "scores": self.scores,
        }
        return _envelope(SENTIMENT_SCHEMA, self.query, self.window, fields)

    @classmethod
    def decode(cls, data: bytes, what: str = "sentiment file") -> SentimentDoc:
        with _opened(data, what, SENTIMENT_SCHEMA) as (doc, window):
            return cls(
                doc["query"],
                window,
                doc["analyzer"],
                doc["staging_key"],
                doc.get("input_digest", ""),
                doc["scores"],
            )
