"""The replay source: saved X API v2 search results served back window by window."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tweetsense.config import DEMO, build_config, load_config
from tweetsense.contracts import StagingDoc
from tweetsense.errors import BadInputError, ConfigError
from tweetsense.registry import Context, create, settings_for
from tweetsense.sources import replay
from tweetsense.sources.replay import ReplaySource
from tweetsense.timeutil import Window, parse_utc

FIXTURES = Path(__file__).parent / "data" / "replay"
FORMATS = [
    "page.json",
    "pages_array.json",
    "twarc_search.jsonl",
    "twarc_flat.jsonl",
    "staging.json",
    "export.csv",
]
W = Window(parse_utc("2024-03-01T12:00:00Z"), parse_utc("2024-03-01T12:15:00Z"))
QUARTER = timedelta(minutes=15)

Make = Callable[..., ReplaySource]


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    return Context(load_config(None, demo=True, data_dir=tmp_path / "data"))


@pytest.fixture
def make(ctx: Context) -> Iterator[Make]:
    made: list[ReplaySource] = []

    def build(path: str | Path, **settings: Any) -> ReplaySource:
        source = ReplaySource(ReplaySource.Settings(path=str(path), **settings), ctx)
        made.append(source)
        return source

    yield build
    for source in made:
        source.close()


def shifted(window: Window, quarters: int) -> Window:
    return Window(window.start + quarters * QUARTER, window.end + quarters * QUARTER)


def posts_of(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [post for page in pages for post in page.get("data", [])]


def ids_of(pages: list[dict[str, Any]]) -> list[str]:
    return [post["id"] for post in posts_of(pages)]


def user_ids(page: dict[str, Any]) -> list[str]:
    return [user["id"] for user in page["includes"]["users"]]


def write_jsonl(path: Path, values: list[Any], *, ascii_only: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(v, ensure_ascii=ascii_only) for v in values]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def post(post_id: str, created_at: str, author_id: str = "1", text: str = "t") -> dict[str, Any]:
    return {"id": post_id, "created_at": created_at, "author_id": author_id, "text": text}


def page(posts: list[dict[str, Any]], users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"data": posts, "includes": {"users": users or []}, "meta": {"result_count": len(posts)}}


# -- input formats ------------------------------------------------------------------------------


def test_single_page_file_is_sorted_and_joined_by_author_id(make: Make) -> None:
    fixture = json.loads((FIXTURES / "page.json").read_text(encoding="utf-8"))
    by_id = {p["id"]: p for p in fixture["data"]}
    users = {u["id"]: u for u in fixture["includes"]["users"]}

    pages = make(FIXTURES / "page.json").fetch_window("not used", W, None)

    assert len(pages) == 1
    (only,) = pages
    assert set(only) == {"data", "includes", "meta"}  # the input's errors are not replayed
    assert ids_of(pages) == ["1763600000000000003", "1763600000000000002", "1763600000000000001"]
    assert only["data"] == [by_id[i] for i in ids_of(pages)]  # every field kept as it was
    # Users came as 103, 102, 101; 103 is only mentioned, so it is not an author of the page.
    assert only["includes"]["users"] == [users["101"], users["102"]]
    assert only["meta"] == {
        "result_count": 3,
        "newest_id": "1763600000000000003",
        "oldest_id": "1763600000000000001",
    }


def test_json_array_of_pages_including_an_empty_page(make: Make) -> None:
    pages = make(FIXTURES / "pages_array.json").fetch_window("q", W, None)

    assert ids_of(pages) == ["1763600000000000012", "1763600000000000011", "1763600000000000010"]
    assert user_ids(pages[0]) == ["202", "201"]


def test_twarc_search_jsonl_pages_with_extra_keys_and_errors(make: Make) -> None:
    source = make(FIXTURES / "twarc_search.jsonl")

    pages = source.fetch_window("q", W, None)
    later = source.fetch_window("q", shifted(W, 1), None)

    assert ids_of(pages) == ["1763600000000000022", "1763600000000000021"]
    assert posts_of(pages)[0]["text"] == "Tesla \u2764\ufe0f or not? \U0001f914"
    assert posts_of(pages)[1]["text"] == "ÉV • 電気自動車"
    assert all("__twarc" not in p for p in pages)
    assert {u["id"]: u["username"] for u in pages[0]["includes"]["users"]} == {
        "302": "gus",
        "301": "fay",
    }
    # The second line carries an errors array; its post is still replayed.
    assert ids_of(later) == ["1763600000000000020"]
    assert user_ids(later[0]) == ["301"]


def test_twarc_flattened_jsonl_rebuilds_users_from_author(make: Make) -> None:
    lines = (FIXTURES / "twarc_flat.jsonl").read_text(encoding="utf-8").splitlines()
    originals = [json.loads(line) for line in lines]

    pages = make(FIXTURES / "twarc_flat.jsonl").fetch_window("q", W, None)

    assert ids_of(pages) == ["1763600000000000032", "1763600000000000031"]
    for got, original in zip(posts_of(pages), originals, strict=True):
        expected = {k: v for k, v in original.items() if k not in ("author", "__twarc")}
        assert got == expected
    assert pages[0]["includes"]["users"] == [originals[0]["author"], originals[1]["author"]]


def test_flattened_post_without_author_id_is_joined_through_author(
    make: Make, tmp_path: Path
) -> None:
    flat = {"id": "5", "created_at": "2024-03-01T12:01:00Z", "text": "x", "author": {"id": "77"}}
    path = write_jsonl(tmp_path / "flat.jsonl", [flat])

    (only,) = make(path).fetch_window("q", W, None)

    assert only["data"] == [
        {"id": "5", "created_at": "2024-03-01T12:01:00Z", "text": "x", "author_id": "77"}
    ]
    assert only["includes"]["users"] == [{"id": "77"}]


def test_staging_file_fixture(make: Make) -> None:
    pages = make(FIXTURES / "staging.json").fetch_window("q", W, None)

    assert ids_of(pages) == ["1763600000000000042", "1763600000000000041"]
    assert posts_of(pages)[0]["text"] == "staged 🚗"
    assert user_ids(pages[0]) == ["502", "501"]


def test_staging_file_written_by_tweetsense_replays_the_same_posts(
    make: Make, tmp_path: Path
) -> None:
    original = json.loads((FIXTURES / "page.json").read_text(encoding="utf-8"))
    doc = StagingDoc("electric vehicles", W, "x", [original])
    path = tmp_path / "staging" / f"{W.id}.json"
    path.parent.mkdir()
    path.write_bytes(doc.encode())

    pages = make(path).fetch_window("q", W, None)

    assert sorted(ids_of(pages)) == sorted(p["id"] for p in original["data"])
    assert {p["id"]: p for p in posts_of(pages)} == {p["id"]: p for p in original["data"]}


def test_csv_export(make: Make) -> None:
    pages = make(FIXTURES / "export.csv").fetch_window("q", W, None)
    posts = {p["id"]: p for p in posts_of(pages)}

    assert ids_of(pages) == ["1763600000000000053", "1763600000000000052", "1763600000000000051"]
    first = posts["1763600000000000053"]
    assert first["text"].splitlines() == ["Two lines:", "second 🚙 line, with a comma"]
    assert first["lang"] == "fr"
    assert first["author_id"] == "601"
    assert posts["1763600000000000052"] == {
        "id": "1763600000000000052",
        "created_at": "2024-03-01T12:02:00.000Z",  # +01:00 converted to UTC
        "text": 'He said "EVs rock"',
        "author_id": "602",
        "lang": "en",
    }
    assert posts["1763600000000000051"] == {
        "id": "1763600000000000051",
        "created_at": "2024-03-01T12:00:00.000Z",  # no zone: UTC
        "text": "no author here",
    }
    assert pages[0]["includes"]["users"] == [
        {"id": "601", "username": "lea", "name": "Léa", "verified": True, "location": "Paris"},
        {"id": "602", "username": "max", "name": "Max", "verified": False},
    ]


def test_csv_keeps_line_breaks_inside_quoted_text_exactly(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(
        b"ID, Created_At ,text\r\n"
        b'9,2024-03-01T12:00:00Z,"a\r\nb\nc"\r\n'
        b"8,2024-03-01T12:01:00Z,plain\r\n"
    )

    pages = make(path).fetch_window("q", W, None)

    assert [p["text"] for p in posts_of(pages)] == ["plain", "a\r\nb\nc"]
    assert pages[0]["includes"]["users"] == []


@pytest.mark.parametrize("name", FORMATS)
def test_gzip_variants_match_the_plain_files(make: Make, tmp_path: Path, name: str) -> None:
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress((FIXTURES / name).read_bytes()))

    plain = make(FIXTURES / name).fetch_window("q", W, None)
    unpacked = make(packed).fetch_window("q", W, None)

    assert ids_of(plain)  # the fixture has posts in W, so the comparison means something
    assert unpacked == plain


def test_gzip_is_recognised_by_content_not_name(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "search.jsonl"
    path.write_bytes(gzip.compress((FIXTURES / "twarc_search.jsonl").read_bytes()))

    assert ids_of(make(path).fetch_window("q", W, None)) == [
        "1763600000000000022",
        "1763600000000000021",
    ]


def test_directory_is_searched_recursively_for_known_suffixes(make: Make, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    for i, name in enumerate(FORMATS):
        target = root / f"part{i % 2}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / name, target)
    packed = root / "deep" / "er" / "extra.jsonl.gz"
    packed.parent.mkdir(parents=True)
    extra = json.dumps(page([post("7", "2024-03-01T12:00:01Z")]))
    packed.write_bytes(gzip.compress(extra.encode()))
    (root / "notes.txt").write_text("not data", encoding="utf-8")
    (root / "broken.json.bak").write_text("{", encoding="utf-8")

    pages = make(root, page_size=1000).fetch_window("q", W, None)

    expected: set[str] = {"7"}
    for name in FORMATS:
        expected.update(ids_of(make(FIXTURES / name).fetch_window("q", W, None)))
    assert set(ids_of(pages)) == expected
    assert len(ids_of(pages)) == len(expected)


def test_glob_selects_matching_files_only(make: Make, tmp_path: Path) -> None:
    for name in FORMATS:
        shutil.copy(FIXTURES / name, tmp_path / name)

    pages = make(tmp_path / "*.jsonl").fetch_window("q", W, None)

    assert set(ids_of(pages)) == {
        "1763600000000000022",
        "1763600000000000021",
        "1763600000000000032",
        "1763600000000000031",
    }


def test_relative_path_is_resolved_when_the_source_is_built(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "in").mkdir()
    shutil.copy(FIXTURES / "page.json", tmp_path / "in" / "page.json")
    monkeypatch.chdir(tmp_path)
    source = make("in/page.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert len(ids_of(source.fetch_window("q", W, None))) == 3


# -- windows, order, paging ---------------------------------------------------------------------


def test_window_start_is_inclusive_and_end_exclusive(make: Make, tmp_path: Path) -> None:
    stamps = {
        "1": "2024-03-01T11:59:59.999Z",
        "2": "2024-03-01T12:00:00.000Z",
        "3": "2024-03-01T13:00:00+01:00",  # 12:00:00Z
        "4": "2024-03-01T12:14:59.999999",  # no zone: UTC
        "5": "2024-03-01T12:14:59.999Z",
        "6": "2024-03-01T12:15:00.000Z",
        "7": "2024-03-01T07:15:00-05:00",  # 12:15:00Z
    }
    path = write_jsonl(tmp_path / "b.jsonl", [page([post(i, t)]) for i, t in stamps.items()])
    source = make(path)

    assert sorted(ids_of(source.fetch_window("q", W, None))) == ["2", "3", "4", "5"]
    assert ids_of(source.fetch_window("q", shifted(W, -1), None)) == ["1"]
    assert sorted(ids_of(source.fetch_window("q", shifted(W, 1), None))) == ["6", "7"]


def test_newest_first_cap_and_pages(make: Make, tmp_path: Path) -> None:
    rng = random.Random(7)
    authors = [{"id": f"u{i}", "username": f"user{i}"} for i in range(6)]
    posts = [
        post(str(1000 + i), f"2024-03-01T12:{i // 2:02d}:{(i % 2) * 30:02d}.000Z", f"u{i % 6}")
        for i in range(25)
    ]
    shuffled = posts[:]
    rng.shuffle(shuffled)
    users = authors[:]
    rng.shuffle(users)
    path = write_jsonl(
        tmp_path / "p.jsonl", [page(shuffled[:12], users), page(shuffled[12:], users[::-1])]
    )
    source = make(path, page_size=10)

    pages = source.fetch_window("q", W, 23)

    newest = sorted(posts, key=lambda p: int(p["id"]), reverse=True)[:23]
    assert ids_of(pages) == [p["id"] for p in newest]
    assert [p["meta"]["result_count"] for p in pages] == [10, 10, 3]
    tokens = [p["meta"].get("next_token") for p in pages]
    assert tokens[0] and tokens[1] and tokens[0] != tokens[1] and tokens[2] is None
    for got in pages:
        data = got["data"]
        assert got["meta"]["newest_id"] == data[0]["id"]
        assert got["meta"]["oldest_id"] == data[-1]["id"]
        page_authors = {p["author_id"] for p in data}
        assert sorted(user_ids(got)) == sorted(page_authors)
        assert all(u == authors[int(u["id"][1:])] for u in got["includes"]["users"])
    assert len(ids_of(source.fetch_window("q", W, None))) == 25
    assert [len(p["data"]) for p in source.fetch_window("q", W, 5)] == [5]


def test_posts_in_the_same_instant_are_ordered_by_numeric_id(make: Make, tmp_path: Path) -> None:
    same = "2024-03-01T12:05:00.000Z"
    path = write_jsonl(tmp_path / "t.jsonl", [page([post("999", same), post("1000", same)])])

    assert ids_of(make(path).fetch_window("q", W, None)) == ["1000", "999"]


def test_users_missing_from_the_input_are_left_out(make: Make, tmp_path: Path) -> None:
    posts = [post("2", "2024-03-01T12:02:00Z", "known"), post("1", "2024-03-01T12:01:00Z", "gone")]
    path = write_jsonl(tmp_path / "u.jsonl", [page(posts, [{"id": "known", "username": "k"}])])

    (only,) = make(path).fetch_window("q", W, None)

    assert only["includes"]["users"] == [{"id": "known", "username": "k"}]


def test_duplicates_are_kept_once_with_the_last_one_read(make: Make, tmp_path: Path) -> None:
    at = "2024-03-01T12:03:00Z"
    write_jsonl(tmp_path / "in" / "a.jsonl", [page([post("42", at, text="first")])])
    write_jsonl(
        tmp_path / "in" / "b" / "c.jsonl",
        [
            page([post("42", at, text="second"), post("43", at)]),
            page([post("42", at, text="last")]),
        ],
    )
    source = make(tmp_path / "in")

    pages = source.fetch_window("q", W, None)

    assert sorted(ids_of(pages)) == ["42", "43"]
    assert {p["id"]: p["text"] for p in posts_of(pages)}["42"] == "last"


def test_window_spanning_two_buckets_still_has_each_id_once(make: Make, tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "a.jsonl",
        [
            page([post("1", "2024-03-01T12:01:00Z", text="early")]),
            page(
                [post("1", "2024-03-01T12:20:00Z", text="late"), post("2", "2024-03-01T12:21:00Z")]
            ),
        ],
    )
    half_hour = Window(W.start, W.end + QUARTER)

    pages = make(tmp_path / "a.jsonl").fetch_window("q", half_hour, None)

    assert ids_of(pages) == ["2", "1"]
    assert posts_of(pages)[1]["text"] == "late"


def test_empty_window_is_one_page_without_data(make: Make) -> None:
    source = make(FIXTURES / "page.json")

    assert source.fetch_window("q", shifted(W, 96), None) == [{"meta": {"result_count": 0}}]
    assert source.fetch_window("q", W, 0) == [{"meta": {"result_count": 0}}]


# -- text ---------------------------------------------------------------------------------------


TRICKY_TEXTS = [
    "😀 grinning",
    "👩\u200d👩\u200d👧\u200d👦 family, 🏳️\u200d🌈 flag, 👍🏽 skin tone",
    "e\u0301 combining accent vs é",
    "עברית RTL مرحبا",
    "zero\u200bwidth and nbsp\u00a0here",
    'tab\tnewline\ncarriage\r backslash \\ quote "',
    "\U0001d54f math letters and 日本語",
    "  leading and trailing spaces  ",
]


@pytest.mark.parametrize("ascii_only", [True, False], ids=["escaped", "raw-utf8"])
def test_non_ascii_text_passes_through_byte_identical(
    make: Make, tmp_path: Path, ascii_only: bool
) -> None:
    posts = [post(str(100 + i), f"2024-03-01T12:{i:02d}:00Z") for i in range(len(TRICKY_TEXTS))]
    for p, text in zip(posts, TRICKY_TEXTS, strict=True):
        p["text"] = text
    path = write_jsonl(tmp_path / "e.jsonl", [page(posts)], ascii_only=ascii_only)
    packed = tmp_path / "e.jsonl.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))

    for source in (make(path), make(packed)):
        got = {p["id"]: p["text"] for p in posts_of(source.fetch_window("q", W, None))}
        for p in posts:
            assert got[p["id"]].encode("utf-8") == p["text"].encode("utf-8")


def test_non_ascii_csv_text_is_byte_identical(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    rows = [
        f'{100 + i},2024-03-01T12:{i:02d}:00Z,"{t.replace(chr(34), chr(34) * 2)}"'
        for i, t in enumerate(TRICKY_TEXTS)
    ]
    path.write_bytes(("id,created_at,text\n" + "\n".join(rows) + "\n").encode("utf-8"))

    got = {p["id"]: p["text"] for p in posts_of(make(path).fetch_window("q", W, None))}

    assert [got[str(100 + i)].encode() for i in range(len(TRICKY_TEXTS))] == [
        t.encode() for t in TRICKY_TEXTS
    ]


# -- errors -------------------------------------------------------------------------------------


def test_malformed_jsonl_line_names_file_and_line(make: Make, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [page([post("1", "2024-03-01T12:00:00Z")])] * 2)
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"data": [{"id": "3"\n')

    with pytest.raises(BadInputError, match=rf"^{path}:3: malformed JSON"):
        make(path).fetch_window("q", W, None)


def test_malformed_first_jsonl_line_is_blamed_on_line_one(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    good = json.dumps(page([post("1", "2024-03-01T12:00:00Z")]))
    path.write_text('{"data": [{"id": "3"\n' + good + "\n", encoding="utf-8")

    with pytest.raises(BadInputError, match=rf"^{path}:1: malformed JSON"):
        make(path).fetch_window("q", W, None)


def test_malformed_pretty_json_names_the_failing_line(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{\n  "data": [\n    {"id": "1",}\n  ]\n}\n', encoding="utf-8")

    with pytest.raises(BadInputError, match=rf"^{path}:3: malformed JSON"):
        make(path).fetch_window("q", W, None)


def test_unparseable_created_at_names_file_line_and_field(make: Make, tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            page([post("1", "2024-03-01T12:00:00Z")]),
            page([post("2", "2024-03-01T12:00:00Z"), post("3", "yesterday")]),
        ],
    )

    with pytest.raises(BadInputError, match=rf"^{path}:2: .*data\[1\]\.created_at 'yesterday'"):
        make(path).fetch_window("q", W, None)


def test_unparseable_created_at_in_csv_names_the_row_start(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        'id,created_at,text\n1,2024-03-01T12:00:00Z,"two\nlines"\n2,03/01/2024,x\n',
        encoding="utf-8",
    )

    with pytest.raises(BadInputError, match=rf"^{path}:4: field created_at '03/01/2024'"):
        make(path).fetch_window("q", W, None)


def test_post_without_id_names_the_field(make: Make, tmp_path: Path) -> None:
    flat = {"created_at": "2024-03-01T12:00:00Z", "text": "no id", "author": {"id": "1"}}
    path = write_jsonl(tmp_path / "f.jsonl", [post("1", "2024-03-01T12:00:00Z"), flat])

    with pytest.raises(BadInputError, match=rf"^{path}:2: field id is missing"):
        make(path).fetch_window("q", W, None)


def test_post_without_created_at_names_the_field(make: Make, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", [page([{"id": "1", "text": "x"}])])

    with pytest.raises(BadInputError, match=rf"^{path}:1: data\[0\]: field created_at is missing"):
        make(path).fetch_window("q", W, None)


def test_csv_without_required_column_is_refused(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("id,text\n1,x\n", encoding="utf-8")

    with pytest.raises(BadInputError, match=rf"^{path}:1: CSV header lacks column 'created_at'"):
        make(path).fetch_window("q", W, None)


def test_other_tweetsense_files_are_refused(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"schema": "tweetsense.sentiment/1", "scores": []}', encoding="utf-8")

    with pytest.raises(BadInputError, match=rf"^{path}:1: schema is 'tweetsense.sentiment/1'"):
        make(path).fetch_window("q", W, None)


def test_failed_index_is_retried_and_fails_again(make: Make, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("{oops}\n", encoding="utf-8")
    source = make(path)

    for _ in range(2):
        with pytest.raises(BadInputError, match="malformed JSON"):
            source.fetch_window("q", W, None)


@pytest.mark.parametrize(
    "relative",
    ["missing.jsonl", "missing-dir/", "empty", "only-text", "*.nothing", "**/*.parquet"],
)
def test_path_matching_nothing_is_a_config_error(
    ctx: Context, tmp_path: Path, relative: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "only-text").mkdir()
    (tmp_path / "only-text" / "notes.txt").write_text("x", encoding="utf-8")

    with pytest.raises(ConfigError, match=r"^source\.path: "):
        ReplaySource(ReplaySource.Settings(path=str(tmp_path / relative)), ctx)


# -- settings, registry, threads, cleanup -------------------------------------------------------


def test_settings_are_validated() -> None:
    assert ReplaySource.Settings(path="x").page_size == 500
    with pytest.raises(ValidationError):
        ReplaySource.Settings(path="x", page_size=0)
    with pytest.raises(ValidationError):
        ReplaySource.Settings(path="x", seed=1)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ReplaySource.Settings()  # type: ignore[call-arg]


def test_built_by_the_registry_from_config(tmp_path: Path) -> None:
    data = {**DEMO, "source": {"type": "replay", "path": str(FIXTURES / "page.json")}}
    config = build_config(data, environ={}, data_dir=tmp_path)
    source = create("source", Context(config))
    try:
        assert isinstance(source, ReplaySource)
        assert source.name == "replay"
        assert len(ids_of(source.fetch_window("q", W, None))) == 3
    finally:
        source.close()

    bad = build_config({**DEMO, "source": {"type": "replay", "path": "x", "seed": 1}}, environ={})
    with pytest.raises(ConfigError, match=r"^source\.seed: unknown setting"):
        settings_for("source", bad.source)


def test_concurrent_fetches_index_once(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in FORMATS:
        shutil.copy(FIXTURES / name, tmp_path / name)
    scanned: list[Path] = []
    original = replay._Indexer.scan_file

    def counting(self: Any, path: Path) -> None:
        scanned.append(path)
        original(self, path)

    monkeypatch.setattr(replay._Indexer, "scan_file", counting)
    source = make(tmp_path)
    windows = [shifted(W, k % 3 - 1) for k in range(24)]
    results: dict[int, list[str]] = {}
    barrier = threading.Barrier(len(windows))

    def work(k: int) -> None:
        barrier.wait()
        results[k] = ids_of(source.fetch_window("q", windows[k], None))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(windows))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(scanned) == sorted(tmp_path / name for name in FORMATS)
    for k, window in enumerate(windows):
        assert results[k] == ids_of(source.fetch_window("q", window, None))
    assert len(results[1]) == 15  # W: every post of every fixture except the 12:20 one


def test_index_lives_in_the_temp_dir_and_close_removes_it(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    source = make(FIXTURES / "page.json")
    assert list(scratch.iterdir()) == []  # nothing happens before the first fetch

    source.fetch_window("q", W, None)
    assert [p.name.startswith("tweetsense-replay-") for p in scratch.iterdir()] == [True]

    source.close()
    assert list(scratch.iterdir()) == []
    assert len(ids_of(source.fetch_window("q", W, None))) == 3  # rebuilt on demand
