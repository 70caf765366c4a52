"""The ``alerts:`` section of the config: the rules and how their firings are delivered.

Imported by ``tweetsense.config``, so it needs nothing beyond pydantic.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tweetsense.timeutil import parse_duration

Kind = Literal["negative_share", "net_below", "net_change", "volume_spike"]
DEFAULT_BASELINE = 8

_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RULE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Rule(_Strict):
    name: str
    kind: Kind
    threshold: float
    windows: int = Field(default=1, ge=1, le=1000, description="the mean of the last N windows")
    min_posts: int = Field(default=1, ge=1, description="windows with fewer posts do not count")
    baseline: int | None = Field(
        default=None, ge=3, le=1000, description="volume_spike: windows whose median is the base"
    )
    webhook: str | None = Field(default=None, description="NAME of the secret holding the URL")
    format: Literal["json", "slack"] = "json"

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _RULE_NAME.fullmatch(value):
            raise ValueError(
                "use lowercase letters, digits, - and _ (at most 40), e.g. ev-negative"
            )
        return value

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        # The message never repeats the value: it may be a URL with a token in it.
        if value is not None and ("://" in value or value.lower().startswith(("http", "www."))):
            raise ValueError(
                "a URL does not belong in the config; put it in the secrets file as "
                "NAME: URL (or export NAME=URL) and write that NAME here"
            )
        if value is not None and not _SECRET_NAME.fullmatch(value):
            raise ValueError("name a secret, e.g. ALERT_WEBHOOK_URL (letters, digits and _)")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> Rule:
        if self.baseline is not None and self.kind != "volume_spike":
            raise ValueError(f"baseline: only volume_spike rules have one, not {self.kind}")
        if self.kind != "net_below" and self.threshold <= 0:
            raise ValueError(f"threshold: a {self.kind} rule needs a threshold above 0")
        if self.kind == "negative_share" and self.threshold >= 1:
            raise ValueError("threshold: a share is between 0 and 1, e.g. 0.4 for 40%")
        if self.kind == "net_below" and not -1 <= self.threshold <= 1:
            raise ValueError("threshold: net sentiment is between -1 and 1, e.g. -0.2")
        return self

    @property
    def baseline_windows(self) -> int:
        return self.baseline or DEFAULT_BASELINE


class AlertsSection(_Strict):
    """Rules evaluated over the windows after each batch; each episode fires once."""

    max_age: int = Field(
        default=3600, description="firings on windows older than this are recorded, not sent"
    )
    retries: int = Field(default=5, ge=0, le=20, description="retries of a failed webhook call")
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("max_age", mode="before")
    @classmethod
    def _max_age(cls, value: Any) -> int:
        if not isinstance(value, str | int):
            raise ValueError("write a duration such as '1h' or '30min'")
        return parse_duration(value)

    @model_validator(mode="after")
    def _unique_names(self) -> AlertsSection:
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.name in seen:
                raise ValueError(
                    f"rules[{i}]: the name {rule.name!r} is taken by an earlier rule; "
                    "give each rule its own name"
                )
            seen.add(rule.name)
        return self
