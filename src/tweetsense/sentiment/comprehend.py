"""Amazon Comprehend's BatchDetectSentiment: the four-score shape is Comprehend's own.

Texts go in calls of at most 25 documents, each cut to at most ``max_bytes`` of UTF-8 on a
character boundary; calls run in parallel, started no faster than ``calls_per_second``.
Throttling is retried with jittered exponential backoff; a document Comprehend reports in
``ErrorList`` is sent again, and after ``max_attempts`` the batch fails with its reason.
Empty texts are not sent (Comprehend rejects them) and score as fully neutral.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense import aws
from tweetsense.errors import ConfigError, RetryableError, TerminalError
from tweetsense.sentiment.base import Analyzer, Score

if TYPE_CHECKING:
    from tweetsense.registry import Context

MAX_DOCUMENTS = 25
NEUTRAL = Score("NEUTRAL", 0.0, 0.0, 1.0, 0.0)
_THROTTLED = {"ThrottlingException", "TooManyRequestsException", "Throttling"}


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``max_bytes``."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    # Dropping the bytes of a cut character leaves whole characters only.
    return data[:max_bytes].decode("utf-8", errors="ignore")


class _RateLimiter:
    """Spaces call starts evenly: at most ``rate`` per second across all threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class ComprehendAnalyzer(Analyzer):
    name = "comprehend"

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        language_code: str = Field(default="en", description="Comprehend's LanguageCode")
        region: str | None = Field(default=None, description="default: the AWS chain's region")
        endpoint_url: str | None = None
        concurrency: int = Field(default=4, ge=1, le=64, description="calls in flight at once")
        calls_per_second: float = Field(default=10.0, gt=0, description="account's TPS quota")
        max_attempts: int = Field(default=6, ge=1)
        max_bytes: int = Field(default=5000, ge=1, le=5000, description="UTF-8 bytes per text")
        backoff_seconds: float = Field(default=0.2, gt=0, description="first retry's wait")

    def __init__(self, settings: ComprehendAnalyzer.Settings, context: Context | None = None):
        self.settings = settings
        # Our loop owns retries (per-item and throttling), so botocore makes one attempt.
        self._client = aws.client(
            "comprehend",
            endpoint_url=settings.endpoint_url,
            region=settings.region,
            max_attempts=1,
        )
        self._limiter = _RateLimiter(settings.calls_per_second)
        self._pool = ThreadPoolExecutor(settings.concurrency, thread_name_prefix="comprehend")

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        out: list[Score | None] = [None] * len(texts)
        todo = []
        for i, text in enumerate(texts):
            cut = truncate_utf8(text, self.settings.max_bytes)
            if cut.strip():
                todo.append((i, cut))
            else:
                out[i] = NEUTRAL
        chunks = [todo[i : i + MAX_DOCUMENTS] for i in range(0, len(todo), MAX_DOCUMENTS)]
        for chunk, scores in zip(chunks, self._pool.map(self._score_chunk, chunks), strict=True):
            for (i, _), score in zip(chunk, scores, strict=True):
                out[i] = score
        return [s for s in out if s is not None]

    def _score_chunk(self, chunk: list[tuple[int, str]]) -> list[Score]:
        scores: list[Score | None] = [None] * len(chunk)
        pending = list(range(len(chunk)))
        reasons: dict[int, str] = {}
        for attempt in range(self.settings.max_attempts):
            if attempt:
                self._sleep(attempt)
            response = self._call([chunk[j][1] for j in pending], attempt)
            if response is None:  # throttled: the same documents again
                continue
            for item in response.get("ResultList", []):
                scores[pending[item["Index"]]] = _score(item)
            failed = []
            for item in response.get("ErrorList", []):
                j = pending[item["Index"]]
                reasons[j] = f"{item.get('ErrorCode')}: {item.get('ErrorMessage')}"
                failed.append(j)
            pending = sorted(failed)
            if not pending:
                return [s for s in scores if s is not None]
        if pending and all(scores[j] is None for j in pending) and not reasons:
            raise RetryableError(
                f"sentiment: Comprehend throttled {self.settings.max_attempts} attempts in a row; "
                "lower sentiment.calls_per_second or sentiment.concurrency, or raise the quota"
            )
        first = reasons[pending[0]]
        raise RetryableError(
            f"sentiment: Comprehend could not score {len(pending)} texts after "
            f"{self.settings.max_attempts} attempts (first: {first}); run consume again"
        )

    def _sleep(self, attempt: int) -> None:
        cap = self.settings.backoff_seconds * 2 ** (attempt - 1)
        time.sleep(random.uniform(cap / 2, cap))

    def _call(self, texts: list[str], attempt: int) -> dict[str, Any] | None:
        self._limiter.wait()
        try:
            return self._client.batch_detect_sentiment(
                TextList=texts, LanguageCode=self.settings.language_code
            )
        except Exception as exc:
            code = aws.error_code(exc)
            if code in _THROTTLED:
                return None
            if code == "TextSizeLimitExceededException":
                raise ConfigError(
                    f"sentiment.max_bytes: Comprehend rejected a text as too long "
                    f"({self.settings.max_bytes} bytes allowed); lower sentiment.max_bytes"
                ) from None
            if code == "UnsupportedLanguageException":
                raise ConfigError(
                    f"sentiment.language_code: Comprehend does not support "
                    f"{self.settings.language_code!r} for sentiment; pick a supported language"
                ) from None
            if code == "InvalidRequestException":
                raise TerminalError(f"sentiment: Comprehend rejected the request: {exc}") from None
            if aws.is_aws_error(exc):
                raise aws.translate(exc, "sentiment", "BatchDetectSentiment") from None
            raise

    def check(self) -> str:
        self.analyze(["tweetsense doctor: is the analyzer answering?"])
        return f"ok: Comprehend answers ({self.settings.language_code})"

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._client.close()


def _score(item: dict[str, Any]) -> Score:
    s = item["SentimentScore"]
    parts = [float(s[k]) for k in ("Positive", "Negative", "Neutral", "Mixed")]
    # The service's four scores are rounded; the contract wants them to sum to 1 exactly.
    total = sum(parts) or 1.0
    positive, negative, neutral, mixed = (v / total for v in parts)
    return Score(item["Sentiment"], positive, negative, neutral, mixed)
