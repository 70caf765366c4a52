"""Redshift: the generated SQL against a reviewed golden file, every statement PostgreSQL also
accepts run on the real PostgreSQL, and whole loads through S3 (moto) with Redshift stood in for
by a connection that runs the same script on PostgreSQL, doing each COPY from S3 itself."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import psycopg
import pyarrow.parquet as pq
import pytest

from tests.contracts.test_warehouse_contract import (
    _outputs,
    test_analysis_tables_load_and_reload_by_key,
    test_outputs_without_analysis_files_still_load,
)
from tweetsense.config import BackendSection
from tweetsense.errors import ConfigError, MissingCredentialError
from tweetsense.registry import Context, create, settings_for
from tweetsense.secrets import Secrets
from tweetsense.warehouse.base import LOADED_TABLES
from tweetsense.warehouse.dialects import REDSHIFT, arrow_schema
from tweetsense.warehouse.postgres import copy_parquet
from tweetsense.warehouse.redshift_sql import load_script, render, stage_name
from tweetsense.warehouse.schema import TWEET

GOLDEN = Path(__file__).parent / "golden" / "redshift_load.sql"
ROLE = "arn:aws:iam::123456789012:role/tweetsense-copy"
URIS = {
    "tweet": "s3://ts-bucket/tweetsense/loads/ev-1/tweet.parquet",
    "sentiment": "s3://ts-bucket/tweetsense/loads/ev-1/sentiment.parquet",
    "tweet_score": "s3://ts-bucket/tweetsense/loads/ev-1/tweet_score.parquet",
    "sentiment_by_analyzer": "s3://ts-bucket/tweetsense/loads/ev-1/sentiment_by_analyzer.parquet",
    "analyzer_agreement": "s3://ts-bucket/tweetsense/loads/ev-1/analyzer_agreement.parquet",
    "driver": "s3://ts-bucket/tweetsense/loads/ev-1/driver.parquet",
    "sentiment_spike": "s3://ts-bucket/tweetsense/loads/ev-1/sentiment_spike.parquet",
}
AT = datetime(2024, 3, 1, tzinfo=UTC)
COPY = re.compile(r"COPY \"(\w+)\" FROM '(s3://[^']+)' IAM_ROLE '([^']+)' FORMAT AS PARQUET")


def test_script_matches_the_reviewed_golden_file() -> None:
    text = render(load_script("ev", URIS, ROLE, AT))
    if os.environ.get("TWEETSENSE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_copy_targets_have_the_ddl_columns_in_file_order(postgres_dsn: str) -> None:
    """The staging table is LIKE its target and the uploaded file has arrow_schema's order, so
    Redshift's positional Parquet mapping lines up; checked on the tables PostgreSQL builds."""
    script = load_script("ev", URIS, ROLE, AT)
    copies = [COPY.fullmatch(s.sql) for s in script if not s.postgres]
    assert [m.group(1) for m in copies if m] == [stage_name(t) for t in LOADED_TABLES]
    with psycopg.connect(postgres_dsn) as con:
        for st in script:
            if st.postgres:
                con.execute(st.sql, st.params or None)
            if st.sql.startswith("CREATE TEMP TABLE"):
                name = re.search(r'"(tweetsense_stage_\w+)"', st.sql).group(1)  # type: ignore[union-attr]
                table = next(t for t in LOADED_TABLES if stage_name(t) == name)
                cols = con.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 ORDER BY attnum",
                    [name],
                ).fetchall()
                assert [c[0] for c in cols] == arrow_schema(table).names == table.column_names


def test_ddl_uses_redshift_types() -> None:
    ddl = "\n".join(REDSHIFT.ddl())
    assert '"text" VARCHAR(65535)' in ddl and "TEXT" not in ddl
    assert "CREATE INDEX" not in ddl  # Redshift has none


class _RedshiftOnPostgres:
    """Runs the load script on PostgreSQL; a Redshift COPY is done by fetching the object from
    S3 and COPYing it into the same staging table."""

    def __init__(self, dsn: str, endpoint: str, tmp: Path, copies: list) -> None:
        self.con = psycopg.connect(dsn)
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        self.tmp, self.copies = tmp, copies
        self.autocommit = False

    def cursor(self) -> _RedshiftOnPostgres:
        return self

    def execute(self, sql: str, params: Any = None) -> None:
        m = COPY.fullmatch(sql)
        if m is None:
            self._cur = self.con.execute(sql, params)
            return
        stage, uri, role = m.groups()
        self.copies.append((stage, uri, role))
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        local = self.tmp / key.replace("/", "_")
        self.s3.download_file(bucket, key, str(local))
        assert (
            pq.read_schema(local).names
            == next(t for t in LOADED_TABLES if stage_name(t) == stage).column_names
        )
        table = next(t for t in LOADED_TABLES if stage_name(t) == stage)
        with self.con.cursor() as cur:
            copy_parquet(cur, stage, table, str(local), 1000)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> Any:
        return self._cur.fetchall()

    @property
    def description(self) -> Any:
        return self._cur.description

    def commit(self) -> None:
        self.con.commit()

    def rollback(self) -> None:
        self.con.rollback()

    def close(self) -> None:
        self.con.close()


@pytest.fixture
def redshift(context: Context, make_bucket, moto_endpoint: str, postgres_dsn: str, tmp_path):
    bucket = make_bucket()
    section = BackendSection(
        type="redshift",
        host="example.abc123.us-east-1.redshift.amazonaws.com",
        user="loader",
        iam_role=ROLE,
        s3_bucket=bucket,
        s3_endpoint_url=moto_endpoint,
        region="us-east-1",
    )
    ctx = Context(context.config, Secrets(environ={"REDSHIFT_PASSWORD": "pw"}))
    w = create("warehouse", ctx, section)
    copies: list[tuple[str, str, str]] = []
    w._connect = lambda: _RedshiftOnPostgres(postgres_dsn, moto_endpoint, tmp_path, copies)
    return w, copies, bucket


def test_load_through_s3_twice_replaces_by_key(redshift, tmp_path: Path, moto_endpoint) -> None:
    w, copies, bucket = redshift
    first = w.load("ev", _outputs(tmp_path, "ev", 5, "POSITIVE"))
    assert (first.tweets, first.windows) == (5, 1)
    again = w.load("ev", _outputs(tmp_path, "ev", 7, "NEGATIVE"))
    assert (again.tweets, again.windows) == (7, 1)
    assert (
        first.location
        == "redshift://loader@example.abc123.us-east-1.redshift.amazonaws.com:5439/dev"
    )
    assert len(copies) == 4 and {c[2] for c in copies} == {ROLE}
    assert all(uri.startswith(f"s3://{bucket}/tweetsense/loads/ev-") for _, uri, _ in copies)
    windows = w.windows("ev")  # the read API runs its SQL through the same connection
    assert [(r["time_window"], r["count_tweets"]) for r in windows] == [(AT, 7)]
    assert w.summary("ev")["tweets"] == 7
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0  # uploads removed


def test_analysis_tables_load_through_s3(redshift, tmp_path: Path) -> None:
    w, copies, _ = redshift
    test_analysis_tables_load_and_reload_by_key(w, tmp_path)
    assert len(copies) == 4 * 4  # four loads of four tables
    test_outputs_without_analysis_files_still_load(w, tmp_path)
    assert len(copies) == 4 * 4 + 2


def test_settings_are_checked_before_any_sql() -> None:
    base = {"type": "redshift", "host": "h", "user": "u", "s3_bucket": "ts-bucket"}
    with pytest.raises(ConfigError, match=r"warehouse\.iam_role: must be an IAM role ARN"):
        settings_for("warehouse", BackendSection(**base, iam_role="role'; DROP TABLE tweet"))
    with pytest.raises(ConfigError, match=r"warehouse\.s3_bucket"):
        settings_for(
            "warehouse", BackendSection(**{**base, "s3_bucket": "s3://x/y"}, iam_role=ROLE)
        )
    with pytest.raises(ConfigError, match=r"warehouse\.iam_role: required key is missing"):
        settings_for("warehouse", BackendSection(**base))


def test_missing_password_names_the_secret(context: Context) -> None:
    section = BackendSection(
        type="redshift", host="h", user="u", iam_role=ROLE, s3_bucket="ts-bucket"
    )
    w = create("warehouse", Context(context.config, Secrets(environ={})), section)
    with pytest.raises(MissingCredentialError, match="REDSHIFT_PASSWORD"):
        w._connect()


def test_a_version_1_warehouse_is_migrated_through_s3(
    redshift, postgres_dsn: str, tmp_path: Path
) -> None:
    from tests.test_warehouse_migration import VERSION_1, _check, _new_outputs

    w, _, _ = redshift
    with psycopg.connect(postgres_dsn) as con:
        for statement in VERSION_1:
            con.execute(statement)
    for _ in range(2):  # the second load finds every column and alters nothing
        result = w.load("ev", _new_outputs(tmp_path))
        assert (result.tweets, result.windows) == (2, 1)

    def rows(sql: str) -> list[tuple]:
        with psycopg.connect(postgres_dsn) as con:
            return con.execute(sql).fetchall()

    _check(rows, tmp_path)


def test_alter_only_for_missing_columns() -> None:
    catalog = [("tweet", c) for c in TWEET.column_names if c != "terms"]
    alters = [s.sql for s in load_script("ev", URIS, ROLE, AT, catalog) if "ALTER" in s.sql]
    assert alters == ['ALTER TABLE "tweet" ADD COLUMN "terms" VARCHAR(65535)']
