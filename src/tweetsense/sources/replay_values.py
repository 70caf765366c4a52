"""Single values read from replay files (times, ids, flags, counts), and the error of one record.

``BadRecord`` is the error of one line, row or post: ``on_bad_record: skip`` sets that record
aside and goes on. A plain ``BadInputError`` is about a whole file and always stops.
"""

from __future__ import annotations

import gzip
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, cast

from tweetsense.errors import BadInputError
from tweetsense.timeutil import parse_utc

_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
# v1.1 and the Twitter web archive spell times "Wed Oct 10 20:19:24 +0000 2018"; matched by hand
# because strptime's %a and %b follow the process locale.
_V1_TIME = re.compile(
    r"\s*[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2})"
    r" ([+-])(\d{2})(\d{2}) (\d{4})\s*"
)
_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# pandas writes an integer column with a gap in it as floats: 12.0
_COUNT = re.compile(r"\s*(\d+)(?:\.0*)?\s*")


class BadRecord(BadInputError):
    """One line, row or post of a replay file cannot be read."""


def read_time(value: str, at: str, field: str) -> tuple[datetime, bool]:
    """The time ``value`` (ISO 8601, or v1.1's spelling) and whether it was ISO 8601."""
    try:
        return parse_utc(value), True
    except ValueError:
        pass
    found = _V1_TIME.fullmatch(value)
    month = _MONTHS.get(found[1].lower()) if found else None
    if found and month:
        sign = -1 if found[6] == "-" else 1
        offset = timedelta(hours=int(found[7]), minutes=int(found[8])) * sign
        try:
            local = datetime(
                int(found[9]), month, int(found[2]), int(found[3]), int(found[4]), int(found[5])
            )
            return local.replace(tzinfo=timezone(offset)).astimezone(UTC), False
        except ValueError:
            pass
    raise BadRecord(
        f"{at}field {field} {value!r} is not an ISO-8601 time; write it like "
        "2024-03-01T12:00:00.000Z (or as v1.1 did: Wed Oct 10 20:19:24 +0000 2018)"
    )


def read_id(value: str, at: str, field: str) -> str:
    if value.isascii() and value.isdigit():
        return value
    raise BadRecord(
        f"{at}field {field} {value!r} is not an id of digits; a spreadsheet that saved the "
        "file may have rounded the ids (1.44072E+18), re-export it from the original data"
    )


def read_flag(value: str, at: str, field: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRecord(f"{at}field {field} {value!r} is not true or false; fix the row")


def read_count(value: str, at: str, field: str) -> int:
    found = _COUNT.fullmatch(value)
    if found:
        return int(found[1])
    raise BadRecord(f"{at}field {field} {value!r} is not a whole number; fix the row")


_GZIP_MAGIC = b"\x1f\x8b"


def open_binary(path: Path) -> IO[bytes]:
    """A replay file for reading; compression is recognised by content, so a gzip file
    without a .gz name still reads."""
    raw = path.open("rb")
    if raw.read(2) != _GZIP_MAGIC:
        raw.seek(0)
        return raw
    raw.close()
    return cast(IO[bytes], gzip.open(path, "rb"))
