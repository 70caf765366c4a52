"""`tweetsense grafana export`: the dashboard JSON's structure, the provisioning YAML, and every
panel's SQL run against a real PostgreSQL holding a demo warehouse of two analyzers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from tests import dashboard_data as demo
from tweetsense.config import BackendSection
from tweetsense.dashboard import grafana
from tweetsense.registry import Context, create
from tweetsense.warehouse.dialects import POSTGRES, quote
from tweetsense.warehouse.schema import (
    DRIVER,
    INSIGHT_TABLES,
    SENTIMENT,
    SENTIMENT_SPIKE,
    TABLES,
    TWEET,
    Table,
)

GAUGES = ("positive", "neutral", "negative", "mixed")
INSIGHT_PANELS = (
    "True volume and sampled posts per window",
    "Net sentiment per window",
    "Drivers of negative posts",
    "Drivers of positive posts",
    "Posts that matter",
)


def export(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    cmd = [sys.executable, "-m", "tweetsense.cli.app", "grafana", "export", "--out", str(out)]
    return subprocess.run([*cmd, *args], env=env, capture_output=True, text=True, timeout=60)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def expand(
    sql: str,
    query: str,
    start: str,
    end: str,
    analyzer: str = demo.PRIMARY,
    versus: str = demo.CONTRARIAN,
    reposts: str = "once",
) -> str:
    """Grafana's interpolation of the macros and the variables the panels use."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} BETWEEN '{start}' AND '{end}'", sql)
    sql = sql.replace("${query:sqlstring}", _quoted(query))
    sql = sql.replace("${analyzer:sqlstring}", _quoted(analyzer))
    sql = sql.replace("${versus:sqlstring}", _quoted(versus))
    sql = sql.replace("${reposts:sqlstring}", _quoted(reposts))
    assert "$" not in sql, f"unexpanded macro in {sql}"
    return sql


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("grafana")
    r = export(out, "--datasource", "postgres")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> demo.DemoWarehouse:
    return demo.build(tmp_path_factory.mktemp("grafana-data"))


def time_range(out: Path) -> dict[str, str]:
    return json.loads((out / "tweetsense-dashboard.json").read_text())["time"]


def test_time_range_is_the_loaded_windows(tmp_path: Path, built: demo.DemoWarehouse) -> None:
    r = export(tmp_path, "--demo", "--data-dir", str(built.data_dir))
    assert r.returncode == 0, r.stderr
    assert time_range(tmp_path) == {
        "from": "2024-03-01T00:00:00.000Z",
        "to": "2024-03-01T08:00:00.000Z",
    }
    assert "time range: 2024-03-01 00:00 UTC to 2024-03-01 08:00 UTC" in r.stdout


def test_time_range_of_an_empty_warehouse_is_the_last_7_days(tmp_path: Path) -> None:
    r = export(tmp_path / "out", "--demo", "--data-dir", str(tmp_path / "data"))
    assert r.returncode == 0, r.stderr
    assert time_range(tmp_path / "out") == {"from": "now-7d", "to": "now"}
    assert "last 7 days (the warehouse holds no windows yet)" in r.stderr


def test_a_warehouse_without_the_analyses_tables_is_noted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "warehouse.duckdb"
    demo.execute(path, [(demo.dialect(path).create_table(t), []) for t in TABLES])
    r = export(tmp_path / "out", "--demo", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    assert (
        "note: the warehouse has no tweet_score, sentiment_by_analyzer, analyzer_agreement, "
        "driver or "
        "sentiment_spike table, which the panels read; run `tweetsense load`"
        in " ".join(r.stderr.split())
    )


def test_time_range_without_a_config_is_the_last_7_days_and_says_so(tmp_path: Path) -> None:
    r = export(tmp_path)
    assert r.returncode == 0, r.stderr
    assert time_range(tmp_path) == {"from": "now-7d", "to": "now"}
    assert "time range: the last 7 days (no config to read the loaded windows from;" in r.stderr


def test_time_range_from_the_command_line(tmp_path: Path) -> None:
    r = export(tmp_path, "--from", "2024-03-01T00:00:00Z", "--to", "2024-03-02T00:00:00+00:00")
    assert r.returncode == 0, r.stderr
    assert time_range(tmp_path) == {
        "from": "2024-03-01T00:00:00.000Z",
        "to": "2024-03-02T00:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--from", "2024-03-01T00:00:00Z"), "--from and --to go together"),
        (
            ("--from", "yesterday", "--to", "2024-03-02T00:00:00Z"),
            "--from: 'yesterday' is not a time",
        ),
        (
            ("--from", "2024-03-02T00:00:00Z", "--to", "2024-03-01T00:00:00Z"),
            "--from: must be before --to",
        ),
    ],
)
def test_bad_time_range_is_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    r = export(tmp_path, *args)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not list(tmp_path.iterdir())


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "datasource.yaml").write_text("mine\n")
    r = export(tmp_path, "--datasource", "redshift")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'datasource.yaml'} exists; pass --force to overwrite it"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["datasource.yaml"]
    assert (tmp_path / "datasource.yaml").read_text() == "mine\n"
    forced = export(tmp_path, "--datasource", "redshift", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "REDSHIFT_PASSWORD" in (tmp_path / "datasource.yaml").read_text()


def test_dashboard_json_structure(exported: Path) -> None:
    model = json.loads((exported / "tweetsense-dashboard.json").read_text())
    assert model["uid"] and model["title"] and model["schemaVersion"] >= 36
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert list(variables) == ["query", "analyzer", "versus", "reposts"]
    reposts = variables["reposts"]
    assert reposts["type"] == "custom" and reposts["current"]["value"] == "once"
    assert [o["value"] for o in reposts["options"]] == ["once", "each"]
    assert variables["query"]["type"] == "query"
    assert "FROM sentiment" in variables["query"]["query"]
    for name in ("analyzer", "versus"):
        assert "FROM sentiment_by_analyzer" in variables[name]["query"]
        assert "${query:sqlstring}" in variables[name]["query"]
    panels = model["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    kinds = [p["type"] for p in panels]
    assert kinds.count("gauge") == 4
    assert {"stat", "timeseries", "piechart", "table"} <= set(kinds)
    assert next(p for p in panels if p["type"] == "piechart")["options"]["pieType"] == "donut"
    for p in panels:
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0
        assert p["datasource"] == {"type": grafana.DATASOURCE_TYPE, "uid": grafana.DATASOURCE_UID}
        (target,) = p["targets"]
        assert target["rawQuery"] is True and target["format"] in ("table", "time_series")
        assert "$__timeFilter(time_window)" in target["rawSql"]
        assert "${query:sqlstring}" in target["rawSql"]
        if p["gridPos"]["y"] < 41:  # the analyzer's panels; the insight panels are below
            assert "${analyzer:sqlstring}" in target["rawSql"]
            assert "FROM sentiment " not in target["rawSql"]
    titles = {p["title"]: p for p in panels}
    for title in INSIGHT_PANELS:
        assert "${analyzer:sqlstring}" not in titles[title]["targets"][0]["rawSql"]
    assert "may not exactly match search results" in titles[INSIGHT_PANELS[0]]["description"]
    assert "weighted_net" in titles["Net sentiment per window"]["targets"][0]["rawSql"]
    assert "${reposts:sqlstring}" in titles["Net sentiment per window"]["targets"][0]["rawSql"]
    # The spikes, as annotations on the time series of sentiment, volume and net sentiment.
    (spikes,) = model["annotations"]["list"]
    assert spikes["name"] == "Spikes" and spikes["enable"] is True
    assert spikes["datasource"] == {"type": grafana.DATASOURCE_TYPE, "uid": grafana.DATASOURCE_UID}
    assert "FROM sentiment_spike" in spikes["target"]["rawSql"]
    marked = {p["title"] for p in panels if p["id"] in spikes["filter"]["ids"]}
    assert marked == {"Sentiment timeline", INSIGHT_PANELS[0], "Net sentiment per window"}
    assert all(titles[t]["type"] == "timeseries" for t in marked)
    # Panels of one row do not overlap.
    cells = set()
    for p in panels:
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells
                cells.add((x, y))


@pytest.mark.parametrize("kind", ["postgres", "redshift"])
def test_datasource_yaml_references_the_password(tmp_path: Path, kind: str) -> None:
    r = export(tmp_path, "--datasource", kind)
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load((tmp_path / "datasource.yaml").read_text())
    (ds,) = doc["datasources"]
    assert doc["apiVersion"] == 1
    assert ds["uid"] == grafana.DATASOURCE_UID and ds["type"] == grafana.DATASOURCE_TYPE
    secret = "PGPASSWORD" if kind == "postgres" else "REDSHIFT_PASSWORD"
    assert ds["secureJsonData"] == {"password": f"${{{secret}}}"}
    assert "password" not in ds and "password" not in ds["jsonData"]
    providers = yaml.safe_load((tmp_path / "dashboards.yaml").read_text())["providers"]
    assert providers[0]["type"] == "file"


def test_bad_datasource_is_rejected(tmp_path: Path) -> None:
    r = export(tmp_path, "--datasource", "mysql")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


def test_every_panel_query_runs_on_postgres(
    exported: Path, built: demo.DemoWarehouse, postgres_dsn: str
) -> None:
    context = Context(demo.make_config(built.data_dir.parent))
    pg = create("warehouse", context, BackendSection(type="postgres", dsn=postgres_dsn))
    try:
        pg.load(demo.QUERY, built.files)
        demo.add_contrarian(postgres_dsn)
        want = pg.summary(demo.QUERY)
        agreement = pg.agreement(demo.QUERY, demo.PRIMARY, demo.CONTRARIAN)
    finally:
        pg.close()
    model = json.loads((exported / "tweetsense-dashboard.json").read_text())
    start, end = "2024-03-01T00:00:00Z", "2024-03-01T07:59:59Z"
    with psycopg.connect(postgres_dsn) as con:
        topics, analyzers, versus = (
            [r[0] for r in con.execute(expand(v["query"], demo.QUERY, start, end)).fetchall()]
            for v in model["templating"]["list"]
            if v["type"] == "query"  # the reposts variable is a fixed list, no SQL
        )
        assert topics == [demo.QUERY]
        assert analyzers == [demo.PRIMARY, demo.CONTRARIAN]  # the primary one first
        assert versus == [demo.CONTRARIAN, demo.PRIMARY]
        results, other = {}, {}
        for panel in model["panels"]:
            raw = panel["targets"][0]["rawSql"]
            cur = con.execute(expand(raw, demo.QUERY, start, end))
            results[panel["title"]] = ([d.name for d in cur.description], cur.fetchall())
            cur = con.execute(expand(raw, demo.QUERY, start, end, demo.CONTRARIAN, demo.PRIMARY))
            other[panel["title"]] = cur.fetchall()
        # A topic or analyzer with a quote in it is escaped, not injected.
        assert con.execute(expand(grafana.TOTAL_SQL, "o'brien", start, end)).fetchone() == (0,)
        quoted = expand(grafana.TOTAL_SQL, demo.QUERY, start, end, "o'brien")
        assert con.execute(quoted).fetchone() == (0,)
    for label in GAUGES:
        cols, rows = results[f"{label.capitalize()} posts"]
        assert cols == [label]
        assert float(rows[0][0]) == pytest.approx(want["shares"][label.upper()], abs=1e-9)
    assert results["Total posts"][1] == [(want["tweets"],)]
    cols, rows = results["Posts per window"]
    assert cols == ["time", "posts"] and len(rows) == 32
    assert sum(r[1] for r in rows) == want["tweets"]
    cols, rows = results["Average sentiment scores"]
    assert cols == list(GAUGES)
    for label, value in zip(GAUGES, rows[0], strict=True):
        assert float(value) == pytest.approx(want["averages"][label.upper()], abs=1e-9)
    cols, rows = results["Sentiment timeline"]
    assert cols == ["time", *GAUGES] and len(rows) == 32
    cols, rows = results["Latest posts"]
    assert cols[0] == "time" and "text" in cols and len(rows) == 100
    swap = {"POSITIVE": "NEGATIVE", "NEGATIVE": "POSITIVE"}
    label = cols.index("label")
    assert [r[label] for r in other["Latest posts"]] == [swap.get(r[label], r[label]) for r in rows]

    # The other analyzer's panels: its positive posts are the primary one's negative ones.
    for label, mirror in (("positive", "negative"), ("negative", "positive")):
        (row,) = other[f"{label.capitalize()} posts"]
        assert float(row[0]) == pytest.approx(want["shares"][mirror.upper()], abs=1e-9)
    assert other["Total posts"] == [(want["tweets"],)]

    # Agreement: the read API's figures (checked by hand in test_dashboard.py), both ways round.
    cols, rows = results["Agreement with $versus"]
    assert cols == ["n", "agreement", "kappa"]
    overall = agreement["overall"]
    assert rows[0][0] == overall["n"] == want["tweets"]
    assert rows[0][1] == pytest.approx(overall["agreement"]) and rows[0][1] < 1
    assert rows[0][2] == pytest.approx(overall["kappa"])
    assert other["Agreement with $versus"] == [pytest.approx(rows[0])]
    cols, rows = results["Agreement per window with $versus"]
    assert cols == ["time", "n", "agreement", "kappa"] and len(rows) == 32
    assert [r[0] for r in rows] == agreement["series"]["time"]
    assert [r[2] for r in rows] == pytest.approx(agreement["series"]["agreement"])


# The insight panels on hand-made schema 2 rows: three windows in the range and one after it,
# and a second topic whose rows must not count.
TOPIC, OTHER = "acme", "other"
W = [datetime(2024, 3, 1, 0, 15 * i, tzinfo=UTC) for i in range(4)]
IN_RANGE = ("2024-03-01T00:00:00Z", "2024-03-01T00:44:59Z")  # W[0] to W[2]


def _insert(table: Table, rows: list[dict[str, Any]]) -> list[tuple[str, list]]:
    out = []
    for row in rows:
        names = list(row)
        sql = f'INSERT INTO "{table.name}" ({", ".join(quote(n) for n in names)}) VALUES '
        out.append((sql + "(" + ", ".join("?" for _ in names) + ")", list(row.values())))
    return out


def _window(
    query: str,
    i: int,
    n: int,
    shares: tuple[float, float, float],
    volume: int | None,
    opinions: tuple[int, float, float],
    weighted_net: float,
) -> dict[str, Any]:
    pos, neg, neu = shares
    return {
        "query": query,
        "time_window": W[i],
        "count_tweets": n,
        "perc_tweet_positive": pos,
        "perc_tweet_negative": neg,
        "perc_tweet_neutral": neu,
        "perc_tweet_mixed": 1 - pos - neg - neu,
        "volume": volume,
        "count_reposts": n - opinions[0],
        "count_opinions": opinions[0],
        "perc_opinion_positive": opinions[1],
        "perc_opinion_negative": opinions[2],
        "perc_opinion_neutral": 1 - opinions[1] - opinions[2],
        "perc_opinion_mixed": 0.0,
        "engagement": 0,
        "weighted_net": weighted_net,
    }


WINDOW_ROWS = [
    # 40 posts in the range: 18 negative (2 + 10 + 6), 11 positive (5 + 5 + 1).
    _window(TOPIC, 0, 10, (0.5, 0.2, 0.3), 120, (8, 0.5, 0.25), 0.4),
    _window(TOPIC, 1, 20, (0.25, 0.5, 0.25), None, (16, 0.25, 0.625), -0.3),
    _window(TOPIC, 2, 10, (0.1, 0.6, 0.3), 900, (10, 0.1, 0.6), -0.7),
    _window(TOPIC, 3, 30, (0.9, 0.0, 0.1), 50, (30, 0.9, 0.0), 0.9),
    _window(OTHER, 1, 50, (0.0, 1.0, 0.0), 70, (50, 0.0, 1.0), -1.0),
]

# (kind, term, label, window, posts)
DRIVER_ROWS = [
    ("term", "recall", "NEGATIVE", 1, 6),
    ("term", "recall", "NEGATIVE", 2, 4),
    ("term", "recall", "POSITIVE", 0, 1),
    ("hashtag", "#ev", "NEGATIVE", 0, 1),
    ("hashtag", "#ev", "NEGATIVE", 1, 2),
    ("hashtag", "#ev", "POSITIVE", 0, 4),
    ("hashtag", "#ev", "POSITIVE", 1, 3),
    ("hashtag", "#ev", "POSITIVE", 2, 1),
    ("hashtag", "#ev", "NEUTRAL", 0, 2),
    ("entity", "Acme", "NEGATIVE", 2, 2),  # under the minimum of 3 negative posts
    ("entity", "Acme", "POSITIVE", 0, 3),
    ("mention", "@acme", "NEGATIVE", 1, 3),
    ("mention", "@acme", "NEGATIVE", 3, 50),  # after the range
    ("domain", "news.example", "NEGATIVE", 1, 3),
    ("domain", "news.example", "NEUTRAL", 1, 3),
]

# (id, window, seconds into it, post_type, label, engagement, like, repost, reply, quote)
POST_ROWS = [
    ("1001", 0, 10, "original", "POSITIVE", 50, 40, 5, 3, 2),
    ("1002", 1, 20, "repost", "NEUTRAL", 500, 0, 500, 0, 0),  # a repost: left out
    ("1003", 1, 30, "reply", "NEGATIVE", 120, 100, 10, 5, 5),
    ("1004", 2, 40, "quote", "NEGATIVE", 0, None, None, None, None),  # no public_metrics
    ("1005", 3, 50, "original", "POSITIVE", 1000, 1000, 0, 0, 0),  # after the range
    ("1006", 2, 60, None, "NEUTRAL", 50, 50, 0, 0, 0),
]


def _post(row: tuple) -> dict[str, Any]:
    tid, i, seconds, post_type, label, engagement, *metrics = row
    return {
        "query": TOPIC,
        "tweet_id": tid,
        "created_at": W[i] + timedelta(seconds=seconds),
        "time_window": W[i],
        "text": f"post {tid}",
        "username": f"user{tid}",
        "label": label,
        "post_type": post_type,
        "engagement": engagement,
        **dict(
            zip(("like_count", "repost_count", "reply_count", "quote_count"), metrics, strict=True)
        ),
    }


SPIKE_ROWS = [
    {"time_window": W[1], "metric": "volume", "value": 900.0, "baseline": 110.0, "score": 7.456},
    {"time_window": W[2], "metric": "net_sentiment", "value": -0.5, "baseline": 0.3, "score": -4.2},
    {"time_window": W[3], "metric": "volume", "value": 5.0, "baseline": 1.0, "score": 9.0},
]


def _insight_rows(dsn: str) -> None:
    drivers = [
        {"query": TOPIC, "time_window": W[i], "kind": k, "term": t, "label": lb, "count": n}
        for k, t, lb, i, n in DRIVER_ROWS
    ]
    drivers.append(
        {"query": OTHER, "time_window": W[1], "kind": "term", "term": "recall"}
        | {"label": "NEGATIVE", "count": 100}
    )
    spikes = [
        {"query": TOPIC, **r, "direction": "up" if r["score"] > 0 else "down"} for r in SPIKE_ROWS
    ]
    spikes.append({**spikes[0], "query": OTHER})
    demo.execute(
        dsn,
        [
            *[(sql, []) for sql in POSTGRES.ddl()],
            *[(POSTGRES.create_table(t), []) for t in INSIGHT_TABLES],
            *_insert(SENTIMENT, WINDOW_ROWS),
            *_insert(TWEET, [_post(r) for r in POST_ROWS]),
            *_insert(DRIVER, drivers),
            *_insert(SENTIMENT_SPIKE, spikes),
        ],
    )


def test_insight_panels_and_spikes_on_postgres(postgres_dsn: str) -> None:
    _insight_rows(postgres_dsn)
    model = grafana.dashboard()
    sql = {p["title"]: p["targets"][0]["rawSql"] for p in model["panels"]}
    (spikes,) = model["annotations"]["list"]

    def run(raw: str, reposts: str = "once") -> tuple[list[str], list[tuple]]:
        cur = con.execute(expand(raw, TOPIC, *IN_RANGE, reposts=reposts))
        return [d.name for d in cur.description], cur.fetchall()

    with psycopg.connect(postgres_dsn) as con:
        # Every panel runs on the schema 2 tables, the analyzer's (empty here) included.
        for raw in sql.values():
            run(raw)
        volume = run(sql["True volume and sampled posts per window"])
        volume_each = run(sql["True volume and sampled posts per window"], "each")[1]
        net = run(sql["Net sentiment per window"])
        net_each = run(sql["Net sentiment per window"], "each")[1]
        negative = run(sql["Drivers of negative posts"])
        positive = run(sql["Drivers of positive posts"])
        posts = run(sql["Posts that matter"])
        marks = run(spikes["target"]["rawSql"])

    assert volume == (
        ["time", "volume", "sampled"],
        [(W[0], 120, 8), (W[1], None, 16), (W[2], 900, 10)],
    )
    assert volume_each == [(W[0], 120, 10), (W[1], None, 20), (W[2], 900, 10)]
    assert net[0] == ["time", "net", "engagement-weighted net"]
    assert net[1] == [
        (W[0], pytest.approx(0.25), 0.4),
        (W[1], pytest.approx(-0.375), -0.3),
        (W[2], pytest.approx(-0.5), -0.7),
    ]
    assert [r[1] for r in net_each] == pytest.approx([0.3, -0.25, -0.5])

    # lift = (posts of the label with the term / 18 negative or 11 positive posts)
    #        / (posts with the term / 40 posts), over W[0] to W[2] only.
    assert negative[0] == ["kind", "term", "posts", "all posts", "lift"]
    assert negative[1] == [
        ("mention", "@acme", 3, 3, pytest.approx(3 / 18 / (3 / 40))),
        ("term", "recall", 10, 11, pytest.approx(10 / 18 / (11 / 40))),
        ("domain", "news.example", 3, 6, pytest.approx(3 / 18 / (6 / 40))),
        ("hashtag", "#ev", 3, 13, pytest.approx(3 / 18 / (13 / 40))),
    ]
    assert positive[1] == [
        ("hashtag", "#ev", 8, 13, pytest.approx(8 / 11 / (13 / 40))),
        ("entity", "Acme", 3, 5, pytest.approx(3 / 11 / (5 / 40))),
    ]

    cols, rows = posts
    assert cols == [
        "time", "username", "post_type", "label", "engagement", "like_count",
        "repost_count", "reply_count", "quote_count", "text", "link",
    ]  # fmt: skip
    assert [r[cols.index("link")] for r in rows] == [
        f"https://x.com/i/web/status/{tid}" for tid in ("1003", "1006", "1001", "1004")
    ]
    assert rows[0][4:9] == (120, 100, 10, 5, 5) and rows[-1][4:9] == (0, None, None, None, None)

    assert marks == (
        ["time", "text", "tags"],
        [
            (
                W[1],
                "volume up: 900.00 against a baseline of 110.00 (robust z-score 7.46)",
                "volume,up",
            ),
            (
                W[2],
                "net_sentiment down: -0.50 against a baseline of 0.30 (robust z-score -4.20)",
                "net_sentiment,down",
            ),
        ],
    )
