"""A deterministic synthetic source: realistic X API v2 search pages for demos and tests.

Every window is generated from random streams seeded by a SHA-256 of (seed, query, window,
purpose), so a window's pages are the same whatever was fetched before, in which thread, on
which machine. A window holds a daily volume curve's worth of posts; their sentiment mix follows
a four-day story (a good-news evening, then a bad-news afternoon) so a dashboard has something to
show. A few posts of each window are exact copies of the previous window's newest posts, as a
client sees when windows overlap, so that deduplication downstream has work to do.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.sources.base import Page, Source
from tweetsense.sources.synthetic_entities import EntityFinder, copy_post, repost_entities
from tweetsense.sources.synthetic_story import (
    DAY_MS,
    HOUR_MS,
    SLOT_MS,
    Mix,
    format_ms,
    mean_activity,
    mix_at,
)
from tweetsense.sources.synthetic_words import (
    DAILY,
    EVENT_NEGATIVE,
    EVENT_NEUTRAL,
    EVENT_POSITIVE,
    FIRST_NAMES,
    FOREIGN,
    HANDLE_WORDS,
    HASHTAGS,
    KIT_WORDS,
    LAST_NAMES,
    LOCATIONS,
    MIX,
    MIXED,
    MONTHS,
    NAME_EMOJI,
    NEG,
    NEG_ADJ,
    NEG_EMOJI,
    NEGATIVE,
    NEU,
    NEUTRAL,
    OPENERS,
    ORG_NAMES,
    PERSONS,
    PLACES,
    POS,
    POS_ADJ,
    POS_EMOJI,
    POSITIVE,
    QUESTION_EMOJI,
    REPLY_LINES,
    VEHICLE_WORDS,
    WEEKDAYS,
)
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    from tweetsense.registry import Context

# X's snowflake epoch (2010-11-04T01:42:54.657Z): ids are ((ms - this) << 22) | 22 low bits.
SNOWFLAKE_EPOCH_MS = 1288834974657

# Post kinds, with the share of posts each has when the query does not exclude it.
_ORIGINAL, _REPLY, _RETWEET, _QUOTE = 0, 1, 2, 3
_REPLY_SHARE, _RETWEET_SHARE, _QUOTE_SHARE = 0.10, 0.08, 0.03
_SUSPENDED_SHARE = 0.01
_FOREIGN_SHARE = 0.025
_VERIFIED_SHARE = 0.03
_LOCATION_SHARE = 0.70


_T_CO = string.ascii_letters + string.digits
_TOKEN_CHARS = string.ascii_lowercase + string.digits
_QUERY_OPERATOR = re.compile(r"^-|:|^(OR|AND)$|^[()]+$")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


# --------------------------------------------------------------------------------------------
# Templates compiled to format patterns, so a post costs a few draws and one str.format.
# --------------------------------------------------------------------------------------------

Filler = Callable[[random.Random], str]
# A template as a str.format pattern with positional {} fields and the fillers for them.
Compiled = tuple[str, tuple[Filler, ...]]


def _pick(options: Sequence[str]) -> Filler:
    items = tuple(options)
    size = len(items)
    return lambda rng: items[int(rng.random() * size)]


def _number(low: int, high: int, fmt: str = "{}") -> Filler:
    return lambda rng: fmt.format(rng.randint(low, high))


# Link paths are slices of one long random string: one draw per link instead of ten.
_T_CO_POOL = "".join(random.Random(0).choices(_T_CO, k=100_000))


def _t_co(rng: random.Random) -> str:
    start = int(rng.random() * (len(_T_CO_POOL) - 10))
    return "https://t.co/" + _T_CO_POOL[start : start + 10]


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(8, 20)}:{rng.choice(('00', '15', '30', '45'))}"


def _thousands(rng: random.Random) -> str:
    return f"{rng.randint(2, 400) * 500:,}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class _Kit:
    """Everything that depends on the query: compiled templates and the query's flags."""

    by_class: tuple[tuple[Compiled, ...], ...]
    replies: tuple[tuple[Compiled, ...], ...]
    event_negative: tuple[Compiled, ...]
    event_neutral: tuple[Compiled, ...]
    event_positive: tuple[Compiled, ...]
    tag: str
    shares: tuple[float, float, float]  # reply, retweet and quote shares on a calm day
    foreign: bool  # whether posts in other languages may appear (not with lang:en)
    finder: EntityFinder
    links: tuple[str, ...]  # where an everyday post's links lead (URL prefixes)
    news_links: tuple[str, ...]  # where a news post's links lead


def _query_terms(query: str) -> tuple[list[str], set[str], str | None]:
    """The query's plain words, its negated is: operators, and a lang: operator."""
    words: list[str] = []
    excluded: set[str] = set()
    lang = None
    for token in query.replace('"', " ").split():
        lowered = token.lower()
        if lowered.startswith("-is:"):
            excluded.add(lowered[4:])
        elif lowered.startswith("lang:"):
            lang = lowered[5:] or None
        if _QUERY_OPERATOR.search(token):
            continue
        words.extend(_WORD.findall(token))
    return words, excluded, lang


def _build_kit(query: str, users: dict[str, tuple[str, str]]) -> _Kit:
    words, excluded, lang = _query_terms(query)
    topic = " ".join(w.lower() for w in words) or "this"
    tag = "#" + ("".join(w[:1].upper() + w[1:] for w in words) or "Trending")
    kit_name = "vehicles" if VEHICLE_WORDS & {w.lower() for w in words} else "generic"
    table = KIT_WORDS[kit_name]
    brands, products = table["brand"], table["product"]
    # The story's news is about one brand per query, so its name stands out while news breaks.
    lead = hashlib.sha256(query.encode("utf-8")).digest()[0] % len(brands)
    story = {"brand": brands[lead], "product": products[lead], "ceo": table["ceo"][lead]}
    sites = tuple(f"https://www.{b.lower().replace(' ', '')}.com/news/" for b in brands)

    def headline(options: Sequence[str]) -> Filler:
        compiled = tuple(_compile(h, {"num_k": _thousands}, story) for h in options)
        size = len(compiled)
        return lambda rng: _render(compiled[int(rng.random() * size)], rng)

    things = (
        *table["thing"],
        *(f"my {p}" for p in products[:3]),
        *(f"the new {p}" for p in products[3:]),
    )
    fillers: dict[str, Filler] = {
        "aspect": _pick(table["aspect"]),
        # Two aspects in one post come from disjoint halves, so they always differ.
        "aspect_a": _pick(table["aspect"][0::2]),
        "aspect_b": _pick(table["aspect"][1::2]),
        "thing": _pick(things),
        "Thing": _pick([_capitalize(t) for t in things]),
        "trip": _pick(table["trip"]),
        "brand": _pick(brands),
        "bad_event": _pick(table["bad_event"]),
        "bad_event_cap": _pick([_capitalize(t) for t in table["bad_event"]]),
        "good_event": _pick(table["good_event"]),
        "good_event_cap": _pick([_capitalize(t) for t in table["good_event"]]),
        "bad_headline": headline(table["bad_headline"]),
        "good_headline": headline(table["good_headline"]),
        "pos_adj": _pick(POS_ADJ),
        "Pos_adj": _pick([_capitalize(a) for a in POS_ADJ]),
        "neg_adj": _pick(NEG_ADJ),
        "Neg_adj": _pick([_capitalize(a) for a in NEG_ADJ]),
        "pe": _pick(POS_EMOJI + table["emoji"] + ("", "", "")),
        "ne": _pick((*NEG_EMOJI, "", "", "")),
        "qe": _pick((*QUESTION_EMOJI, "")),
        "person": _pick(PERSONS),
        "daily": _pick(DAILY),
        "place": _pick(PLACES),
        "month": _pick(MONTHS),
        "weekday": _pick(WEEKDAYS),
        "mention": _pick(["@" + username for username, _ in users.values()]),
        "url": _t_co,
        "clock": _clock,
        "num": _number(12, 400),
        "small": _number(2, 9),
        "pct": _number(3, 78, "{}%"),
        "num_k": _thousands,
    }
    fixed = {"topic": topic, "Topic": _capitalize(topic), "tag": tag}

    def compile_all(
        templates: Sequence[str], fixed: dict[str, str] = fixed
    ) -> tuple[Compiled, ...]:
        return tuple(_compile(t, fillers, fixed) for t in templates)

    names = {
        "Organization": brands,
        "Product": products,
        "Person": table["ceo"],
        "Place": PLACES,
        "Other": (topic,) if words else (),
    }
    return _Kit(
        by_class=tuple(compile_all(t) for t in (POSITIVE, NEGATIVE, NEUTRAL, MIXED)),
        replies=tuple(compile_all(REPLY_LINES[c]) for c in (POS, NEG, NEU, MIX)),
        event_negative=compile_all(EVENT_NEGATIVE, {**fixed, **story}),
        event_neutral=compile_all(EVENT_NEUTRAL, {**fixed, **story}),
        event_positive=compile_all(EVENT_POSITIVE, {**fixed, **story}),
        tag=tag,
        shares=(
            0.0 if "reply" in excluded else _REPLY_SHARE,
            0.0 if "retweet" in excluded else _RETWEET_SHARE,
            0.0 if "quote" in excluded else _QUOTE_SHARE,
        ),
        foreign=lang != "en",
        finder=EntityFinder(names, users),
        links=(*table["site"], *sites),
        news_links=(*table["news_site"], sites[lead]),
    )


def _compile(template: str, fillers: dict[str, Filler], fixed: dict[str, str]) -> Compiled:
    """Fixed slots become text now; the others become {} fields filled per post."""
    pattern: list[str] = []
    slots: list[Filler] = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        pattern.append(literal.replace("{", "{{").replace("}", "}}"))
        if field is None:
            continue
        if field in fixed:
            pattern.append(fixed[field].replace("{", "{{").replace("}", "}}"))
        else:
            pattern.append("{}")
            slots.append(fillers[field])
    return "".join(pattern), tuple(slots)


def _render(compiled: Compiled, rng: random.Random) -> str:
    pattern, slots = compiled
    return pattern.format(*[fill(rng) for fill in slots])


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------

# Letters that Unicode does not decompose into ASCII ones.
_UNDECOMPOSED = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "ł": "l"})


def _ascii_handle(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return _USERNAME_CHARS.sub("", folded.encode("ascii", "ignore").decode())


def _make_users(count: int, rng: random.Random) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    taken_names: set[str] = set()
    taken_ids: set[int] = set()
    for _ in range(count):
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        style = rng.random()
        if style < 0.06:
            name = rng.choice(ORG_NAMES)
            handle = _ascii_handle(name.title())
        elif style < 0.16:
            name = f"{first} {rng.choice(NAME_EMOJI)}"
            handle = f"{rng.choice(HANDLE_WORDS)}_{_ascii_handle(first).lower()}"
        elif style < 0.23:
            name = f"Dr. {first} {last}"
            handle = f"dr{_ascii_handle(last).lower()}"
        else:
            name = f"{first} {last}"
            handle = rng.choice(
                (
                    f"{_ascii_handle(first)}_{_ascii_handle(last)}",
                    f"{_ascii_handle(first).lower()}{_ascii_handle(last)[:1].lower()}"
                    f"{rng.randint(1, 99)}",
                    f"{rng.choice(HANDLE_WORDS)}{rng.choice(HANDLE_WORDS)}{rng.randint(1, 999)}",
                    f"the{_ascii_handle(last).lower()}",
                )
            )
        # Usernames are unique on X (ignoring case) and at most 15 characters long.
        handle = handle[:15] or "user"
        while handle.lower() in taken_names:
            handle = f"{handle[:11]}{rng.randint(1000, 9999)}"
        taken_names.add(handle.lower())
        # Old accounts have short ids, accounts since 2013 have snowflake-sized ones.
        user_id = 0
        while user_id == 0 or user_id in taken_ids:
            if rng.random() < 0.3:
                user_id = rng.randint(10**6, 4 * 10**9)
            else:
                user_id = rng.randint(10**17, 18 * 10**17)
        taken_ids.add(user_id)
        user: dict[str, Any] = {
            "id": str(user_id),
            "name": name,
            "username": handle,
            "verified": rng.random() < _VERIFIED_SHARE,
        }
        if rng.random() < _LOCATION_SHARE:
            user["location"] = rng.choice(LOCATIONS)
        users.append(user)
    return users


# --------------------------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """How many posts a window holds and returns, before any post is written."""

    start_ms: int
    end_ms: int
    volume: int
    returned: int
    raw_duplicates: int  # copies wanted, before checking how many the previous window can give
    rng: random.Random  # the window's planning stream, continued by the duplicate picks


# A post as a source holds it: the post, its author (None when suspended) and, for a repost,
# the original it repeats, which its page's includes.tweets must carry.
_Post = tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]
# The popular posts of an hour that its reposts repeat, most reposted first, with their authors.
_Pool = tuple[tuple[dict[str, Any], dict[str, Any]], ...]

_POOL_SIZE = 12
_POOL_CACHE = 512


class SyntheticSource(Source):
    """Realistic, reproducible X API v2 search pages for any query and window.

    Each window's posts exist independently of the cap: a capped fetch returns the newest posts
    of the uncapped one, as the API does with recency order, and ``volumes`` counts them all.
    """

    name = "synthetic"
    cpu_bound = True

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")

        seed: int = 42
        posts_per_window: int = Field(
            default=200,
            ge=0,
            le=100_000,
            description="mean posts in a 15-minute window before the daily curve",
        )
        duplicate_rate: float = Field(
            default=0.02, ge=0.0, le=0.5, description="share of posts copied from the window before"
        )
        page_size: int = Field(default=100, ge=10, le=500, description="posts per response page")
        authors: int = Field(default=5000, ge=1, le=1_000_000, description="accounts that post")

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings = settings
        user_rng = self._rng("users")
        self._users = tuple(_make_users(settings.authors, user_rng))
        self._usernames = tuple(u["username"] for u in self._users)
        self._by_username = {u["username"].lower(): (u["username"], u["id"]) for u in self._users}
        # News outlets' accounts write the posts everyone reposts when news breaks.
        self._outlets = tuple(u for u in self._users if u["name"] in ORG_NAMES) or self._users
        # Suspended accounts: their posts appear, their user objects never do.
        taken = {u["id"] for u in self._users}
        suspended: list[str] = []
        while len(suspended) < 50:
            candidate = str(user_rng.randint(10**17, 18 * 10**17))
            if candidate not in taken:
                taken.add(candidate)
                suspended.append(candidate)
        self._suspended = tuple(suspended)
        self._kits: dict[str, _Kit] = {}
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._lock = threading.Lock()

    # ---- randomness ------------------------------------------------------------------------

    def _digest(self, *parts: object) -> bytes:
        key = "\x1f".join(str(p) for p in (self.settings.seed, *parts))
        return hashlib.sha256(key.encode("utf-8")).digest()

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(int.from_bytes(self._digest(*parts)[:16], "big"))

    def _kit(self, query: str) -> _Kit:
        with self._lock:
            kit = self._kits.get(query)
        if kit is None:
            kit = _build_kit(query, self._by_username)
            with self._lock:
                if len(self._kits) >= 64:
                    self._kits.clear()
                kit = self._kits.setdefault(query, kit)
        return kit

    # ---- planning --------------------------------------------------------------------------

    def _volume(self, query: str, start_ms: int, end_ms: int) -> tuple[int, random.Random]:
        """Every post the window holds (its true volume), and its planning stream."""
        span = end_ms - start_ms
        rng = self._rng(query, start_ms, end_ms, "plan")
        expected = (
            self.settings.posts_per_window
            * (span / SLOT_MS)
            * mean_activity(start_ms, end_ms)
            * rng.uniform(0.92, 1.08)
        )
        # Random rounding keeps tiny rates right on average (0.3 posts: 0 or 1, mostly 0).
        return int(expected + rng.random()), rng

    def _plan(self, query: str, start_ms: int, end_ms: int, max_posts: int | None) -> _Plan:
        volume, rng = self._volume(query, start_ms, end_ms)
        returned = volume if max_posts is None else max(0, min(volume, max_posts))
        rate = self.settings.duplicate_rate
        draw = rng.random
        raw = sum(1 for _ in range(returned) if draw() < rate)
        return _Plan(start_ms, end_ms, volume, returned, raw, rng)

    # ---- reposts ---------------------------------------------------------------------------

    def _pool(self, query: str, kit: _Kit, hour_ms: int) -> _Pool:
        """The posts reposted during the hour from ``hour_ms``: written in the two hours before
        it, from their own stream, so every window of the hour repeats the same few."""
        key = (query, hour_ms)
        with self._lock:
            pool = self._pools.get(key)
        if pool is not None:
            return pool
        rng = self._rng(query, hour_ms, "pool")
        random_ = rng.random
        users = self._users
        days: dict[int, str] = {}
        built: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for rank in range(_POOL_SIZE):
            ms = hour_ms - 1000 - int(random_() * 2 * HOUR_MS)
            mix = mix_at(ms // SLOT_MS * SLOT_MS + SLOT_MS // 2)
            if random_() < mix.bad:
                # While bad news breaks, the outlets' reports are what spreads.
                author = self._outlets[int(random_() * len(self._outlets))]
                news = kit.event_negative[0::6] + kit.event_neutral
                text = _render(news[int(random_() * len(news))], rng)
                links = kit.news_links
            else:
                author = users[int(len(users) * random_() ** 3)]
                u = random_()
                p_pos, p_neg, p_neu = mix.cumulative
                cls = POS if u < p_pos else NEG if u < p_neg else NEU if u < p_neu else MIX
                text, news_post = _text(kit, mix, cls, _ORIGINAL, rng)
                links = kit.news_links if news_post else kit.links
            sid = str(_snowflake(ms, rng))
            # Fame falls with rank, and news spreads further than anything else.
            reach = (1.0 + 4.0 * mix.surge) / (rank + 1)
            reposts = int((40 + 400 * random_()) * reach)
            likes = int(reposts * (2.0 + 4.0 * random_()))
            original: dict[str, Any] = {
                "id": sid,
                "text": text,
                "created_at": format_ms(ms, days),
                "author_id": author["id"],
                "conversation_id": sid,
                "lang": "en",
                "edit_history_tweet_ids": [sid],
                "public_metrics": {
                    "retweet_count": reposts,
                    "reply_count": int(likes * 0.1 * random_()),
                    "like_count": likes,
                    "quote_count": int(reposts * 0.1 * random_()),
                    "bookmark_count": int(likes * 0.05 * random_()),
                    "impression_count": int(likes * (30 + 50 * random_())),
                },
            }
            entities, contexts = kit.finder.find(text, rng, links)
            if entities is not None:
                original["entities"] = entities
            if contexts is not None:
                original["context_annotations"] = contexts
            built.append((original, author))
        pool = tuple(built)
        with self._lock:
            if len(self._pools) >= _POOL_CACHE:
                self._pools.clear()
            pool = self._pools.setdefault(key, pool)
        return pool

    # ---- posts -----------------------------------------------------------------------------

    def _posts(self, query: str, kit: _Kit, plan: _Plan, count: int) -> list[_Post]:
        """The window's newest ``count`` posts, newest first.

        Posts come in order from one stream, and the times are drawn as descending order
        statistics of the window's ``volume`` uniform times, so the first n posts are the same
        however many are asked for and the older ones are never written.
        """
        rng = self._rng(query, plan.start_ms, plan.end_ms, "posts")
        slots: dict[int, tuple[Mix, tuple[float, float, float]]] = {}
        pools: dict[int, _Pool] = {}
        reply_share, retweet_share, quote_share = kit.shares
        finder = kit.finder
        users = self._users
        usernames = self._usernames
        n_users = len(users)
        suspended = self._suspended
        n_suspended = len(suspended)
        days: dict[int, str] = {}
        random_ = rng.random
        # An offset packs the ms within the window and the id's 22 low bits.
        size = (plan.end_ms - plan.start_ms) << 22
        base = (plan.start_ms - SNOWFLAKE_EPOCH_MS) << 22
        remaining = plan.volume
        fraction = 1.0
        last = size
        out: list[_Post] = []
        for _ in range(min(count, plan.volume)):
            fraction *= (1.0 - random_()) ** (1.0 / remaining)
            remaining -= 1
            offset = int(fraction * size)
            # Equal offsets are all but impossible; stepping down keeps ids unique anyway.
            if offset >= last:
                offset = last - 1
            last = offset
            post_id = base + offset
            ms = (post_id >> 22) + SNOWFLAKE_EPOCH_MS
            sid = str(post_id)
            # The mix moves in 15-minute steps, so long windows still follow the story.
            slot = slots.get(ms // SLOT_MS)
            if slot is None:
                mix = mix_at(ms // SLOT_MS * SLOT_MS + SLOT_MS // 2)
                # Reposts pile up while news bursts.
                retweets = reply_share + retweet_share * (1.0 + 2.0 * mix.surge)
                slot = slots[ms // SLOT_MS] = (
                    mix,
                    (reply_share, retweets, retweets + quote_share),
                )
            mix, (k_reply, k_retweet, k_quote) = slot
            if random_() < _SUSPENDED_SHARE:
                user = None
                author_id = suspended[int(random_() * n_suspended)]
            else:
                # A few accounts post far more than most, as on the real network.
                user = users[int(n_users * random_() ** 1.6)]
                author_id = user["id"]

            original = None
            links = kit.links
            if kit.foreign and random_() < _FOREIGN_SHARE:
                lang, body = FOREIGN[int(random_() * len(FOREIGN))]
                u = random_()
                text = (
                    f"{body} {kit.tag}"
                    if u < 0.5
                    else f"{body} {_t_co(rng)}"
                    if u < 0.7
                    else f"{body} {kit.tag} {_t_co(rng)}"
                    if u < 0.85
                    else body
                )
                kind = _ORIGINAL
            else:
                lang = "en"
                u = random_()
                kind = (
                    _REPLY
                    if u < k_reply
                    else _RETWEET
                    if u < k_retweet
                    else _QUOTE
                    if u < k_quote
                    else _ORIGINAL
                )
                if kind == _RETWEET:
                    hour = ms // HOUR_MS * HOUR_MS
                    pool = pools.get(hour)
                    if pool is None:
                        pool = pools[hour] = self._pool(query, kit, hour)
                    # The first posts of the pool take most of its reposts.
                    original, author = pool[int(len(pool) * random_() ** 2.5)]
                    text = original["text"]
                else:
                    u = random_()
                    p_pos, p_neg, p_neu = mix.cumulative
                    cls = POS if u < p_pos else NEG if u < p_neg else NEU if u < p_neu else MIX
                    text, news = _text(kit, mix, cls, kind, rng)
                    if news:
                        links = kit.news_links

            post: dict[str, Any] = {
                "id": sid,
                "text": text,
                "created_at": format_ms(ms, days),
                "author_id": author_id,
                "conversation_id": sid,
                "lang": lang,
                "edit_history_tweet_ids": [sid],
            }
            verified = user is not None and user["verified"]
            cut: int | None = None
            quoted: str | None = None
            if kind == _ORIGINAL:
                post["public_metrics"] = _metrics(rng, verified)
            elif kind == _REPLY:
                parent_ms = ms - int(60_000 + random_() * 6 * 3_600_000)
                parent = str(_snowflake(parent_ms, rng))
                if random_() < 0.4:
                    # Deeper in a thread: the conversation started earlier than the parent.
                    post["conversation_id"] = str(
                        _snowflake(parent_ms - int(random_() * DAY_MS), rng)
                    )
                else:
                    post["conversation_id"] = parent
                post["text"] = f"@{usernames[int(random_() * n_users)]} {text}"
                post["public_metrics"] = _metrics(rng, verified, scale=0.2)
                post["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
            elif kind == _RETWEET:
                assert original is not None
                rt = f"RT @{author['username']}: {text}"
                # The API truncates long retweet texts and marks the cut with an ellipsis.
                if len(rt) > 140:
                    rt = rt[:139] + "…"
                    cut = 139
                post["text"] = rt
                # A retweet carries the original's retweet count and nothing else.
                post["public_metrics"] = {
                    "retweet_count": original["public_metrics"]["retweet_count"],
                    "reply_count": 0,
                    "like_count": 0,
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": 0,
                }
                post["referenced_tweets"] = [{"type": "retweeted", "id": original["id"]}]
            else:
                quoted_id = _snowflake(ms - int(60_000 + random_() * DAY_MS), rng)
                quoted_user = usernames[int(random_() * n_users)]
                quoted = f"https://twitter.com/{quoted_user}/status/{quoted_id}"
                post["text"] = f"{text} {_t_co(rng)}"
                post["public_metrics"] = _metrics(rng, verified)
                post["referenced_tweets"] = [{"type": "quoted", "id": str(quoted_id)}]
            if original is None:
                entities, contexts = finder.find(post["text"], rng, links, quoted=quoted)
            else:
                entities, contexts = repost_entities(
                    original, author["username"], author["id"], cut
                )
            if entities is not None:
                post["entities"] = entities
            if contexts is not None:
                post["context_annotations"] = contexts
            out.append((post, user, original))
        return out

    # ---- the interface ---------------------------------------------------------------------

    def volumes(self, query: str, windows: list[Window]) -> dict[str, int]:
        """Every post each window holds: what an uncapped ``fetch_window`` returns."""
        counts: dict[str, int] = {}
        for window in windows:
            start_ms, end_ms = _bounds(window)
            counts[window.id] = self._volume(query, start_ms, end_ms)[0]
        return counts

    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Page]:
        start_ms, end_ms = _bounds(window)
        kit = self._kit(query)
        plan = self._plan(query, start_ms, end_ms, max_posts)

        duplicates: list[_Post] = []
        span = end_ms - start_ms
        if plan.raw_duplicates and start_ms - span >= SNOWFLAKE_EPOCH_MS:
            previous = self._plan(query, start_ms - span, start_ms, max_posts)
            # Only posts the previous window's own fetch returns can repeat: its newest fresh
            # posts. Its raw duplicate count bounds its copies without looking further back.
            visible = previous.returned - previous.raw_duplicates
            count = min(plan.raw_duplicates, visible)
            if count > 0:
                pool = min(visible, 4 * count)
                chosen = sorted(plan.rng.sample(range(pool), count))
                earlier = self._posts(query, kit, previous, chosen[-1] + 1)
                duplicates = [earlier[i] for i in chosen]

        fresh = self._posts(query, kit, plan, plan.returned - len(duplicates))
        return self._pages(query, start_ms, end_ms, fresh + duplicates)

    def _pages(self, query: str, start_ms: int, end_ms: int, posts: list[_Post]) -> list[Page]:
        if not posts:
            return [{"meta": {"result_count": 0}}]
        size = self.settings.page_size
        pages: list[Page] = []
        for offset in range(0, len(posts), size):
            chunk = posts[offset : offset + size]
            data = [post for post, _, _ in chunk]
            authors: dict[str, dict[str, Any]] = {}
            originals: dict[str, dict[str, Any]] = {}
            for post, user, original in chunk:
                # Copies, so a caller editing a page cannot change later pages.
                if user is not None and post["author_id"] not in authors:
                    authors[post["author_id"]] = dict(user)
                if original is not None and original["id"] not in originals:
                    originals[original["id"]] = copy_post(original)
            meta: dict[str, Any] = {
                "newest_id": data[0]["id"],
                "oldest_id": data[-1]["id"],
                "result_count": len(data),
            }
            if offset + size < len(posts):
                meta["next_token"] = self._token(query, start_ms, end_ms, data[-1]["id"])
            includes: dict[str, Any] = {"users": list(authors.values())}
            if originals:
                includes["tweets"] = list(originals.values())
            pages.append({"data": data, "includes": includes, "meta": meta})
        return pages

    def _token(self, query: str, start_ms: int, end_ms: int, oldest_id: str) -> str:
        """An opaque pagination token in the API's style: 45 lowercase letters and digits."""
        number = int.from_bytes(self._digest(query, start_ms, end_ms, oldest_id, "token"), "big")
        chars = []
        for _ in range(45):
            number, digit = divmod(number, 36)
            chars.append(_TOKEN_CHARS[digit])
        return "".join(chars)


def _bounds(window: Window) -> tuple[int, int]:
    start_ms = round(window.start.timestamp() * 1000)
    end_ms = round(window.end.timestamp() * 1000)
    if start_ms < SNOWFLAKE_EPOCH_MS:
        raise ValueError("synthetic posts cannot predate X ids (2010-11-04T01:42:54.657Z)")
    if end_ms <= start_ms:
        raise ValueError(f"window {window.id} is empty")
    return start_ms, end_ms


def _text(kit: _Kit, mix: Mix, cls: int, kind: int, rng: random.Random) -> tuple[str, bool]:
    """A post's text, and whether it is news (its links then lead to news sites)."""
    random_ = rng.random
    if kind == _REPLY and random_() < 0.5:
        options = kit.replies[cls]
        return _render(options[int(random_() * len(options))], rng), False
    if cls == NEG and random_() < mix.bad * 0.8:
        options = kit.event_negative
    elif cls == NEU and random_() < mix.bad * 0.5:
        options = kit.event_neutral
    elif cls == POS and random_() < mix.good * 0.6:
        options = kit.event_positive
    else:
        options = kit.by_class[cls]
    text = _render(options[int(random_() * len(options))], rng).rstrip()
    # Openers suit opinions; on news and questions they read wrong.
    everyday = options is kit.by_class[cls]
    if cls != NEU and everyday:
        text = OPENERS[int(random_() * len(OPENERS))] + text
    u = random_()
    if u < 0.30:
        text = f"{text} {kit.tag}"
    elif u < 0.38:
        text = f"{text} {kit.tag} {HASHTAGS[int(random_() * len(HASHTAGS))]}"
    elif u < 0.42:
        text = f"{kit.tag} {text}"
    # Casual posters skip capitals; links stay intact because t.co paths are case-sensitive.
    if random_() < 0.05 and "https://" not in text:
        text = text.lower()
    if random_() < 0.12 and "https://" not in text:
        text = f"{text} {_t_co(rng)}"
    return text, not everyday


def _snowflake(ms: int, rng: random.Random) -> int:
    return ((ms - SNOWFLAKE_EPOCH_MS) << 22) | rng.getrandbits(22)


def _metrics(rng: random.Random, verified: bool, scale: float = 1.0) -> dict[str, int]:
    random_ = rng.random
    # Heavy-tailed reach: most posts are seen by a few dozen people, a few by many thousands.
    reach = scale * (40.0 / (1.0 - random_() * 0.999) ** 1.1) * (12.0 if verified else 1.0)
    likes = reach * 0.03 * random_()
    return {
        "retweet_count": int(likes * 0.2 * random_()),
        "reply_count": int(likes * 0.15 * random_()),
        "like_count": int(likes),
        "quote_count": int(likes * 0.03 * random_()),
        "bookmark_count": int(likes * 0.08 * random_()),
        "impression_count": int(reach),
    }
