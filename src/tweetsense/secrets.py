"""Secrets come from the environment or a separate secrets file, never from the config."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from tweetsense.errors import ConfigError, MissingCredentialError

SECRETS_FILE_ENV = "TWEETSENSE_SECRETS_FILE"
log = logging.getLogger("tweetsense")
_WARNED: set[Path] = set()


def _warn_if_shared(path: Path) -> None:
    """One warning per file when people other than its owner may read it."""
    mode = path.stat().st_mode
    if mode & 0o044 and path not in _WARNED:
        _WARNED.add(path)
        log.warning(
            "secrets file %s is readable by group or others (mode %03o); run: chmod 600 %s",
            path,
            mode & 0o777,
            path,
        )


class Secrets:
    """Looks a secret up by name: the environment first, then the secrets file (YAML mapping)."""

    def __init__(self, path: Path | None = None, environ: Mapping[str, str] | None = None):
        self._environ = os.environ if environ is None else environ
        env_path = self._environ.get(SECRETS_FILE_ENV)
        self.path = path or (Path(env_path) if env_path else None)
        self._file: dict[str, str] | None = None

    def _load_file(self) -> dict[str, str]:
        if self._file is None:
            self._file = {}
            if self.path is not None and self.path.exists():
                _warn_if_shared(self.path)
                try:
                    data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
                except yaml.YAMLError:
                    # The parser's message could quote a secret, so it is not repeated.
                    raise ConfigError(
                        f"secrets file {self.path} is not valid YAML; write one NAME: value a line"
                    ) from None
                if not isinstance(data, dict):
                    raise ConfigError(f"secrets file {self.path} must be a mapping NAME: value")
                self._file = {str(k): str(v) for k, v in data.items() if v is not None}
        return self._file

    def get(self, name: str) -> str | None:
        value = self._environ.get(name)
        if value:
            return value
        return self._load_file().get(name)

    def require(self, name: str, needed_by: str) -> str:
        value = self.get(name)
        if not value:
            where = f" or add it to {self.path}" if self.path else " or name a secrets file"
            raise MissingCredentialError(
                f"{needed_by} needs the secret {name}: export {name}=...{where}"
            )
        return value
