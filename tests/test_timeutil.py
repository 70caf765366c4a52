from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tweetsense.layout import query_slug, staging_key, window_start_from_key
from tweetsense.timeutil import Window, format_utc, parse_duration, parse_utc, windows_between


def test_windows_are_epoch_aligned_and_cover_the_range() -> None:
    start = datetime(2024, 3, 1, 0, 7, tzinfo=UTC)
    end = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    windows = list(windows_between(start, end, 900))
    assert [w.start.minute for w in windows] == [0, 15, 30, 45]
    assert all(w.end - w.start == timedelta(minutes=15) for w in windows)
    assert all(int(w.start.timestamp()) % 900 == 0 for w in windows)


def test_four_days_of_quarter_hours() -> None:
    start = parse_utc("2024-03-01T00:00:00Z")
    assert len(list(windows_between(start, start + timedelta(days=4), 900))) == 384


def test_parse_utc_converts_offsets_and_treats_naive_as_utc() -> None:
    assert parse_utc("2024-03-01T05:45:00+05:45") == datetime(2024, 3, 1, tzinfo=UTC)
    assert parse_utc("2024-03-01T00:00:00") == datetime(2024, 3, 1, tzinfo=UTC)
    assert format_utc(parse_utc("2024-03-01T00:00:00.5Z")) == "2024-03-01T00:00:00.500Z"


@pytest.mark.parametrize(
    ("text", "seconds"), [("15min", 900), ("1h", 3600), ("900s", 900), ("2 days", 172800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_bad_duration() -> None:
    with pytest.raises(ValueError, match="15min"):
        parse_duration("fortnight")


def test_keys_are_deterministic_and_slugs_distinguish_queries() -> None:
    w = Window.containing(datetime(2024, 3, 1, 13, 20, tzinfo=UTC), 900)
    slug = query_slug("Electric Vehicles lang:en")
    assert staging_key(slug, w) == f"staging/{slug}/2024-03-01/1315.json"
    assert window_start_from_key(staging_key(slug, w)) == w.start
    assert slug.startswith("electric-vehicles-lang-en-")
    assert query_slug("a b") != query_slug("a-b")
    assert Window.from_id(w.id, 900) == w
