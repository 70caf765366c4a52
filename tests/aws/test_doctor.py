"""`tweetsense doctor` against moto_server, kinesalite and the Comprehend fake: one line per
stage, non-zero exit when any backend fails, and the failing line says which setting to fix."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tweetsense.cli.app import app


def _config(tmp_path: Path, bucket: str, stream: str, endpoints: dict[str, str]) -> Path:
    cfg = {
        "data_dir": str(tmp_path / "data"),
        "search": {
            "query": "heat pumps",
            "start_time": "2024-03-01T00:00:00Z",
            "end_time": "2024-03-01T01:00:00Z",
        },
        "storage": {"type": "s3", "bucket": bucket, "endpoint_url": endpoints["s3"]},
        "stream": {"type": "kinesis", "stream_name": stream, "endpoint_url": endpoints["kinesis"]},
        "sentiment": {"type": "comprehend", "endpoint_url": endpoints["comprehend"]},
    }
    path = tmp_path / "aws.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_doctor_reports_each_backend(
    tmp_path,
    make_bucket,
    moto_endpoint,
    make_kinesis_stream,
    kinesalite_endpoint,
    fake_comprehend,
    monkeypatch,
) -> None:
    monkeypatch.delenv("TWEETSENSE_SENTIMENT__TYPE")  # the config file's analyzer is the subject
    endpoints = {
        "s3": moto_endpoint,
        "kinesis": kinesalite_endpoint,
        "comprehend": fake_comprehend.url,
    }
    good = _config(tmp_path, make_bucket(), make_kinesis_stream(2), endpoints)
    result = CliRunner().invoke(app, ["doctor", "--config", str(good)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 6
    assert any("bucket s3://" in line and "reachable" in line for line in lines)
    assert any("2 open shards" in line for line in lines)
    assert any("Comprehend answers" in line for line in lines)
    assert fake_comprehend.requests  # the analyzer was really asked

    bad = _config(tmp_path, "no-such-bucket-here", "no-such-stream", endpoints)
    result = CliRunner().invoke(app, ["doctor", "--config", str(bad)])
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "failed:" in line]
    assert len(failed) == 2
    assert "storage.bucket" in failed[0] and "Traceback" not in result.output
    assert "stream.stream_name" in failed[1]
