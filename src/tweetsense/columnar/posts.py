"""What the batch needs of each post row beyond its values, found once, when its staging copy is
written: its type, the post a repost repeats, its references as JSON text, and its drivers.

A driver is what a post names: an entity (``entities.annotations``' normalized text, a
``context_annotations`` entity's name), a hashtag (``#tag``, lowercase), a mention (``@name``,
lowercase), a domain (the host of ``expanded_url``, else ``url``, without ``www.``) or a term (a
word of the text it is scored by, ``columnar.words``). ``terms`` lists them as sorted
``kind:term`` lines between newlines, so a driver's posts are found with one ``position()``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pyarrow as pa

from tweetsense.columnar.words import words
from tweetsense.contracts import full_text, included_texts, unescape_text

_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:@]+)")
# The columns ``derived`` fills.
DERIVED = ("post_type", "retweeted_id", "referenced_json", "drivers", "terms")
# referenced_tweets' types, strongest first: the first one a post has is its type.
_TYPES = (("retweeted", "repost"), ("quoted", "quote"), ("replied_to", "reply"))


def derived(post: Any, originals: dict[str, str | None]) -> dict[str, Any]:
    """The post row's ``post_type``, ``retweeted_id``, ``referenced_json``, ``drivers`` and
    ``terms`` (None when it names nothing)."""
    if not isinstance(post, dict):
        return {"post_type": "original", "drivers": []}
    refs = [r for r in _list(post.get("referenced_tweets")) if isinstance(r, dict)]
    kinds = {r.get("type") for r in refs}
    post_type = next((name for kind, name in _TYPES if kind in kinds), "original")
    reposted = next((r.get("id") for r in refs if r.get("type") == "retweeted"), None)
    raw = post.get("referenced_tweets")
    referenced = (
        orjson.dumps([{"type": r.get("type"), "id": r.get("id")} for r in refs]).decode()
        if isinstance(raw, list)
        else None
    )
    original = originals.get(reposted) if isinstance(reposted, str) else None
    text = original if original is not None else full_text(post)
    found = _named(post) | {("term", w) for w in words(unescape_text(text) if text else None)}
    lines = sorted(f"{kind}:{term}" for kind, term in found)
    return {
        "post_type": post_type,
        "retweeted_id": reposted,
        "referenced_json": referenced,
        "drivers": [{"kind": kind, "term": term} for kind, term in sorted(found)],
        "terms": "\n" + "\n".join(lines) + "\n" if lines else None,
    }


def _named(post: dict[str, Any]) -> set[tuple[str, str]]:
    entities = post.get("entities") if isinstance(post.get("entities"), dict) else {}
    found: set[tuple[str, str]] = set()
    for item in _list(entities.get("annotations")):
        _add(found, "entity", _field(item, "normalized_text"))
    for item in _list(post.get("context_annotations")):
        entity = item.get("entity") if isinstance(item, dict) else None
        _add(found, "entity", _field(entity, "name"))
    for item in _list(entities.get("hashtags")):
        tag = _field(item, "tag")
        _add(found, "hashtag", "#" + tag.lower() if tag is not None else None)
    for item in _list(entities.get("mentions")):
        name = _field(item, "username")
        _add(found, "mention", "@" + name.lower() if name is not None else None)
    for item in _list(entities.get("urls")):
        expanded = _field(item, "expanded_url")
        url = expanded if expanded is not None else _field(item, "url")
        _add(found, "domain", _host(url) if url is not None else None)
    return found


def _add(found: set[tuple[str, str]], kind: str, term: str | None) -> None:
    if kind == "entity" and term is not None:
        term = term.replace("\n", " ").strip()
    if term and term not in ("#", "@"):
        found.add((kind, term))


def _host(url: str) -> str:
    match = _HOST.search(url.lower().strip())
    host = match.group(2) if match else ""
    return host[4:] if host.startswith("www.") else host


def _field(item: Any, name: str) -> str | None:
    value = item.get(name) if isinstance(item, dict) else None
    return value if isinstance(value, str) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def with_derived(table: pa.Table, raw: dict[str, list[Any]]) -> pa.Table:
    """One staging copy's rows (``schema.STAGING``, derived columns null) with the derived
    columns filled from ``raw``: each row's ``referenced_tweets``, ``entities`` and
    ``context_annotations`` as the API has them."""
    kinds = table.column("kind").to_pylist()
    ids, texts = table.column("id").to_pylist(), table.column("text").to_pylist()
    notes = table.column("note_text").to_pylist()
    order = sorted(range(len(kinds)), key=table.column("position").to_pylist().__getitem__)
    originals = included_texts(
        [
            {"id": ids[i], "text": texts[i], "note_tweet": {"text": notes[i]}}
            for i in order
            if kinds[i] == "included"
        ]
    )
    found = [
        derived(
            {
                "text": texts[i],
                "note_tweet": {"text": notes[i]},
                **{name: values[i] for name, values in raw.items()},
            },
            originals,
        )
        if kinds[i] == "post"
        else {}
        for i in range(len(kinds))
    ]
    for column in DERIVED:
        index = table.schema.get_field_index(column)
        values = pa.array([f.get(column) for f in found], table.schema.field(column).type)
        table = table.set_column(index, column, values)
    return table
