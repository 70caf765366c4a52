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
from itertools import accumulate
from typing import Any

import orjson
import pyarrow as pa

from tweetsense.columnar.schema import DRIVER
from tweetsense.columnar.words import words
from tweetsense.contracts import full_text, included_texts, unescape_text

_HOST = re.compile(r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:@]+)")
# The columns ``derived`` fills.
DERIVED = ("post_type", "retweeted_id", "referenced_json", "drivers", "terms")
# referenced_tweets' types, strongest first: the first one a post has is its type.
_TYPES = (("retweeted", "repost"), ("quoted", "quote"), ("replied_to", "reply"))


Derived = tuple[str, str | None, str | None, list[tuple[str, str]], str | None]


def derived(post: Any, originals: dict[str, str | None]) -> Derived:
    """The post row's ``post_type``, ``retweeted_id``, ``referenced_json``, ``drivers`` (as
    (kind, term) pairs) and ``terms`` (None when it names nothing)."""
    if not isinstance(post, dict):
        return "original", None, None, [], None
    raw = post.get("referenced_tweets")
    post_type, reposted, referenced = "original", None, None
    if isinstance(raw, list):
        refs = [r for r in raw if isinstance(r, dict)]
        kinds = {r.get("type") for r in refs}
        post_type = next((name for kind, name in _TYPES if kind in kinds), "original")
        reposted = next((r.get("id") for r in refs if r.get("type") == "retweeted"), None)
        listed = [{"type": r.get("type"), "id": r.get("id")} for r in refs]
        referenced = orjson.dumps(listed).decode()
    original = originals.get(reposted) if isinstance(reposted, str) else None
    text = original if original is not None else full_text(post)
    found = _named(post)
    if text:
        found.update(("term", w) for w in words(unescape_text(text)))
    # Kinds are distinct and none starts another, so "kind:term" lines sort as the pairs do.
    pairs = sorted(found)
    terms = "\n" + "\n".join(f"{kind}:{term}" for kind, term in pairs) + "\n" if pairs else None
    return post_type, reposted, referenced, pairs, terms


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
        else None
        for i in range(len(kinds))
    ]
    for column, values in zip(DERIVED, derived_columns(found), strict=True):
        table = table.set_column(table.schema.get_field_index(column), column, values)
    return table


def derived_columns(found: list[Derived | None]) -> list[pa.Array]:
    """``DERIVED``'s columns of rows that are posts (their ``derived``) or not (None)."""
    text = pa.string()
    rows: list[tuple[Any, ...]] = [f or (None, None, None, (), None) for f in found]
    pairs = [pair for f in rows for pair in f[3]]
    drivers = pa.ListArray.from_arrays(
        pa.array([0, *accumulate(len(f[3]) for f in rows)], pa.int32()),
        pa.StructArray.from_arrays(
            [pa.array([k for k, _ in pairs], text), pa.array([t for _, t in pairs], text)],
            fields=list(DRIVER),
        ),
        type=pa.list_(DRIVER),
        mask=pa.array([f is None for f in found]),
    )
    column = [pa.array([f[i] for f in rows], text) for i in (0, 1, 2, 4)]
    return [*column[:3], drivers, column[3]]
