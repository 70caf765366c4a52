"""The dashboard over one year of 15-minute windows (35,040), generated straight into a DuckDB
warehouse of schema 2 (true volume with bursts, posts with engagement and driver terms, the
drivers of every window, spikes, two analyzers): response times and sizes of every JSON endpoint
the server routes, and the page's time to interactive in Chromium.

    python benchmarks/dashboard.py [--runs 20] [--windows 35040] [--posts 20]

Targets: every data endpoint under 200 ms median, the page interactive in under 2 s. The server
is `tweetsense dashboard` in its own process; its peak RSS is read from /proc when it stops.
The last lines give ratios against baselines of the same run (/api/queries, a bare DuckDB
count), which compare across machines.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_for_port  # noqa: E402
from tests.servers.chromium import launch  # noqa: E402

from tweetsense.timeutil import format_utc  # noqa: E402
from tweetsense.warehouse.dialects import DUCKDB, agreement_from_scores_sql  # noqa: E402
from tweetsense.warehouse.schema import INSIGHT_TABLES, SENTIMENT_BY_ANALYZER  # noqa: E402

QUERY = "electric vehicles"
START = "TIMESTAMPTZ '2023-01-01 00:00:00+00'"
ANALYZERS = ("default", "other")
# Vocabulary sizes per driver kind; a kind's terms are drawn with a Zipf-like (1/rank) law.
VOCABULARY = {"term": 3000, "hashtag": 800, "mention": 600, "entity": 400, "domain": 200}
# Bursts: every BURST_EVERY windows, BURST_LENGTH windows of eight times the volume, more negative
# posts and the word "recall"; a second, rarer burst of "#outage".
BURST_EVERY, BURST_LENGTH = 877, 8
OUTAGE_EVERY, OUTAGE_LENGTH = 1301, 6


def _term_sql(kind: str, draw: str) -> str:
    """A term of ``kind`` whose rank is 1/x distributed: exp of a uniform draw up to ln(size)."""
    rank = f"CAST(floor(exp({draw} * ln({VOCABULARY[kind]}))) AS BIGINT)"
    return {
        "term": f"'word' || {rank}",
        "hashtag": f"'#tag' || {rank}",
        "mention": f"'@user' || {rank}",
        "entity": f"'Entity ' || {rank}",
        "domain": f"'site' || {rank} || '.example'",
    }[kind]


def _kind_sql(j: str) -> str:
    """Of a window's driver rows, about half words, then hashtags, mentions, entities, domains."""
    return (
        f"CASE WHEN {j} % 10 < 5 THEN 'term' WHEN {j} % 10 < 7 THEN 'hashtag' "
        f"WHEN {j} % 10 < 8 THEN 'mention' WHEN {j} % 10 < 9 THEN 'entity' ELSE 'domain' END"
    )


def _label_sql(p: str, q: str, r: str, u: str) -> str:
    return (
        f"CASE WHEN {u} < {p} / ({p} + {q} + {r}) THEN 'POSITIVE' "
        f"WHEN {u} < ({p} + {q}) / ({p} + {q} + {r}) THEN 'NEGATIVE' ELSE 'NEUTRAL' END"
    )


def build(path: Path, windows: int, posts: int, analyzers: tuple[str, ...] = ANALYZERS) -> None:
    """A schema 2 warehouse: ``sentiment`` rows for every window (true volume with bursts,
    opinions, engagement), ``posts`` ``tweet`` rows per window with their driver terms, the
    analyses tables for ``analyzers`` (the agreement roll-up of their scores), 30-80 ``driver``
    rows per window and the spikes."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SELECT setseed(0.17)")
    for statement in DUCKDB.ddl():
        con.execute(statement)
    for table in INSIGHT_TABLES:
        con.execute(DUCKDB.create_table(table))
    burst = f"(i % {BURST_EVERY}) < {BURST_LENGTH}"
    outage = f"(i % {OUTAGE_EVERY}) < {OUTAGE_LENGTH}"
    con.execute(
        f"""
        CREATE TEMP TABLE w AS
        SELECT i, {START} + i * INTERVAL 15 MINUTE AS t,
               80 + CAST(floor(random() * 41) AS BIGINT) AS n,
               -- Label weights: mostly neutral, more negative in a burst.
               1 + 0.5 * random() AS p, 0.6 + 0.5 * random() + CASE WHEN {burst} THEN 1.5
                                                                   ELSE 0 END AS q,
               1.5 + 0.5 * random() AS r, random() * 0.1 AS m, 0.1 + 0.2 * random() AS reposts,
               {burst} AS burst, {outage} AS outage,
               -- A daily rhythm, noise, and the bursts.
               CAST(round((400 + 250 * sin(2 * pi() * (i % 96) / 96)) * (0.8 + 0.4 * random())
                          * CASE WHEN {burst} THEN 8 WHEN {outage} THEN 4 ELSE 1 END)
                    AS BIGINT) AS volume
        FROM range(?) r(i)
        """,
        [windows],
    )
    con.execute(
        """
        INSERT INTO sentiment BY NAME
        SELECT ? AS query, t AS time_window, n AS count_tweets,
               p / (p + q + r + m) AS avg_positive, q / (p + q + r + m) AS avg_negative,
               r / (p + q + r + m) AS avg_neutral, m / (p + q + r + m) AS avg_mixed,
               p / (p + q + r) AS perc_tweet_positive, q / (p + q + r) AS perc_tweet_negative,
               r / (p + q + r) AS perc_tweet_neutral, 0 AS perc_tweet_mixed,
               volume, CAST(round(n * reposts) AS BIGINT) AS count_reposts,
               n - CAST(round(n * reposts) AS BIGINT) AS count_opinions,
               p / (p + q + r) AS perc_opinion_positive, q / (p + q + r) AS perc_opinion_negative,
               r / (p + q + r) AS perc_opinion_neutral, 0 AS perc_opinion_mixed,
               CAST(n * (5 + 20 * random()) AS BIGINT) AS engagement,
               greatest(-1, least(1, (p - q) / (p + q + r) * (0.7 + 0.6 * random())))
                   AS weighted_net
        FROM w
        """,
        [QUERY],
    )
    words = [f"'\nterm:' || {_term_sql('term', 'random()')}" for _ in range(3)]
    con.execute(
        f"""
        INSERT INTO tweet BY NAME
        SELECT ? AS query, CAST(i * 1000 + k AS VARCHAR) AS tweet_id,
               t + k * INTERVAL 30 SECOND AS created_at, t AS time_window,
               'post ' || k || ' about electric vehicles' AS text, 'user' || (i * 7 + k) % 5000
                   AS username, label,
               CASE label WHEN 'POSITIVE' THEN 0.8 ELSE 0.1 END AS positive,
               CASE label WHEN 'NEGATIVE' THEN 0.8 ELSE 0.1 END AS negative,
               CASE label WHEN 'NEUTRAL' THEN 0.8 ELSE 0.1 END AS neutral, 0.0 AS mixed,
               'default' AS analyzer,
               CASE WHEN u < 0.65 THEN 'original' WHEN u < 0.8 THEN 'repost'
                    WHEN u < 0.92 THEN 'reply' ELSE 'quote' END AS post_type,
               CASE WHEN u >= 0.65 AND u < 0.8 THEN CAST(i * 1000 AS VARCHAR) END AS repost_of,
               likes AS like_count, shares AS repost_count, replies AS reply_count,
               quotes AS quote_count, likes + shares + replies + quotes AS engagement,
               {" || ".join(words)}
                   || CASE WHEN burst THEN '\nterm:recall\nhashtag:#recall' ELSE '' END
                   || CASE WHEN outage THEN '\nhashtag:#outage' ELSE '' END
                   || '\nhashtag:' || {_term_sql("hashtag", "random()")} || '\n' AS terms
        FROM (
            SELECT w.*, k, random() AS u, {_label_sql("p", "q", "r", "random()")} AS label,
                   -- Engagement is heavy-tailed: most posts get a few likes, some thousands.
                   CAST(floor(exp(random() * 8)) - 1 AS BIGINT) AS likes,
                   CAST(floor(exp(random() * 5)) - 1 AS BIGINT) AS shares,
                   CAST(floor(exp(random() * 4)) - 1 AS BIGINT) AS replies,
                   CAST(floor(exp(random() * 3)) - 1 AS BIGINT) AS quotes
            FROM w, range(?) b(k)
        )
        """,
        [QUERY, posts],
    )
    # The analyses tables: "other" agrees with "default" on about 80% of the posts.
    other = (
        "CASE WHEN random() < 0.8 THEN label WHEN label = 'NEUTRAL' THEN 'POSITIVE' "
        "ELSE 'NEUTRAL' END"
    )
    con.execute(
        f"""
        INSERT INTO tweet_score BY NAME
        SELECT query, tweet_id, a.name AS analyzer, time_window,
               CASE a.name WHEN 'default' THEN label ELSE {other} END AS label,
               positive, negative, neutral, mixed
        FROM tweet, (SELECT unnest(?) AS name) a
        """,
        [list(analyzers)],
    )
    # Their confusion counts per window, as the batch job rolls them up from the scores.
    con.execute(agreement_from_scores_sql())
    cols = ", ".join(c.name for c in SENTIMENT_BY_ANALYZER.columns if c.name != "analyzer")
    for name in analyzers:
        con.execute(
            f"INSERT INTO sentiment_by_analyzer BY NAME SELECT ? AS analyzer, {cols} "
            "FROM sentiment",
            [name],
        )
    # 30 to 80 draws per window, the same (kind, term, label) summed; bursts add their terms.
    terms = "CASE kind " + " ".join(
        f"WHEN '{kind}' THEN {_term_sql(kind, 'random()')}" for kind in VOCABULARY
    )
    con.execute(
        f"""
        INSERT INTO driver BY NAME
        SELECT ? AS query, t AS time_window, kind, term, label, sum(n) AS count
        FROM (
            SELECT t, kind, {terms} END AS term, label, n
            FROM (
                SELECT t, {_kind_sql("j")} AS kind, {_label_sql("p", "q", "r", "random()")}
                           AS label, CAST(1 + floor(exp(random() * 2.5)) AS BIGINT) AS n
                FROM w, range(80) d(j)
                WHERE j < 30 + (i * 7919) % 51
            )
            UNION ALL
            SELECT t, kind, term, 'NEGATIVE', 20 + CAST(floor(random() * 30) AS BIGINT)
            FROM w, (VALUES ('term', 'recall'), ('hashtag', '#recall'),
                            ('entity', 'Brake recall')) b(kind, term)
            WHERE burst
            UNION ALL
            SELECT t, 'hashtag', '#outage', 'NEGATIVE', 10 + CAST(floor(random() * 20) AS BIGINT)
            FROM w WHERE outage
        )
        GROUP BY ALL
        """,
        [QUERY],
    )
    # Spikes: a window's volume or net sentiment against the median of the day before it.
    con.execute(
        """
        INSERT INTO sentiment_spike BY NAME
        WITH s AS (
            SELECT time_window, metric, value,
                   median(value) OVER (PARTITION BY metric ORDER BY time_window
                                       ROWS BETWEEN 96 PRECEDING AND 1 PRECEDING) AS baseline
            FROM (
                SELECT time_window, 'volume' AS metric, CAST(volume AS DOUBLE) AS value
                FROM sentiment
                UNION ALL
                SELECT time_window, 'net_sentiment',
                       perc_opinion_positive - perc_opinion_negative FROM sentiment
            )
        )
        SELECT ? AS query, time_window, metric, value, baseline,
               (value - baseline) / CASE metric WHEN 'volume' THEN 0.3 * baseline ELSE 0.08 END
                   AS score,
               CASE WHEN value > baseline THEN 'up' ELSE 'down' END AS direction
        FROM s
        WHERE baseline IS NOT NULL AND abs((value - baseline)
              / CASE metric WHEN 'volume' THEN 0.3 * baseline ELSE 0.08 END) >= 3.5
        """,
        [QUERY],
    )
    con.close()


def timed_get(client: httpx.Client, url: str, params: dict[str, str], runs: int) -> list[float]:
    client.get(url, params=params).raise_for_status()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url, params=params)
        r.raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def page_figures(url: str, runs: int) -> list[tuple[float, float, float]]:
    from playwright.sync_api import sync_playwright

    figures = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            ready_wall = (time.perf_counter() - t0) * 1000
            ready_page = float(page.get_attribute("body", "data-ready-ms") or "nan")
            # Interactive: a hover on the year-long timeline answers with its tooltip.
            box = page.locator("#chart-sentiment .u-over").bounding_box()
            assert box is not None
            t1 = time.perf_counter()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 30)
            page.locator("#tip").wait_for(state="visible")
            hover = (time.perf_counter() - t1) * 1000
            assert page.locator("#chart-sentiment").get_attribute("data-points") is not None
            figures.append((ready_page, ready_wall, hover))
            page.close()
        browser.close()
    return figures


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms"


def api_routes() -> list[str]:
    """Every /api/ route the dashboard serves, so endpoints added later are timed too."""
    from tweetsense.dashboard.server import create_app

    # The routes are built without touching the warehouse, so none is needed to list them.
    app = create_app(None)  # type: ignore[arg-type]
    return [r.path for r in app.routes if getattr(r, "path", "").startswith("/api/")]


def cases(routes: list[str], windows: int) -> list[tuple[str, str, dict[str, str]]]:
    """(route, label, parameters) per timed request: by the endpoint's name, the whole loaded
    range and the last 7 days for the range endpoints (only the last 7 days for those whose
    answer grows with the posts), one window for a window's posts."""
    end = datetime(2023, 1, 1, tzinfo=UTC) + timedelta(minutes=15 * windows)
    q = {"query": QUERY}
    week = {**q, "start": format_utc(end - timedelta(days=7)), "end": format_utc(end)}
    year = {**q, "start": format_utc(end - timedelta(minutes=15 * windows)), "end": format_utc(end)}
    day = {**q, "start": format_utc(end - timedelta(days=1)), "end": format_utc(end)}
    window = {**q, "window": format_utc(end - timedelta(hours=12))}
    pair = {"a": ANALYZERS[0], "b": ANALYZERS[1]}
    by_name: dict[str, list[tuple[str, dict[str, str]]]] = {
        "queries": [("", {})],
        "analyzers": [("", q)],
        "summary": [("whole range", q), ("7 days", week)],
        "windows": [("whole range", q), ("7 days", week)],
        "tweets": [("1 window", window)],
        "agreement": [("whole range", {**q, **pair}), ("7 days", {**week, **pair})],
        "drivers": [("whole range", year), ("7 days", week)],
        "spikes": [("whole range", q), ("7 days", week)],
        "posts": [("7 days", week), ("1 day", day)],
        "share": [("whole range", q), ("7 days", week)],
    }
    out = []
    for route in routes:
        name = route.removeprefix("/api/")
        for label, params in by_name.get(name, [("7 days", week)]):
            out.append((route, label, params))
    return out


def raw_count(path: Path, runs: int) -> list[float]:
    """The baseline: a bare DuckDB count of the year's windows, opened read-only per query as
    the dashboard opens its file per request."""
    out = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        con = duckdb.connect(str(path), read_only=True)
        con.execute("SELECT count(*) FROM sentiment WHERE query = ?", [QUERY]).fetchone()
        con.close()
        out.append((time.perf_counter() - t0) * 1000)
    return out[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=35040)
    ap.add_argument("--posts", type=int, default=20, help="posts per window")
    ap.add_argument(
        "--analyzers",
        type=int,
        choices=(1, 2),
        default=2,
        help="analyzers in the warehouse; with 2 the page also loads the agreement of the range",
    )
    ap.add_argument("--runs", type=int, default=20, help="requests per endpoint")
    ap.add_argument("--page-runs", type=int, default=5, help="page loads in Chromium")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tweetsense-dash-bench-") as tmp:
        data = Path(tmp)
        path = data / "warehouse.duckdb"
        t0 = time.perf_counter()
        build(path, args.windows, args.posts, ANALYZERS[: args.analyzers])
        con = duckdb.connect(str(path), read_only=True)
        rows = {
            t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # type: ignore[index]
            for t in (
                "sentiment",
                "tweet",
                "tweet_score",
                "analyzer_agreement",
                "driver",
                "sentiment_spike",
            )
        }
        con.close()
        print(
            f"warehouse: {args.windows:,} windows generated in {time.perf_counter() - t0:.1f} s "
            f"({path.stat().st_size / 1e6:.0f} MB); rows: "
            + ", ".join(f"{t} {n:,}" for t, n in rows.items())
        )
        baseline = statistics.median(raw_count(path, args.runs))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
        cmd = [sys.executable, "-m", "tweetsense.cli.app", "dashboard", "--demo"]
        cmd += ["--data-dir", str(data), "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            base = f"http://127.0.0.1:{port}"
            worst, medians = 0.0, {}
            # Accept-Encoding: gzip as a browser sends it.
            with httpx.Client(base_url=base, timeout=30) as client:
                for route, label, params in cases(api_routes(), args.windows):
                    name = f"{route} ({label})" if label else route
                    first = client.get(route, params=params)
                    if first.status_code != 200:
                        # An endpoint whose parameters this script does not know yet.
                        print(f"{name:34s} skipped: {first.status_code} {first.text[:120]}")
                        continue
                    ms = timed_get(client, route, params, args.runs)
                    medians[name] = statistics.median(ms)
                    worst = max(worst, medians[name])
                    size, wire = len(first.content), first.num_bytes_downloaded
                    print(f"{name:34s} {summary(ms)}   {size / 1e3:8.1f} kB ({wire / 1e3:.1f} gz)")
            figures = page_figures(base + "/", args.page_runs)
            tti = [f[0] for f in figures]
            print(f"page ready (performance.now at data-ready): {summary(tti)}")
            print(f"page ready (goto to ready, wall clock):     {summary([f[1] for f in figures])}")
            print(f"hover tooltip after ready:                  {summary([f[2] for f in figures])}")
        finally:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
            proc.terminate()
            proc.wait(timeout=10)
        print(
            f"peak RSS: dashboard server {int(hwm) / 1024:.0f} MB, this process "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        # Ratios against baselines of this run, so machines of other speeds compare.
        slowest = max(medians, key=medians.__getitem__)
        queries = medians["/api/queries"]
        print(
            f"ratios: slowest endpoint {slowest} {medians[slowest]:.1f} ms = "
            f"{medians[slowest] / queries:.1f}x /api/queries ({queries:.1f} ms, a round trip "
            f"of one small read) = {medians[slowest] / baseline:.1f}x a bare DuckDB count "
            f"({baseline:.1f} ms); page ready {statistics.median(tti) / queries:.0f}x /api/queries"
        )
        ok = worst < 200 and max(tti) < 2000
        print(f"targets (endpoints < 200 ms median, page < 2 s): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
