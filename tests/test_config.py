from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tweetsense.config import load_config, template_path
from tweetsense.errors import ConfigError, MissingCredentialError, UnknownBackendError
from tweetsense.registry import validate_all
from tweetsense.secrets import Secrets


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


BASE = """
search:
  query: heat pumps
  start_time: 2024-01-01T00:00:00Z
  end_time: 2024-01-02T00:00:00+01:00
  freq: 1h
"""


def test_template_is_a_valid_config(tmp_path: Path) -> None:
    cfg = load_config(template_path(), environ={})
    validate_all(cfg)
    assert cfg.search.freq == 900
    assert cfg.source.type == "synthetic"


def test_times_are_utc_and_freq_is_seconds(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE), environ={})
    assert cfg.search.end_time == datetime(2024, 1, 1, 23, tzinfo=UTC)
    assert cfg.search.freq == 3600
    assert cfg.search.max_per_window == 100


def test_environment_overrides_any_key(tmp_path: Path) -> None:
    env = {
        "TWEETSENSE_SEARCH__MAX_PER_WINDOW": "7",
        "TWEETSENSE_SOURCE__SEED": "9",
        "TWEETSENSE_DATA_DIR": "/tmp/x",
        "TWEETSENSE_SECRETS_FILE": "ignored: not a config key",
    }
    cfg = load_config(write(tmp_path, BASE), environ=env)
    assert cfg.search.max_per_window == 7
    assert cfg.source.options() == {"seed": 9}
    assert str(cfg.data_dir) == "/tmp/x"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (BASE.replace("freq: 1h", "freq: 90s"), "search.freq: must be a whole number of minutes"),
        (BASE.replace("2024-01-01T00", "yesterday"), "search.start_time"),
        (BASE + "  colour: blue\n", "search.colour: unknown key"),
        (BASE.replace("query: heat pumps", "query: ''"), "search.query"),
        ("search: [1, 2]", "search"),
        (
            BASE.replace("end_time: 2024-01-02T00:00:00+01:00", "end_time: 2023-01-01T00:00:00Z"),
            "start_time must be before end_time",
        ),
    ],
)
def test_invalid_values_give_one_line_naming_the_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert str(tmp_path / "c.yaml") in message


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"c\.yaml line \d+: expected"):
        load_config(write(tmp_path, "search:\n  query: a\n  bad: [unclosed\n"), environ={})


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tweetsense init"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_unknown_backend_and_setting_are_named(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE + "stream:\n  type: carrier-pigeon\n"), environ={})
    with pytest.raises(
        UnknownBackendError, match=r"stream\.type: unknown backend 'carrier-pigeon'"
    ):
        validate_all(cfg)
    cfg = load_config(write(tmp_path, BASE + "stream:\n  type: sqlite\n  shards: 3\n"), environ={})
    with pytest.raises(ConfigError, match=r"stream\.shards: unknown setting"):
        validate_all(cfg)


def test_secrets_come_from_env_then_file_and_are_not_echoed(tmp_path: Path) -> None:
    file = tmp_path / "secrets.yaml"
    file.write_text("X_BEARER_TOKEN: from-file-s3cr3t\n")
    assert Secrets(file, environ={}).get("X_BEARER_TOKEN") == "from-file-s3cr3t"
    assert Secrets(file, environ={"X_BEARER_TOKEN": "env"}).get("X_BEARER_TOKEN") == "env"
    with pytest.raises(MissingCredentialError, match="export API_KEY") as info:
        Secrets(file, environ={}).require("API_KEY", "the x_api source")
    assert "s3cr3t" not in str(info.value)
    file.write_text("X_BEARER_TOKEN: [s3cr3t\n")
    with pytest.raises(ConfigError) as bad:
        Secrets(file, environ={}).get("X_BEARER_TOKEN")
    assert "s3cr3t" not in str(bad.value)


def test_overrides_never_leak_into_the_demo_defaults(tmp_path: Path) -> None:
    load_config(None, demo=True, environ={"TWEETSENSE_SEARCH__MAX_PER_WINDOW": "3"})
    assert load_config(None, demo=True, environ={}).search.max_per_window == 100


def test_a_backend_setting_alone_keeps_the_default_backend(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, BASE), environ={"TWEETSENSE_BATCH__MEMORY_LIMIT": "1GB"})
    assert cfg.batch.type == "duckdb" and cfg.batch.options() == {"memory_limit": "1GB"}


def test_switching_backend_keeps_only_settings_the_new_one_has(tmp_path: Path) -> None:
    from tweetsense.registry import with_backend

    text = BASE + "batch:\n  type: duckdb\n  threads: 2\n  csv: false\n"
    cfg = load_config(write(tmp_path, text), environ={})
    spark = with_backend(cfg, "batch", "spark", master="local[1]")
    assert spark.batch.type == "spark" and spark.batch.options()["master"] == "local[1]"
    assert "threads" not in spark.batch.options()
    validate_all(spark)
    same = with_backend(cfg, "batch", None, memory_limit="1GB")
    assert same.batch.options() == {"threads": 2, "csv": False, "memory_limit": "1GB"}
    sentiment = with_backend(cfg, "sentiment", "vader")
    assert sentiment.sentiment.batch_size == cfg.sentiment.batch_size


def test_budgets_are_source_section_keys_for_any_source(tmp_path: Path) -> None:
    from tweetsense.registry import settings_for

    # Written where the x_api settings used to hold them: the same YAML stays valid.
    text = BASE + "source:\n  type: x_api\n  endpoint: all\n  max_posts: 5000\n  max_cost: 25\n"
    cfg = load_config(write(tmp_path, text), environ={})
    assert (cfg.source.max_posts, cfg.source.max_cost) == (5000, 25.0)
    assert "max_cost" not in cfg.source.options()
    settings_for("source", cfg.source)
    env = {"TWEETSENSE_SOURCE__MAX_POSTS": "300"}
    assert load_config(write(tmp_path, BASE), environ=env).source.max_posts == 300
    with pytest.raises(ConfigError, match=r"source\.max_posts: .*greater than or equal to 1"):
        load_config(write(tmp_path, BASE + "source:\n  max_posts: 0\n"), environ={})
