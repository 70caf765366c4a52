"""Typed columnar copies of the window files, written beside them: what the batch reads.

The JSON staging and sentiment files stay the record of what the API said and what each analyzer
scored; their Parquet copies hold the same values flattened to one row per item, so a batch
parses no JSON, and rerunning it over unchanged windows reads only columns it needs.
"""

from tweetsense.columnar.convert import sentiment_table, staging_table, write_copy
from tweetsense.columnar.derive import ensure_copies
from tweetsense.columnar.schema import SENTIMENT, STAGING, copy_key
from tweetsense.columnar.writes import delete, put_sentiment, put_staging

__all__ = [
    "SENTIMENT",
    "STAGING",
    "copy_key",
    "delete",
    "ensure_copies",
    "put_sentiment",
    "put_staging",
    "sentiment_table",
    "staging_table",
    "write_copy",
]
