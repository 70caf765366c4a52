"""The read API of ``Warehouse`` written once in SQL, for any driver that returns rows.

A backend supplies ``_rows(sql, params)`` and its driver's placeholder; every value is a
parameter and every identifier is quoted, so queries from a dashboard cannot change the SQL.

Reads take an optional ``analyzer``: ``None`` reads the primary analyzer's tables (``tweet``,
``sentiment``); a name reads that analyzer's rows of ``sentiment_by_analyzer`` and
``tweet_score``, so it must be one of ``analyzers(query)``.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime
from typing import Any, ClassVar

from tweetsense.contracts import LABELS
from tweetsense.warehouse.base import Warehouse
from tweetsense.warehouse.dialects import columns_sql, quote
from tweetsense.warehouse.schema import (
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    TWEET,
    TWEET_SCORE,
    Table,
)

_T, _S = quote(TWEET.name), quote(SENTIMENT.name)
_TS, _SA = quote(TWEET_SCORE.name), quote(SENTIMENT_BY_ANALYZER.name)
_Q, _W, _A, _ID = quote("query"), quote("time_window"), quote("analyzer"), quote("tweet_id")
# The columns ``tweet_score`` holds per analyzer, read from it instead of ``tweet``.
_SCORED = ("label", "positive", "negative", "neutral", "mixed", "analyzer", "time_window")


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _epoch(column: str) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT) AS {quote('time')}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def agreement_sql(match: str, where: str, by_window: bool) -> str:
    """Agreement of two analyzers over the posts both scored, per window or overall.

    ``match`` selects the pairs (``a`` and ``b``, two ``tweet_score`` rows of one post) and
    ``where`` their windows, by ``time_window``. Cohen's kappa is (po - pe) / (1 - pe), with po
    = same / n and pe = chance / n^2, chance being the sum over labels of the two analyzers'
    counts multiplied; multiplied through by n^2 so that pe == 1 is an exact integer test.
    """
    window = f"{_W}, " if by_window else ""
    counted = " + ".join(
        f"SUM(CASE WHEN la = {_literal(label)} THEN 1 ELSE 0 END) * "
        f"SUM(CASE WHEN lb = {_literal(label)} THEN 1 ELSE 0 END)"
        for label in LABELS
    )
    double = "DOUBLE PRECISION"
    return (
        f"WITH pairs AS (SELECT a.{_W} AS {_W}, a.{quote('label')} AS la, "
        f"b.{quote('label')} AS lb FROM {_TS} a JOIN {_TS} b "
        f"ON b.{_Q} = a.{_Q} AND b.{_ID} = a.{_ID} WHERE {match}), "
        f"counts AS (SELECT {window}COUNT(*) AS n, "
        f"SUM(CASE WHEN la = lb THEN 1 ELSE 0 END) AS same, {counted} AS chance "
        f"FROM pairs WHERE {where}{f' GROUP BY {_W}' if by_window else ''}) "
        f"SELECT {_epoch(_W) + ', ' if by_window else ''}n, "
        f"CAST(same AS {double}) / n AS agreement, "
        f"CASE WHEN chance < n * n THEN (CAST(same AS {double}) * n - chance) / "
        f"(CAST(n AS {double}) * n - chance) END AS kappa "
        f"FROM counts WHERE n > 0{f' ORDER BY {_W}' if by_window else ''}"
    )


class SqlReads(Warehouse):
    mark: ClassVar[str] = "%s"  # the driver's positional placeholder

    @abstractmethod
    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Run one read-only statement; no rows (not an error) while the tables do not exist."""

    def _where(
        self, equal: dict[str, Any], start: datetime | None = None, end: datetime | None = None
    ) -> tuple[str, list]:
        """``column = value`` for each of ``equal`` (quoted names), and the range on windows."""
        m = self.mark
        terms, params = [f"{column} = {m}" for column in equal], list(equal.values())
        if start is not None:
            terms.append(f"{_W} >= {m}")
            params.append(_utc(start))
        if end is not None:
            terms.append(f"{_W} < {m}")
            params.append(_utc(end))
        return " AND ".join(terms) or "TRUE", params

    def _range(
        self,
        query: str,
        start: datetime | None,
        end: datetime | None,
        analyzer: str | None = None,
    ) -> tuple[str, list]:
        equal = {_Q: query} if analyzer is None else {_Q: query, _A: analyzer}
        return self._where(equal, start, end)

    def _read(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return [{k: _utc(v) for k, v in row.items()} for row in self._rows(sql, params)]

    def queries(self) -> list[str]:
        rows = self._read(f"SELECT DISTINCT {_Q} FROM {_S} ORDER BY {_Q}", [])
        return [r["query"] for r in rows]

    def has_table(self, table: Table) -> bool:
        """Whether ``table`` exists: warehouses written before a table was added lack it."""
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM information_schema.tables "
            f"WHERE table_schema = current_schema() AND table_name = {self.mark}",
            [table.name],
        )
        return bool(rows and rows[0]["n"])

    def primary_analyzer(self, query: str) -> str | None:
        """The analyzer of ``query``'s newest posts in ``tweet``; None without posts."""
        rows = self._read(
            f"SELECT {_A} FROM {_T} WHERE {_Q} = {self.mark} AND {_A} IS NOT NULL "
            f"ORDER BY {_W} DESC LIMIT 1",
            [query],
        )
        return rows[0]["analyzer"] if rows else None

    def analyzers(self, query: str) -> list[str]:
        """Every analyzer with results for ``query``, the primary one first, then by name: those
        of ``sentiment_by_analyzer``, or the primary alone where that table has none."""
        primary = self.primary_analyzer(query)
        names = [primary] if primary is not None else []
        if self.has_table(SENTIMENT_BY_ANALYZER):
            rows = self._read(
                f"SELECT DISTINCT {_A} FROM {_SA} WHERE {_Q} = {self.mark} ORDER BY {_A}", [query]
            )
            names += [r["analyzer"] for r in rows if r["analyzer"] != primary]
        return names

    def windows(
        self,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        analyzer: str | None = None,
    ) -> list[dict[str, Any]]:
        where, params = self._range(query, start, end, analyzer)
        table = _S if analyzer is None else _SA
        return self._read(
            f"SELECT {columns_sql(SENTIMENT)} FROM {table} WHERE {where} ORDER BY {_W}", params
        )

    def tweets(
        self,
        query: str,
        window_start: datetime,
        limit: int = 20,
        label: str | None = None,
        analyzer: str | None = None,
    ) -> list[dict[str, Any]]:
        # A named analyzer's label, scores and window come from its ``tweet_score`` rows.
        scored = "t" if analyzer is None else "s"
        source = f"{_T} t"
        if analyzer is not None:
            source += f" JOIN {_TS} s ON s.{_Q} = t.{_Q} AND s.{_ID} = t.{_ID}"
        cols = ", ".join(
            f"{scored if c in _SCORED else 't'}.{quote(c)}" for c in TWEET.column_names
        )
        equal = {f"{scored}.{_Q}": query, f"{scored}.{_W}": _utc(window_start)}
        if analyzer is not None:
            equal[f"s.{_A}"] = analyzer
        if label is not None:
            equal[f"{scored}.{quote('label')}"] = label
        where, params = self._where(equal)
        return self._read(
            f"SELECT {cols} FROM {source} WHERE {where} "
            f"ORDER BY t.{quote('created_at')}, t.{_ID} LIMIT {max(0, int(limit))}",
            params,
        )

    def summary(
        self,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        analyzer: str | None = None,
    ) -> dict[str, Any]:
        where, params = self._range(query, start, end, analyzer)
        table = _S if analyzer is None else _SA
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
            f"{shares}, {scores} FROM {table} WHERE {where}",
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
        self,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        analyzer: str | None = None,
    ) -> dict[str, list[Any]]:
        where, params = self._range(query, start, end, analyzer)
        names = [c for c in SENTIMENT.column_names if c not in ("query", "time_window")]
        cols = ", ".join(map(quote, names))
        table = _S if analyzer is None else _SA
        sql = f"SELECT {_epoch(_W)}, {cols} FROM {table} WHERE {where} ORDER BY {_W}"
        return self._columns(sql, params, ["time", *names])

    def agreement(
        self,
        query: str,
        a: str,
        b: str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> dict[str, Any]:
        """How often analyzers ``a`` and ``b`` give a post the same label, over the posts both
        scored: ``overall`` and ``series`` (``time`` in epoch seconds, then ``n``, ``agreement``
        and ``kappa`` per window), each ``n`` posts, ``agreement`` the share with the same label
        and ``kappa`` Cohen's kappa (None where chance agreement is 1, or without posts)."""
        names = ["time", "n", "agreement", "kappa"]
        empty = {"overall": {"n": 0, "agreement": None, "kappa": None}}
        if not self.has_table(TWEET_SCORE):
            return {**empty, "series": {n: [] for n in names}}
        match, params = self._where({f"a.{_Q}": query, f"a.{_A}": a, f"b.{_A}": b})
        where, bounds = self._where({}, start, end)
        params += bounds
        series = self._columns(agreement_sql(match, where, by_window=True), params, names)
        rows = self._read(agreement_sql(match, where, by_window=False), params)
        overall = rows[0] if rows else empty["overall"]
        return {
            "overall": {k: overall[k] for k in names[1:]},
            "series": series,
        }

    def _columns(self, sql: str, params: list[Any], names: list[str]) -> dict[str, list[Any]]:
        """One list per selected column; drivers with a columnar fetch override this."""
        rows = self._rows(sql, params)
        return {n: [r[n] for r in rows] for n in names}

    def loaded_windows(self, query: str) -> set[datetime]:
        rows = self._read(f"SELECT {_W} FROM {_S} WHERE {_Q} = {self.mark}", [query])
        return {r["time_window"] for r in rows}
