"""Evaluating the rules after a batch: new episodes are recorded, logged and sent."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from tweetsense import layout
from tweetsense.alerts.alert import Alert, Delivery
from tweetsense.alerts.delivery import OUTBOX, Job
from tweetsense.alerts.evaluate import Firing, scan
from tweetsense.alerts.messages import message
from tweetsense.alerts.payload import payload
from tweetsense.alerts.rules import Rule
from tweetsense.alerts.state import RuleState, State, load, mark, state_key, updating
from tweetsense.alerts.windows import read_rows
from tweetsense.errors import TweetsenseError
from tweetsense.timeutil import parse_utc

if TYPE_CHECKING:
    from tweetsense.pipeline.core import Pipeline

log = logging.getLogger("tweetsense")


def check(p: Pipeline, *, now: datetime | None = None) -> list[Alert]:
    """Evaluate the rules over the windows of the last batch not evaluated yet, record each
    new episode's firing, log it and queue it for its webhook (with the firings still pending
    from before); returns the alerts fired by this call."""
    section = p.config.alerts
    now = parse_utc(now) if now is not None else datetime.now(UTC)
    key = state_key(p.slug)
    rules = {rule.name: rule for rule in section.rules}
    if not rules and not p.store.exists(key):
        return []
    # The batch's windows output (``pipeline.batch.outputs_for``), named here: the pipeline
    # calls this module after each run, so this module does not import the pipeline.
    windows = layout.output_key(p.slug, "windows.parquet")
    rows = read_rows(p.store, windows) if rules else []
    too_old = now - timedelta(seconds=section.max_age + p.config.search.freq)
    fired: list[Alert] = []
    with updating(p.store, key) as st:
        # Rules no longer configured are forgotten; a rule added later starts from the first window.
        before = st.rules
        st.rules = {}
        for name, rule in rules.items():
            seen = before.get(name, RuleState())
            result = scan(rule, rows, seen.last, seen.open)
            st.rules[name] = RuleState(result.last, result.open)
            for firing in result.firings:
                old = firing.start < too_old
                fired.append(_alert(firing, p.query, now, "old" if old else _channel(rule)))
        st.firings.extend(fired)
        jobs = _jobs(p, key, st, rules)
    for alert in fired:
        if alert.delivery == "old":
            log.info("alert (older than alerts.max_age: recorded, not sent): %s", alert.message)
        else:
            log.warning("alert: %s", alert.message)
    for job in jobs:
        OUTBOX.put(job)
    return fired


def _channel(rule: Rule) -> Delivery:
    return "pending" if rule.webhook else "log"


def _alert(firing: Firing, query: str, now: datetime, delivery: Delivery) -> Alert:
    rule = firing.rule
    return Alert(
        rule=rule.name,
        kind=rule.kind,
        window_start=firing.start,
        value=firing.value,
        threshold=rule.threshold,
        message=message(firing, query),
        episode=firing.episode,
        fired_at=now,
        delivery=delivery,
    )


def _jobs(p: Pipeline, key: str, st: State, rules: dict[str, Rule]) -> list[Job]:
    """A job for each pending firing; one that cannot be sent (its rule or secret gone) is
    marked failed."""
    jobs, failed = [], set()
    for alert in st.pending():
        rule = rules.get(alert.rule)
        url = _url(p, rule) if rule is not None and rule.webhook else None
        if rule is None or rule.webhook is None or url is None:
            failed.add(alert.episode)
            continue
        jobs.append(
            Job(
                ident=f"{p.store.uri(key)}#{alert.episode}",
                alert=alert,
                secret=rule.webhook,
                url=url,
                body=payload(alert, p.query, rule.format),
                retries=p.config.alerts.retries,
                on_done=partial(mark, p.store, key, alert.episode),
            )
        )
    st.firings = [
        a.with_delivery("failed") if a.delivery == "pending" and a.episode in failed else a
        for a in st.firings
    ]
    return jobs


def _url(p: Pipeline, rule: Rule) -> str | None:
    name = rule.webhook
    try:
        url = p.context.secrets.get(name) if name else None
    except TweetsenseError as exc:
        log.warning("alert rule %s: its webhook is not sent: %s", rule.name, exc)
        return None
    if not url:
        log.warning(
            "alert rule %s: the secret %s is not set, so its alerts are only logged; "
            "export %s=https://... or add it to the secrets file",
            rule.name,
            name,
            name,
        )
        return None
    if not url.startswith(("http://", "https://")):
        log.warning("alert rule %s: the secret %s does not hold an http(s) URL", rule.name, name)
        return None
    return url


def recent(p: Pipeline, limit: int = 10) -> list[Alert]:
    """The latest firings, newest first."""
    found = load(p.store, state_key(p.slug)).firings
    return found[::-1][:limit]


def flush(timeout: float) -> None:
    """Wait at most ``timeout`` seconds for the queued deliveries; what is left is sent again
    by the next ``check``."""
    OUTBOX.flush(timeout)
