"""A fake Amazon Comprehend on 127.0.0.1 that speaks the service's JSON 1.1 protocol, used
through boto3's ``endpoint_url``: ``X-Amz-Target: Comprehend_20171127.BatchDetectSentiment``
with ``{"TextList", "LanguageCode"}`` in, ``{"ResultList", "ErrorList"}`` out, and errors as
HTTP 400 with ``{"__type": ...}`` (ThrottlingException, TextSizeLimitExceededException,
BatchSizeLimitExceededException, UnsupportedLanguageException). Scores come from VADER mapped
to Comprehend's shape, so they are real, text-dependent answers.

Faults are injected per server: ``throttle_next`` calls answer ThrottlingException, and a text
listed in ``item_failures`` is put in ``ErrorList`` that many times before it is scored.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tweetsense.sentiment.vader import VaderAnalyzer

TARGET = "Comprehend_20171127.BatchDetectSentiment"


@dataclass
class FakeComprehend:
    url: str = ""
    throttle_next: int = 0
    item_failures: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(body)
            if self.throttle_next > 0:
                self.throttle_next -= 1
                return 400, {"__type": "ThrottlingException", "message": "Rate exceeded"}
        if target != TARGET:
            return 400, {"__type": "InvalidRequestException", "message": f"no {target}"}
        texts = body.get("TextList")
        if not isinstance(texts, list) or not texts or body.get("LanguageCode") is None:
            return 400, {"__type": "InvalidRequestException", "message": "bad request"}
        if len(texts) > 25:
            return 400, {"__type": "BatchSizeLimitExceededException", "message": "max 25"}
        if body["LanguageCode"] not in ("en", "es", "fr", "de", "it", "pt", "ar", "hi", "ja"):
            return 400, {"__type": "UnsupportedLanguageException", "message": "language"}
        if any(len(t.encode("utf-8")) > 5000 for t in texts):
            return 400, {"__type": "TextSizeLimitExceededException", "message": "too long"}
        results, errors = [], []
        scores = VaderAnalyzer(VaderAnalyzer.Settings()).analyze(texts)
        for i, (text, s) in enumerate(zip(texts, scores, strict=True)):
            with self.lock:
                failing = self.item_failures.get(text, 0)
                if failing:
                    self.item_failures[text] = failing - 1
            if failing or not text:
                errors.append(
                    {"Index": i, "ErrorCode": "InternalServerException", "ErrorMessage": "busy"}
                )
                continue
            results.append(
                {
                    "Index": i,
                    "Sentiment": s.label,
                    "SentimentScore": {
                        "Positive": round(s.positive, 6),
                        "Negative": round(s.negative, 6),
                        "Neutral": round(s.neutral, 6),
                        "Mixed": round(s.mixed, 6),
                    },
                }
            )
        return 200, {"ResultList": results, "ErrorList": errors}


def _handler(fake: FakeComprehend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            status, answer = fake.answer(self.headers.get("X-Amz-Target", ""), body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_comprehend(aws_env: None) -> Iterator[FakeComprehend]:
    fake = FakeComprehend()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
