"""The Comprehend analyzer against the fake in tests/servers/fake_comprehend.py: a real HTTP
server on 127.0.0.1 speaking Comprehend's JSON 1.1 protocol, reached through boto3's
endpoint_url (not botocore's Stubber), so request signing, serialisation and error parsing run
for real."""

from __future__ import annotations

import time

import pytest

from tweetsense.errors import ConfigError, RetryableError
from tweetsense.sentiment.comprehend import ComprehendAnalyzer, truncate_utf8


def _analyzer(fake, **options) -> ComprehendAnalyzer:
    settings = {"endpoint_url": fake.url, "backoff_seconds": 0.01, **options}
    return ComprehendAnalyzer(ComprehendAnalyzer.Settings(**settings))


def test_truncates_on_a_character_boundary() -> None:
    text = "é" * 3000  # 2 bytes each
    cut = truncate_utf8(text, 5001)
    assert cut == "é" * 2500 and len(cut.encode()) == 5000
    assert truncate_utf8("🚗" * 2, 7) == "🚗"
    assert truncate_utf8("short", 5000) == "short"


def test_batches_of_25_long_texts_cut_language_sent(fake_comprehend) -> None:
    a = _analyzer(fake_comprehend, language_code="es")
    texts = [f"me encanta number {i}" for i in range(60)] + ["ñ" * 4000, ""]
    scores = a.analyze(texts)
    a.close()
    assert len(scores) == 62
    sizes = [len(r["TextList"]) for r in fake_comprehend.requests]
    assert sorted(sizes) == [11, 25, 25]  # the empty text is not sent
    sent = [t for r in fake_comprehend.requests for t in r["TextList"]]
    assert max(len(t.encode()) for t in sent) == 5000
    assert {r["LanguageCode"] for r in fake_comprehend.requests} == {"es"}
    assert scores[-1].label == "NEUTRAL" and scores[-1].neutral == 1.0


def test_item_errors_are_retried_then_fail_with_the_reason(fake_comprehend) -> None:
    fake_comprehend.item_failures = {"flaky": 2, "broken": 99}
    a = _analyzer(fake_comprehend, max_attempts=4)
    scores = a.analyze(["I love it", "flaky"])
    assert len(scores) == 2
    # Retries resend only the failed document.
    assert [len(r["TextList"]) for r in fake_comprehend.requests] == [2, 1, 1]
    with pytest.raises(RetryableError, match="InternalServerException: busy"):
        a.analyze(["fine", "broken"])
    a.close()


def test_throttling_is_retried_with_backoff(fake_comprehend) -> None:
    fake_comprehend.throttle_next = 3
    a = _analyzer(fake_comprehend, max_attempts=5)
    assert a.analyze(["great"])[0].label == "POSITIVE"
    assert len(fake_comprehend.requests) == 4
    fake_comprehend.throttle_next = 10
    with pytest.raises(RetryableError, match="calls_per_second"):
        a.analyze(["great"])
    a.close()


def test_text_size_limit_and_language_are_config_errors(fake_comprehend) -> None:
    a = _analyzer(fake_comprehend)
    a.settings = a.settings.model_copy(update={"max_bytes": 6000})  # past the service limit
    with pytest.raises(ConfigError, match=r"sentiment\.max_bytes"):
        a.analyze(["x" * 5500])
    a.close()
    b = _analyzer(fake_comprehend, language_code="xx")
    with pytest.raises(ConfigError, match=r"sentiment\.language_code"):
        b.analyze(["hello"])
    b.close()


def test_calls_run_in_parallel_under_the_rate_limit(fake_comprehend) -> None:
    a = _analyzer(fake_comprehend, concurrency=4, calls_per_second=20)
    started = time.perf_counter()
    a.analyze([f"text {i}" for i in range(25 * 8)])
    elapsed = time.perf_counter() - started
    a.close()
    assert len(fake_comprehend.requests) == 8
    assert elapsed >= 7 / 20 * 0.9  # 8 call starts spaced 1/20 s apart
