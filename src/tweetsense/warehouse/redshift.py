"""Amazon Redshift as the warehouse: the outputs go to S3 (boto3), then one transaction COPYs
them into staging tables and replaces the target rows by key (redshift-connector)."""

from __future__ import annotations

import contextlib
import re
import tempfile
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tweetsense.errors import (
    BackendUnavailableError,
    BadInputError,
    ConfigError,
    MissingCredentialError,
)
from tweetsense.warehouse.base import LOADED_TABLES, LoadResult, tables_to_load
from tweetsense.warehouse.dialects import arrow_schema, catalog_sql
from tweetsense.warehouse.files import record_batches
from tweetsense.warehouse.reads import SqlReads
from tweetsense.warehouse.redshift_sql import load_script
from tweetsense.warehouse.schema import Table

if TYPE_CHECKING:
    from tweetsense.registry import Context

_ROLE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX = re.compile(r"[A-Za-z0-9!_.*()/-]*")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class RedshiftWarehouse(SqlReads):
    mark = "%s"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        host: str = Field(description="cluster or workgroup endpoint")
        port: int = Field(default=5439, ge=1, le=65535)
        database: str = "dev"
        user: str
        password_secret: str = "REDSHIFT_PASSWORD"
        iam_role: str = Field(description="ARN of the role Redshift assumes to read the bucket")
        s3_bucket: str
        s3_prefix: str = "tweetsense/loads"
        region: str | None = None  # of the bucket; default: the AWS chain's
        s3_endpoint_url: str | None = None
        keep_uploads: bool = False  # leave the uploaded files in S3 after a load
        timeout: int = Field(default=30, ge=1)

        @field_validator("iam_role")
        @classmethod
        def _role(cls, value: str) -> str:
            if not all(_ROLE.fullmatch(part) for part in value.split(",")):
                raise ValueError("must be an IAM role ARN, arn:aws:iam::<account>:role/<name>")
            return value

        @field_validator("s3_bucket")
        @classmethod
        def _bucket(cls, value: str) -> str:
            if not _BUCKET.fullmatch(value):
                raise ValueError("must be a bucket name (no s3:// and no path; see s3_prefix)")
            return value

        @field_validator("s3_prefix")
        @classmethod
        def _prefix(cls, value: str) -> str:
            if not _PREFIX.fullmatch(value):
                raise ValueError("may hold only letters, digits and !_.*()/- characters")
            return value.strip("/")

    def __init__(self, settings: RedshiftWarehouse.Settings, context: Context):
        self.settings = settings
        self._secrets = context.secrets
        s = settings
        self.location = f"redshift://{s.user}@{s.host}:{s.port}/{s.database}"
        self._reader: Any = None

    # -- S3 -----------------------------------------------------------------------------------

    def _s3(self) -> Any:
        import boto3

        return boto3.client(
            "s3", region_name=self.settings.region, endpoint_url=self.settings.s3_endpoint_url
        )

    def upload_keys(self, query: str, tables: list[Table]) -> dict[str, str]:
        """S3 keys of one load's files, by table name: a fresh folder per load, so loads never
        share files."""
        from tweetsense.layout import query_slug

        load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]
        base = "/".join(p for p in (self.settings.s3_prefix, query_slug(query), load_id) if p)
        return {t.name: f"{base}/{t.name}.parquet" for t in tables}

    def _upload(self, client: Any, keys: dict[str, str], uris: Mapping[str, str]) -> None:
        import pyarrow.parquet as pq
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        with tempfile.TemporaryDirectory(prefix="tweetsense-redshift-") as tmp:
            for table in tables_to_load(uris):
                # Rewritten in the table's column order and types: COPY maps Parquet by position.
                path = Path(tmp) / f"{table.name}.parquet"
                with pq.ParquetWriter(path, arrow_schema(table), compression="snappy") as w:
                    for batch in record_batches(uris[table.name], table):
                        w.write_batch(batch)
                try:
                    client.upload_file(str(path), self.settings.s3_bucket, keys[table.name])
                except NoCredentialsError:
                    raise MissingCredentialError(
                        "warehouse.s3_bucket: no AWS credentials found; configure the AWS chain "
                        "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a role)"
                    ) from None
                except (BotoCoreError, ClientError) as exc:
                    raise BackendUnavailableError(
                        f"warehouse.s3_bucket: upload to s3://{self.settings.s3_bucket} failed "
                        f"({_first_line(exc)}); check the bucket, region and permissions"
                    ) from None

    def _remove(self, client: Any, keys: dict[str, str]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        # Leftovers cost storage only; the next load uses a fresh folder.
        with contextlib.suppress(BotoCoreError, ClientError):
            client.delete_objects(
                Bucket=self.settings.s3_bucket,
                Delete={"Objects": [{"Key": k} for k in keys.values()], "Quiet": True},
            )

    # -- Redshift -----------------------------------------------------------------------------

    def _connect(self) -> Any:
        import redshift_connector

        s = self.settings
        password = self._secrets.require(s.password_secret, "warehouse (redshift)")
        try:
            return redshift_connector.connect(
                host=s.host,
                port=s.port,
                database=s.database,
                user=s.user,
                password=password,
                timeout=s.timeout,
            )
        except redshift_connector.Error as exc:
            first = _first_line(exc).replace(password, "***")
            if "password" in first.lower() or "authentication" in first.lower():
                raise ConfigError(
                    f"warehouse: Redshift at {self.location} refused the login ({first}); "
                    f"check warehouse.user and the secret {s.password_secret}"
                ) from None
            raise BackendUnavailableError(
                f"warehouse: cannot connect to Redshift at {self.location} ({first}); "
                "check warehouse.host/port and that the cluster is available"
            ) from None

    def load(self, query: str, files: Mapping[str, str]) -> LoadResult:
        import redshift_connector

        tables = tables_to_load(files)
        client = self._s3()
        keys = self.upload_keys(query, tables)
        self._upload(client, keys, files)
        uris = {name: f"s3://{self.settings.s3_bucket}/{key}" for name, key in keys.items()}
        try:
            con = self._connect()
            try:
                cur = con.cursor()
                cur.execute(catalog_sql())
                catalog = [(str(t), str(c)) for t, c in cur.fetchall()]
                script = load_script(
                    query, uris, self.settings.iam_role, datetime.now(UTC), catalog
                )
                counts = []
                for st in script:
                    cur.execute(st.sql, st.params or None)
                    if st.counts:
                        counts.append(int(cur.fetchone()[0]))
                con.commit()
            except redshift_connector.InterfaceError as exc:
                raise BackendUnavailableError(
                    f"warehouse: the connection to Redshift at {self.location} failed during the "
                    f"load ({_first_line(exc)}); nothing was changed; run `tweetsense load` again"
                ) from None
            except redshift_connector.Error as exc:
                with contextlib.suppress(redshift_connector.Error):
                    con.rollback()
                raise BadInputError(
                    f"warehouse: Redshift at {self.location} rejected the load "
                    f"({_first_line(exc)}); nothing was changed; see STL_LOAD_ERRORS"
                ) from None
            finally:
                con.close()
        finally:
            if not self.settings.keep_uploads:
                self._remove(client, keys)
        by_table = {t.name: n for t, n in zip(LOADED_TABLES, counts, strict=True)}
        return LoadResult.of(by_table, self.location)

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        import redshift_connector

        if self._reader is None:
            self._reader = self._connect()
            self._reader.autocommit = True
        cur = self._reader.cursor()
        try:
            cur.execute(sql, params or None)
        except redshift_connector.ProgrammingError as exc:
            if "does not exist" in str(exc):
                return []
            raise BadInputError(f"warehouse: Redshift query failed ({_first_line(exc)})") from None
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
