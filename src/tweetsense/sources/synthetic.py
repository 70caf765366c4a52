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
import math
import random
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.sources.base import Page, Source
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    from tweetsense.registry import Context

# X's snowflake epoch (2010-11-04T01:42:54.657Z): ids are ((ms - this) << 22) | 22 low bits.
SNOWFLAKE_EPOCH_MS = 1288834974657
_DAY_MS = 86_400_000
_SLOT_MS = 900_000  # the 15-minute step of the volume curve and of the sentiment mix
# The story repeats every four days from 2024-03-01T00:00Z, the demo's start, so the demo's
# four days show the whole arc: a calm day, good news, bad news, recovery.
_STORY_ANCHOR_MS = 1709251200000
_STORY_DAYS = 4

# Post kinds, with the share of posts each has when the query does not exclude it.
_ORIGINAL, _REPLY, _RETWEET, _QUOTE = 0, 1, 2, 3
_REPLY_SHARE, _RETWEET_SHARE, _QUOTE_SHARE = 0.10, 0.08, 0.03
_SUSPENDED_SHARE = 0.01
_FOREIGN_SHARE = 0.025
_VERIFIED_SHARE = 0.03
_LOCATION_SHARE = 0.70

# Sentiment classes a template is written for.
_POS, _NEG, _NEU, _MIX = 0, 1, 2, 3

_T_CO = string.ascii_letters + string.digits
_TOKEN_CHARS = string.ascii_lowercase + string.digits
_QUERY_OPERATOR = re.compile(r"^-|:|^(OR|AND)$|^[()]+$")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_USERNAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


# --------------------------------------------------------------------------------------------
# Word tables. Templates use {slot} fields filled per post; {topic}, {Topic} and {tag} are
# filled once per query. Texts are HTML-escaped as the API returns them (&amp;).
# --------------------------------------------------------------------------------------------

_POSITIVE = (
    "Just took {thing} on a {trip} and honestly the {aspect} was {pos_adj} {pe}",
    "Loving how {pos_adj} the {aspect} has become. Never going back! {pe}",
    "Three months in with {thing} and I'm still grinning every morning {pe}",
    "Can't stop recommending {topic} to everyone at the café in {place} {pe}",
    "My {person} was skeptical about {topic}, now loves the {aspect} {pe}",
    "The {aspect} is genuinely {pos_adj}. Well done {mention} {pe}",
    "Honestly {topic} made my {daily} so much better {pe}",
    "Best decision I made this year: going all in on {topic} with {thing} {pe}",
    "Happy to report the {aspect} exceeded every expectation {pe}",
    "Really impressed by the {aspect} — {pos_adj} work {mention} {pe}",
    "Shoutout to {mention} for the {pos_adj} tips on the {aspect}, saved me a ton {pe}",
    "Not gonna lie, the {aspect} is {pos_adj}. Would buy again {pe}",
    "Love love love {thing}. {Pos_adj} {aspect}, zero regrets {pe}",
    "Such a joy seeing people get excited about {topic} {pe}",
    "{num} people at the meetup today, the {topic} community is the best {pe}",
    "The future looks bright for {topic} in {place} {pe}",
    "Glad I switched. The {aspect} alone is worth it {pe}",
    "Finally tried {thing} and wow, the {aspect} is {pos_adj} {pe}",
    "Call me naïve but I think {topic} will be a huge win for everyone {pe}",
    "{Pos_adj} day out with {thing}. The {aspect} just works {pe}",
    "Proud to say {small} families on our street are into {topic} now {pe}",
    "Pleasantly surprised by the {aspect} on {thing}. Great job {mention}",
    "Every review I read says the {aspect} is {pos_adj}, and they're right {pe}",
    "“Best purchase ever” — my {person}, about {thing} {pe}",
    "Week {small} with {thing}: still in love with the {aspect} {pe}",
    "Good news for once: the {aspect} keeps getting better {pe}",
    "Big thanks to {mention} for helping me pick {thing}. Perfect choice {pe}",
    "Smiling all the way home thanks to the {aspect} {pe}",
    "People who doubt {topic} haven't tried the {aspect} yet. It's {pos_adj} {pe}",
    "Wonderful experience at the dealer today, and the {aspect} is {pos_adj} {pe}",
    "Ok I'm officially a fan of {topic}. The {aspect} won me over {pe}",
    "Grateful for the {pos_adj} {aspect} on a {trip} like this {pe}",
    "Highly recommend {thing} if you care about the {aspect} {pe}",
    "The {aspect} update is {pos_adj}, exactly what we wanted {pe}",
    "This is what progress looks like: {pos_adj} {aspect}, happy drivers {pe}",
    "Excited to finally join the {topic} crowd! Picking up {thing} on {weekday} {pe}",
    "Fun fact: the {aspect} on {thing} is even better than advertised {pe}",
    "Brilliant to see {topic} everywhere in {place} {pe}",
)

_NEGATIVE = (
    "Absolutely {neg_adj} experience with the {aspect} today {ne}",
    "Why is the {aspect} still so {neg_adj}? Fix it {mention} {ne}",
    "Waited {small} hours for support. {Neg_adj}. Done with {topic} {ne}",
    "The {aspect} on {thing} is a joke. Total waste of money {ne}",
    "So tired of the {topic} hype when the {aspect} is this {neg_adj} {ne}",
    "Regret buying {thing}. The {aspect} keeps failing {ne}",
    "Another day, another {neg_adj} {aspect} problem {ne}",
    "Stop pretending the {aspect} is fine. It's {neg_adj} {ne}",
    "Angry doesn't even cover it. The {aspect} broke again {ne}",
    "The whole {topic} thing feels like a scam since the {aspect} fiasco {ne}",
    "Worst {aspect} I've ever dealt with. Avoid {ne}",
    "Disappointed. Paid extra for the {aspect} and it's {neg_adj} {ne}",
    "My {person} hates it, and honestly the {aspect} is awful {ne}",
    "Stuck again thanks to the {neg_adj} {aspect}. Unacceptable {ne}",
    "Nobody warned me the {aspect} would be this bad {ne}",
    "Hard pass on {topic} until the {aspect} stops being {neg_adj} {ne}",
    "Three complaints filed this month about the {aspect}. Zero answers {mention} {ne}",
    "The {aspect} failed on a {trip}. Never again {ne}",
    "Sick of paying more for a {neg_adj} {aspect} {ne}",
    "Lost {small} hours of my weekend to the {aspect}. Ridiculous {ne}",
    "What a mess. The {aspect} is broken and support just ignores us {ne}",
    "Sorry but {topic}? Not ready. The {aspect} is {neg_adj} {ne}",
    "Frustrated doesn't begin to describe the {aspect} {ne}",
    "Terrible timing: the {aspect} died right before a {trip} {ne}",
    "Unpopular opinion: the {topic} hype is overblown and the {aspect} is a disaster {ne}",
    "It's shocking how {neg_adj} the {aspect} still is after all these years {ne}",
    "Dear {mention}, the {aspect} is {neg_adj}. Please stop ignoring your customers {ne}",
    "Honestly scared and angry about the {aspect} now {ne}",
    "The {aspect} failed twice this week. I'm furious {ne}",
    "Yet another {neg_adj} {aspect} story in {place} {ne}",
    "Feeling cheated. The {aspect} is nowhere near what was promised {ne}",
    "Zero stars for the {aspect}. Worst purchase of my life {ne}",
)

_NEUTRAL = (
    "New report on {topic}: {pct} of buyers say the {aspect} matters most {url}",
    "What do you all think about the {aspect}? Considering {topic} {qe}",
    "Sales figures for {topic} in {month} are out {url}",
    "Reading up on {topic} before deciding. Any thoughts on the {aspect}? {qe}",
    "Live thread: {topic} panel in {place} starts at {clock} {url}",
    "Comparing specs for {thing} this weekend {url}",
    "Q&amp;A on {topic} tomorrow at {clock} with {mention} {url}",
    "{small} questions about {topic} answered in this thread {qe} {url}",
    "Does anyone know how the {aspect} works in winter? Moving to {place} {qe}",
    "New podcast episode on {topic} is up {url}",
    "Saw {small} {topic} ads on the way to {place} today",
    "Today's numbers: {pct} of owners used the {aspect} daily last month {url}",
    "{brand} will present {topic} plans on {weekday} {url}",
    "Heading to the {topic} expo in {place} on {weekday}. Who else is going?",
    "Thread on the {aspect}, sources below {qe}",
    "Survey: {pct} of drivers in {place} plan to look at {topic} next year {url}",
    "Quick explainer on the {aspect} and how it is measured {url}",
    "{brand} confirms {topic} pricing for {month} {url}",
    "Which matters more to you with {topic}: the {aspect_a} or the {aspect_b}?",
    "Data on the {aspect} across {small} models, via {mention} {url}",
    "Notes from today's {topic} session in {place}: {url}",
    "Is the {aspect} on {thing} different from last year's version?",
    "Market update: {topic} made up {pct} of new registrations in {place} in {month} {url}",
    "Pros &amp; cons of {topic}, a summary from {mention} {url}",
    "Watching the {topic} debate with my {person} tonight {qe}",
    "Spreadsheet comparing the {aspect} for {small} options {url}",
    "Question for owners in {place}: how often do you check the {aspect}?",
    "{brand} updates the {aspect} documentation {url}",
    "Reminder: the {topic} webinar starts at {clock} UTC {url}",
    "Here's the timeline of {topic} policy changes over the last decade {url}",
)

_MIXED = (
    "Love the {aspect_a}, but the {aspect_b} is {neg_adj} {ne}",
    "The {aspect_a} is {pos_adj}; shame about the {aspect_b} though",
    "{Thing} is great on the {aspect_a}, terrible on the {aspect_b}. Mixed feelings",
    "Great {aspect_a}, awful {aspect_b}. Still can't decide about {topic} {qe}",
    "The {aspect_a} is {neg_adj}, but the {aspect_b} makes up for it {pe}",
    "Happy with the {aspect_a}, annoyed by the {aspect_b}. Typical {topic} experience",
    "Half amazing, half frustrating: {topic} in a nutshell. Especially the {aspect} {qe}",
    "I want to love {topic}. The {aspect_a} is {pos_adj}, the {aspect_b} is {neg_adj}",
    "Impressive {aspect_a}, disappointing {aspect_b} {qe}",
    "Nice {aspect_a} but the {aspect_b} ruins it {ne}",
    "The {aspect} keeps failing, yet I still enjoy {thing} {pe}",
    "Good {aspect_a}, bad {aspect_b}, fine overall I guess",
    "Brilliant {aspect_a}, {neg_adj} {aspect_b}. Would I buy again? Maybe",
)

# Reactions to the story's events; {event} and {headline} come from the query's kit.
_EVENT_NEGATIVE = (
    "BREAKING: {bad_headline} {url}",
    "Still shocked by {bad_event}. Absolutely {neg_adj} {ne}",
    "After {bad_event} I'm seriously worried about {topic} {ne}",
    "{bad_event_cap} is a disaster for {topic}. Who approved this? {ne}",
    "So {bad_event} happened and {brand} is silent. Shameful {ne}",
    "Cancelled my order after {bad_event}. Not worth the risk {ne}",
    "{bad_headline}. Terrible news {ne} {url}",
    "This is bad. {bad_headline} {url}",
    "Everyone in my feed is angry about {bad_event}, and they should be {ne}",
    "Just got the letter about {bad_event}. Scary stuff {ne}",
)

_EVENT_NEUTRAL = (
    "{bad_headline} {url}",
    "What we know so far about {bad_event} {qe} {url}",
    "{brand} statement on {bad_event}: {url}",
    "Owners: here is how to check your VIN after {bad_event} {url}",
)

_EVENT_POSITIVE = (
    "Huge news: {good_headline} {pe} {url}",
    "{good_event_cap} is great news for {topic} {pe}",
    "Thrilled about {good_event}! {pe}",
    "{good_headline}. Love to see it {pe}",
    "Finally some good news: {good_event} {pe}",
)

_REPLY_LINES = {
    _POS: (
        "Totally agree, the {aspect} is great {pe}",
        "Same here! Best decision ever {pe}",
        "Thanks for sharing, super helpful {pe}",
        "Congrats, enjoy it! {pe}",
        "This is the way, love it {pe}",
        "Welcome to the club! You'll love the {aspect} {pe}",
        "Great thread, thank you {pe}",
        "Yes! Mine has been {pos_adj} for {small} months {pe}",
    ),
    _NEG: (
        "Same problem here with the {aspect}. Awful {ne}",
        "This is wrong and you know it {ne}",
        "Ugh, sorry. Mine failed too {ne}",
        "Terrible take, sorry {ne}",
        "Same. The {aspect} has been {neg_adj} for {small} weeks {ne}",
        "Sadly yes, support was useless for me too {ne}",
    ),
    _NEU: (
        "Which model is that?",
        "Source? {qe}",
        "How long did it take?",
        "Following this thread {qe}",
        "Do you have the numbers for {month}?",
        "Is that the {aspect} from the {month} update?",
        "Where in {place} was this?",
        "What about the {aspect}?",
    ),
    _MIX: (
        "Good point, but the {aspect} is still {neg_adj}",
        "Agree on the {aspect_a}, not on the {aspect_b}",
    ),
}

_POS_ADJ = (
    "amazing",
    "great",
    "brilliant",
    "impressive",
    "fantastic",
    "excellent",
    "superb",
    "awesome",
    "wonderful",
    "solid",
    "incredible",
    "top-notch",
    "smooth",
    "perfect",
)
_NEG_ADJ = (
    "terrible",
    "awful",
    "disappointing",
    "frustrating",
    "ridiculous",
    "useless",
    "horrible",
    "pathetic",
    "unreliable",
    "painful",
    "broken",
    "a nightmare",
)
_POS_EMOJI = ("🔥", "👍", "😍", "🙌", "💯", "✨", "😊", "🎉", "💪", "🥳", "❤️")
_NEG_EMOJI = ("😡", "😤", "👎", "🙄", "😞", "💸", "🤦", "😠", "😒")
_QUESTION_EMOJI = ("🤔", "📊", "📰", "👀", "🧵", "📈", "📉")
_PERSONS = (
    "wife",
    "husband",
    "dad",
    "mom",
    "neighbor",
    "boss",
    "brother",
    "sister",
    "roommate",
    "best friend",
    "partner",
    "uncle",
)
_DAILY = ("commute", "school run", "weekend", "daily routine", "mornings")
_PLACES = (
    "Berlin",
    "Austin",
    "São Paulo",
    "Montréal",
    "London",
    "Oslo",
    "Lagos",
    "Bengaluru",
    "Tokyo",
    "Mexico City",
    "Zürich",
    "Seattle",
    "Sydney",
    "Toronto",
    "Paris",
    "Dubai",
    "Seoul",
    "Amsterdam",
    "Denver",
    "Kraków",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
_HASHTAGS = ("#tech", "#news", "#sustainability", "#future", "#trending", "#climate")
_OPENERS = (
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "",
    "Update: ",
    "PSA: ",
    "Hot take: ",
    "Real talk: ",
)

# Kits adapt the slots to the topic: vehicle-related queries get vehicle words.
_KIT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "vehicles": {
        "aspect": (
            "range",
            "charging network",
            "battery",
            "price",
            "software update",
            "regen braking",
            "heat pump",
            "infotainment",
            "home charger",
            "fast charging",
            "acceleration",
            "build quality",
            "service center",
            "app",
            "resale value",
            "winter range",
            "seat comfort",
            "driver assist",
        ),
        "thing": (
            "my EV",
            "the new model",
            "my car",
            "our family EV",
            "the hatchback",
            "my electric SUV",
            "the pickup",
            "the compact EV",
        ),
        "trip": (
            "road trip",
            "mountain drive",
            "600 km trip",
            "school run",
            "night drive",
            "coastal drive",
        ),
        "brand": ("Voltra", "Ampere Motors", "Kestrel", "Norda EV", "Lumen Auto", "Halden"),
        "bad_event": (
            "the battery recall",
            "the fire-risk recall",
            "the charging outage",
            "the recall news",
        ),
        "bad_headline": (
            "{brand} recalls {num_k} vehicles over battery fire risk",
            "{brand} halts deliveries after battery fire reports",
            "Nationwide charging outage leaves drivers stranded",
            "Regulator opens probe into {brand} battery fires",
        ),
        "good_event": (
            "the new tax credit",
            "record deliveries",
            "the fast-charger rollout",
            "the price cut",
        ),
        "good_headline": (
            "{brand} posts record deliveries",
            "New tax credit makes EVs cheaper for millions",
            "{num_k} new fast chargers approved for highways",
        ),
        "emoji": ("🚗", "⚡", "🔋"),
    },
    "generic": {
        "aspect": (
            "price",
            "quality",
            "customer support",
            "app",
            "latest update",
            "delivery",
            "design",
            "community",
            "battery life",
            "documentation",
            "performance",
            "pricing page",
            "onboarding",
            "reliability",
            "setup",
        ),
        "thing": (
            "the new one",
            "the latest version",
            "my new one",
            "the starter kit",
            "the pro model",
        ),
        "trip": ("busy week", "long weekend", "work trip", "launch day"),
        "brand": ("Northwind", "Globex", "Acme", "Initrode", "Vandelay", "Halden"),
        "bad_event": ("the recall", "the outage", "the price hike", "the data breach"),
        "bad_headline": (
            "{brand} recalls {num_k} units after safety complaints",
            "{brand} confirms outage affecting {num_k} customers",
            "{brand} announces steep price hike",
        ),
        "good_event": ("the price cut", "the record quarter", "the big award"),
        "good_headline": ("{brand} posts a record quarter", "{brand} cuts prices by 20%"),
        "emoji": ("🚀", "💡", "📱"),
    },
}
_VEHICLE_WORDS = frozenset(
    {
        "electric",
        "ev",
        "evs",
        "vehicle",
        "vehicles",
        "car",
        "cars",
        "charging",
        "charger",
        "battery",
        "tesla",
        "hybrid",
        "automotive",
    }
)

# Posts in other scripts, with their lang code; VADER reads none of them. CJK texts use
# full-width punctuation, as their writers do.
_FOREIGN = (
    ("ar", "الجميع يتحدث عن هذا الموضوع اليوم"),
    ("ar", "هل يستحق السعر؟ ما رأيكم"),
    ("he", "כולם מדברים על זה היום"),
    ("he", "מחכה לראות מה יקרה בשבוע הבא"),
    ("ja", "この話題、最近よく見かける"),
    ("ja", "正直ちょっと高すぎると思う"),
    ("ja", "めっちゃいい！また乗りたい"),  # noqa: RUF001
    ("zh", "大家今天都在讨论这个话题"),
    ("zh", "价格还是太贵了"),
    ("zh", "体验非常好，推荐"),  # noqa: RUF001
    ("ko", "요즘 이 얘기 정말 많이 보이네요"),
    ("ko", "가격이 조금만 더 싸면 좋겠어요"),
)

_FIRST_NAMES = (
    "Sarah",
    "James",
    "Priya",
    "Mateo",
    "Zoë",
    "José",
    "Aiko",
    "Chen",
    "Fatima",
    "Liam",
    "Noah",
    "Olivia",
    "Amara",
    "Renée",
    "Björn",
    "Søren",
    "Ana",
    "Luca",
    "Hana",
    "Omar",
    "Emily",
    "David",
    "Ngozi",
    "Élodie",
    "Mehmet",
    "Yuki",
    "Diego",
    "Ingrid",
    "Kwame",
    "Léa",
    "Marcus",
    "Aisha",
    "Tomás",
    "Freya",
    "Ravi",
    "Mia",
    "Jonas",
    "Carmen",
    "Ethan",
    "Nadia",
    "Kenji",
    "Chloé",
    "Samuel",
    "Leila",
    "Mohammed",
    "Grace",
    "Pablo",
    "Anja",
    "Jamal",
    "Sofia",
)
_LAST_NAMES = (
    "Kim",
    "Smith",
    "Patel",
    "García",
    "Müller",
    "Nguyen",
    "Okafor",
    "Rossi",
    "Tanaka",
    "Johansson",
    "Dubois",
    "O'Brien",
    "Kowalski",
    "Silva",
    "Haddad",
    "Cohen",
    "Schmidt",
    "Novak",
    "Jensen",
    "Ibrahim",
    "Park",
    "Lopez",
    "Brown",
    "Khan",
    "Fischer",
    "Moreau",
    "Andersen",
    "Costa",
    "Yilmaz",
    "Wright",
)
_HANDLE_WORDS = (
    "green",
    "volt",
    "miles",
    "daily",
    "watts",
    "road",
    "driver",
    "news",
    "tech",
    "grid",
    "spark",
    "urban",
    "future",
    "plug",
    "coffee",
    "pixel",
    "north",
    "wave",
)
_ORG_NAMES = (
    "Daily News",
    "Tech Watch",
    "Mobility Report",
    "Green Future",
    "Market Wire",
    "Road Journal",
    "Energy Desk",
    "Clean Transit Now",
)
_NAME_EMOJI = ("⚡", "🌱", "🚗", "🌍", "☕", "📈")
_LOCATIONS = (
    "Berlin, Germany",
    "Austin, TX",
    "São Paulo, Brasil",
    "Montréal, QC",
    "London",
    "Oslo, Norway",
    "Lagos, Nigeria",
    "Bengaluru, India",
    "東京都",
    "Mexico City",
    "Zürich",
    "Seattle, WA",
    "Earth 🌍",
    "Somewhere on I-95",
    "Sydney, NSW",
    "Toronto, Ontario",
    "Paris, France",
    "Tel Aviv",
    "Dubai, UAE",
    "서울",
    "Denver, CO",
    "Amsterdam",
    "Kraków, Polska",
    "Cape Town",
    "she/her · NYC",
)


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
    kinds: tuple[float, float, float]  # cumulative reply, retweet, quote thresholds
    foreign: bool  # whether posts in other languages may appear (not with lang:en)


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


def _build_kit(query: str, usernames: tuple[str, ...]) -> _Kit:
    words, excluded, lang = _query_terms(query)
    topic = " ".join(w.lower() for w in words) or "this"
    tag = "#" + ("".join(w[:1].upper() + w[1:] for w in words) or "Trending")
    kit_name = "vehicles" if _VEHICLE_WORDS & {w.lower() for w in words} else "generic"
    table = _KIT_WORDS[kit_name]

    brand = _pick(table["brand"])

    def headline(options: Sequence[str]) -> Filler:
        compiled = tuple(_compile(h, {"brand": brand, "num_k": _thousands}, {}) for h in options)
        size = len(compiled)
        return lambda rng: _render(compiled[int(rng.random() * size)], rng)

    fillers: dict[str, Filler] = {
        "aspect": _pick(table["aspect"]),
        # Two aspects in one post come from disjoint halves, so they always differ.
        "aspect_a": _pick(table["aspect"][0::2]),
        "aspect_b": _pick(table["aspect"][1::2]),
        "thing": _pick(table["thing"]),
        "Thing": _pick([_capitalize(t) for t in table["thing"]]),
        "trip": _pick(table["trip"]),
        "brand": brand,
        "bad_event": _pick(table["bad_event"]),
        "bad_event_cap": _pick([_capitalize(t) for t in table["bad_event"]]),
        "good_event": _pick(table["good_event"]),
        "good_event_cap": _pick([_capitalize(t) for t in table["good_event"]]),
        "bad_headline": headline(table["bad_headline"]),
        "good_headline": headline(table["good_headline"]),
        "pos_adj": _pick(_POS_ADJ),
        "Pos_adj": _pick([_capitalize(a) for a in _POS_ADJ]),
        "neg_adj": _pick(_NEG_ADJ),
        "Neg_adj": _pick([_capitalize(a) for a in _NEG_ADJ]),
        "pe": _pick(_POS_EMOJI + table["emoji"] + ("", "", "")),
        "ne": _pick((*_NEG_EMOJI, "", "", "")),
        "qe": _pick((*_QUESTION_EMOJI, "")),
        "person": _pick(_PERSONS),
        "daily": _pick(_DAILY),
        "place": _pick(_PLACES),
        "month": _pick(_MONTHS),
        "weekday": _pick(_WEEKDAYS),
        "mention": _pick(["@" + u for u in usernames]),
        "url": _t_co,
        "clock": _clock,
        "num": _number(12, 400),
        "small": _number(2, 9),
        "pct": _number(3, 78, "{}%"),
        "num_k": _thousands,
    }
    fixed = {"topic": topic, "Topic": _capitalize(topic), "tag": tag}

    def compile_all(templates: Sequence[str]) -> tuple[Compiled, ...]:
        return tuple(_compile(t, fillers, fixed) for t in templates)

    shares = [
        0.0 if "reply" in excluded else _REPLY_SHARE,
        0.0 if "retweet" in excluded else _RETWEET_SHARE,
        0.0 if "quote" in excluded else _QUOTE_SHARE,
    ]
    return _Kit(
        by_class=tuple(compile_all(t) for t in (_POSITIVE, _NEGATIVE, _NEUTRAL, _MIXED)),
        replies=tuple(compile_all(_REPLY_LINES[c]) for c in (_POS, _NEG, _NEU, _MIX)),
        event_negative=compile_all(_EVENT_NEGATIVE),
        event_neutral=compile_all(_EVENT_NEUTRAL),
        event_positive=compile_all(_EVENT_POSITIVE),
        tag=tag,
        kinds=(shares[0], shares[0] + shares[1], shares[0] + shares[1] + shares[2]),
        foreign=lang != "en",
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
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        style = rng.random()
        if style < 0.06:
            name = rng.choice(_ORG_NAMES)
            handle = _ascii_handle(name.title())
        elif style < 0.16:
            name = f"{first} {rng.choice(_NAME_EMOJI)}"
            handle = f"{rng.choice(_HANDLE_WORDS)}_{_ascii_handle(first).lower()}"
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
                    f"{rng.choice(_HANDLE_WORDS)}{rng.choice(_HANDLE_WORDS)}{rng.randint(1, 999)}",
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
            user["location"] = rng.choice(_LOCATIONS)
        users.append(user)
    return users


# --------------------------------------------------------------------------------------------
# Time: the daily volume curve and the story
# --------------------------------------------------------------------------------------------


def _story_phase(ms: int) -> tuple[int, float]:
    """Day of the four-day story (0..3) and hour of that day for a time in ms."""
    since = ms - _STORY_ANCHOR_MS
    return (since // _DAY_MS) % _STORY_DAYS, (since % _DAY_MS) / 3_600_000


def _bad_news(ms: int) -> float:
    """Intensity 0..1 of the bad-news event: it breaks at 13:00 on day 2 (the third day), fades
    over the evening, and leaves a slight gloom over day 3 until it ends."""
    day, hour = _story_phase(ms)
    since = (day - 2) * 24 + hour - 13
    if not 0 <= since < 35:
        return 0.0
    fading = math.exp(-since / 6)
    return fading + 0.1 * (1 - fading) * (1 - since / 35)


def _good_news(ms: int) -> float:
    """Intensity 0..1 of the good-news event: an evening of celebration on day 1 (the second
    day)."""
    day, hour = _story_phase(ms)
    if day == 1:
        return math.exp(-(((hour - 19) / 3) ** 2))
    return 0.0


def _daily_curve(ms: int) -> float:
    """Relative volume 0.6..1.4: quietest at 07:00 UTC, busiest at 19:00 UTC."""
    hour = (ms % _DAY_MS) / 3_600_000
    return 1.0 + 0.4 * math.sin(2 * math.pi * (hour - 13) / 24)


def _activity(ms: int) -> float:
    """Relative volume at a time: the daily curve, raised while news breaks."""
    return _daily_curve(ms) * (1.0 + 0.5 * _bad_news(ms) + 0.3 * _good_news(ms))


def _mean_activity(start_ms: int, end_ms: int) -> float:
    """Mean of ``_activity`` over a window, sampled every 15 minutes."""
    steps = max(1, (end_ms - start_ms) // _SLOT_MS)
    width = (end_ms - start_ms) / steps
    return sum(_activity(int(start_ms + (i + 0.5) * width)) for i in range(steps)) / steps


@dataclass(frozen=True)
class _Mix:
    """Cumulative class thresholds and event intensities for one 15-minute step."""

    cumulative: tuple[float, float, float]  # positive, +negative, +neutral; the rest mixed
    bad: float
    good: float


def _mix_at(ms: int) -> _Mix:
    bad = _bad_news(ms)
    good = _good_news(ms)
    pos, neg, neu, mix = 0.33, 0.21, 0.34, 0.12
    pos += 0.22 * good
    neg += 0.40 * bad
    pos -= 0.22 * bad
    neu -= 0.10 * bad + 0.08 * good
    total = pos + neg + neu + mix
    return _Mix((pos / total, (pos + neg) / total, (pos + neg + neu) / total), bad, good)


_TWO_DIGITS = tuple(f"{i:02d}" for i in range(100))
_THREE_DIGITS = tuple(f"{i:03d}" for i in range(1000))


def _format_ms(ms: int, days: dict[int, str]) -> str:
    """``format_utc`` of a time in ms, without building a datetime per post."""
    day, rest = divmod(ms, _DAY_MS)
    prefix = days.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * 86400, tz=UTC).strftime("%Y-%m-%dT")
        days[day] = prefix
    seconds, millis = divmod(rest, 1000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    two = _TWO_DIGITS
    return f"{prefix}{two[hours]}:{two[minute]}:{two[sec]}.{_THREE_DIGITS[millis]}Z"


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


class SyntheticSource(Source):
    """Realistic, reproducible X API v2 search pages for any query and window.

    Each window's posts exist independently of the cap: a capped fetch returns the newest posts
    of the uncapped one, as the API does with recency order.
    """

    name = "synthetic"

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
        self._kits_lock = threading.Lock()

    # ---- randomness ------------------------------------------------------------------------

    def _digest(self, *parts: object) -> bytes:
        key = "\x1f".join(str(p) for p in (self.settings.seed, *parts))
        return hashlib.sha256(key.encode("utf-8")).digest()

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(int.from_bytes(self._digest(*parts)[:16], "big"))

    def _kit(self, query: str) -> _Kit:
        with self._kits_lock:
            kit = self._kits.get(query)
        if kit is None:
            kit = _build_kit(query, self._usernames)
            with self._kits_lock:
                if len(self._kits) >= 64:
                    self._kits.clear()
                self._kits.setdefault(query, kit)
        return kit

    # ---- planning --------------------------------------------------------------------------

    def _plan(self, query: str, start_ms: int, end_ms: int, max_posts: int | None) -> _Plan:
        span = end_ms - start_ms
        rng = self._rng(query, start_ms, end_ms, "plan")
        expected = (
            self.settings.posts_per_window
            * (span / _SLOT_MS)
            * _mean_activity(start_ms, end_ms)
            * rng.uniform(0.92, 1.08)
        )
        # Random rounding keeps tiny rates right on average (0.3 posts: 0 or 1, mostly 0).
        volume = int(expected + rng.random())
        returned = volume if max_posts is None else max(0, min(volume, max_posts))
        rate = self.settings.duplicate_rate
        draw = rng.random
        raw = sum(1 for _ in range(returned) if draw() < rate)
        return _Plan(start_ms, end_ms, volume, returned, raw, rng)

    # ---- posts -----------------------------------------------------------------------------

    def _posts(
        self, query: str, kit: _Kit, plan: _Plan, count: int
    ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """The window's newest ``count`` posts, newest first, with their authors (None when
        suspended).

        Posts come in order from one stream, and the times are drawn as descending order
        statistics of the window's ``volume`` uniform times, so the first n posts are the same
        however many are asked for and the older ones are never written.
        """
        rng = self._rng(query, plan.start_ms, plan.end_ms, "posts")
        mixes: dict[int, _Mix] = {}
        k_reply, k_retweet, k_quote = kit.kinds
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
        out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
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
            mix = mixes.get(ms // _SLOT_MS)
            if mix is None:
                mix = mixes[ms // _SLOT_MS] = _mix_at(ms // _SLOT_MS * _SLOT_MS + _SLOT_MS // 2)
            if random_() < _SUSPENDED_SHARE:
                user = None
                author_id = suspended[int(random_() * n_suspended)]
            else:
                # A few accounts post far more than most, as on the real network.
                user = users[int(n_users * random_() ** 1.6)]
                author_id = user["id"]

            if kit.foreign and random_() < _FOREIGN_SHARE:
                lang, body = _FOREIGN[int(random_() * len(_FOREIGN))]
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
                p_pos, p_neg, p_neu = mix.cumulative
                cls = _POS if u < p_pos else _NEG if u < p_neg else _NEU if u < p_neu else _MIX
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
                text = _text(kit, mix, cls, kind, rng)

            post: dict[str, Any] = {
                "id": sid,
                "text": text,
                "created_at": _format_ms(ms, days),
                "author_id": author_id,
                "conversation_id": sid,
                "lang": lang,
                "edit_history_tweet_ids": [sid],
            }
            verified = user is not None and user["verified"]
            if kind == _ORIGINAL:
                post["public_metrics"] = _metrics(rng, verified)
            elif kind == _REPLY:
                parent_ms = ms - int(60_000 + random_() * 6 * 3_600_000)
                parent = str(_snowflake(parent_ms, rng))
                if random_() < 0.4:
                    # Deeper in a thread: the conversation started earlier than the parent.
                    post["conversation_id"] = str(
                        _snowflake(parent_ms - int(random_() * _DAY_MS), rng)
                    )
                else:
                    post["conversation_id"] = parent
                post["text"] = f"@{usernames[int(random_() * n_users)]} {text}"
                post["public_metrics"] = _metrics(rng, verified, scale=0.2)
                post["referenced_tweets"] = [{"type": "replied_to", "id": parent}]
            elif kind == _RETWEET:
                original = _snowflake(ms - int(60_000 + random_() * 2 * _DAY_MS), rng)
                rt = f"RT @{usernames[int(random_() * n_users)]}: {text}"
                # The API truncates long retweet texts and marks the cut with an ellipsis.
                post["text"] = rt if len(rt) <= 140 else rt[:139] + "…"
                # A retweet carries the original's retweet count and nothing else.
                post["public_metrics"] = {
                    "retweet_count": int(1 + 60 * random_() ** 3),
                    "reply_count": 0,
                    "like_count": 0,
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": 0,
                }
                post["referenced_tweets"] = [{"type": "retweeted", "id": str(original)}]
            else:
                quoted = _snowflake(ms - int(60_000 + random_() * _DAY_MS), rng)
                post["text"] = f"{text} {_t_co(rng)}"
                post["public_metrics"] = _metrics(rng, verified)
                post["referenced_tweets"] = [{"type": "quoted", "id": str(quoted)}]
            out.append((post, user))
        return out

    # ---- the interface ---------------------------------------------------------------------

    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Page]:
        start_ms = round(window.start.timestamp() * 1000)
        end_ms = round(window.end.timestamp() * 1000)
        if start_ms < SNOWFLAKE_EPOCH_MS:
            raise ValueError("synthetic posts cannot predate X ids (2010-11-04T01:42:54.657Z)")
        if end_ms <= start_ms:
            raise ValueError(f"window {window.id} is empty")
        kit = self._kit(query)
        plan = self._plan(query, start_ms, end_ms, max_posts)

        duplicates: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
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

    def _pages(
        self,
        query: str,
        start_ms: int,
        end_ms: int,
        posts: list[tuple[dict[str, Any], dict[str, Any] | None]],
    ) -> list[Page]:
        if not posts:
            return [{"meta": {"result_count": 0}}]
        size = self.settings.page_size
        pages: list[Page] = []
        for offset in range(0, len(posts), size):
            chunk = posts[offset : offset + size]
            data = [post for post, _ in chunk]
            authors: dict[str, dict[str, Any]] = {}
            for post, user in chunk:
                if user is not None and post["author_id"] not in authors:
                    # Copies, so a caller editing a page cannot change later pages.
                    authors[post["author_id"]] = dict(user)
            meta: dict[str, Any] = {
                "newest_id": data[0]["id"],
                "oldest_id": data[-1]["id"],
                "result_count": len(data),
            }
            if offset + size < len(posts):
                meta["next_token"] = self._token(query, start_ms, end_ms, data[-1]["id"])
            pages.append(
                {"data": data, "includes": {"users": list(authors.values())}, "meta": meta}
            )
        return pages

    def _token(self, query: str, start_ms: int, end_ms: int, oldest_id: str) -> str:
        """An opaque pagination token in the API's style: 45 lowercase letters and digits."""
        number = int.from_bytes(self._digest(query, start_ms, end_ms, oldest_id, "token"), "big")
        chars = []
        for _ in range(45):
            number, digit = divmod(number, 36)
            chars.append(_TOKEN_CHARS[digit])
        return "".join(chars)


def _text(kit: _Kit, mix: _Mix, cls: int, kind: int, rng: random.Random) -> str:
    random_ = rng.random
    if kind == _REPLY and random_() < 0.5:
        options = kit.replies[cls]
        return _render(options[int(random_() * len(options))], rng)
    if cls == _NEG and random_() < mix.bad * 0.8:
        options = kit.event_negative
    elif cls == _NEU and random_() < mix.bad * 0.5:
        options = kit.event_neutral
    elif cls == _POS and random_() < mix.good * 0.6:
        options = kit.event_positive
    else:
        options = kit.by_class[cls]
    text = _render(options[int(random_() * len(options))], rng).rstrip()
    # Openers suit opinions; on news and questions they read wrong.
    if cls != _NEU and options is kit.by_class[cls]:
        text = _OPENERS[int(random_() * len(_OPENERS))] + text
    u = random_()
    if u < 0.30:
        text = f"{text} {kit.tag}"
    elif u < 0.38:
        text = f"{text} {kit.tag} {_HASHTAGS[int(random_() * len(_HASHTAGS))]}"
    elif u < 0.42:
        text = f"{kit.tag} {text}"
    # Casual posters skip capitals; links stay intact because t.co paths are case-sensitive.
    if random_() < 0.05 and "https://" not in text:
        text = text.lower()
    if random_() < 0.12 and "https://" not in text:
        text = f"{text} {_t_co(rng)}"
    return text


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
