"""A new user's first hour, run as they run it: the `tweetsense` command in a subprocess.

Missing extras are simulated by blocking their modules (``sys.modules[name] = None`` makes the
import fail exactly as an uninstalled package does).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SEARCH = (
    "search:\n"
    "  query: electric vehicles\n"
    "  start_time: 2024-03-01T00:00:00Z\n"
    "  end_time: 2024-03-01T02:00:00Z\n"
)


def tweetsense(
    *args: str, cwd: Path, block: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    prelude = (
        "import sys\n"
        f"for name in {block!r}:\n"
        "    sys.modules[name] = None\n"
        "from tweetsense.cli.app import main\n"
        f"sys.argv = ['tweetsense', *{args!r}]\n"
        "main()\n"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
    environ.update(env or {}, COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-c", prelude],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tweetsense.yaml"
    path.write_text(SEARCH + text, encoding="utf-8")
    return path


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("section", "blocked", "extra"),
    [
        ("warehouse:\n  type: postgres\n  host: 127.0.0.1\n", ("psycopg",), "postgres"),
        ("stream:\n  type: redis\n", ("redis",), "redis"),
        ("stream:\n  type: kafka\n", ("confluent_kafka",), "kafka"),
        ("sentiment:\n  type: http\n  url: http://127.0.0.1:1/\n", ("httpx",), "http"),
        ("batch:\n  type: spark\n", ("pyspark",), "spark"),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    tmp_path: Path, section: str, blocked: tuple[str, ...], extra: str
) -> None:
    config(tmp_path, section)
    result = tweetsense("run", cwd=tmp_path, block=blocked)
    assert result.returncode == 2
    assert f"pip install 'tweetsense[{extra}]'" in one_line_error(result)


def test_x_api_with_a_token_but_without_httpx(tmp_path: Path) -> None:
    config(tmp_path, "source:\n  type: x_api\n")
    result = tweetsense(
        "run", cwd=tmp_path, block=("httpx",), env={"X_BEARER_TOKEN": "secret-token"}
    )
    line = one_line_error(result)
    assert "source.type: x_api" in line and "pip install 'tweetsense[x]'" in line
    assert "secret-token" not in result.stdout + result.stderr


def test_doctor_names_the_extra_for_kinesis_and_comprehend(tmp_path: Path) -> None:
    config(
        tmp_path,
        "stream:\n  type: kinesis\n  stream_name: posts\nsentiment:\n  type: comprehend\n",
    )
    result = tweetsense("doctor", cwd=tmp_path, block=("boto3", "botocore"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "No module named" not in result.stdout
    lines = result.stdout.splitlines()
    for stage in ("stream", "sentiment"):
        line = next(line for line in lines if line.startswith(stage))
        assert "failed:" in line and "pip install 'tweetsense[aws]'" in line


def test_dashboard_without_its_extra(tmp_path: Path) -> None:
    result = tweetsense("dashboard", "--demo", cwd=tmp_path, block=("starlette", "uvicorn"))
    assert "pip install 'tweetsense[dashboard]'" in one_line_error(result)


def test_user_text_is_printed_as_written(tmp_path: Path) -> None:
    config(tmp_path, "source:\n  type: replay\n  path: ./exports/[old]/x.jsonl\n")
    line = one_line_error(tweetsense("run", cwd=tmp_path))
    assert "./exports/[old]/x.jsonl" in line

    config(tmp_path, '"[/oops]": 1\n')
    line = one_line_error(tweetsense("status", cwd=tmp_path))
    assert "[/oops]: unknown key" in line


def test_run_checks_every_backend_before_fetching(tmp_path: Path) -> None:
    port = closed_port()
    config(
        tmp_path,
        f"warehouse:\n  type: postgres\n  host: 127.0.0.1\n  port: {port}\n  connect_timeout: 2\n",
    )
    result = tweetsense("run", cwd=tmp_path, env={"PGPASSWORD": "x"})
    assert result.returncode != 0
    line = one_line_error(result)
    assert str(port) in line and "before any stage ran" in line
    staged = list((tmp_path / "tweetsense-data").rglob("staging/**/*.json"))
    assert staged == [], "nothing may be fetched when the warehouse is down"


def test_config_errors_blame_where_the_key_was_written(tmp_path: Path) -> None:
    config(tmp_path, "")
    result = tweetsense("status", cwd=tmp_path, env={"TWEETSENSE_SEARCH__QUERYY": "x"})
    line = one_line_error(result)
    assert "environment variable TWEETSENSE_SEARCH__QUERYY" in line
    assert "tweetsense.yaml" not in line and "did you mean 'query'?" in line

    (tmp_path / "tweetsense.yaml").write_text(
        'search:\n  query: "electric vehicles\n' + "# padding\n" * 20, encoding="utf-8"
    )
    line = one_line_error(tweetsense("status", cwd=tmp_path))
    assert "tweetsense.yaml line 2:" in line and "quoted scalar" in line

    config(tmp_path, "warehouse:\n  type: duckdb\n  pathh: w.duckdb\n")
    line = one_line_error(tweetsense("status", cwd=tmp_path))
    assert "warehouse.pathh" in line and "did you mean 'path'?" in line
