"""The command line as a person uses it: exit codes, one-line errors, init, status."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.servers.fake_x_api import FakeXApi
from tweetsense.cli.app import app
from tweetsense.cli.summary import program

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env or {}, catch_exceptions=False)


def test_init_writes_a_template_that_runs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("init").exit_code == 0
    text = (tmp_path / "tweetsense.yaml").read_text()
    assert "search:" in text
    assert text.endswith("\n") and not text.endswith("\n\n")  # editors and `cat >>` expect it
    again = invoke("init")
    assert again.exit_code == 2 and "--force" in again.output


def test_missing_config_is_one_line_with_the_fix(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("ingest")
    assert result.exit_code == 2
    assert "tweetsense init" in result.output and "Traceback" not in result.output


def test_bad_config_value_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text(
        "search:\n  query: x\n  start_time: 2024-01-01T00:00:00Z\n"
        "  end_time: 2024-01-02T00:00:00Z\n  max_per_window: -3\n"
    )
    result = invoke("status", "--config", str(bad))
    assert result.exit_code == 2
    assert "search.max_per_window" in result.output and "Traceback" not in result.output


def test_unknown_backend_from_environment(tmp_path: Path) -> None:
    result = invoke(
        "run", "--demo", "--data-dir", str(tmp_path), env={"TWEETSENSE_WAREHOUSE__TYPE": "oracle"}
    )
    assert result.exit_code == 2
    assert "warehouse.type: unknown backend 'oracle'" in result.output


def test_stage_out_of_order_exits_non_zero(tmp_path: Path) -> None:
    result = invoke("load", "--demo", "--data-dir", str(tmp_path))
    assert result.exit_code == 1 and "run `tweetsense batch` first" in result.output


def test_ingest_line_counts_posts_already_staged(tmp_path: Path) -> None:
    # As after a run stopped before scoring: the rerun publishes the staged windows again, and
    # its line counts their posts as its progress bar does, apart from posts fetched now.
    env = {"TWEETSENSE_SEARCH__END_TIME": "2024-03-01T01:00:00Z"}
    first = invoke("ingest", "--demo", "-d", str(tmp_path), env=env)
    found = re.search(r"4 windows fetched \(([\d,]+) posts\)", " ".join(first.output.split()))
    assert first.exit_code == 0 and found, first.output
    again = invoke("ingest", "--demo", "-d", str(tmp_path), env=env)
    assert again.exit_code == 0
    line = " ".join(again.output.split())
    assert (
        f"0 windows fetched (0 posts), 4 already staged and published again ({found[1]} posts)"
        in line
    ), line


@pytest.mark.slow
def test_stage_commands_and_status(tmp_path: Path) -> None:
    env = {
        "TWEETSENSE_SEARCH__END_TIME": "2024-03-01T02:00:00Z",
        "TWEETSENSE_SENTIMENT__WORKERS": "1",
    }
    d = str(tmp_path)
    assert invoke("ingest", "--demo", "-d", d, env=env).exit_code == 0
    pending = invoke("status", "--demo", "-d", d, "--windows", env=env)
    assert pending.exit_code == 0 and "8 records waiting" in pending.output
    for stage in ("consume", "batch", "load"):
        result = invoke(stage, "--demo", "-d", d, env=env)
        assert result.exit_code == 0, result.output
    done = invoke("status", "--demo", "-d", d, env=env)
    assert "0 records waiting" in done.output
    row = next(line for line in done.output.splitlines() if "load" in line)
    assert row.split("│")[2].strip() == "8"
    nothing = invoke("status", "--demo", "-d", d, "--windows", "-vv", env=env)
    assert "every window is done in every stage (8 windows)" in nothing.output


def test_help_lists_commands_in_the_order_of_use() -> None:
    text = invoke("--help", env={"COLUMNS": "100"}).output
    order = ["run", "init", "status", "dashboard", "ingest", "consume", "batch", "load", "doctor"]
    at = [text.index(f"│ {name} ") for name in order]
    assert at == sorted(at)


def test_help_shows_flags_without_metavars_and_the_config_default() -> None:
    text = invoke("ingest", "--help", env={"COLUMNS": "200"}).output
    assert "<bool>" not in text and "<int>" not in text.split("--verbose")[1].splitlines()[0]
    assert "./tweetsense.yaml" in text and "-v, -vv" in text
    assert "--no-refetch" not in text


SHORT_DEMO = {
    "TWEETSENSE_SEARCH__END_TIME": "2024-03-01T02:00:00Z",
    "TWEETSENSE_SENTIMENT__WORKERS": "1",
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A short demo run's data folder and the lines its summary printed."""
    data = tmp_path_factory.mktemp("summary") / "a-folder-whose-path-is-longer-than-eighty-columns"
    result = invoke("run", "--demo", "--data-dir", str(data), env=SHORT_DEMO)
    assert result.exit_code == 0, result.output
    return data, [line.strip() for line in result.output.splitlines()]


def test_run_summary_ends_with_whole_commands_to_paste(demo_run: tuple[Path, list[str]]) -> None:
    data, lines = demo_run
    tweetsense = program("tweetsense")
    following = lines[lines.index("next") + 1 :]
    commands = following[1::2]
    assert commands[0] == f"{tweetsense} dashboard --demo --data-dir {data}"
    assert commands[1] == f"{tweetsense} status --demo --data-dir {data}"
    assert commands[3] == f"{tweetsense} init"
    # The SQL line runs as printed, however long it is.
    sql = subprocess.run(shlex.split(commands[2]), capture_output=True, text=True, timeout=60)
    assert sql.returncode == 0, sql.stderr
    assert "electric vehicles" in sql.stdout


def test_program_is_the_bare_name_only_when_the_path_finds_this_one(monkeypatch) -> None:
    here = Path(sys.executable).parent
    monkeypatch.setenv("PATH", str(here))
    assert program("python") == "python"
    monkeypatch.setenv("PATH", "")
    assert Path(program("python")).absolute() == here.absolute() / "python"


def test_run_summary_counts_add_up(demo_run: tuple[Path, list[str]]) -> None:
    _, lines = demo_run

    def count(name: str) -> int:
        row = next(line for line in lines if line.startswith(f"│ {name} "))
        return int(row.split("│")[2].split()[0].replace(",", ""))

    fetched, duplicates, outside, unique = (
        count("posts fetched"),
        count("duplicates"),
        count("outside the range"),  # the first window's copies of posts before the range
        count("posts (unique)"),
    )
    assert fetched == 800 and duplicates > 0 and outside > 0
    assert fetched - duplicates - outside == unique
    assert any("the same post in more than one window or page" in line for line in lines)


def test_rerun_summary_shows_the_same_ledger(demo_run: tuple[Path, list[str]]) -> None:
    data, first = demo_run
    again = invoke("run", "--demo", "--data-dir", str(data), env=SHORT_DEMO)
    assert again.exit_code == 0, again.output
    rows = ("│ posts fetched ", "│ duplicates ", "│ outside the range ", "│ posts (unique) ")
    lines = [line.strip() for line in again.output.splitlines()]
    assert [x for x in lines if x.startswith(rows)] == [x for x in first if x.startswith(rows)]


def test_run_summary_prints_api_errors_literally(tmp_path: Path) -> None:
    # The consoles have markup and emoji off: "[gatewaypundit]" and ":100:" stay as sent.
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(minutes=30)
    detail = "User has been suspended: [gatewaypundit]. :100:"
    with FakeXApi(empty_share=0.0, errors_only=frozenset({int(start.timestamp())})) as api:
        original = api._suspended
        api._suspended = lambda: {**original(), "detail": detail}  # type: ignore[method-assign]
        config = tmp_path / "tweetsense.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            f"search: {{query: ev, start_time: '{start.isoformat()}', "
            f"end_time: '{end.isoformat()}'}}\n"
            f"source: {{type: x_api, base_url: '{api.url}', timeout: 5}}\n"
        )
        env = {"X_BEARER_TOKEN": api.token, "COLUMNS": "200", "TWEETSENSE_SENTIMENT__WORKERS": "1"}
        result = invoke("run", "--config", str(config), env=env)
        # The ledger keeps them: a rerun that fetches nothing, and status, still show them.
        again = invoke("run", "--config", str(config), env=env)
        status = invoke("status", "--config", str(config), env=env)
    assert result.exit_code == 0, result.output
    for output in (result.output, again.output):
        row = next(line for line in output.splitlines() if "│ API errors " in line)
        assert "1 page with only errors, " in row and f"(first: {detail})" in row, row
    assert "API errors: 1 page with only errors, " in status.output
    assert f"(first: {detail})" in status.output
