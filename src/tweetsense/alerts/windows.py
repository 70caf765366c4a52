"""The windows the rules look at, read from the batch's windows output."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tweetsense.errors import BadInputError
from tweetsense.timeutil import parse_utc

if TYPE_CHECKING:
    from tweetsense.staging.base import Store

_COLUMNS = ("time_window", "count_tweets", "perc_tweet_positive", "perc_tweet_negative")


@dataclass(frozen=True)
class Row:
    start: datetime
    posts: int  # posts read and scored in the window
    volume: float  # posts matching the query: the counted volume when there is one, else posts
    negative: float  # share of the posts, 0..1
    net: float  # positive share minus negative share, -1..1


def read_rows(store: Store, key: str) -> list[Row]:
    """The windows of the output at ``key`` in time order; none when there is no output yet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        data = store.get(key)
    except KeyError:
        return []
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise BadInputError(
            f"{store.uri(key)}: the windows output cannot be read ({exc}); run `tweetsense batch`"
        ) from None
    missing = [c for c in _COLUMNS if c not in table.column_names]
    if missing:
        raise BadInputError(
            f"{store.uri(key)}: the windows output lacks {', '.join(missing)}; "
            "run `tweetsense batch` again"
        )
    table = table.sort_by("time_window")
    col = {name: table.column(name).to_pylist() for name in _COLUMNS}
    has_volume = "volume" in table.column_names
    volume = table.column("volume").to_pylist() if has_volume else col["count_tweets"]
    rows = []
    for start, posts, counted, positive, negative in zip(
        col["time_window"],
        col["count_tweets"],
        volume,
        col["perc_tweet_positive"],
        col["perc_tweet_negative"],
        strict=True,
    ):
        posts, positive, negative = posts or 0, positive or 0.0, negative or 0.0
        counted = counted if counted is not None else posts
        rows.append(Row(parse_utc(start), posts, float(counted), negative, positive - negative))
    return rows
