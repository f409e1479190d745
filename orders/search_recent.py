"""A second trigram index over the newest orders only (PostgreSQL, large tables).

A count that stops at its bound ("1,000+") of a text in, say, half a percent of the orders
("cas.muller") has to find a thousand of them. Through the trigram index of every order that
reads the whole list of the text's rarest trigram, which grows with the table: "mul" holds
91,000 orders at a million and ten times that at ten million. The newest orders hold a
thousand of them just the same, so the count is first asked of this index, which holds
between RECENT and RECENT + ROLL of the newest orders (those created from its boundary on)
whatever the table's size: when it finds the bound there, the count is done; when it
does not (the text is rarer than the sample said, or the merchant has few new orders), the
whole index is asked, as without it.

The index exists only where it pays, on a table of more than 2 * RECENT orders, and is made
and later moved forward by `manage.py roll_search_index` (a new one is built concurrently
beside the old, which is then dropped): writes keep working meanwhile. Its boundary is read
from the catalog, so the index and what the code thinks it holds can never disagree.
"""

import datetime
import re
import time

from django.db import connection, connections

NAME = "order_search_trgm_recent"
RECENT = 1_000_000  # newest orders it holds at least
ROLL = 500_000  # more orders it may hold before it is moved forward
KEEP_SECONDS = 60  # how long a process trusts the boundary it read
LOCK = 7_316_004  # the advisory lock a roll holds, with the database's name
LOCK_KEY = f"{LOCK}, hashtext(current_database())"
_known = {}  # database alias -> (monotonic time, boundary or None)
_PREDICATE = re.compile(r"\(?created_at >= '([^']+)'::timestamp with time zone\)?")


def boundary(alias=None):
    """The creation time from which the recent index holds the orders, or None when there
    is none (SQLite, a small table, or between a roll's drop and rename)."""
    alias = alias or connection.alias
    db = connections[alias]
    if db.vendor != "postgresql":
        return None
    now = time.monotonic()
    kept = _known.get(alias)
    if kept is not None and now - kept[0] < KEEP_SECONDS:
        return kept[1]
    found = _read(db)
    _known[alias] = (now, found)
    return found


def _read(db):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND i.indisvalid "
            "AND c.relnamespace = current_schema()::regnamespace",
            [NAME],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    matched = _PREDICATE.fullmatch(row[0].strip())
    if matched is None:
        return None
    try:
        return datetime.datetime.fromisoformat(matched.group(1))
    except ValueError:
        return None


def forget():
    _known.clear()


def roll(alias=None, *, recent=None, roll_after=None, out=None):
    """Make or move the recent index so it holds the newest `recent` orders (RECENT), when
    the table holds more than twice that and the index holds more than `recent` +
    `roll_after` (ROLL) or does not exist; drop it when the table is small. Returns what
    it did, as a sentence."""
    alias = alias or connection.alias
    db = connections[alias]
    recent = RECENT if recent is None else recent
    roll_after = ROLL if roll_after is None else roll_after
    if db.vendor != "postgresql":
        return "No recent index on this database (SQLite searches through FTS5)."
    # Built beside the searches and writes going on (CONCURRENTLY), except inside a
    # transaction, where PostgreSQL cannot (tests).
    how = "" if db.in_atomic_block else "CONCURRENTLY"
    with db.cursor() as cursor:
        # One roll at a time per database (two would build the same index twice, or drop
        # each other's); advisory locks are the cluster's, so the key names the database.
        cursor.execute(f"SELECT pg_try_advisory_lock({LOCK_KEY})")
        if not cursor.fetchone()[0]:
            return "Another roll of the recent index is running: nothing done."
        try:
            return _roll(db, cursor, recent, roll_after, how)
        finally:
            cursor.execute(f"SELECT pg_advisory_unlock({LOCK_KEY})")


def _roll(db, cursor, recent, roll_after, how):
    """What roll() does, holding its lock."""
    cursor.execute(
        'SELECT count(*) FROM (SELECT 1 FROM "orders_order" LIMIT %s) s', [2 * recent + 1]
    )
    (rows,) = cursor.fetchone()
    current = _read(db)
    if rows <= 2 * recent:
        if current is None:
            return f"No recent index: the table holds {rows:,} orders, at most {2 * recent:,}."
        cursor.execute(f'DROP INDEX {how} IF EXISTS "{NAME}"')
        forget()
        return f"Recent index dropped: the table holds {rows:,} orders."
    if current is not None:
        cursor.execute(
            'SELECT count(*) FROM (SELECT 1 FROM "orders_order" WHERE created_at >= %s LIMIT %s) s',
            [current, recent + roll_after + 1],
        )
        (held,) = cursor.fetchone()
        if held <= recent + roll_after:
            return f"Recent index kept: it holds {held:,} orders created from {current}."
    # When the `recent`-th newest order was created (a top-N sort of the table: seconds
    # at ten million orders, once a day at most).
    cursor.execute(
        'SELECT created_at FROM "orders_order" ORDER BY created_at DESC OFFSET %s LIMIT 1',
        [recent - 1],
    )
    (start,) = cursor.fetchone()
    began = time.perf_counter()
    cursor.execute(f'DROP INDEX {how} IF EXISTS "{NAME}_next"')
    # The boundary written into the statement: PostgreSQL takes no parameter in an
    # index's predicate. An aware datetime's ISO text, nothing else.
    when = start.astimezone(datetime.UTC).isoformat()
    cursor.execute(
        f'CREATE INDEX {how} "{NAME}_next" ON "orders_order" '
        f"USING gin (\"search_text\" gin_trgm_ops) WHERE created_at >= '{when}'"
    )
    cursor.execute(f'DROP INDEX {how} IF EXISTS "{NAME}"')
    cursor.execute(f'ALTER INDEX "{NAME}_next" RENAME TO "{NAME}"')
    forget()
    took = time.perf_counter() - began
    return f"Recent index built from {when} ({recent:,} orders) in {took:.1f} s."
