"""`tweetsense grafana export`: the dashboard JSON's structure, the provisioning YAML, and every
panel's SQL run against a real PostgreSQL holding a demo warehouse of two analyzers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import yaml

from tests import dashboard_data as demo
from tweetsense.config import BackendSection
from tweetsense.dashboard import grafana
from tweetsense.registry import Context, create
from tweetsense.warehouse.schema import TABLES

GAUGES = ("positive", "neutral", "negative", "mixed")


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
) -> str:
    """Grafana's interpolation of the macros and the variables the panels use."""
    sql = re.sub(r"\$__timeFilter\((\w+)\)", lambda m: f"{m[1]} BETWEEN '{start}' AND '{end}'", sql)
    sql = sql.replace("${query:sqlstring}", _quoted(query))
    sql = sql.replace("${analyzer:sqlstring}", _quoted(analyzer))
    sql = sql.replace("${versus:sqlstring}", _quoted(versus))
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
        "note: the warehouse has no tweet_score or sentiment_by_analyzer table, which the "
        "panels read; run `tweetsense load`" in " ".join(r.stderr.split())
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
    assert list(variables) == ["query", "analyzer", "versus"]
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
        assert "${analyzer:sqlstring}" in target["rawSql"]
        assert "FROM sentiment " not in target["rawSql"]
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
