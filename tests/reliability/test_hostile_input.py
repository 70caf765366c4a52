"""Hostile input: every case ends in correct processing or one line naming what is wrong.

Property tests over stream records, API pages, sentiment responses, replay files and config
files, then the pipeline itself fed bad posts and bad records: they are quarantined with their
reason and counted by `tweetsense status`, while the good windows go through."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_config
from tweetsense import layout, quarantine
from tweetsense.config import load_config
from tweetsense.contracts import StagingDoc, WindowRecord
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.pipeline import Pipeline
from tweetsense.pipeline.consume import consume
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.status import status
from tweetsense.sentiment.http_contract import MalformedResponse, parse_scores
from tweetsense.sources.base import Source
from tweetsense.timeutil import Window

BOUNDED = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
WINDOW = Window(datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, 0, 15, tzinfo=UTC))

# Text a user's data really contains: emoji, right-to-left, control characters, lone surrogates.
NASTY = st.sampled_from(
    [
        "😀🔥",
        "مرحبا بالعالم",
        "שלום\u202eevil",
        "\x00\x07\x1b[31m",
        "\ud800",
        "a" * 100_000,
        "'; DROP",
    ]
)
TEXT = st.one_of(st.text(), NASTY)
TIMES = st.one_of(
    st.sampled_from(
        [
            "2024-03-01T00:00:00Z",
            "2024-03-01T00:00:00",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2024-13-01T00:00:00Z",
            "yesterday",
            "",
        ]
    ),
    st.integers(),
    st.none(),
)
SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)
JSON = st.recursive(
    SCALAR,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
    max_leaves=12,
)
POST = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(min_size=1), st.integers(), st.none(), st.lists(st.integers())),
        "text": st.one_of(TEXT, st.integers(), st.none()),
        "created_at": TIMES,
        "author_id": st.one_of(st.text(), st.integers()),
    },
)
PAGE = st.one_of(
    st.fixed_dictionaries({"data": st.lists(POST, max_size=5)}), st.dictionaries(TEXT, JSON)
)


def one_line(exc: BaseException, *needles: str) -> None:
    message = str(exc)
    assert message and "\n" not in message and "Traceback" not in message
    for needle in needles:
        assert needle in message, (needle, message)


def _encode_loose(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # lone surrogates: as JSON escapes, the way a hostile producer sends them
        import json

        return json.dumps(value).encode()


@BOUNDED
@given(
    st.one_of(
        st.binary(max_size=200),
        JSON.map(_encode_loose),
        st.fixed_dictionaries(
            {
                "schema": st.just("tweetsense.record/1"),
                "query": TEXT,
                "slug": TEXT,
                "window_start": TIMES,
                "window_end": TIMES,
                "staging_key": TEXT,
                "tweets": st.one_of(st.lists(st.lists(SCALAR, max_size=3), max_size=3), SCALAR),
            },
        ).map(_encode_loose),
    )
)
def test_stream_records_decode_or_fail_in_one_line(payload: bytes) -> None:
    try:
        record = WindowRecord.decode(payload, what="stream record k/1")
    except BadInputError as exc:
        one_line(exc, "stream record k/1")
    else:
        assert record.window.start.tzinfo is not None
        assert all(isinstance(i, str) and isinstance(t, str) for i, t in record.tweets)


@BOUNDED
@given(st.lists(PAGE, max_size=3))
def test_api_pages_give_posts_or_name_the_bad_field(pages: list[Any]) -> None:
    doc = StagingDoc("q", WINDOW, "x_api", pages)
    try:
        pairs = doc.tweet_texts()
    except BadInputError as exc:
        one_line(exc, f"window {WINDOW.id}", "field")
    else:
        assert len(pairs) == doc.tweet_count
        assert all(isinstance(i, str) and i and isinstance(t, str) for i, t in pairs)


@BOUNDED
@given(JSON, st.integers(min_value=0, max_value=3))
def test_sentiment_responses_parse_or_are_rejected(body: Any, expected: int) -> None:
    try:
        scores = parse_scores(body, expected)
    except MalformedResponse as exc:
        one_line(exc)
    else:
        assert len(scores) == expected
        for s in scores:
            assert abs(s.positive + s.negative + s.neutral + s.mixed - 1) < 1e-6


CONFIG_TEXT = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda q, a, b, f, m: (
            f"search:\n  query: {q!r}\n  start_time: {a!r}\n  end_time: {b!r}\n"
            f"  freq: {f!r}\n  max_per_window: {m!r}\n"
        ),
        st.text(max_size=20),
        TIMES,
        TIMES,
        st.one_of(st.text(max_size=5), st.integers()),
        SCALAR,
    ),
)


@BOUNDED
@given(CONFIG_TEXT)
def test_config_files_load_or_fail_in_one_line_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config(path, environ={})
    except ConfigError as exc:
        one_line(exc, str(path))
    else:
        assert config.search.start_time < config.search.end_time


REPLAY_LINE = st.one_of(
    JSON.map(_encode_loose),
    st.lists(PAGE, max_size=2).map(_encode_loose),
    st.binary(max_size=80),
    POST.map(lambda p: _encode_loose({**p, "author": {"id": "1", "username": "u"}})),
)


@BOUNDED
@given(st.lists(REPLAY_LINE, min_size=1, max_size=4))
def test_replay_files_replay_or_fail_naming_the_file(tmp_path: Path, lines: list[bytes]) -> None:
    replay = tmp_path / "posts.jsonl"
    replay.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines))
    config = make_config(
        tmp_path,
        source__type="replay",
        source__path=str(replay),
        search__end_time="2024-03-01T00:30:00Z",
    )
    p = Pipeline(config)
    try:
        for window in p.windows:
            pages = p.source.fetch_window(p.query, window, None)
            StagingDoc(p.query, window, "replay", pages).tweet_texts()
    except BadInputError as exc:
        one_line(exc)
        assert "posts.jsonl" in str(exc) or "window" in str(exc)
    finally:
        p.close()


class _Pages(Source):
    """A source whose second window holds a post without an id."""

    def __init__(self, settings: Any, context: Any) -> None:
        self.calls = 0

    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Any]:
        bad = window.start.minute == 15
        post = {"text": "no id 😀"} if bad else {"id": f"{window.id}-1", "text": "ok ‏שלום"}
        return [{"data": [post], "meta": {"result_count": 1}}]

    def close(self) -> None:
        pass


def test_bad_posts_and_records_are_quarantined_and_counted(tmp_path: Path) -> None:
    from pydantic import BaseModel

    from tweetsense import registry

    class Settings(BaseModel):
        pass

    _Pages.Settings = Settings  # type: ignore[attr-defined]
    registry.register("source", "hostile_pages", f"{__name__}:_Pages")
    p = Pipeline(
        make_config(
            tmp_path,
            source__type="hostile_pages",
            search__end_time="2024-03-01T01:00:00Z",
            sentiment__workers="1",
        )
    )
    report = ingest(p)
    assert report.fetched == 3 and len(report.failed) == 1
    window, reason = report.failed[0]
    one_line(BadInputError(reason), "post 0 field id")
    assert not p.store.exists(layout.staging_key(p.slug, window))
    p.stream.publish([("bad/1", b"\xff\xfe not json"), ("bad/2", b'{"schema": 1}')])
    consumed = consume(p)
    assert consumed.scored_windows == 3 and consumed.dead_letters == 2
    r = status(p)
    assert r.quarantined == 3 == quarantine.count(p.store, p.slug)
    counts = r.counts()
    assert counts["ingest"]["failed"] == 1 and counts["consume"]["done"] == 3
    kept = orjson.loads(p.store.get(layout.quarantine_key("ingest", p.slug, window.id)))
    assert "field id" in kept["error"] and kept["payload"][0]["data"][0]["text"] == "no id 😀"
    p.close()


def test_status_command_prints_the_quarantine_count(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tweetsense.cli.app import app

    p = Pipeline(make_config(tmp_path, search__end_time="2024-03-01T00:30:00Z"))
    quarantine.quarantine(p.store, "ingest", p.slug, "w1", b"\xff", "post 0 field id is missing")
    p.close()
    result = CliRunner().invoke(app, ["status", "--demo", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert "quarantined: 1 bad records" in result.output
