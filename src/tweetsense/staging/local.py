"""A local directory as the store: the embedded default."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from tweetsense import faults
from tweetsense.errors import ConfigError
from tweetsense.staging.base import Store

if TYPE_CHECKING:
    from tweetsense.registry import Context


class LocalStore(Store):
    """Keys map to files under ``root``; writes go to a temp file that is renamed into place."""

    remote = False

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        root: str | None = None
        fsync: bool = (
            False  # rename alone survives a killed process; fsync also survives power loss
        )

    def __init__(self, settings: LocalStore.Settings, context: Context):
        self.root = Path(settings.root) if settings.root else Path(context.data_dir)
        self.fsync = settings.fsync
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"storage.root: cannot create {self.root} ({exc.strerror}); pick a writable folder"
            ) from None

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid store key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            faults.point(f"store.put.{key.partition('/')[0]}")
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return iter(())
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            rel = Path(dirpath).relative_to(self.root).as_posix()
            keys.extend(f"{rel}/{f}" for f in files if not f.startswith("."))
        return iter(sorted(keys))

    def versions(self, prefix: str) -> dict[str, str]:
        found = {}
        for key in self.list(prefix):
            try:
                st = self._path(key).stat()
            except FileNotFoundError:  # deleted since it was listed
                continue
            found[key] = f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
        return found

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            with self._path(key).open("rb") as fh:
                st = os.fstat(fh.fileno())
                return fh.read(), f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"
        except FileNotFoundError:
            return None

    def put_if(self, key: str, data: bytes, version: str | None) -> str | None:
        import fcntl

        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # One lock file per key serialises the compare and the swap across processes.
        with path.with_name(f".{path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self.read_versioned(key)
            if (current[1] if current else None) != version:
                return None
            self.put(key, data)
            found = self.read_versioned(key)
            return found[1] if found else None

    @contextmanager
    def writing(self, key: str) -> Iterator[str]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            yield str(tmp)
            faults.point(f"store.writing.{key.partition('/')[0]}")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
