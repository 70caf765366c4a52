"""The read API of ``Warehouse`` written once in SQL, for any driver that returns rows.

A backend supplies ``_rows(sql, params)`` and its driver's placeholder; every value is a
parameter and every identifier is quoted, so queries from a dashboard cannot change the SQL.

Reads take an optional ``analyzer``: ``None`` reads the primary analyzer's tables (``tweet``,
``sentiment``); a name reads that analyzer's rows of ``sentiment_by_analyzer`` and
``tweet_score``, so it must be one of ``analyzers(query)``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from tweetsense.contracts import LABELS
from tweetsense.warehouse.base import Warehouse
from tweetsense.warehouse.dialects import columns_sql, quote
from tweetsense.warehouse.schema import (
    AGREEMENT,
    DRIVER,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    SENTIMENT_SPIKE,
    TWEET,
    TWEET_SCORE,
    Table,
)

_T, _S = quote(TWEET.name), quote(SENTIMENT.name)
_TS, _SA = quote(TWEET_SCORE.name), quote(SENTIMENT_BY_ANALYZER.name)
_Q, _W, _A, _ID = quote("query"), quote("time_window"), quote("analyzer"), quote("tweet_id")
_D, _SP = quote(DRIVER.name), quote(SENTIMENT_SPIKE.name)
_AG = quote(AGREEMENT.name)
_KIND, _TERM, _COUNT = quote("kind"), quote("term"), quote("count")
_DOUBLE = "DOUBLE PRECISION"
# The columns ``tweet_score`` holds per analyzer, read from it instead of ``tweet``.
_SCORED = ("label", "positive", "negative", "neutral", "mixed", "analyzer", "time_window")
# ``sentiment``'s columns that are the same whichever analyzer scored the posts.
_SHARED = ("volume", "count_reposts", "count_opinions", "engagement")
_COUNTS = ("count_tweets", *_SHARED)
POST_SORTS = ("time", "engagement", "score")


def _utc(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _epoch(column: str) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT) AS {quote('time')}"


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _rolled(name: str, col: Callable[[str], str]) -> str:
    """A ``sentiment`` column over the windows of a bucket: counts summed, the rest weighted
    by what they were taken over, windows where the value is unknown left out."""
    value = col(name)
    if name in _COUNTS:
        return f"CAST(SUM({value}) AS BIGINT)"
    if name.startswith("perc_opinion_"):
        weight = col("count_opinions")
    elif name == "weighted_net":
        weight = f"({col('count_tweets')} + {col('engagement')})"
    else:
        weight = col("count_tweets")
    return (
        f"SUM({value} * {weight}) / "
        f"NULLIF(CAST(SUM(CASE WHEN {value} IS NOT NULL THEN {weight} END) AS {_DOUBLE}), 0)"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def agreement_sql(topic: str, a: str, b: str, where: str, by_window: bool) -> str:
    """Agreement of analyzers ``a`` and ``b`` over the posts both scored, per window or overall,
    from ``analyzer_agreement``: ``topic``, ``a`` and ``b`` are SQL values (placeholders bound
    in ``agreement_params``' order) and ``where`` selects windows by ``time_window``.

    A row holds one analyzer pair in either order, so each row's labels are read as ``a``'s
    and ``b``'s by which of its analyzers is ``a``. Cohen's kappa is (po - pe) / (1 - pe), with
    po = same / n and pe = chance / n^2, chance being the sum over labels of the two analyzers'
    counts multiplied; multiplied through by n^2 so that pe == 1 is an exact integer test.
    """
    window = f"{_W}, " if by_window else ""
    first, la, lb = quote("analyzer_a"), quote("label_a"), quote("label_b")
    second = quote("analyzer_b")

    def total(expr: str) -> str:
        return f"CAST(SUM({expr}) AS BIGINT)"

    counted = " + ".join(
        f"{total(f'CASE WHEN la = {_literal(label)} THEN c ELSE 0 END')} * "
        f"{total(f'CASE WHEN lb = {_literal(label)} THEN c ELSE 0 END')}"
        for label in LABELS
    )
    return (
        f"WITH pairs AS (SELECT {_W}, "
        f"CASE WHEN {first} = {a} THEN {la} ELSE {lb} END AS la, "
        f"CASE WHEN {first} = {a} THEN {lb} ELSE {la} END AS lb, {_COUNT} AS c "
        f"FROM {_AG} WHERE {_Q} = {topic} AND (({first} = {a} AND {second} = {b}) "
        f"OR ({first} = {b} AND {second} = {a})) AND {where}), "
        f"counts AS (SELECT {window}{total('c')} AS n, "
        f"{total('CASE WHEN la = lb THEN c ELSE 0 END')} AS same, {counted} AS chance "
        f"FROM pairs{f' GROUP BY {_W}' if by_window else ''}) "
        f"SELECT {_epoch(_W) + ', ' if by_window else ''}n, "
        f"CAST(same AS {_DOUBLE}) / n AS agreement, "
        f"CASE WHEN chance < n * n THEN (CAST(same AS {_DOUBLE}) * n - chance) / "
        f"(CAST(n AS {_DOUBLE}) * n - chance) END AS kappa "
        f"FROM counts WHERE n > 0{f' ORDER BY {_W}' if by_window else ''}"
    )


def agreement_params(query: str, a: str, b: str) -> list[str]:
    """The values of ``agreement_sql``'s placeholders for ``topic``, ``a`` and ``b``, in the
    order they appear in it (``where``'s values follow)."""
    return [a, a, query, a, b, b, a]


class SqlReads(Warehouse):
    mark: ClassVar[str] = "%s"  # the driver's positional placeholder

    @abstractmethod
    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Run one read-only statement; no rows (not an error) while the tables do not exist."""

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The reads of one answer, in this thread: a backend that connects per read may
        share one connection among them."""
        yield

    def _where(
        self,
        equal: dict[str, Any],
        start: datetime | None = None,
        end: datetime | None = None,
        window: str = _W,
    ) -> tuple[str, list]:
        """``column = value`` for each of ``equal`` (quoted names), and the range on ``window``."""
        m = self.mark
        terms, params = [f"{column} = {m}" for column in equal], list(equal.values())
        if start is not None:
            terms.append(f"{window} >= {m}")
            params.append(_utc(start))
        if end is not None:
            terms.append(f"{window} < {m}")
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
        """Whether ``table`` exists: warehouses written before a table was added lack it. A
        table found stays found (no load drops one), which spares the look-up."""
        found: set[str] = self.__dict__.setdefault("_tables_found", set())
        if table.name in found:
            return True
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM information_schema.tables "
            f"WHERE table_schema = current_schema() AND table_name = {self.mark}",
            [table.name],
        )
        if rows and rows[0]["n"]:
            found.add(table.name)
            return True
        return False

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
        if analyzer is None:
            table, cols = _S, columns_sql(SENTIMENT)
        else:
            names = [c for c in SENTIMENT_BY_ANALYZER.column_names if c != "analyzer"]
            table, cols = _SA, ", ".join(map(quote, names))
        return self._read(f"SELECT {cols} FROM {table} WHERE {where} ORDER BY {_W}", params)

    def _window_source(
        self, query: str, start: datetime | None, end: datetime | None, analyzer: str | None
    ) -> tuple[str, str, list, Callable[[str], str]]:
        """FROM and WHERE of ``query``'s windows in a range, and each ``sentiment`` column's SQL.

        A named analyzer's windows come from ``sentiment_by_analyzer``, which keeps only the
        per-post aggregates; what does not depend on the analyzer (volume, reposts, opinions,
        engagement) comes from ``sentiment``, and the analyzer's opinion shares and weighted
        net are unknown (null)."""
        if analyzer is None:
            where, params = self._where({f"w.{_Q}": query}, start, end, f"w.{_W}")
            return f"{_S} w", where, params, lambda c: f"w.{quote(c)}"
        source = f"{_SA} w LEFT JOIN {_S} v ON v.{_Q} = w.{_Q} AND v.{_W} = w.{_W}"
        equal = {f"w.{_Q}": query, f"w.{_A}": analyzer}
        where, params = self._where(equal, start, end, f"w.{_W}")

        def column(name: str) -> str:
            if name in _SHARED:
                return f"v.{quote(name)}"
            if name in SENTIMENT_BY_ANALYZER.column_names:
                return f"w.{quote(name)}"
            return f"CAST(NULL AS {_DOUBLE})"

        return source, where, params, column

    def tweets(
        self,
        query: str,
        window_start: datetime | None = None,
        limit: int = 20,
        label: str | None = None,
        analyzer: str | None = None,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        sort: str = "time",
        score_label: str = "NEGATIVE",
        post_type: str | None = None,
        driver: tuple[str, str] | None = None,
        reposts_once: bool = False,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` posts of one window, or of a range (``start``, ``end``), sorted by
        ``sort``: time (oldest first), engagement or ``score_label``'s score (highest first).
        ``driver`` (kind, term) keeps the posts whose ``terms`` hold it; ``reposts_once`` leaves
        reposts out, their originals standing for them."""
        if sort not in POST_SORTS:
            raise ValueError(f"sort: {sort!r} is not one of {POST_SORTS}")
        # A named analyzer's label, scores and window come from its ``tweet_score`` rows.
        scored = "t" if analyzer is None else "s"
        source = f"{_T} t"
        if analyzer is not None:
            source += f" JOIN {_TS} s ON s.{_Q} = t.{_Q} AND s.{_ID} = t.{_ID}"
        cols = ", ".join(
            f"{scored if c in _SCORED else 't'}.{quote(c)}" for c in TWEET.column_names
        )
        equal = {f"{scored}.{_Q}": query}
        if window_start is not None:
            equal[f"{scored}.{_W}"] = _utc(window_start)
        if analyzer is not None:
            equal[f"s.{_A}"] = analyzer
        if label is not None:
            equal[f"{scored}.{quote('label')}"] = label
        if post_type is not None:
            equal[f"t.{quote('post_type')}"] = post_type
        where, params = self._where(equal, start, end, f"{scored}.{_W}")
        if reposts_once:
            kind = f"t.{quote('post_type')}"
            where += f" AND ({kind} IS NULL OR {kind} <> 'repost')"
        if driver is not None:
            where += f" AND POSITION({self.mark} IN t.{quote('terms')}) > 0"
            params.append(f"\n{driver[0]}:{driver[1]}\n")
        then = f"t.{quote('created_at')}, t.{_ID}"
        order = {
            "time": then,
            "engagement": f"t.{quote('engagement')} DESC, {then}",
            "score": f"{scored}.{quote(score_label.lower())} DESC NULLS LAST, {then}",
        }[sort]
        return self._read(
            f"SELECT {cols} FROM {source} WHERE {where} "
            f"ORDER BY {order} LIMIT {max(0, int(limit))}",
            params,
        )

    def summary(
        self,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        analyzer: str | None = None,
    ) -> dict[str, Any]:
        source, where, params, col = self._window_source(query, start, end, analyzer)
        count = col("count_tweets")
        opinions = col("count_opinions")
        weight = f"({count} + {col('engagement')})"
        net = col("weighted_net")
        sums = [
            f"COUNT(*) AS {quote('windows')}",
            f"SUM({count}) AS {quote('tweets')}",
            f"MIN(w.{_W}) AS {quote('first_window')}",
            f"MAX(w.{_W}) AS {quote('last_window')}",
            f"SUM({col('volume')}) AS {quote('volume')}",
            f"SUM({col('engagement')}) AS {quote('engagement')}",
            f"SUM({col('count_reposts')}) AS {quote('reposts')}",
            f"SUM({opinions}) AS {quote('opinions')}",
            f"SUM({net} * {weight}) AS {quote('net_sum')}",
            f"SUM(CASE WHEN {net} IS NOT NULL THEN {weight} END) AS {quote('net_weight')}",
        ]
        for label in LABELS:
            key = label.lower()
            sums += [
                f"SUM({col('perc_tweet_' + key)} * {count}) AS {quote(key)}",
                f"SUM({col('avg_' + key)} * {count}) AS {quote('avg_' + key)}",
                f"SUM({col('perc_opinion_' + key)} * {opinions}) AS {quote('opinion_' + key)}",
            ]
        rows = self._read(f"SELECT {', '.join(sums)} FROM {source} WHERE {where}", params)
        row = rows[0] if rows else {}
        tweets = int(row.get("tweets") or 0)
        ops = int(row.get("opinions") or 0)
        unknown = row.get("opinion_positive") is None

        def ratio(value: Any, total: float) -> float:
            return float(value or 0) / total if total else 0.0

        return {
            "query": query,
            "start": _utc(start),
            "end": _utc(end),
            "windows": int(row.get("windows") or 0),
            "tweets": tweets,
            "first_window": row.get("first_window"),
            "last_window": row.get("last_window"),
            "shares": {label: ratio(row.get(label.lower()), tweets) for label in LABELS},
            "averages": {label: ratio(row.get("avg_" + label.lower()), tweets) for label in LABELS},
            "volume": _int(row.get("volume")),
            "engagement": int(row.get("engagement") or 0),
            "reposts": int(row.get("reposts") or 0),
            "opinions": ops,
            "opinion_shares": None
            if unknown and tweets
            else {label: ratio(row.get("opinion_" + label.lower()), ops) for label in LABELS},
            "weighted_net": None
            if not row.get("net_weight")
            else float(row["net_sum"]) / float(row["net_weight"]),
        }

    def window_series(
        self,
        query: str,
        start: datetime | None = None,
        end: datetime | None = None,
        analyzer: str | None = None,
        bucket: int | None = None,
    ) -> dict[str, list[Any]]:
        """Each window's ``sentiment`` columns, or with ``bucket`` (seconds) the windows rolled
        up into buckets of that length from the epoch: counts summed, shares and means weighted
        by the posts (opinions for the opinion shares, 1 + engagement per post for the
        weighted net) they were taken over."""
        source, where, params, col = self._window_source(query, start, end, analyzer)
        names = [c for c in SENTIMENT.column_names if c not in ("query", "time_window")]
        if bucket is None:
            select = ", ".join(f"{col(n)} AS {quote(n)}" for n in names)
            sql = (
                f"SELECT {_epoch('w.' + _W)}, {select} FROM {source} WHERE {where} ORDER BY w.{_W}"
            )
        else:
            size = int(bucket)
            time = f"CAST(FLOOR(EXTRACT(EPOCH FROM w.{_W}) / {size}) AS BIGINT) * {size}"
            select = ", ".join(f"{_rolled(n, col)} AS {quote(n)}" for n in names)
            sql = (
                f"SELECT {time} AS {quote('time')}, {select} FROM {source} WHERE {where} "
                "GROUP BY 1 ORDER BY 1"
            )
        return self._columns(sql, params, ["time", *names])

    def extent(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> tuple[datetime | None, datetime | None]:
        """The first and last window of ``query`` in a range; None, None without windows."""
        where, params = self._range(query, start, end)
        rows = self._read(f"SELECT MIN({_W}) AS a, MAX({_W}) AS b FROM {_S} WHERE {where}", params)
        return (rows[0]["a"], rows[0]["b"]) if rows else (None, None)

    def loaded_version(self, query: str) -> tuple[Any, ...]:
        """Changes whenever a load changes ``query``'s windows: for caches of its totals."""
        rows = self._rows(
            f"SELECT MAX({_W}) AS a, COUNT(*) AS b, SUM({quote('count_tweets')}) AS c "
            f"FROM {_S} WHERE {_Q} = {self.mark}",
            [query],
        )
        return tuple(rows[0].values()) if rows else ()

    def driver_totals(self, query: str) -> dict[str, list[Any]]:
        """Posts per (kind, term) over all of ``query``'s windows and labels, by column
        (``kind``, ``term``, ``count``); empty lists without a ``driver`` table."""
        names = ["kind", "term", "count"]
        if not self.has_table(DRIVER):
            return {n: [] for n in names}
        sql = (
            f"SELECT {_KIND}, {_TERM}, CAST(SUM({_COUNT}) AS BIGINT) AS {_COUNT} FROM {_D} "
            f"WHERE {_Q} = {self.mark} GROUP BY {_KIND}, {_TERM}"
        )
        return self._columns(sql, [query], names)

    def driver_counts(
        self,
        query: str,
        start: datetime | None,
        end: datetime | None,
        label: str | None,
        kind: str | None = None,
        min_count: int = 1,
    ) -> dict[str, list[Any]]:
        """Posts of ``label`` (any, if None) per (kind, term) in a range, those of ``kind`` (if
        given) with at least ``min_count``, by column: ``kind``, ``term``, ``count`` and
        ``total``, the sum of the counts of every (kind, term) of the range and label (the size
        of the target of a log-odds score)."""
        names = ["kind", "term", "count", "total"]
        if not self.has_table(DRIVER):
            return {n: [] for n in names}
        equal = {_Q: query}
        if label is not None:
            equal[quote("label")] = label
        where, params = self._where(equal, start, end)
        params.append(int(min_count))
        of_kind = ""
        if kind is not None:
            of_kind = f" AND {_KIND} = {self.mark}"
            params.append(kind)
        sql = (
            f"WITH c AS (SELECT {_KIND}, {_TERM}, SUM({_COUNT}) AS n FROM {_D} WHERE {where} "
            f"GROUP BY {_KIND}, {_TERM}), "
            f"t AS (SELECT {_KIND}, {_TERM}, n, SUM(n) OVER () AS total FROM c) "
            f"SELECT {_KIND}, {_TERM}, CAST(n AS BIGINT) AS {_COUNT}, "
            f"CAST(total AS BIGINT) AS total FROM t WHERE n >= {self.mark}{of_kind}"
        )
        return self._columns(sql, params, names)

    def spikes(
        self, query: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """``sentiment_spike`` rows of ``query`` in a range, in time order."""
        if not self.has_table(SENTIMENT_SPIKE):
            return []
        where, params = self._range(query, start, end)
        cols = columns_sql(SENTIMENT_SPIKE)
        return self._read(
            f"SELECT {cols} FROM {_SP} WHERE {where} ORDER BY {_W}, {quote('metric')}", params
        )

    def spike_driver_counts(
        self, query: str, start: datetime | None, end: datetime | None, min_count: int = 1
    ) -> dict[str, list[Any]]:
        """``driver_counts`` of each spike's window, by column with the spike's ``time``
        (epoch seconds) and ``metric``: negative posts for a fall of net sentiment, positive
        for a rise, every post for volume."""
        names = ["time", "metric", "kind", "term", "count", "total"]
        if not self.has_table(DRIVER):
            return {n: [] for n in names}
        where, params = self._where({f"s.{_Q}": query}, start, end, f"s.{_W}")
        params.append(int(min_count))
        metric, direction, label = (quote(c) for c in ("metric", "direction", "label"))
        wanted = (
            f"(s.{metric} = 'volume' OR d.{label} = "
            f"CASE WHEN s.{direction} = 'down' THEN 'NEGATIVE' ELSE 'POSITIVE' END)"
        )
        by = f"s.{_W}, s.{metric}, d.{_KIND}, d.{_TERM}"
        sql = (
            f"WITH c AS (SELECT {by}, SUM(d.{_COUNT}) AS n FROM {_SP} s JOIN {_D} d "
            f"ON d.{_Q} = s.{_Q} AND d.{_W} = s.{_W} WHERE {where} AND {wanted} GROUP BY {by}), "
            f"t AS (SELECT c.*, SUM(n) OVER (PARTITION BY {_W}, {metric}) AS total FROM c) "
            f"SELECT {_epoch(_W)}, {metric}, {_KIND}, {_TERM}, CAST(n AS BIGINT) AS {_COUNT}, "
            f"CAST(total AS BIGINT) AS total FROM t WHERE n >= {self.mark}"
        )
        return self._columns(sql, params, names)

    def share(
        self,
        queries: list[str],
        start: datetime | None = None,
        end: datetime | None = None,
        bucket: int = 900,
        reposts_once: bool = False,
    ) -> dict[str, list[Any]]:
        """Per query and bucket (``query``, ``time``): ``volume``, the counted volume where
        there is one else the posts read, and ``net``, the share of positive minus negative
        posts (opinions, with ``reposts_once``), weighted by the posts."""
        names = ["query", "time", "volume", "net"]
        if not queries:
            return {n: [] for n in names}
        m = self.mark
        where, params = self._where({}, start, end)
        size = int(bucket)
        time = f"CAST(FLOOR(EXTRACT(EPOCH FROM {_W}) / {size}) AS BIGINT) * {size}"
        kind, n = ("opinion", "count_opinions") if reposts_once else ("tweet", "count_tweets")
        pos, neg, count = (
            quote(f"perc_{kind}_positive"),
            quote(f"perc_{kind}_negative"),
            quote(n),
        )
        sql = (
            f"SELECT {_Q}, {time} AS {quote('time')}, "
            f"CAST(SUM(COALESCE({quote('volume')}, {quote('count_tweets')})) AS BIGINT) "
            f"AS {quote('volume')}, SUM(({pos} - {neg}) * {count}) / "
            f"NULLIF(CAST(SUM({count}) AS {_DOUBLE}), 0) AS {quote('net')} FROM {_S} "
            f"WHERE {_Q} IN ({', '.join([m] * len(queries))}) AND {where} "
            "GROUP BY 1, 2 ORDER BY 2, 1"
        )
        return self._columns(sql, [*queries, *params], names)

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
        if not self.has_table(AGREEMENT):
            return {**empty, "series": {n: [] for n in names}}
        where, params = self._where({}, start, end)
        params = [*agreement_params(query, a, b), *params]
        m = self.mark
        series = self._columns(agreement_sql(m, m, m, where, by_window=True), params, names)
        rows = self._read(agreement_sql(m, m, m, where, by_window=False), params)
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
