"""CSV exports for the replay source: posts as X API v2 post and user objects.

Three spellings of the columns are read, told apart by the header alone:

* plain: ``id, created_at, text`` and optional ``author_id, username, name, verified, location,
  lang, conversation_id``;
* twarc-csv (``twarc2 csv``): the same post columns, the author as ``author.*``, references as
  ``referenced_tweets.<type>.id``, counts as ``public_metrics.*``, entities as ``entities.*``
  and ``context_annotations`` (JSON lists; hashtags, mentions and urls as plain strings unless
  written with --no-process-entities), read back into the API's objects; it writes line breaks
  in text as the two characters ``\\n``, read back here as line breaks;
* any other export, through the ``columns`` setting: our field name -> the file's column name.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, get_args

from tweetsense.errors import BadInputError
from tweetsense.sources.replay_counts import count_column
from tweetsense.sources.replay_values import (
    BadRecord,
    read_count,
    read_flag,
    read_id,
    read_time,
)
from tweetsense.timeutil import format_utc

CsvField = Literal[
    "id",
    "created_at",
    "text",
    "author_id",
    "username",
    "name",
    "verified",
    "location",
    "lang",
    "conversation_id",
]
REQUIRED = ("id", "created_at", "text")
_POST_TEXT = ("lang",)
_POST_IDS = ("conversation_id",)
_USER_TEXT = ("username", "name", "location")
# twarc-csv's names, tried after ours.
_TWARC_NAMES = {
    "author_id": "author.id",
    "username": "author.username",
    "name": "author.name",
    "verified": "author.verified",
    "location": "author.location",
}
_TWARC_MARK = re.compile(r"(author|referenced_tweets|public_metrics|entities|__twarc)\.")
_ENTITY = re.compile(r"entities\.(hashtags|cashtags|mentions|urls|annotations)")
_REFERENCE = re.compile(r"referenced_tweets\.(\w+)\.id")
_METRIC = re.compile(r"public_metrics\.(\w+)")


@dataclass(frozen=True)
class CsvLayout:
    """Where each field is in the rows of one file."""

    header: list[str]
    at: dict[str, int]  # our field -> column index
    references: list[tuple[str, int]]  # (reference type, column index)
    metrics: list[tuple[str, int]]  # (public_metrics key, column index)
    twarc: bool
    entities: list[tuple[str, int]]  # (entities key, column index)
    topics: int | None  # the context_annotations column

    @classmethod
    def of(cls, header: list[str], columns: dict[str, str], path: Path) -> CsvLayout:
        names = {name.strip().lower(): i for i, name in enumerate(header)}
        twarc = any(_TWARC_MARK.match(name) for name in names)
        at: dict[str, int] = {}
        for field in get_args(CsvField):
            wanted = columns.get(field)
            if wanted is not None:
                if wanted.strip().lower() not in names:
                    raise BadInputError(
                        f"{path}:1: CSV header lacks column {wanted!r} (source.columns.{field}); "
                        f"the header has {', '.join(repr(h) for h in header[:12])}"
                    )
                at[field] = names[wanted.strip().lower()]
            elif field in names:
                at[field] = names[field]
            elif _TWARC_NAMES.get(field) in names:
                at[field] = names[_TWARC_NAMES[field]]
        missing = [field for field in REQUIRED if field not in at]
        if missing:
            raise BadInputError(f"{path}:1: {_not_posts(names) or _lacks(missing[0])}")
        return cls(
            header,
            at,
            [(m[1], i) for name, i in names.items() if (m := _REFERENCE.fullmatch(name))],
            [(m[1], i) for name, i in names.items() if (m := _METRIC.fullmatch(name))],
            twarc,
            [(m[1], i) for name, i in names.items() if (m := _ENTITY.fullmatch(name))],
            names.get("context_annotations") if twarc else None,
        )

    def read(self, row: list[str], at: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The post of ``row``, and its author when the row names one."""

        def cell(index: int | None) -> str:
            if index is None or index >= len(row):
                return ""
            # twarc-csv escapes line breaks in every text cell and drops carriage returns; it
            # leaves backslashes alone, so a backslash-n the author typed reads back as a break.
            return row[index].replace("\\n", "\n") if self.twarc else row[index]

        def value(field: str) -> str:
            return cell(self.at.get(field))

        post: dict[str, Any] = {"id": read_id(value("id").strip(), at, "id")}
        created = value("created_at").strip()
        # Rewritten in the API's own spelling so later stages read one time format.
        post["created_at"] = format_utc(read_time(created, at, "created_at")[0]) if created else ""
        post["text"] = value("text")
        user: dict[str, Any] | None = None
        author_id = value("author_id").strip()
        if author_id:
            post["author_id"] = user_id = read_id(author_id, at, "author_id")
            user = {"id": user_id}
            for field in _USER_TEXT:
                if text := value(field).strip():
                    user[field] = text
            if flag := value("verified").strip():
                user["verified"] = read_flag(flag, at, "verified")
        for field in _POST_TEXT:
            if text := value(field).strip():
                post[field] = text
        for field in _POST_IDS:
            if text := value(field).strip():
                post[field] = read_id(text, at, field)
        references = [
            {"type": kind, "id": read_id(ref, at, f"referenced_tweets.{kind}.id")}
            for kind, i in self.references
            if (ref := cell(i).strip())
        ]
        if references:
            post["referenced_tweets"] = references
        metrics = {
            key: read_count(count, at, f"public_metrics.{key}")
            for key, i in self.metrics
            if (count := cell(i).strip())
        }
        if metrics:
            post["public_metrics"] = metrics
        entities = {
            key: [_entity(key, item) for item in items]
            for key, i in self.entities
            if (items := _json_list(row, i, at, f"entities.{key}"))
        }
        if entities:
            post["entities"] = entities
        if topics := _json_list(row, self.topics, at, "context_annotations"):
            post["context_annotations"] = topics
        return post, user

    def payload(self, row: list[str]) -> dict[str, str]:
        """The row as the file wrote it, by column name, for the quarantine."""
        return dict(zip(self.header, row, strict=False))


def read_rows(
    path: Path, stream: IO[bytes], columns: dict[str, str]
) -> Iterator[tuple[CsvLayout, int, list[str]]]:
    """Each non-blank row with the line it starts on (a quoted cell may span lines)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        raise BadInputError(
            f"{path}:1: malformed CSV header ({exc}); re-export the file as UTF-8 CSV"
        ) from None
    layout = CsvLayout.of(header, columns, path)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            # The quoting is lost from here on, so no later row can be trusted either.
            raise BadInputError(
                f"{path}:{start}: malformed CSV ({exc}); fix the row or re-export as UTF-8"
            ) from None
        if any(cell.strip() for cell in row):
            yield layout, start, row
        start = reader.line_num + 1


def _json_list(row: list[str], index: int | None, at: str, column: str) -> list[Any]:
    # Read from the raw cell: a "\\n" inside JSON is an escape, not one of twarc-csv's breaks.
    text = row[index].strip() if index is not None and index < len(row) else ""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise BadRecord(f"{at}column {column} is not a JSON list; re-export the file")
    return value


def _entity(key: str, item: Any) -> Any:
    """twarc-csv's plain strings ('#ev', '@ana', a link) back as the API's entity objects."""
    if not isinstance(item, str):
        return item
    if key in ("hashtags", "cashtags"):
        return {"tag": item[1:] if item[:1] in "#$" else item}
    if key == "mentions":
        return {"username": item.removeprefix("@")}
    if key == "urls":
        return {"expanded_url": item} if "://" in item else {"display_url": item}
    return item


def _not_posts(names: dict[str, int]) -> str | None:
    if count_column(list(names)):
        return (
            "a counts file (post volumes per bucket), not posts; point source.path at posts "
            "and give counts as source.counts_path"
        )
    if "username" in names and "text" not in names:
        return "a users file (user profiles), not posts; point source.path at posts"
    return None


def _lacks(field: str) -> str:
    return (
        f"CSV header lacks column {field!r}; the header needs {', '.join(REQUIRED)}, or name "
        "your columns in source.columns (for example {id: tweet_id, created_at: date})"
    )
