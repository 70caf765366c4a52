"""The synthetic source: deterministic, X API v2 shaped pages with the quirks of real data."""

from __future__ import annotations

import collections
import itertools
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tweetsense.config import BackendSection, load_config
from tweetsense.errors import ConfigError
from tweetsense.registry import Context, create, settings_for
from tweetsense.sources.synthetic import SNOWFLAKE_EPOCH_MS, SyntheticSource
from tweetsense.timeutil import Window, format_utc, from_epoch, parse_utc, windows_between

QUERY = "electric vehicles"
FREQ = 900


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Context:
    tmp_path = tmp_path_factory.mktemp("synthetic")
    return Context(load_config(None, demo=True, data_dir=tmp_path))


@pytest.fixture(scope="module")
def demo_source(ctx: Context) -> SyntheticSource:
    source = create("source", ctx)
    assert isinstance(source, SyntheticSource)
    return source


def make(ctx: Context, **options: Any) -> SyntheticSource:
    return SyntheticSource(SyntheticSource.Settings(**options), ctx)


def day_windows(start: str = "2024-03-01T00:00:00Z", hours: int = 24) -> list[Window]:
    first = parse_utc(start)
    return list(windows_between(first, first + timedelta(hours=hours), FREQ))


def posts_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [post for page in pages for post in page.get("data", ())]


def created_ms(post: dict[str, Any]) -> int:
    return round(parse_utc(post["created_at"]).timestamp() * 1000)


@pytest.fixture(scope="module")
def demo_day(demo_source: SyntheticSource, ctx: Context) -> dict[Window, list[dict[str, Any]]]:
    """Every window of the demo's first day, fetched as the demo does."""
    cap = ctx.search.max_per_window
    return {w: demo_source.fetch_window(ctx.search.query, w, cap) for w in day_windows()}


# ---- construction and settings ----------------------------------------------------------------


def test_registry_builds_the_source_from_the_demo_config(demo_source: SyntheticSource) -> None:
    assert demo_source.name == "synthetic"
    assert demo_source.settings.seed == 42


def test_settings_reject_an_unknown_key() -> None:
    with pytest.raises(ValidationError):
        SyntheticSource.Settings.model_validate({"seed": 1, "posts_per_windw": 10})


def test_registry_reports_an_unknown_setting_as_config_error() -> None:
    section = BackendSection(type="synthetic", sead=7)
    with pytest.raises(ConfigError, match="unknown setting"):
        settings_for("source", section)


@pytest.mark.parametrize(
    "options",
    [{"duplicate_rate": 0.6}, {"page_size": 5}, {"page_size": 501}, {"posts_per_window": -1}],
)
def test_settings_enforce_their_ranges(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SyntheticSource.Settings.model_validate(options)


def test_windows_before_snowflake_ids_are_refused(ctx: Context) -> None:
    old = Window(parse_utc("2009-01-01T00:00:00Z"), parse_utc("2009-01-01T00:15:00Z"))
    with pytest.raises(ValueError, match="predate"):
        make(ctx).fetch_window(QUERY, old, 100)


# ---- determinism --------------------------------------------------------------------------------


def test_same_output_from_two_instances_in_any_call_order(ctx: Context) -> None:
    windows = day_windows(hours=3)
    first, second = make(ctx, seed=7), make(ctx, seed=7)
    forward = {w: first.fetch_window(QUERY, w, 100) for w in windows}
    backward = {w: second.fetch_window(QUERY, w, 100) for w in reversed(windows)}
    # Other queries and caps in between must not disturb anything.
    second.fetch_window("heat pumps", windows[0], None)
    again = second.fetch_window(QUERY, windows[5], 100)
    assert forward == backward
    assert again == forward[windows[5]]


def test_same_output_from_concurrent_threads(ctx: Context) -> None:
    windows = day_windows(hours=6)
    source = make(ctx)
    sequential = [source.fetch_window(QUERY, w, 100) for w in windows]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(lambda w: source.fetch_window(QUERY, w, 100), windows))
    assert threaded == sequential


_CHILD = """
import sys
from pathlib import Path

import orjson

from tweetsense.config import load_config
from tweetsense.registry import Context
from tweetsense.sources.synthetic import SyntheticSource
from tweetsense.timeutil import Window, parse_utc

data_dir, start, end, query = sys.argv[1:]
ctx = Context(load_config(None, demo=True, data_dir=Path(data_dir)))
source = SyntheticSource(SyntheticSource.Settings(), ctx)
pages = source.fetch_window(query, Window(parse_utc(start), parse_utc(end)), None)
sys.stdout.buffer.write(orjson.dumps(pages))
"""


def test_output_does_not_depend_on_the_hash_seed(ctx: Context) -> None:
    window = day_windows()[40]
    here = orjson.dumps(make(ctx).fetch_window(QUERY, window, None))
    args = [str(ctx.data_dir), format_utc(window.start), format_utc(window.end), QUERY]
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, *args], capture_output=True, env=env, check=True
        )
        assert child.stdout == here


def test_seed_and_query_change_the_posts(ctx: Context) -> None:
    window = day_windows()[10]
    base = posts_of(make(ctx, seed=1).fetch_window(QUERY, window, 100))
    other_seed = posts_of(make(ctx, seed=2).fetch_window(QUERY, window, 100))
    other_query = posts_of(make(ctx, seed=1).fetch_window("heat pumps", window, 100))
    assert {p["id"] for p in base}.isdisjoint(p["id"] for p in other_seed)
    assert [p["text"] for p in base] != [p["text"] for p in other_query]


def test_a_capped_fetch_is_the_newest_part_of_the_uncapped_one(ctx: Context) -> None:
    source = make(ctx, duplicate_rate=0.0)
    window = day_windows()[60]
    everything = posts_of(source.fetch_window(QUERY, window, None))
    capped = posts_of(source.fetch_window(QUERY, window, 25))
    assert len(everything) > 25
    assert capped == everything[:25]


# ---- volume and caps ----------------------------------------------------------------------------


def test_demo_gets_exactly_the_cap_in_every_window(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    assert len(demo_day) == 96
    counts = {len(posts_of(pages)) for pages in demo_day.values()}
    assert counts == {100}


def test_every_demo_window_has_at_least_100_posts_available(demo_source: SyntheticSource) -> None:
    counts = [len(posts_of(demo_source.fetch_window(QUERY, w, None))) for w in day_windows()]
    assert min(counts) >= 100
    # The daily curve: the busiest window holds clearly more than the quietest.
    assert max(counts) > 1.8 * min(counts)


def test_volume_scales_with_window_length(ctx: Context) -> None:
    source = make(ctx, duplicate_rate=0.0)
    start = parse_utc("2024-03-01T10:00:00Z")
    hour = Window(start, start + timedelta(hours=1))
    quarters = windows_between(start, start + timedelta(hours=1), FREQ)
    in_hour = len(posts_of(source.fetch_window(QUERY, hour, None)))
    in_quarters = sum(len(posts_of(source.fetch_window(QUERY, w, None))) for w in quarters)
    assert abs(in_hour - in_quarters) < 0.15 * in_quarters


def test_quiet_windows_give_the_empty_page_of_the_api(ctx: Context) -> None:
    source = make(ctx, posts_per_window=1)
    pages_by_window = [source.fetch_window(QUERY, w, 100) for w in day_windows()]
    empty = [pages for pages in pages_by_window if not posts_of(pages)]
    assert empty, "a mean of about one post per window leaves some windows empty"
    for pages in empty:
        assert pages == [{"meta": {"result_count": 0}}]


def test_no_posts_at_all_gives_one_empty_page(ctx: Context) -> None:
    window = day_windows()[0]
    assert make(ctx, posts_per_window=0).fetch_window(QUERY, window, None) == [
        {"meta": {"result_count": 0}}
    ]
    assert make(ctx).fetch_window(QUERY, window, 0) == [{"meta": {"result_count": 0}}]


# ---- page shape ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_size", "cap", "sizes"),
    [
        (30, 100, [30, 30, 30, 10]),
        (25, 100, [25, 25, 25, 25]),
        (100, 100, [100]),
        (10, 15, [10, 5]),
    ],
)
def test_pages_split_at_page_size_with_next_tokens(
    ctx: Context, page_size: int, cap: int, sizes: list[int]
) -> None:
    source = make(ctx, page_size=page_size)
    pages = source.fetch_window(QUERY, day_windows()[30], cap)
    assert [page["meta"]["result_count"] for page in pages] == sizes
    for page in pages:
        assert set(page) == {"data", "includes", "meta"}
        assert page["meta"]["result_count"] == len(page["data"])
        assert page["meta"]["newest_id"] == page["data"][0]["id"]
        assert page["meta"]["oldest_id"] == page["data"][-1]["id"]
    tokens = [page["meta"].get("next_token") for page in pages]
    assert None not in tokens[:-1]
    assert tokens[-1] is None
    assert len(set(tokens[:-1])) == len(sizes) - 1
    assert all(re.fullmatch(r"[a-z0-9]{45}", t) for t in tokens[:-1])


def test_posts_come_newest_first_across_pages(ctx: Context) -> None:
    pages = make(ctx, page_size=10).fetch_window(QUERY, day_windows()[50], None)
    ids = [int(p["id"]) for p in posts_of(pages)]
    assert ids == sorted(ids, reverse=True)
    times = [p["created_at"] for p in posts_of(pages)]
    assert times == sorted(times, reverse=True)


def test_post_objects_have_the_api_fields(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    metrics = {
        "retweet_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
    }
    required = {
        "id",
        "text",
        "created_at",
        "author_id",
        "lang",
        "conversation_id",
        "edit_history_tweet_ids",
        "public_metrics",
    }
    for pages in demo_day.values():
        for post in posts_of(pages):
            assert required <= set(post) <= required | {"referenced_tweets"}
            assert isinstance(post["id"], str) and post["id"].isdigit()
            assert post["edit_history_tweet_ids"] == [post["id"]]
            assert set(post["public_metrics"]) == metrics
            assert all(isinstance(v, int) and v >= 0 for v in post["public_metrics"].values())
            assert 0 < len(post["text"]) <= 280


def test_ids_are_snowflakes_of_created_at_and_unique(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    for pages in demo_day.values():
        posts = posts_of(pages)
        assert len({p["id"] for p in posts}) == len(posts)
        for post in posts:
            ms = (int(post["id"]) >> 22) + SNOWFLAKE_EPOCH_MS
            assert post["created_at"] == format_utc(from_epoch(ms / 1000))


def test_fresh_posts_lie_inside_their_window(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    for window, pages in demo_day.items():
        start = window.start.timestamp() * 1000
        end = window.end.timestamp() * 1000
        times = [created_ms(post) for post in posts_of(pages)]
        fresh = [ms for ms in times if ms >= start]
        assert all(ms < end for ms in fresh)
        # Anything earlier is one of the few copies from the previous window (checked below),
        # and being older it sorts after every fresh post.
        assert times[: len(fresh)] == fresh
        assert all(start - FREQ * 1000 <= ms < start for ms in times[len(fresh) :])
        assert len(times) - len(fresh) <= 10


# ---- users --------------------------------------------------------------------------------------


def test_includes_hold_each_page_author_once_except_suspended_ones(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    posts = missing = 0
    users_seen: dict[str, dict[str, Any]] = {}
    for pages in demo_day.values():
        for page in pages:
            users = page["includes"]["users"]
            ids = [u["id"] for u in users]
            assert len(ids) == len(set(ids))
            authors = {p["author_id"] for p in page["data"]}
            assert set(ids) <= authors
            for post in page["data"]:
                posts += 1
                missing += post["author_id"] not in ids
            for user in users:
                # One account looks the same wherever it appears.
                assert users_seen.setdefault(user["id"], user) == user
    assert 0.003 < missing / posts < 0.025


def test_user_objects_look_like_the_api(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    users = {
        u["id"]: u
        for pages in demo_day.values()
        for page in pages
        for u in page["includes"]["users"]
    }
    assert len(users) > 1000
    for user in users.values():
        assert {"id", "username", "name", "verified"} <= set(user)
        assert set(user) <= {"id", "username", "name", "verified", "location"}
        assert user["username"].replace("_", "").isalnum() and len(user["username"]) <= 15
        assert isinstance(user["verified"], bool)
        assert user.get("location", "x")  # absent, never empty or None
    verified = sum(u["verified"] for u in users.values()) / len(users)
    located = sum("location" in u for u in users.values()) / len(users)
    assert 0.01 < verified < 0.06
    assert 0.6 < located < 0.8
    usernames = [u["username"].lower() for u in users.values()]
    assert len(set(usernames)) == len(usernames)


# ---- duplicates ---------------------------------------------------------------------------------


def copies_in(
    source: SyntheticSource, windows: list[Window], cap: int | None
) -> tuple[int, int, list[tuple[dict[str, Any], Window]]]:
    total = 0
    copies: list[tuple[dict[str, Any], Window]] = []
    for window in windows:
        posts = posts_of(source.fetch_window(QUERY, window, cap))
        total += len(posts)
        start = window.start.timestamp() * 1000
        copies.extend((p, window) for p in posts if created_ms(p) < start)
    return total, len(copies), copies


def test_duplicates_repeat_posts_of_the_previous_window(ctx: Context) -> None:
    source = make(ctx)
    total, count, copies = copies_in(source, day_windows(), 100)
    assert 0.01 < count / total < 0.035
    for post, window in copies:
        previous = Window(window.start - timedelta(seconds=FREQ), window.start)
        earlier = {p["id"]: p for p in posts_of(source.fetch_window(QUERY, previous, 100))}
        assert earlier[post["id"]] == post


def test_duplicate_rate_is_followed(ctx: Context) -> None:
    total, count, _ = copies_in(make(ctx, duplicate_rate=0.2), day_windows(hours=12), 100)
    assert 0.15 < count / total < 0.25
    _, none, _ = copies_in(make(ctx, duplicate_rate=0.0), day_windows(hours=12), 100)
    assert none == 0


def test_duplicates_of_an_uncapped_fetch_exist_in_the_previous_uncapped_fetch(
    ctx: Context,
) -> None:
    source = make(ctx, duplicate_rate=0.1)
    windows = day_windows(hours=2)
    by_window = {
        w: {p["id"]: p for p in posts_of(source.fetch_window(QUERY, w, None))} for w in windows
    }
    found = 0
    for previous, window in itertools.pairwise(windows):
        for post_id, post in by_window[window].items():
            if created_ms(post) < window.start.timestamp() * 1000:
                assert by_window[previous][post_id] == post
                found += 1
    assert found > 0


# ---- content ------------------------------------------------------------------------------------


def test_texts_carry_the_query_non_ascii_emoji_and_other_scripts(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    posts = [p for pages in demo_day.values() for p in posts_of(pages)]
    texts = [p["text"] for p in posts]
    assert sum("electric vehicles" in t.lower() for t in texts) > 0.2 * len(texts)
    assert any("#ElectricVehicles" in t for t in texts)
    assert any("https://t.co/" in t for t in texts)
    assert any(c in t for t in texts for c in "🚗⚡😡🔥👍")
    assert any(w in t for t in texts for w in ("café", "naïve", "“"))
    langs = collections.Counter(p["lang"] for p in posts)
    assert langs["en"] > 0.9 * len(posts)
    assert {"ar", "he", "ja", "zh", "ko"} & set(langs)
    for post in posts:
        if post["lang"] in ("ar", "he"):
            assert any("\u0590" <= c <= "\u06ff" for c in post["text"])
        if post["lang"] in ("ja", "zh", "ko"):
            assert any(ord(c) > 0x3000 for c in post["text"])
    # Varied texts: verbatim repeats stay rare.
    distinct = len(set(texts))
    assert distinct > 0.8 * len(texts)


def test_replies_retweets_and_quotes_in_plausible_shares(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    posts = [p for pages in demo_day.values() for p in posts_of(pages)]
    kinds: collections.Counter[str] = collections.Counter()
    for post in posts:
        refs = post.get("referenced_tweets")
        if not refs:
            kinds["original"] += 1
            assert post["conversation_id"] == post["id"]
            continue
        assert len(refs) == 1
        kind, ref_id = refs[0]["type"], refs[0]["id"]
        kinds[kind] += 1
        assert int(ref_id) < int(post["id"])
        if kind == "replied_to":
            assert post["text"].startswith("@")
            assert int(post["conversation_id"]) <= int(ref_id)
        elif kind == "retweeted":
            assert post["text"].startswith("RT @")
            assert post["public_metrics"]["like_count"] == 0
    n = len(posts)
    assert 0.07 < kinds["replied_to"] / n < 0.13
    assert 0.05 < kinds["retweeted"] / n < 0.11
    assert 0.015 < kinds["quoted"] / n < 0.05


def test_query_operators_shape_the_posts(ctx: Context) -> None:
    source = make(ctx)
    windows = day_windows(hours=6)
    posts = [
        p
        for w in windows
        for p in posts_of(source.fetch_window(QUERY + " -is:retweet lang:en", w, 100))
    ]
    assert not any(
        ref["type"] == "retweeted" for p in posts for ref in p.get("referenced_tweets", ())
    )
    assert {p["lang"] for p in posts} == {"en"}
    assert any("#ElectricVehicles" in p["text"] for p in posts)
    assert not any("lang:en" in p["text"] or "-is:" in p["text"] for p in posts)


def test_vader_sees_a_plausible_mix_and_the_bad_news_day(ctx: Context) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    source = make(ctx)

    def shares(start: str, hours: int) -> dict[str, float]:
        posts = [
            p
            for w in day_windows(start, hours)
            for p in posts_of(source.fetch_window(QUERY, w, 100))
        ]
        labels: collections.Counter[str] = collections.Counter()
        for post in posts:
            score = analyzer.polarity_scores(post["text"])["compound"]
            labels["pos" if score >= 0.05 else "neg" if score <= -0.05 else "neu"] += 1
        return {k: v / len(posts) for k, v in labels.items()}

    calm = shares("2024-03-01T06:00:00Z", 6)
    assert 0.3 < calm["pos"] < 0.5
    assert 0.15 < calm["neg"] < 0.32
    # The third day's afternoon: bad news breaks at 13:00.
    bad = shares("2024-03-03T13:00:00Z", 3)
    assert bad["neg"] > calm["neg"] + 0.12
    assert bad["neg"] > bad["pos"]
