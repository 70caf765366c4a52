"""Alert rules over the windows output: episodes fire once, across reruns and restarts, and
reach a real HTTP receiver at least once, without ever holding up the pipeline."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tweetsense import alerts
from tweetsense.alerts import delivery, state
from tweetsense.alerts.rules import AlertsSection
from tweetsense.config import DEMO, build_config
from tweetsense.errors import ConfigError
from tweetsense.pipeline.batch import outputs_for
from tweetsense.pipeline.core import Pipeline
from tweetsense.secrets import Secrets
from tweetsense.warehouse.dialects import arrow_schema
from tweetsense.warehouse.schema import SENTIMENT

START = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
SECRET_PATH = "/hooks/T0KEN-s3cr3t"


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers each POST with the next scripted status
    (200 once the script is used up) and keeps the bodies it accepted."""

    def __init__(self, statuses: list[int] | None = None):
        self.statuses = list(statuses or [])
        self.requests: list[bytes] = []
        self.accepted: list[Any] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(body)
                if status < 300:
                    receiver.accepted.append(orjson.loads(body))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}{SECRET_PATH}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery.OUTBOX, "base_delay", 0.01)
    monkeypatch.setattr(delivery.OUTBOX, "max_delay", 0.05)


def pipeline(tmp_path: Path, rules: list[dict], url: str | None = None, **section: Any) -> Pipeline:
    config = build_config(
        {**DEMO, "alerts": {"rules": rules, **section}},
        environ={"TWEETSENSE_SENTIMENT__TYPE": "fast"},
        data_dir=tmp_path / "data",
    )
    return Pipeline(config, Secrets(environ={"HOOK": url} if url else {}))


def write_windows(p: Pipeline, negative: list[float], **columns: list[Any]) -> None:
    """The windows output: one window per value of ``negative`` (the negative share; the rest
    of the posts positive), 15 minutes apart from START."""
    n = len(negative)
    rows = {
        "query": [p.query] * n,
        "time_window": [START + i * STEP for i in range(n)],
        "count_tweets": columns.get("count_tweets", [100] * n),
        "volume": columns.get("volume", [None] * n),
        "perc_tweet_positive": [1 - x for x in negative],
        "perc_tweet_negative": negative,
    }
    schema = arrow_schema(SENTIMENT)
    table = pa.table(rows, schema=pa.schema([schema.field(name) for name in rows]))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    p.store.put(outputs_for(p.slug).windows_parquet, sink.getvalue().to_pybytes())


def after(n_windows: int) -> datetime:
    """A moment just after the ``n_windows``-th window closed."""
    return START + n_windows * STEP + timedelta(minutes=1)


NEGATIVE = {"name": "ev-negative", "kind": "negative_share", "threshold": 0.4}


def test_each_episode_fires_once(tmp_path: Path) -> None:
    p = pipeline(tmp_path, [NEGATIVE])
    write_windows(p, [0.1, 0.5, 0.6, 0.2, 0.5])
    fired = alerts.check(p, now=after(5))
    assert [a.window_start for a in fired] == [START + STEP, START + 4 * STEP]
    first = fired[0]
    assert first.episode == "ev-negative@2024-03-01T00:15:00.000Z"
    assert (first.rule, first.kind, first.value, first.threshold) == (
        "ev-negative",
        "negative_share",
        0.5,
        0.4,
    )
    assert first.delivery == "log"  # no webhook
    assert "50% of posts negative" in first.message and "above 40%" in first.message
    assert alerts.recent(p) == fired[::-1]


def test_reruns_and_restarts_fire_nothing_again(tmp_path: Path) -> None:
    p = pipeline(tmp_path, [NEGATIVE])
    write_windows(p, [0.1, 0.5, 0.6])
    assert len(alerts.check(p, now=after(3))) == 1
    assert alerts.check(p, now=after(3)) == []  # a rerun over the same windows
    # A batch that recomputed the windows already evaluated: they are not evaluated again.
    write_windows(p, [0.9, 0.1, 0.9])
    assert alerts.check(p, now=after(3)) == []
    # New windows, in a new process: the episode open at the third window goes on, then a
    # new one begins.
    p2 = pipeline(tmp_path, [NEGATIVE])
    write_windows(p2, [0.9, 0.1, 0.9, 0.7, 0.1, 0.45])
    fired = alerts.check(p2, now=after(6))
    assert [a.window_start for a in fired] == [START + 5 * STEP]
    assert [a.episode for a in alerts.recent(p2)] == [
        "ev-negative@2024-03-01T01:15:00.000Z",
        "ev-negative@2024-03-01T00:15:00.000Z",
    ]


def test_means_over_windows_and_min_posts(tmp_path: Path) -> None:
    rule = {**NEGATIVE, "windows": 2, "min_posts": 10}
    p = pipeline(tmp_path, [rule])
    # The third window has too few posts: it neither counts in a mean nor ends the episode.
    write_windows(p, [0.3, 0.6, 0.0, 0.1, 0.2], count_tweets=[50, 50, 3, 50, 50])
    fired = alerts.check(p, now=after(5))
    assert [(a.window_start, a.value) for a in fired] == [(START + STEP, pytest.approx(0.45))]
    assert "over the 2 windows" in fired[0].message


@pytest.mark.parametrize(
    ("rule", "columns", "fires_at", "value"),
    [
        # net = 1 - 2 * negative
        ({"kind": "net_below", "threshold": -0.2}, {"negative": [0.5, 0.7, 0.5]}, [1], -0.4),
        (
            {"kind": "net_change", "threshold": 0.5, "windows": 2},
            {"negative": [0.1, 0.1, 0.5, 0.5, 0.5]},
            [3],
            -0.8,
        ),
        (
            {"kind": "volume_spike", "threshold": 3, "baseline": 4},
            {"negative": [0.1] * 7, "count_tweets": [10, 12, 8, 10, 35, 40, 10]},
            [4],  # 35 >= 3 x 10; 40 >= 3 x 11 goes on with that episode
            3.5,
        ),
        (  # the counted volume when there is one
            {"kind": "volume_spike", "threshold": 2, "baseline": 3},
            {"negative": [0.1] * 4, "volume": [100, 100, 100, 250]},
            [3],
            2.5,
        ),
    ],
)
def test_kinds(
    tmp_path: Path, rule: dict, columns: dict, fires_at: list[int], value: float
) -> None:
    p = pipeline(tmp_path, [{"name": "r", **rule}])
    write_windows(p, columns.pop("negative"), **columns)
    fired = alerts.check(p, now=after(10))
    assert [a.window_start for a in fired] == [START + i * STEP for i in fires_at]
    assert fired[0].value == pytest.approx(value)


def test_webhook_gets_the_alert_once_it_is_sent(tmp_path: Path, receiver: Receiver) -> None:
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url)
    write_windows(p, [0.1, 0.5])
    (fired,) = alerts.check(p, now=after(2))
    assert fired.delivery == "pending"
    alerts.flush(5)
    (body,) = receiver.accepted
    assert body["episode"] == fired.episode
    assert body["query"] == p.query and body["message"] == fired.message
    assert body["window_start"] == "2024-03-01T00:15:00.000Z"
    assert [a.delivery for a in alerts.recent(p)] == ["sent"]
    alerts.check(p, now=after(2))
    alerts.flush(5)
    assert len(receiver.requests) == 1  # sent firings are not sent again


def test_slack_format(tmp_path: Path, receiver: Receiver) -> None:
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK", "format": "slack"}], receiver.url)
    write_windows(p, [0.1, 0.5])
    (fired,) = alerts.check(p, now=after(2))
    alerts.flush(5)
    assert receiver.accepted == [{"text": f":warning: {fired.message}"}]


def test_a_failing_receiver_is_retried_until_it_takes_the_alert(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503, 429]
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url)
    write_windows(p, [0.1, 0.5])
    alerts.check(p, now=after(2))
    alerts.flush(5)
    assert len(receiver.requests) == 4 and len(receiver.accepted) == 1
    assert [a.delivery for a in alerts.recent(p)] == ["sent"]


def test_a_receiver_that_keeps_failing_is_given_up_quietly(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tweetsense")
    receiver.statuses = [500] * 10
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url, retries=2)
    write_windows(p, [0.1, 0.5])
    (fired,) = alerts.check(p, now=after(2))  # returns at once, the sending goes on beside
    alerts.flush(5)
    assert len(receiver.requests) == 3
    assert [a.delivery for a in alerts.recent(p)] == ["failed"]
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1 and "HOOK" in gave_up[0].getMessage()
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any(fired.message in r.getMessage() for r in logged)
    assert "T0KEN" not in caplog.text and str(receiver.server.server_port) not in caplog.text
    assert alerts.check(p, now=after(2)) == []  # given up: not resent
    alerts.flush(5)
    assert len(receiver.requests) == 3


@pytest.mark.parametrize("status", [404, 302])  # a redirected POST would lose the alert
def test_a_refusing_receiver_is_not_retried(
    tmp_path: Path, receiver: Receiver, status: int
) -> None:
    receiver.statuses = [status]
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url)
    write_windows(p, [0.1, 0.5])
    alerts.check(p, now=after(2))
    alerts.flush(5)
    assert len(receiver.requests) == 1
    assert [a.delivery for a in alerts.recent(p)] == ["failed"]


def test_an_unreachable_receiver_leaves_no_trace_of_its_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tweetsense")
    url = f"http://127.0.0.1:9{SECRET_PATH}"  # nothing listens on port 9
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], url, retries=1)
    write_windows(p, [0.1, 0.5])
    alerts.check(p, now=after(2))
    alerts.flush(5)
    assert [a.delivery for a in alerts.recent(p)] == ["failed"]
    assert "gave up" in caplog.text and "T0KEN" not in caplog.text and ":9" not in caplog.text


def test_a_firing_pending_at_a_crash_is_sent_by_the_next_check(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url)
    write_windows(p, [0.1, 0.5])
    with monkeypatch.context() as m:  # the process dies before the firing is sent
        m.setattr(delivery.OUTBOX, "put", lambda job: True)
        (fired,) = alerts.check(p, now=after(2))
    assert [a.delivery for a in alerts.recent(p)] == ["pending"]
    p2 = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url)
    assert alerts.check(p2, now=after(2)) == []  # nothing new fires...
    alerts.flush(5)
    assert [b["episode"] for b in receiver.accepted] == [fired.episode]  # ...the pending is sent
    assert [a.delivery for a in alerts.recent(p2)] == ["sent"]


def test_windows_older_than_max_age_are_recorded_not_sent(
    tmp_path: Path, receiver: Receiver
) -> None:
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}], receiver.url, max_age="1h")
    write_windows(p, [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.5])
    fired = alerts.check(p, now=after(7) + timedelta(minutes=30))
    assert [a.delivery for a in fired] == ["old", "pending"]
    alerts.flush(5)
    assert [b["episode"] for b in receiver.accepted] == [fired[1].episode]


def test_a_missing_secret_logs_the_alert_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = pipeline(tmp_path, [{**NEGATIVE, "webhook": "HOOK"}])
    write_windows(p, [0.5])
    assert len(alerts.check(p, now=after(1))) == 1
    assert "secret HOOK is not set" in caplog.text
    assert [a.delivery for a in alerts.recent(p)] == ["failed"]


def test_no_windows_yet_and_no_rules(tmp_path: Path) -> None:
    assert alerts.check(pipeline(tmp_path / "a", [NEGATIVE])) == []
    p = pipeline(tmp_path / "b", [])
    write_windows(p, [0.9])
    assert alerts.check(p) == []
    assert not p.store.exists(state.state_key(p.slug))


@pytest.mark.parametrize(
    ("alerts_section", "expected"),
    [
        ({"rules": [{**NEGATIVE, "kind": "mood"}]}, "alerts.rules.0.kind: Input should be"),
        (
            {"rules": [{**NEGATIVE, "webhook": f"https://hooks.example.com{SECRET_PATH}"}]},
            "alerts.rules.0.webhook: a URL does not belong in the config; put it in the secrets",
        ),
        ({"rules": [NEGATIVE, NEGATIVE]}, "the name 'ev-negative' is taken by an earlier rule"),
        ({"rules": [{**NEGATIVE, "windws": 2}]}, "unknown key (did you mean 'windows'?)"),
        ({"rules": [{**NEGATIVE, "threshold": 40}]}, "a share is between 0 and 1"),
        ({"max_age": "soon"}, "alerts.max_age: cannot read duration"),
    ],
)
def test_config_errors(alerts_section: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_config({**DEMO, "alerts": alerts_section}, origin="t.yaml", environ={})
    message = str(info.value)
    assert message.startswith("t.yaml: ") and expected in message and "\n" not in message
    assert "T0KEN" not in message


def test_the_default_is_no_rules() -> None:
    assert build_config(DEMO, environ={}).alerts == AlertsSection()
