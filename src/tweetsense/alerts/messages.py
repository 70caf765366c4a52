"""The one line that says what an alert saw."""

from __future__ import annotations

from tweetsense.alerts.evaluate import Firing


def _when(firing: Firing) -> str:
    at = firing.start.strftime("%Y-%m-%d %H:%M UTC")
    n = firing.rule.windows
    return f"in the window of {at}" if n == 1 else f"over the {n} windows to {at}"


def message(firing: Firing, query: str) -> str:
    rule, value = firing.rule, firing.value
    when, name = _when(firing), f"[{rule.name}] {query!r}:"
    if rule.kind == "negative_share":
        return f"{name} {value:.0%} of posts negative {when}, above {rule.threshold:.0%}"
    if rule.kind == "net_below":
        return f"{name} net sentiment {value:+.2f} {when}, below {rule.threshold:+.2f}"
    if rule.kind == "net_change":
        moved = "rose" if value > 0 else "fell"
        return (
            f"{name} net sentiment {moved} by {abs(value):.2f} {when} against the "
            f"{rule.windows} before, more than {rule.threshold:.2f}"
        )
    return (
        f"{name} {value:.1f}x the usual volume of posts {when} (median of the "
        f"{rule.baseline_windows} windows before), at least {rule.threshold:g}x"
    )
