"""The HTTP analyzer against real HTTP servers: serve-model, and misbehaving ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tweetsense.config import BackendSection
from tweetsense.errors import BackendUnavailableError, BadInputError, MissingCredentialError
from tweetsense.registry import Context, create
from tweetsense.secrets import Secrets

Reply = Callable[[dict], tuple[int, object]]


@pytest.fixture
def fake_server() -> Iterator[Callable[[Reply], tuple[str, list[dict]]]]:
    """A model server whose replies a test decides; it records each request's headers."""
    servers: list[ThreadingHTTPServer] = []

    def start(reply: Reply) -> tuple[str, list[dict]]:
        seen: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                seen.append(dict(self.headers))
                status, payload = reply(body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/score", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _analyzer(context: Context, **options: object):
    return create("sentiment", context, BackendSection(type="http", backoff=0.01, **options))


def test_label_score_replies_are_mapped_to_four_scores(fake_server, context) -> None:
    labels = {"good": ("positive", 0.9), "bad": ("NEG", 0.6)}
    url, _ = fake_server(
        lambda body: (200, [{"label": labels[t][0], "score": labels[t][1]} for t in body["texts"]])
    )
    a = _analyzer(context, url=url, response="label_score")
    good, bad = a.analyze(["good", "bad"])
    assert (good.label, good.positive, good.negative, good.neutral, good.mixed) == (
        "POSITIVE",
        0.9,
        pytest.approx(0.05),
        pytest.approx(0.05),
        0.0,
    )
    assert bad.label == "NEGATIVE" and bad.negative == 0.6 and bad.positive == pytest.approx(0.2)
    a.close()


def test_5xx_is_retried_then_succeeds_and_token_is_sent(fake_server, context) -> None:
    calls = []

    def reply(body: dict) -> tuple[int, object]:
        calls.append(1)
        if len(calls) < 3:
            return 503, {"error": "warming up"}
        n = len(body["texts"])
        score = {"label": "neutral", "positive": 0, "negative": 0, "neutral": 1, "mixed": 0}
        return 200, {"scores": [score] * n}

    url, seen = fake_server(reply)
    context.secrets = Secrets(environ={"MODEL_TOKEN": "s3cret"})
    a = _analyzer(context, url=url, token_secret="MODEL_TOKEN", headers={"X-Team": "data"})
    assert [s.label for s in a.analyze(["a", "b"])] == ["NEUTRAL", "NEUTRAL"]
    assert len(calls) == 3
    assert seen[-1]["Authorization"] == "Bearer s3cret" and seen[-1]["X-Team"] == "data"
    a.close()


def test_persistent_5xx_gives_a_retryable_one_line_error(fake_server, context) -> None:
    url, _ = fake_server(lambda body: (500, {"error": "boom"}))
    a = _analyzer(context, url=url, retries=2)
    with pytest.raises(BackendUnavailableError, match=r"failed 3 times \(HTTP 500\)") as info:
        a.analyze(["x"])
    assert "\n" not in str(info.value)
    a.close()


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"<html>oops</html>", "the body is not JSON"),
        ({"scores": []}, "0 scores for 1 texts"),
        (
            {
                "scores": [
                    {"label": "GREAT", "positive": 1, "negative": 0, "neutral": 0, "mixed": 0}
                ]
            },
            "label 'GREAT' is not one of",
        ),
        (
            {
                "scores": [
                    {
                        "label": "POSITIVE",
                        "positive": 0.9,
                        "negative": 0.9,
                        "neutral": 0,
                        "mixed": 0,
                    }
                ]
            },
            "sum to 1.8000, not 1",
        ),
    ],
)
def test_malformed_reply_is_a_clear_terminal_error(fake_server, context, payload, detail) -> None:
    url, _ = fake_server(lambda body: (200, payload))
    a = _analyzer(context, url=url)
    with pytest.raises(BadInputError, match="malformed reply") as info:
        a.analyze(["x"])
    assert detail in str(info.value) and "\n" not in str(info.value)
    a.close()


def test_missing_token_names_the_secret(context) -> None:
    context.secrets = Secrets(environ={})
    with pytest.raises(MissingCredentialError, match="MODEL_TOKEN"):
        _analyzer(context, url="http://127.0.0.1:1/x", token_secret="MODEL_TOKEN")


def test_serve_model_matches_the_local_analyzer(model_url: str, context) -> None:
    texts = [f"text {i} is {'great' if i % 2 else 'awful'}" for i in range(50)]
    remote = _analyzer(context, url=model_url, batch_size=7, concurrency=3)
    local = create("sentiment", context, BackendSection(type="vader"))
    assert remote.analyze(texts) == local.analyze(texts)
    remote.close()
