"""An S3 bucket (or any S3-compatible endpoint) as the store, with the local store's key layout.

S3 puts are atomic by nature: a reader sees the old object or the whole new one. Conditional
writes (If-Match / If-None-Match on the ETag) give the stream backends a place for leases and
checkpoints without another service.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense import aws
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    from tweetsense.registry import Context


class S3Store(Store):
    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        bucket: str = Field(min_length=3, max_length=63)
        prefix: str = Field(default="", description="folder inside the bucket for every key")
        endpoint_url: str | None = Field(default=None, description="S3-compatible server URL")
        region: str | None = Field(default=None, description="default: the AWS chain's region")

    def __init__(self, settings: S3Store.Settings, context: Context | None = None):
        self.settings = settings
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/")
        self._client = aws.client(
            "s3", endpoint_url=settings.endpoint_url, region=settings.region, max_attempts=5
        )
        self._fs: Any = None

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid store key {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, exc: Exception, what: str) -> Exception:
        if not aws.is_aws_error(exc):
            return exc
        return aws.translate(exc, "storage", f"{what} in bucket {self.bucket}")

    def put(self, key: str, data: bytes) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)
        except Exception as exc:
            raise self._fail(exc, f"cannot write {key}") from None

    def get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read()
        except Exception as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise self._fail(exc, f"cannot read {key}") from None

    def exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            if aws.error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(exc, f"cannot look up {key}") from None
        return True

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail(exc, f"cannot delete {key}") from None

    def list(self, prefix: str) -> Iterator[str]:
        return iter(sorted(self.versions(prefix)))

    def versions(self, prefix: str) -> dict[str, str]:
        base = self._key(prefix.rstrip("/")) + "/"
        skip = len(self.prefix) + 1 if self.prefix else 0
        found = {}
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=base
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][skip:]
                    # Dot files are other writers' temporaries, as in the local store.
                    if not key.rsplit("/", 1)[-1].startswith("."):
                        found[key] = f"{item.get('ETag', '')}-{item.get('Size', '')}"
        except Exception as exc:
            raise self._fail(exc, f"cannot list {prefix}") from None
        return found

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    @contextmanager
    def writing(self, key: str) -> Iterator[str]:
        full = self._key(key)
        with tempfile.TemporaryDirectory(prefix="tweetsense-s3-") as folder:
            path = Path(folder) / full.rsplit("/", 1)[-1]
            yield str(path)
            try:
                self._client.upload_file(str(path), self.bucket, full)
            except Exception as exc:
                raise self._fail(exc, f"cannot upload {key}") from None

    def filesystem(self) -> Any:
        if self._fs is None:
            import s3fs

            client_kwargs = {"region_name": self.settings.region} if self.settings.region else {}
            self._fs = s3fs.S3FileSystem(
                endpoint_url=self.settings.endpoint_url,
                client_kwargs=client_kwargs,
                skip_instance_cache=True,
            )
        return self._fs

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            return response["Body"].read(), response["ETag"]
        except Exception as exc:
            if aws.error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, f"cannot read {key}") from None

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        condition = {"IfMatch": version} if version is not None else {"IfNoneMatch": "*"}
        try:
            response = self._client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, **condition
            )
        except Exception as exc:
            # 409 ConditionalRequestConflict: a concurrent conditional write to the same key.
            if aws.error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                return None
            if version is not None and aws.error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise self._fail(exc, f"cannot write {key}") from None
        return str(response["ETag"])

    def check(self) -> str:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            if aws.error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
                raise aws.translate(exc, "storage.bucket", f"bucket {self.bucket}") from None
            raise self._fail(exc, "cannot reach the bucket") from None
        return f"ok: bucket s3://{self.bucket} reachable"
