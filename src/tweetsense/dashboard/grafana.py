"""A Grafana dashboard with the built-in dashboard's panels, as SQL on the warehouse tables,
and the provisioning file of the data source it reads.

The panels show one analyzer, picked in the ``analyzer`` variable (the primary one first): they
read ``sentiment_by_analyzer`` and ``tweet_score``, which hold every analyzer's results, the
primary one's included. Two more panels compare it with the analyzer of the ``versus`` variable,
from ``analyzer_agreement``.
The insight panels below them (true volume, net sentiment, drivers, the posts that matter, and
spikes as annotations) read ``sentiment``, ``tweet``, ``driver`` and ``sentiment_spike``, which
hold the primary analyzer's labels only.

Redshift speaks PostgreSQL's protocol, so both targets use Grafana's PostgreSQL data source and
the same SQL; only the connection settings differ. Passwords are references to environment
variables that Grafana expands when it provisions the data source, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import yaml

from tweetsense import contracts
from tweetsense.timeutil import format_utc
from tweetsense.warehouse.reads import SqlReads, agreement_sql
from tweetsense.warehouse.schema import ANALYSIS_TABLES, INSIGHT_TABLES

if TYPE_CHECKING:
    from tweetsense.warehouse.base import Warehouse

DATASOURCE_TYPE = "grafana-postgresql-datasource"
DATASOURCE_UID = "tweetsense"
DASHBOARD_UID = "tweetsense-sentiment"
# The label columns (``avg_<label>``, ``perc_tweet_<label>``) are the labels in lower case;
# unpacking fails at import if the label set changes, instead of leaving panels out.
_POSITIVE, _NEGATIVE, _NEUTRAL, _MIXED = (label.lower() for label in contracts.LABELS)
# In the panels' order, from positive to negative, then mixed.
LABELS = (_POSITIVE, _NEUTRAL, _NEGATIVE, _MIXED)
COLORS = {_POSITIVE: "green", _NEUTRAL: "blue", _NEGATIVE: "red", _MIXED: "orange"}

# The topic and analyzer variables, quoted and escaped by Grafana, and the time range.
TOPIC = "query = ${query:sqlstring}"
ANALYZER = "${analyzer:sqlstring}"
VERSUS = "${versus:sqlstring}"
RANGE = "$__timeFilter(time_window)"
WHERE = f"WHERE {TOPIC} AND analyzer = {ANALYZER} AND {RANGE}"
WINDOWS = "sentiment_by_analyzer"
# Whether a repost counts as an opinion of its own ("each") or once per original ("once").
REPOSTS = "${reposts:sqlstring}"
ONCE = f"{REPOSTS} = 'once'"
# A driver needs this many posts of the label in the range to be listed: fewer is noise.
DRIVER_MIN_POSTS = 3
DRIVERS_SHOWN = 25
POSTS_SHOWN = 50
POST_URL = "https://x.com/i/web/status/"


@dataclass(frozen=True)
class Target:
    """Where the provisioned data source connects; every value an environment reference."""

    name: str
    url: str
    user: str
    database: str
    password_env: str
    sslmode: str


TARGETS = {
    "postgres": Target(
        "tweetsense PostgreSQL",
        "${PGHOST}:${PGPORT}",
        "${PGUSER}",
        "${PGDATABASE}",
        "PGPASSWORD",
        "prefer",
    ),
    "redshift": Target(
        "tweetsense Redshift",
        "${REDSHIFT_HOST}:5439",
        "${REDSHIFT_USER}",
        "${REDSHIFT_DATABASE}",
        "REDSHIFT_PASSWORD",
        "require",
    ),
}

DATASOURCE = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}


def share_sql(label: str) -> str:
    return (
        f"SELECT COALESCE(SUM(perc_tweet_{label} * count_tweets) / NULLIF(SUM(count_tweets), 0), 0)"
        f' AS "{label}" FROM {WINDOWS} {WHERE}'
    )


TOTAL_SQL = f'SELECT COALESCE(SUM(count_tweets), 0) AS "posts" FROM {WINDOWS} {WHERE}'
COUNT_SQL = (
    f'SELECT time_window AS "time", count_tweets AS "posts" FROM {WINDOWS} {WHERE} ORDER BY 1'
)
AVERAGES_SQL = (
    "SELECT "
    + ", ".join(
        f'SUM(avg_{label} * count_tweets) / NULLIF(SUM(count_tweets), 0) AS "{label}"'
        for label in LABELS
    )
    + f" FROM {WINDOWS} {WHERE}"
)
TIMELINE_SQL = (
    'SELECT time_window AS "time", '
    + ", ".join(f'avg_{label} AS "{label}"' for label in LABELS)
    + f" FROM {WINDOWS} {WHERE} ORDER BY 1"
)
# The post from ``tweet``, its label, scores and window from the analyzer's ``tweet_score``.
_SCORED_POSTS = (
    "(SELECT s.query, s.analyzer, s.time_window, t.created_at, t.username, s.label, "
    "s.positive, s.neutral, s.negative, s.mixed, t.text, t.tweet_id FROM tweet t "
    "JOIN tweet_score s "
    "ON s.query = t.query AND s.tweet_id = t.tweet_id) AS p"
)
TWEETS_SQL = (
    'SELECT created_at AS "time", username, label, positive, neutral, negative, mixed, text '
    f"FROM {_SCORED_POSTS} {WHERE} ORDER BY created_at DESC, tweet_id DESC LIMIT 100"
)
_PAIR = ("${query:sqlstring}", ANALYZER, VERSUS)
AGREEMENT_SQL = agreement_sql(*_PAIR, RANGE, by_window=False)
AGREEMENT_WINDOWS_SQL = agreement_sql(*_PAIR, RANGE, by_window=True)
QUERIES_SQL = "SELECT DISTINCT query FROM sentiment ORDER BY 1"

# The insight panels: the primary analyzer's windows, posts, drivers and spikes. The SQL runs on
# PostgreSQL and Redshift alike, hence CASE inside aggregates rather than FILTER.
PRIMARY_WHERE = f"WHERE {TOPIC} AND {RANGE}"
VOLUME_SQL = (
    'SELECT time_window AS "time", volume AS "volume", '
    f'CASE WHEN {ONCE} THEN count_opinions ELSE count_tweets END AS "sampled" '
    f"FROM sentiment {PRIMARY_WHERE} ORDER BY 1"
)
NET_SQL = (
    'SELECT time_window AS "time", '
    f"CASE WHEN {ONCE} THEN perc_opinion_positive - perc_opinion_negative "
    'ELSE perc_tweet_positive - perc_tweet_negative END AS "net", '
    'weighted_net AS "engagement-weighted net" '
    f"FROM sentiment {PRIMARY_WHERE} ORDER BY 1"
)


COUNT = '"count"'  # quoted: also the name of a function


def drivers_sql(label: str) -> str:
    """The range's terms most over-represented among its ``label`` posts: lift = (posts of the
    label with the term / posts of the label) / (posts with the term / posts), summed over the
    windows of ``driver`` and ``sentiment``; terms of fewer than ``DRIVER_MIN_POSTS`` posts of
    the label are left out."""
    share = f"perc_tweet_{label.lower()}"
    return (
        "WITH posts AS ("
        f"SELECT SUM(count_tweets) AS n, ROUND(SUM({share} * count_tweets)) AS n_label "
        f"FROM sentiment {PRIMARY_WHERE}), "
        "terms AS ("
        f"SELECT kind, term, SUM(CASE WHEN label = '{label}' THEN {COUNT} ELSE 0 END) AS hits, "
        f"SUM({COUNT}) AS total FROM driver {PRIMARY_WHERE} GROUP BY kind, term) "
        'SELECT t.kind AS "kind", t.term AS "term", t.hits AS "posts", t.total AS "all posts", '
        'CAST(t.hits AS DOUBLE PRECISION) * p.n / NULLIF(p.n_label * t.total, 0) AS "lift" '
        f"FROM terms t CROSS JOIN posts p WHERE t.hits >= {DRIVER_MIN_POSTS} "
        f"ORDER BY 5 DESC, 3 DESC, 1, 2 LIMIT {DRIVERS_SHOWN}"
    )


# Reposts are left out: X gives a repost the original's repost count, so a viral post's reposts
# would crowd the list with copies of it.
TOP_POSTS_SQL = (
    'SELECT created_at AS "time", username, post_type, label, engagement, like_count, '
    f"repost_count, reply_count, quote_count, text, '{POST_URL}' || tweet_id AS \"link\" "
    f"FROM tweet {PRIMARY_WHERE} AND (post_type IS NULL OR post_type <> 'repost') "
    f"ORDER BY engagement DESC, created_at DESC, tweet_id DESC LIMIT {POSTS_SHOWN}"
)


def _number(column: str) -> str:
    return f"CAST(ROUND(CAST({column} AS NUMERIC), 2) AS VARCHAR)"


SPIKES_SQL = (
    'SELECT time_window AS "time", '
    f"metric || ' ' || direction || ': ' || {_number('value')} || ' against a baseline of ' "
    f"|| {_number('baseline')} || ' (robust z-score ' || {_number('score')} || ')' AS text, "
    "metric || ',' || direction AS tags "
    f"FROM sentiment_spike {PRIMARY_WHERE} ORDER BY 1"
)


def analyzers_sql(primary_first: bool) -> str:
    """The topic's analyzers by name, the primary one (that of its newest posts) first, or
    last for ``versus``, so that the comparison opens on the primary one against another."""
    primary = (
        "(SELECT analyzer FROM tweet WHERE query = ${query:sqlstring} AND analyzer IS NOT NULL "
        "ORDER BY time_window DESC LIMIT 1)"
    )
    return (
        "SELECT analyzer FROM sentiment_by_analyzer WHERE query = ${query:sqlstring} "
        f"GROUP BY analyzer ORDER BY analyzer = {primary}{' DESC' if primary_first else ''}, "
        "analyzer"
    )


def _target(sql: str, fmt: str) -> dict[str, Any]:
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorMode": "code",
        "rawQuery": True,
        "format": fmt,
        "rawSql": sql,
    }


def _panel(
    pid: int,
    kind: str,
    title: str,
    grid: tuple[int, int, int, int],
    sql: str,
    fmt: str = "table",
    **extra: Any,
) -> dict[str, Any]:
    x, y, w, h = grid
    panel = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [_target(sql, fmt)],
    }
    panel.update(extra)
    return panel


def _color_overrides() -> list[dict[str, Any]]:
    return [
        {
            "matcher": {"id": "byName", "options": label},
            "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
        }
        for label, color in COLORS.items()
    ]


def _reduce() -> dict[str, Any]:
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def panels() -> list[dict[str, Any]]:
    out = []
    for i, label in enumerate(LABELS):
        out.append(
            _panel(
                i + 1,
                "gauge",
                f"{label.capitalize()} posts",
                (i * 6, 0, 6, 6),
                share_sql(label),
                fieldConfig={
                    "defaults": {
                        "unit": "percentunit",
                        "decimals": 1,
                        "min": 0,
                        "max": 1,
                        "color": {"mode": "fixed", "fixedColor": COLORS[label]},
                    },
                    "overrides": [],
                },
                options={"reduceOptions": _reduce(), "showThresholdMarkers": False},
            )
        )
    out.append(
        _panel(
            5,
            "stat",
            "Total posts",
            (0, 6, 6, 8),
            TOTAL_SQL,
            fieldConfig={"defaults": {"unit": "short", "decimals": 0}, "overrides": []},
            options={"reduceOptions": _reduce(), "colorMode": "none", "graphMode": "none"},
        )
    )
    out.append(
        _panel(
            6,
            "timeseries",
            "Posts per window",
            (6, 6, 18, 8),
            COUNT_SQL,
            "time_series",
            fieldConfig={
                "defaults": {"unit": "short", "custom": {"fillOpacity": 15}},
                "overrides": [],
            },
            options={"tooltip": {"mode": "single"}, "legend": {"showLegend": False}},
        )
    )
    out.append(
        _panel(
            7,
            "piechart",
            "Average sentiment scores",
            (0, 14, 6, 9),
            AVERAGES_SQL,
            fieldConfig={"defaults": {"decimals": 3}, "overrides": _color_overrides()},
            options={
                "pieType": "donut",
                "reduceOptions": _reduce(),
                "legend": {"displayMode": "table", "placement": "bottom", "values": ["value"]},
                "tooltip": {"mode": "single"},
            },
        )
    )
    out.append(
        _panel(
            8,
            "timeseries",
            "Sentiment timeline",
            (6, 14, 18, 9),
            TIMELINE_SQL,
            "time_series",
            fieldConfig={
                "defaults": {"decimals": 3, "min": 0, "max": 1},
                "overrides": _color_overrides(),
            },
            options={"tooltip": {"mode": "multi"}, "legend": {"showLegend": True}},
        )
    )
    out.append(
        _panel(
            9,
            "table",
            "Latest posts",
            (0, 23, 24, 10),
            TWEETS_SQL,
            options={"showHeader": True, "cellHeight": "sm"},
        )
    )
    out.append(
        _panel(
            10,
            "stat",
            "Agreement with $versus",
            (0, 33, 6, 8),
            AGREEMENT_SQL,
            fieldConfig={
                "defaults": {"decimals": 3},
                "overrides": [
                    _unit("agreement", "percentunit", 1),
                    _unit("n", "short", 0),
                ],
            },
            options={"reduceOptions": _reduce(), "colorMode": "none", "graphMode": "none"},
        )
    )
    out.append(
        _panel(
            11,
            "timeseries",
            "Agreement per window with $versus",
            (6, 33, 18, 8),
            AGREEMENT_WINDOWS_SQL,
            "time_series",
            fieldConfig={
                "defaults": {"decimals": 3, "max": 1},
                "overrides": [
                    # The posts per window are in the stat; here they would need an axis.
                    {
                        "matcher": {"id": "byName", "options": "n"},
                        "properties": [{"id": "custom.hideFrom", "value": _hidden()}],
                    }
                ],
            },
            options={"tooltip": {"mode": "multi"}, "legend": {"showLegend": True}},
        )
    )
    return out + insight_panels()


# Below the panels above, which end at row 41.
VOLUME_PANEL, NET_PANEL = 12, 13


def insight_panels() -> list[dict[str, Any]]:
    """Why sentiment moved: volume, net sentiment, drivers and the posts that matter, all of
    the primary analyzer (``sentiment``, ``tweet`` and ``driver`` hold its labels only)."""
    series = {"tooltip": {"mode": "multi"}, "legend": {"showLegend": True}}
    out = [
        _panel(
            VOLUME_PANEL,
            "timeseries",
            "True volume and sampled posts per window",
            (0, 41, 12, 8),
            VOLUME_SQL,
            "time_series",
            description=(
                "volume: the posts matching the query per window by the X API's counts "
                "endpoint, which may not exactly match search results (search filters more); "
                "empty where not counted. sampled: the posts read and scored (with Reposts = "
                "once, a repost and its original count once)."
            ),
            fieldConfig={
                "defaults": {"unit": "short", "custom": {"fillOpacity": 10, "axisLabel": "posts"}},
                "overrides": [],
            },
            options=series,
        ),
        _panel(
            NET_PANEL,
            "timeseries",
            "Net sentiment per window",
            (12, 41, 12, 8),
            NET_SQL,
            "time_series",
            description=(
                "net: share of positive minus share of negative posts (with Reposts = once, "
                "of opinions: a repost and its original count once). engagement-weighted net: "
                "each post weighs 1 + its likes, reposts, replies and quotes. The primary "
                "analyzer's labels; spikes are marked."
            ),
            fieldConfig={
                "defaults": {
                    "decimals": 3,
                    "min": -1,
                    "max": 1,
                    "custom": {"axisLabel": "net sentiment"},
                },
                "overrides": [],
            },
            options=series,
        ),
    ]
    for i, label in enumerate((_NEGATIVE, _POSITIVE)):
        out.append(
            _panel(
                14 + i,
                "table",
                f"Drivers of {label} posts",
                (i * 12, 49, 12, 10),
                drivers_sql(label.upper()),
                description=(
                    f"Entities, words, hashtags, mentions and linked domains most "
                    f"over-represented among the range's {label} posts. lift: their share "
                    f"of {label} posts over their share of all posts; posts: "
                    f"{label} posts using them (at least {DRIVER_MIN_POSTS}); all posts: "
                    "posts using them. The primary analyzer's labels."
                ),
                fieldConfig={
                    "defaults": {},
                    "overrides": [_unit("lift", "none", 2)],
                },
                options={"showHeader": True, "cellHeight": "sm"},
            )
        )
    out.append(
        _panel(
            16,
            "table",
            "Posts that matter",
            (0, 59, 24, 10),
            TOP_POSTS_SQL,
            description=(
                "The range's posts with the most engagement (likes + reposts + replies + "
                "quotes), reposts left out; link: the post on X."
            ),
            options={"showHeader": True, "cellHeight": "sm"},
        )
    )
    return out


def _unit(field: str, unit: str, decimals: int) -> dict[str, Any]:
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [{"id": "unit", "value": unit}, {"id": "decimals", "value": decimals}],
    }


def _hidden() -> dict[str, bool]:
    return {"legend": True, "tooltip": False, "viz": True}


def missing_tables(wh: SqlReads) -> list[str]:
    """The tables the panels read that ``wh`` lacks (it was loaded by an older tweetsense)."""
    return [t.name for t in (*ANALYSIS_TABLES, *INSIGHT_TABLES) if not wh.has_table(t)]


def loaded_range(wh: Warehouse, freq_seconds: int) -> tuple[datetime, datetime] | None:
    """From the start of the first loaded window to the end of the last, over every topic;
    None when nothing is loaded."""
    spans = [wh.summary(query) for query in wh.queries()]
    firsts = [s["first_window"] for s in spans if s["first_window"] is not None]
    lasts = [s["last_window"] for s in spans if s["last_window"] is not None]
    if not firsts or not lasts:
        return None
    return min(firsts), max(lasts) + timedelta(seconds=freq_seconds)


def dashboard(time_range: tuple[datetime, datetime] | None = None) -> dict[str, Any]:
    """The dashboard model, for provisioning or for import (Dashboards > New > Import); it opens
    on ``time_range`` (UTC), or on the last 7 days without one."""
    if time_range is None:
        time = {"from": "now-7d", "to": "now"}
    else:
        time = {"from": format_utc(time_range[0]), "to": format_utc(time_range[1])}
    return {
        "uid": DASHBOARD_UID,
        "title": "tweetsense: sentiment of a topic",
        "tags": ["tweetsense"],
        "timezone": "utc",
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": time,
        "refresh": "",
        "templating": {
            "list": [
                _variable("query", "Topic", QUERIES_SQL, sort=1),
                # Sorted by their SQL, which puts the primary analyzer first.
                _variable("analyzer", "Analyzer", analyzers_sql(primary_first=True), sort=0),
                _variable("versus", "Compared with", analyzers_sql(primary_first=False), sort=0),
                _reposts_variable(),
            ]
        },
        "annotations": {"list": [_spikes_annotation()]},
        "panels": panels(),
    }


def _reposts_variable() -> dict[str, Any]:
    options = [("once", "once per original"), ("each", "each as an opinion")]
    return {
        "name": "reposts",
        "label": "Reposts",
        "type": "custom",
        "query": ",".join(f"{text} : {value}" for value, text in options),
        "multi": False,
        "includeAll": False,
        "current": {"text": options[0][1], "value": options[0][0], "selected": True},
        "options": [
            {"text": text, "value": value, "selected": i == 0}
            for i, (value, text) in enumerate(options)
        ],
    }


def _spikes_annotation() -> dict[str, Any]:
    """``sentiment_spike``'s windows, marked on the volume, net sentiment and timeline panels."""
    return {
        "name": "Spikes",
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": "purple",
        "filter": {"exclude": False, "ids": [8, VOLUME_PANEL, NET_PANEL]},
        "target": {**_target(SPIKES_SQL, "table"), "refId": "Anno"},
    }


def _variable(name: str, label: str, sql: str, sort: int) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": sql,
        "definition": sql,
        "refresh": 1,  # on dashboard load, so a new topic or analyzer shows up
        "sort": sort,
        "multi": False,
        "includeAll": False,
        "current": {},
        "options": [],
    }


def datasource_yaml(kind: str) -> str:
    t = TARGETS[kind]
    doc = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": t.name,
                "type": DATASOURCE_TYPE,
                "uid": DATASOURCE_UID,
                "access": "proxy",
                "url": t.url,
                "user": t.user,
                "isDefault": False,
                "editable": False,
                "jsonData": {"database": t.database, "sslmode": t.sslmode, "timescaledb": False},
                # Grafana reads the variable from its own environment when it provisions.
                "secureJsonData": {"password": f"${{{t.password_env}}}"},
            }
        ],
    }
    header = (
        f"# Grafana data source for tweetsense ({kind}); put it in provisioning/datasources/.\n"
        f"# Set {t.password_env} (and the other variables) in Grafana's environment.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)


def dashboard_provider_yaml() -> str:
    doc = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "tweetsense",
                "type": "file",
                "disableDeletion": False,
                "options": {"path": "/var/lib/grafana/dashboards/tweetsense"},
            }
        ],
    }
    header = (
        "# Grafana dashboard provider; put it in provisioning/dashboards/ and copy\n"
        "# tweetsense-dashboard.json into the folder named by options.path.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)
