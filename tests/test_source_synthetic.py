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
        assert set(page["includes"]) <= {"users", "tweets"}
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
            optional = {"referenced_tweets", "entities", "context_annotations"}
            assert required <= set(post) <= required | optional
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


# ---- true volume --------------------------------------------------------------------------------


def test_volumes_count_what_an_uncapped_fetch_returns(ctx: Context) -> None:
    source = make(ctx)
    windows = day_windows("2024-03-03T12:00:00Z", hours=3)
    volumes = source.volumes(QUERY, windows)
    assert list(volumes) == [w.id for w in windows]
    for window in windows:
        assert volumes[window.id] == len(posts_of(source.fetch_window(QUERY, window, None)))
    # The demo's cap samples the volume; it does not bound it.
    assert max(volumes.values()) > 100


def test_volumes_refuse_windows_before_snowflake_ids(ctx: Context) -> None:
    old = Window(parse_utc("2009-01-01T00:00:00Z"), parse_utc("2009-01-01T00:15:00Z"))
    with pytest.raises(ValueError, match="predate"):
        make(ctx).volumes(QUERY, [old])


def hourly(volumes: dict[str, int], windows: list[Window]) -> list[int]:
    counts = [volumes[w.id] for w in windows]
    return [sum(counts[i : i + 4]) for i in range(0, len(counts), 4)]


def test_the_recall_bursts_and_the_good_news_bursts_less(demo_source: SyntheticSource) -> None:
    calm_day = day_windows("2024-03-01T00:00:00Z")
    good_day = day_windows("2024-03-02T00:00:00Z")
    bad_day = day_windows("2024-03-03T00:00:00Z")
    calm = hourly(demo_source.volumes(QUERY, calm_day), calm_day)
    good = hourly(demo_source.volumes(QUERY, good_day), good_day)
    bad = hourly(demo_source.volumes(QUERY, bad_day), bad_day)
    # The recall breaks at 13:00: several times a normal day's volume within the hour, for an
    # hour or two, then fading.
    assert bad[12] < 1.3 * calm[12]
    assert bad[13] > 4 * calm[13]
    assert bad[14] > 3 * calm[14]
    assert bad[13] > bad[15] > bad[17] > bad[20]
    assert bad[20] < 1.6 * calm[20]
    # The good news (18:00 the day before) bursts too, less.
    assert 1.5 * calm[18] < good[18] < bad[13]
    assert max(good) < 0.7 * max(bad)


def test_the_burst_is_in_the_posts(demo_source: SyntheticSource) -> None:
    start = parse_utc("2024-03-03T13:00:00Z")
    window = Window(start, start + timedelta(minutes=15))
    before = Window(start - timedelta(days=2), start - timedelta(days=2, minutes=-15))
    burst = len(posts_of(demo_source.fetch_window(QUERY, window, None)))
    normal = len(posts_of(demo_source.fetch_window(QUERY, before, None)))
    assert burst > 3 * normal


# ---- entities -----------------------------------------------------------------------------------


def check_entities(post: dict[str, Any]) -> None:
    """Every entity's offsets pick out its own text, counted in code points."""
    text = post["text"]
    entities = post.get("entities", {})
    assert set(entities) <= {"hashtags", "mentions", "urls", "annotations"}
    assert all(entities.values()), "empty lists are left out, as the API does"
    for tag in entities.get("hashtags", ()):
        assert text[tag["start"] : tag["end"]] == "#" + tag["tag"]
    for mention in entities.get("mentions", ()):
        assert text[mention["start"] : mention["end"]].lower() == "@" + mention["username"].lower()
        assert mention["id"].isdigit()
    for url in entities.get("urls", ()):
        assert text[url["start"] : url["end"]] == url["url"]
        assert re.fullmatch(r"https://t\.co/[A-Za-z0-9]{10}", url["url"])
        assert url["expanded_url"].startswith("https://")
        assert "://t.co/" not in url["expanded_url"]
        assert url["display_url"] and "://" not in url["display_url"]
    for note in entities.get("annotations", ()):
        # An annotation's end is inclusive, as the API writes it.
        assert text[note["start"] : note["end"] + 1] == note["normalized_text"]
        assert note["type"] in {"Person", "Place", "Product", "Organization", "Other"}
        assert 0 < note["probability"] <= 1
    for context in post.get("context_annotations", ()):
        assert set(context) == {"domain", "entity"}
        assert context["domain"]["id"].isdigit() and context["domain"]["name"]
        assert context["entity"]["id"].isdigit() and context["entity"]["name"]


def test_entity_offsets_match_the_text(demo_day: dict[Window, list[dict[str, Any]]]) -> None:
    posts = [p for pages in demo_day.values() for p in posts_of(pages)]
    for post in posts:
        check_entities(post)
    # Code points, not UTF-16 units or bytes: posts with emoji before an entity exist.
    assert any(
        any(ord(c) > 0xFFFF for c in p["text"][: e["start"]])
        for p in posts
        for kind in p.get("entities", {}).values()
        for e in kind
    )


def test_entities_appear_at_realistic_rates(demo_day: dict[Window, list[dict[str, Any]]]) -> None:
    posts = [p for pages in demo_day.values() for p in posts_of(pages)]
    n = len(posts)

    def share(kind: str) -> float:
        return sum(kind in p.get("entities", {}) for p in posts) / n

    assert 0.3 < share("hashtags") < 0.7
    assert 0.1 < share("mentions") < 0.5
    assert 0.1 < share("urls") < 0.5
    assert 0.1 < share("annotations") < 0.7
    assert 0.05 < sum("context_annotations" in p for p in posts) / n < 0.7
    types = {a["type"] for p in posts for a in p.get("entities", {}).get("annotations", ())}
    assert {"Place", "Product", "Organization", "Other"} <= types
    domains = {
        u["expanded_url"].split("/")[2]
        for p in posts
        for u in p.get("entities", {}).get("urls", ())
    }
    assert {"www.youtube.com", "twitter.com"} <= domains


def test_the_recall_names_its_brand_and_links_the_news(demo_source: SyntheticSource) -> None:
    start = "2024-03-03T13:00:00Z"
    posts = [
        p
        for w in day_windows(start, hours=2)
        for p in posts_of(demo_source.fetch_window(QUERY, w, 100))
    ]
    brands = collections.Counter(
        a["normalized_text"]
        for p in posts
        for a in p.get("entities", {}).get("annotations", ())
        if a["type"] == "Organization"
    )
    (brand, count), *rest = brands.most_common()
    assert count > 3 * sum(c for _, c in rest)
    assert any(
        c["entity"]["name"] == brand and c["domain"]["name"] == "Brand"
        for p in posts
        for c in p.get("context_annotations", ())
    )
    news = ("reuters.com", "apnews.com", "electrek.co", "theverge.com", "bbc.com", "insideevs.com")
    hosts = [
        u["expanded_url"].split("/")[2]
        for p in posts
        for u in p.get("entities", {}).get("urls", ())
    ]
    assert sum(h.removeprefix("www.") in news for h in hosts) > 0.3 * len(hosts)


# ---- reposts ------------------------------------------------------------------------------------


def reposted_id(post: dict[str, Any]) -> str | None:
    for ref in post.get("referenced_tweets", ()):
        if ref["type"] == "retweeted":
            return str(ref["id"])
    return None


def test_reposts_repeat_a_few_popular_originals(demo_source: SyntheticSource) -> None:
    for start, most in (("2024-03-01T10:00:00Z", 0.5), ("2024-03-03T13:00:00Z", 0.3)):
        window = day_windows(start, hours=1)[0]
        posts = posts_of(demo_source.fetch_window(QUERY, window, None))
        originals = collections.Counter(filter(None, map(reposted_id, posts)))
        reposts = sum(originals.values())
        assert reposts >= 5
        # Counting each original once changes the numbers.
        assert len(originals) < most * reposts


def test_the_recall_brings_more_reposts(demo_source: SyntheticSource) -> None:
    def share(start: str) -> float:
        posts = [
            p
            for w in day_windows(start, hours=2)
            for p in posts_of(demo_source.fetch_window(QUERY, w, 100))
        ]
        return sum(reposted_id(p) is not None for p in posts) / len(posts)

    assert share("2024-03-03T13:00:00Z") > 1.8 * share("2024-03-01T13:00:00Z")


def test_pages_include_the_originals_of_their_reposts(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    found = 0
    for pages in demo_day.values():
        for page in pages:
            included = {t["id"]: t for t in page["includes"].get("tweets", ())}
            wanted = {reposted_id(p) for p in page["data"]} - {None}
            assert set(included) == wanted
            for post in page["data"]:
                original = included.get(reposted_id(post) or "")
                if original is None:
                    continue
                found += 1
                assert {"id", "text", "author_id", "created_at", "public_metrics"} <= set(original)
                assert original["created_at"] < post["created_at"]
                assert int(original["id"]) < int(post["id"])
                check_entities(original)
                check_entities(post)
                # "RT @author: " and the original's text, cut as the API cuts it.
                mention = post["entities"]["mentions"][0]
                assert mention["start"] == 3
                prefix = f"RT @{mention['username']}: "
                whole = prefix + original["text"]
                assert post["text"] == (whole if len(whole) <= 140 else whole[:139] + "…")
                metrics = post["public_metrics"]
                assert metrics["retweet_count"] == original["public_metrics"]["retweet_count"]
    assert found > 100


def test_included_originals_are_the_same_wherever_they_appear(
    demo_day: dict[Window, list[dict[str, Any]]],
) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for pages in demo_day.values():
        for page in pages:
            for original in page["includes"].get("tweets", ()):
                assert seen.setdefault(original["id"], original) == original
    assert len(seen) > 24


def test_editing_a_page_leaves_later_fetches_alone(ctx: Context) -> None:
    source = make(ctx)
    window = day_windows("2024-03-03T13:00:00Z")[0]
    first = source.fetch_window(QUERY, window, 100)
    expected = orjson.dumps(first)
    for page in first:
        for original in page["includes"].get("tweets", ()):
            original["text"] = "edited"
            original["public_metrics"]["like_count"] = -1
            for items in original.get("entities", {}).values():
                items.clear()
    assert orjson.dumps(source.fetch_window(QUERY, window, 100)) == expected
