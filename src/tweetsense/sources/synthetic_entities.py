"""Entities for synthetic posts, in the X API v2 shapes: ``entities`` (hashtags, mentions, urls,
annotations) and ``context_annotations``.

They are found in a post's text after it is written, so their offsets always match it. Offsets
count code points, as the API's do, which is how Python indexes a str.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Mapping
from typing import Any

# X's context annotation domains for the names a kit uses (ids as the API spells them).
_BRAND_DOMAIN = {"id": "47", "name": "Brand", "description": "Brands and Companies"}
_PRODUCT_DOMAIN = {"id": "48", "name": "Product", "description": "Products created by Brands."}
_TOPIC_DOMAIN = {"id": "131", "name": "Unified Twitter Taxonomy"}
_CONTEXT_DOMAINS = {
    "Organization": _BRAND_DOMAIN,
    "Product": _PRODUCT_DOMAIN,
    "Other": _TOPIC_DOMAIN,
}

# How sure the API's recognizer is of an annotation, drawn from 1,024 values in 0.55..1.
_PROBABILITIES = tuple(round(0.55 + 0.45 * i / 1023, 4) for i in range(1024))
_DISPLAY_LENGTH = 23  # display_url keeps this many characters and marks the cut with "…"


def _entity_id(name: str) -> str:
    """A stable id for a named entity, the same in every run and process."""
    return str(10**17 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8]) % 10**18)


def display_url(expanded: str) -> str:
    """The short form X shows for a link: no scheme, no "www.", cut at 23 characters."""
    shown = expanded.split("://", 1)[-1].removeprefix("www.")
    return shown if len(shown) <= _DISPLAY_LENGTH else shown[:_DISPLAY_LENGTH] + "…"


class EntityFinder:
    """Finds one query kit's hashtags, mentions, links and named entities in a post's text.

    ``names`` maps annotation types (Person, Organization, Place, Product, Other) to the names
    the kit writes; ``users`` maps a lowercased username to the account's (username, id).
    """

    def __init__(
        self, names: Mapping[str, Iterable[str]], users: Mapping[str, tuple[str, str]]
    ) -> None:
        self._types: dict[str, str] = {}
        self._contexts: dict[str, dict[str, Any]] = {}
        for kind, values in names.items():
            for name in values:
                self._types[name] = kind
                domain = _CONTEXT_DOMAINS.get(kind)
                if domain is not None:
                    entity = {"id": _entity_id(name), "name": name[:1].upper() + name[1:]}
                    self._contexts[name] = {"domain": domain, "entity": entity}
        self._users = users
        alternatives = "|".join(re.escape(n) for n in sorted(self._types, key=len, reverse=True))
        # One scan finds every kind. No lookbehinds: they would defeat the regex engine's fast
        # search, so the edges are checked after a match.
        self._pattern = re.compile(
            r"#\w+|@\w{1,15}|https://t\.co/[A-Za-z0-9]+"
            + (f"|{alternatives}" if alternatives else "")
        )

    def find(
        self,
        text: str,
        rng: random.Random,
        links: tuple[str, ...],
        quoted: str | None = None,
    ) -> tuple[dict[str, list[dict[str, Any]]] | None, list[dict[str, Any]] | None]:
        """``entities`` and ``context_annotations`` of ``text``, each None when empty.

        Links expand to one of ``links`` (URL prefixes) and a random tail, except the last link
        of a quote, which expands to ``quoted``.
        """
        entities: dict[str, list[dict[str, Any]]] = {}
        contexts: list[dict[str, Any]] = []
        for match in self._pattern.finditer(text):
            start, end = match.span()
            before = text[start - 1] if start else " "
            if before.isalnum() or before == "_":
                continue
            found = match.group()
            mark = found[0]
            if mark == "#":
                if before in "&#@":
                    continue
                item = {"start": start, "end": end, "tag": found[1:]}
                entities.setdefault("hashtags", []).append(item)
            elif mark == "@":
                user = self._users.get(found[1:].lower())
                if user is None or before == "@":
                    continue
                item = {"start": start, "end": end, "username": user[0], "id": user[1]}
                entities.setdefault("mentions", []).append(item)
            elif found.startswith("https://t.co/"):
                if quoted is not None and end == len(text):
                    expanded = quoted
                else:
                    expanded = f"{links[int(rng.random() * len(links))]}{rng.getrandbits(30):x}"
                item = {
                    "start": start,
                    "end": end,
                    "url": found,
                    "expanded_url": expanded,
                    "display_url": display_url(expanded),
                }
                entities.setdefault("urls", []).append(item)
            else:
                after = text[end : end + 1]
                if after.isalnum() or after == "_":
                    continue
                item = {
                    "start": start,
                    "end": end - 1,  # the API's annotation end is inclusive
                    "probability": _PROBABILITIES[rng.getrandbits(10)],
                    "type": self._types[found],
                    "normalized_text": found,
                }
                entities.setdefault("annotations", []).append(item)
                context = self._contexts.get(found)
                if context is not None and context not in contexts:
                    contexts.append(context)
        return entities or None, contexts or None


def repost_entities(
    original: dict[str, Any], username: str, user_id: str, cut: int | None
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]] | None]:
    """A repost's entities: the "RT @user: " mention, then the original's entities moved past
    that prefix, without any that reach past ``cut``."""
    shift = len(username) + 6  # "RT @" before the name, ": " after it
    limit = len(original["text"]) + shift if cut is None else cut
    entities: dict[str, list[dict[str, Any]]] = {
        "mentions": [{"start": 3, "end": shift - 2, "username": username, "id": user_id}]
    }
    for kind, items in (original.get("entities") or {}).items():
        # An annotation's end is inclusive, the other kinds' exclusive.
        reach = 1 if kind == "annotations" else 0
        moved = [
            {**item, "start": item["start"] + shift, "end": item["end"] + shift}
            for item in items
            if item["end"] + shift + reach <= limit
        ]
        if moved:
            entities.setdefault(kind, []).extend(moved)
    contexts = original.get("context_annotations")
    if contexts is not None:
        contexts = [{"domain": dict(c["domain"]), "entity": dict(c["entity"])} for c in contexts]
    return entities, contexts


def copy_post(post: dict[str, Any]) -> dict[str, Any]:
    """A copy of a post deep enough that editing it leaves the original's lists untouched."""
    copied = dict(post)
    copied["public_metrics"] = dict(post["public_metrics"])
    copied["edit_history_tweet_ids"] = list(post["edit_history_tweet_ids"])
    entities = post.get("entities")
    if entities is not None:
        copied["entities"] = {k: [dict(e) for e in v] for k, v in entities.items()}
    contexts = post.get("context_annotations")
    if contexts is not None:
        copied["context_annotations"] = [
            {"domain": dict(c["domain"]), "entity": dict(c["entity"])} for c in contexts
        ]
    return copied
