"""Alert rules evaluated over the windows after each batch, each episode fired once, to the log
and to webhooks.

The names are loaded on first use: ``tweetsense.config`` imports ``alerts.rules``, and this
package's other modules need the pipeline, which needs the config."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetsense.alerts.alert import Alert
    from tweetsense.alerts.monitor import check, flush, recent

__all__ = ["Alert", "check", "flush", "recent"]


def __getattr__(name: str) -> Any:
    if name == "Alert":
        from tweetsense.alerts.alert import Alert

        return Alert
    if name in ("check", "flush", "recent"):
        from tweetsense.alerts import monitor

        return getattr(monitor, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
