"""The read API of ``Warehouse`` written once in SQL, for any driver that returns rows.

A backend supplies ``_rows(sql, params)`` and its driver's placeholder; every value is a
parameter and every identifier is quoted, so queries from a dashboard cannot change the SQL.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime
from typing import Any, ClassVar

from tweetsense.contracts import LABELS
from tweetsense.warehouse.base import Warehouse
from tweetsense.warehouse.dialects import columns_sql, quote
from tweetsense.warehouse.schema import SENTIMENT, TWEET

_T, _S = quote(TWEET.name), quote(SENTIMENT.name)
_Q, _W = quote("query"), quote("time_window")


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


class SqlReads(Warehouse):
    mark: ClassVar[str] = "%s"  # the driver's positional placeholder

    @abstractmethod
    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Run one read-only statement; no rows (not an error) while the tables do not exist."""

    def _range(self, query: str, start: datetime | None, end: datetime | None) -> tuple[str, list]:
        m = self.mark
        where, params = f"{_Q} = {m}", [query]
        if start is not None:
            where += f" AND {_W} >= {m}"
            params.append(_utc(start))
        if end is not None:
            where += f" AND {_W} < {m}"
            params.append(_utc(end))
        return where, params

    def _read(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return [{k: _utc(v) for k, v in row.items()} for row in self._rows(sql, params)]

    def queries(self) -> list[str]:
        rows = self._read(f"SELECT DISTINCT {_Q} FROM {_S} ORDER BY {_Q}", [])
        return [r["query"] for r in rows]

    def windows(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        where, params = self._range(query, start, end)
        return self._read(
            f"SELECT {columns_sql(SENTIMENT)} FROM {_S} WHERE {where} ORDER BY {_W}", params
        )

    def tweets(
        self, query: str, window_start: datetime, limit: int = 20, label: str | None = None
    ) -> list[dict[str, Any]]:
        m = self.mark
        where, params = f"{_Q} = {m} AND {_W} = {m}", [query, _utc(window_start)]
        if label is not None:
            where += f" AND {quote('label')} = {m}"
            params.append(label)
        order = f"{quote('created_at')}, {quote('tweet_id')}"
        return self._read(
            f"SELECT {columns_sql(TWEET)} FROM {_T} WHERE {where} ORDER BY {order} "
            f"LIMIT {max(0, int(limit))}",
            params,
        )

    def summary(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, Any]:
        where, params = self._range(query, start, end)
        count = quote("count_tweets")
        shares = ", ".join(
            f"SUM({quote('perc_tweet_' + label.lower())} * {count}) AS {quote(label.lower())}"
            for label in LABELS
        )
        scores = ", ".join(
            f"SUM({quote('avg_' + label.lower())} * {count}) AS {quote('avg_' + label.lower())}"
            for label in LABELS
        )
        rows = self._read(
            f"SELECT COUNT(*) AS {quote('windows')}, SUM({count}) AS {quote('tweets')}, "
            f"MIN({_W}) AS {quote('first_window')}, MAX({_W}) AS {quote('last_window')}, "
            f"{shares}, {scores} FROM {_S} WHERE {where}",
            params,
        )
        row = rows[0] if rows else {}
        tweets = int(row.get("tweets") or 0)
        return {
            "query": query,
            "start": _utc(start),
            "end": _utc(end),
            "windows": int(row.get("windows") or 0),
            "tweets": tweets,
            "first_window": row.get("first_window"),
            "last_window": row.get("last_window"),
            "shares": {
                label: (float(row.get(label.lower()) or 0) / tweets if tweets else 0.0)
                for label in LABELS
            },
            "averages": {
                label: (float(row.get("avg_" + label.lower()) or 0) / tweets if tweets else 0.0)
                for label in LABELS
            },
        }

    def window_series(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, list[Any]]:
        where, params = self._range(query, start, end)
        names = [c for c in SENTIMENT.column_names if c not in ("query", "time_window")]
        epoch = f"CAST(EXTRACT(EPOCH FROM {_W}) AS BIGINT) AS {quote('time')}"
        cols = ", ".join(map(quote, names))
        sql = f"SELECT {epoch}, {cols} FROM {_S} WHERE {where} ORDER BY {_W}"
        return self._columns(sql, params, ["time", *names])

    def _columns(self, sql: str, params: list[Any], names: list[str]) -> dict[str, list[Any]]:
        """One list per selected column; drivers with a columnar fetch override this."""
        rows = self._rows(sql, params)
        return {n: [r[n] for r in rows] for n in names}

    def loaded_windows(self, query: str) -> set[datetime]:
        rows = self._read(f"SELECT {_W} FROM {_S} WHERE {_Q} = {self.mark}", [query])
        return {r["time_window"] for r in rows}
