"""The alerts' state in the store: how far each rule has been evaluated, the episode it has open
there, and the latest firings, the pending ones kept until a receiver has them.

Written whole with ``store.put`` (atomic), so a crash leaves the old state or the new one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from tweetsense import layout
from tweetsense.alerts.alert import Alert, Delivery
from tweetsense.errors import BadInputError
from tweetsense.timeutil import format_utc, parse_utc

if TYPE_CHECKING:
    from tweetsense.staging.base import Store

VERSION = 1
KEEP = 200  # settled firings kept for `tweetsense status`; pending ones are always kept
# The delivery thread marks firings while `check` may be evaluating: one writer at a time.
_LOCK = threading.RLock()


@dataclass
class RuleState:
    last: datetime | None = None  # the last window evaluated
    open: str | None = None  # the episode going on at ``last``


@dataclass
class State:
    rules: dict[str, RuleState] = field(default_factory=dict)
    firings: list[Alert] = field(default_factory=list)  # oldest first

    def pending(self) -> list[Alert]:
        return [a for a in self.firings if a.delivery == "pending"]


def state_key(slug: str) -> str:
    return layout.output_key(slug, "_alerts.json")


def _decode(data: dict[str, Any]) -> State:
    rules = {
        name: RuleState(parse_utc(r["last"]) if r.get("last") else None, r.get("open"))
        for name, r in data["rules"].items()
    }
    return State(rules, [Alert.from_json(a) for a in data["firings"]])


def _encode(state: State) -> bytes:
    pending = state.pending()
    settled = [a for a in state.firings if a.delivery != "pending"][-KEEP:]
    keep = {id(a) for a in (*pending, *settled)}
    return orjson.dumps(
        {
            "version": VERSION,
            "rules": {
                name: {"last": format_utc(r.last) if r.last else None, "open": r.open}
                for name, r in state.rules.items()
            },
            "firings": [a.to_json() for a in state.firings if id(a) in keep],
        },
        option=orjson.OPT_INDENT_2,
    )


def load(store: Store, key: str) -> State:
    try:
        raw = store.get(key)
    except KeyError:
        return State()
    try:
        return _decode(orjson.loads(raw))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadInputError(
            f"{store.uri(key)}: the alert state cannot be read ({type(exc).__name__}); delete it "
            "to evaluate every window again (alerts of episodes under way then fire again)"
        ) from None


@contextmanager
def updating(store: Store, key: str) -> Iterator[State]:
    """The state, saved when the block ends without error."""
    with _LOCK:
        state = load(store, key)
        yield state
        store.put(key, _encode(state))


def mark(store: Store, key: str, episode: str, delivery: Delivery) -> None:
    """Record how the delivery of ``episode``'s firing ended."""
    with updating(store, key) as state:
        state.firings = [
            a.with_delivery(delivery) if a.episode == episode and a.delivery == "pending" else a
            for a in state.firings
        ]
