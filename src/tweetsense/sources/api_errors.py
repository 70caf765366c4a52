"""The ``errors`` arrays of X API v2 pages: what the API said it could not return.

A 200 page may carry ``errors`` beside ``data`` (a referenced post was deleted: "Could not
find tweet with referenced_tweets.id: [123].") or instead of it (every post of the answer is
unavailable, or the query names a suspended user: "User has been suspended: [name]."). Such a
page is staged as sent, so these figures can be made again from any staged window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

MAX_DETAILS = 3  # distinct details kept as examples; the counts cover every error


@dataclass
class ApiErrors:
    only_errors: int = 0  # pages that held errors and no posts
    beside_data: int = 0  # error items in pages that also held posts
    details: list[str] = field(default_factory=list)  # the first distinct details, verbatim

    @classmethod
    def of_pages(cls, pages: Iterable[dict[str, Any]]) -> ApiErrors:
        found = cls()
        for page in pages:
            errors = page.get("errors") if isinstance(page, dict) else None
            if not errors or not isinstance(errors, list):
                continue
            if page.get("data"):
                found.beside_data += len(errors)
            else:
                found.only_errors += 1
            for item in errors:
                found._keep(_detail(item))
        return found

    def add(self, other: ApiErrors) -> None:
        self.only_errors += other.only_errors
        self.beside_data += other.beside_data
        for detail in other.details:
            self._keep(detail)

    def __bool__(self) -> bool:
        return bool(self.only_errors or self.beside_data)

    def counts(self) -> str:
        """'1 page with only errors, 3 errors beside posts' (the parts that are not zero)."""
        parts = []
        if self.only_errors:
            s = "" if self.only_errors == 1 else "s"
            parts.append(f"{self.only_errors:,} page{s} with only errors")
        if self.beside_data:
            s = "" if self.beside_data == 1 else "s"
            parts.append(f"{self.beside_data:,} error{s} beside posts")
        return ", ".join(parts)

    def line(self) -> str:
        """The counts and the first detail, as the API wrote it."""
        first = f" (first: {self.details[0]})" if self.details else ""
        return f"{self.counts()}{first}"

    def _keep(self, detail: str | None) -> None:
        if detail and detail not in self.details and len(self.details) < MAX_DETAILS:
            self.details.append(detail)


def _detail(item: object) -> str | None:
    """The item's ``detail`` (the text that names the post or user), else its ``title``."""
    if not isinstance(item, dict):
        return None
    for key in ("detail", "title", "message"):
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return None
