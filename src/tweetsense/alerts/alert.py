"""An alert: one firing of a rule, the first window of an episode in which its condition held."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal

from tweetsense.timeutil import format_utc, parse_utc

# pending: to be sent (again after a crash); sent: a receiver answered 2xx; failed: given up or
# no URL; old: on a window older than ``alerts.max_age``, recorded only; log: no webhook.
Delivery = Literal["pending", "sent", "failed", "old", "log"]


@dataclass(frozen=True)
class Alert:
    rule: str
    kind: str
    window_start: datetime  # UTC: the window at which the episode began
    value: float
    threshold: float
    message: str
    episode: str  # stable across reruns: the rule and the episode's first window
    fired_at: datetime
    delivery: Delivery

    def with_delivery(self, delivery: Delivery) -> Alert:
        return replace(self, delivery=delivery)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["window_start"] = format_utc(self.window_start)
        out["fired_at"] = format_utc(self.fired_at)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        return cls(
            **{
                **data,
                "window_start": parse_utc(data["window_start"]),
                "fired_at": parse_utc(data["fired_at"]),
            }
        )


def episode_id(rule: str, first_window: datetime) -> str:
    return f"{rule}@{format_utc(first_window)}"
