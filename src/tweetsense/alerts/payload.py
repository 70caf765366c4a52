"""What a webhook receives for an alert."""

from __future__ import annotations

from typing import Literal

import orjson

from tweetsense.alerts.alert import Alert


def payload(alert: Alert, query: str, fmt: Literal["json", "slack"]) -> bytes:
    """``slack``: an incoming webhook's message. ``json``: every field, and the episode, by which
    a receiver drops a resend (delivery is at least once)."""
    if fmt == "slack":
        return orjson.dumps({"text": f":warning: {alert.message}"})
    fields = alert.to_json()
    del fields["delivery"]
    return orjson.dumps({"query": query, **fields})
