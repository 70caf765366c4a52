"""The data contracts round-trip and refuse what they do not understand, in one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tweetsense.contracts import SentimentDoc, StagingDoc, WindowRecord
from tweetsense.errors import BadInputError
from tweetsense.timeutil import Window

W = Window(
    datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC) + timedelta(minutes=15)
)


def test_round_trips_keep_text_exactly() -> None:
    pages = [{"data": [{"id": "1", "text": "naïve café 🚗 \u200f שלום"}], "meta": {}}]
    staged = StagingDoc.decode(StagingDoc("q", W, "synthetic", pages).encode())
    assert staged.pages == pages and staged.window == W
    record = WindowRecord("q", "q-1", W, "staging/x.json", staged.tweet_texts())
    back = WindowRecord.decode(record.encode())
    assert back == record and back.key == "q-1/20240301T0000Z"
    assert back.digest() == record.digest()
    doc = SentimentDoc("q", W, "vader", "staging/x.json", record.digest(), [{"tweet_id": "1"}])
    assert SentimentDoc.decode(doc.encode()) == doc


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{not json", "malformed JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"schema": "other/9"}', "schema is 'other/9'"),
        (b'{"schema": "tweetsense.staging/1", "query": "q"}', "field 'window_start'"),
        (
            b'{"schema": "tweetsense.staging/1", "query": "q", "window_start": "2024-03-01T00:00Z",'
            b' "window_end": "2024-03-01T00:15Z", "pages": {}}',
            "field 'pages'",
        ),
        (
            b'{"schema": "tweetsense.staging/1", "query": "q", "window_start": "yesterday",'
            b' "window_end": "x", "pages": []}',
            "missing or malformed",
        ),
    ],
)
def test_bad_documents_name_file_and_field(data: bytes, fragment: str) -> None:
    with pytest.raises(BadInputError) as info:
        StagingDoc.decode(data, what="staging file s.json")
    assert fragment in str(info.value) and "staging file s.json" in str(info.value)
    assert "\n" not in str(info.value)
