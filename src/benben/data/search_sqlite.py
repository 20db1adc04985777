"""SQLite's search plans: whether a search's matches are many enough in the collection to read
its records in the page's order and test each against them, rather than read every match and
sort them all.

A word in a fifth of 100,000 records: read from FTS5 and sorted, its 20,000 matches cost over
100 ms; read in order through the collection's index, tested against the matches' rowids (a
set built once), the first page is found after about a hundred records.  A rare word is the
other way round: the walk would read the whole collection to find a page's worth, while its
matches are few to sort.  With M matches in a collection of C records, the walk reads about
limit * C / M index entries (~0.3 us each) besides building the set (~0.2 us a match), and
sorting reads every match's record (~2 us each): measured on 100,000 records, they cross
between 500 and 1,000 matches, where either takes one or two milliseconds; a larger
collection moves the crossing up slowly (with its square root).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Table, func, literal_column, select, table

from benben.data.jsonkeys import collection_is

__all__ = ["FREQUENT_MATCHES", "frequency_probe", "walks_in_order"]

# Matches in the collection from which its records are walked in order (see above).
FREQUENT_MATCHES = 1000
# The sorts that every collection's indexes serve (the records' primary key, and the
# collection's last_modified index): a data field may have no index, and walking the whole
# collection to sort it would cost more than sorting the matches.
_INDEXED_SORTS = frozenset({"last_modified", "id"})


def walks_in_order(sort_keys: Sequence[tuple[Any, str, bool]]) -> bool:
    """Whether the records can be read in the order of ``sort_keys`` (ListQuery.sort_keys)
    through an index every collection has."""
    return bool(sort_keys) and sort_keys[0][1] in _INDEXED_SORTS


def frequency_probe(
    records: Table, collection_id: str, search_table: str, match: ColumnElement[bool]
) -> Select[Any]:
    """``count``, up to FREQUENT_MATCHES, of the matches that are the collection's records (the
    FTS5 table holds every collection's): at most that many rowid lookups."""
    rowid = literal_column(f"{records.name}.rowid", Integer)
    # "+": no FTS5 search per record of the collection; the matches drive, each looked up.
    matched = literal_column(f"+{search_table}.rowid", Integer)
    found = (
        select(rowid)
        .select_from(records)
        .join(table(search_table), matched == rowid)
        .where(match, collection_is(records, collection_id))
        .limit(FREQUENT_MATCHES)
        .subquery("search_probe")
    )
    return select(func.count()).select_from(found)
