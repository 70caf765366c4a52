"""Saved post counts for the replay source (``counts_path``): ``twarc2 counts`` output.

* CSV, as ``twarc2 counts --csv`` writes it: ``start,end,<granularity>_count`` (``hour_count``,
  ``minute_count``, ``day_count``; ``tweet_count`` and ``post_count`` are read too). A ``query``
  column (``twarc2 searches --counts-only``) must hold one query only.
* JSONL, as ``twarc2 counts`` writes it: one counts response per line, ``{"data": [{"start",
  "end", "tweet_count"}], "meta": {...}}``; a JSON file holding one response or a list of them.

Either may be gzip-compressed. The buckets are summed into the replay's windows by
``x_counts.sum_buckets``, which leaves out a window the buckets do not cover whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tweetsense.errors import BadInputError
from tweetsense.sources.replay_values import open_binary
from tweetsense.sources.x_counts import Bucket, read_bucket

_COUNT_COLUMNS = ("tweet_count", "post_count")


def read_counts(paths: list[Path]) -> list[Bucket]:
    """Every bucket of the counts files, in file order."""
    buckets: list[Bucket] = []
    for path in paths:
        try:
            buckets.extend(_read_file(path))
        except (OSError, EOFError) as exc:
            raise BadInputError(
                f"{path}: cannot be read ({exc}); check that the file is complete and readable"
            ) from None
    return buckets


def _read_file(path: Path) -> Iterator[Bucket]:
    with open_binary(path) as stream:
        name = path.name.lower().removesuffix(".gz")
        rows = _csv_rows(path, stream) if name.endswith(".csv") else _json_rows(path, stream)
        for line, item in rows:
            try:
                yield read_bucket(item)
            except ValueError as exc:
                raise BadInputError(
                    f"{path}:{line}: {exc}; source.counts_path takes twarc2 counts output"
                ) from None


def count_column(header: list[str]) -> str | None:
    """The column holding the counts of a counts CSV header, or None if it is not one."""
    names = [name.strip().lower() for name in header]
    if "start" not in names or "end" not in names:
        return None
    return next((n for n in names if n in _COUNT_COLUMNS or n.endswith("_count")), None)


def _csv_rows(path: Path, stream: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=""))
    header = next(reader, None)
    column = count_column(header or [])
    if header is None or column is None:
        raise BadInputError(
            f"{path}:1: not a counts CSV (its header needs start, end and a count column such "
            "as hour_count); write it with twarc2 counts --csv"
        )
    names = [name.strip().lower() for name in header]
    queries: set[str] = set()
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        item = dict(zip(names, row, strict=False))
        if "query" in item:
            queries.add(item["query"])
            if len(queries) > 1:
                raise BadInputError(
                    f"{path}:{line}: counts of several queries; keep the rows of the query "
                    "the replay holds posts of"
                )
        yield line, {"start": item["start"], "end": item["end"], "tweet_count": item[column]}


def _json_rows(path: Path, stream: IO[bytes]) -> Iterator[tuple[int, Any]]:
    text = stream.read().decode("utf-8-sig")
    try:
        values = [(1, json.loads(text))]
    except ValueError:
        values = []
        for line, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                try:
                    values.append((line, json.loads(raw)))
                except ValueError as exc:
                    raise BadInputError(
                        f"{path}:{line}: malformed JSON ({exc}); fix or delete that line"
                    ) from None
    for line, value in values:
        for response in value if isinstance(value, list) else [value]:
            data = response.get("data") if isinstance(response, dict) else None
            if not isinstance(data, list):
                raise BadInputError(
                    f"{path}:{line}: not a counts response (no data list of start, end, "
                    "tweet_count); write it with twarc2 counts"
                )
            for item in data:
                yield line, item
