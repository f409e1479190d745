"""Trigram indexes over the newest orders only (PostgreSQL, large tables).

A count that stops at its bound ("1,000+") of a text in, say, half a percent of the orders
("cas.muller") has to find a thousand of them. Through the trigram index of every order that
reads the whole list of the text's rarest trigram, which grows with the table: "mul" holds
91,000 orders at a million and ten times that at ten million. The newest orders hold a
thousand of them just the same, so the count is first asked of these indexes, newest
first, whatever the table's size: the first holds between RECENT and RECENT + ROLL of the
newest orders (those created from its boundary on), the next the RECENT orders before them
(TIERS in all). When they hold the bound, the count is done; when they do not (the text is
rarer than the sample said, or the merchant has few new orders), the whole index is asked,
as without them. The second pays for a text like "nas.jones3", in 0.07 % of the orders:
a million of them hold 700, two a thousand, and its rarest trigram's list in the whole
index is ten times as long at ten million orders (11 ms to read) as at one.

The indexes exist only where they pay, tier k on a table of more than (k + 1) * RECENT
orders, and are made and later moved forward together by `manage.py roll_search_index` (new
ones are built concurrently beside the old, which are then dropped): writes keep working
meanwhile. Their boundaries are read from the catalog, so the indexes and what the code
thinks they hold can never disagree.
"""

import datetime
import re
import time

from django.db import connection, connections

NAME = "order_search_trgm_recent"  # the newest orders'; the next tiers' add "_2", "_3"...
RECENT = 1_000_000  # orders each tier holds at least
ROLL = 500_000  # more orders the newest tier may hold before the tiers are moved forward
TIERS = 2
KEEP_SECONDS = 60  # how long a process trusts the boundaries it read
LOCK = 7_316_004  # the advisory lock a roll holds, with the database's name
LOCK_KEY = f"{LOCK}, hashtext(current_database())"
_known = {}  # database alias -> (monotonic time, boundaries or None)
_STAMP = r"'([^']+)'::timestamp with time zone"
_PREDICATE = re.compile(rf"\(?created_at >= {_STAMP}\)?")
_BETWEEN = re.compile(rf"\(\(created_at >= {_STAMP}\) AND \(created_at < {_STAMP}\)\)")


def tier_name(k):
    """The name of tier k (1: the newest orders')."""
    return NAME if k == 1 else f"{NAME}_{k}"


def boundary(alias=None):
    """The creation times from which the tiers hold the orders, newest first: tier k holds
    those created from the k-th on and before the one ahead of it. None when there is no
    tier (SQLite, a small table, or between a roll's drop and rename); a tier whose upper
    bound is not its newer tier's boundary (in the middle of a roll) ends the tuple."""
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
            "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = ANY(%s) AND i.indisvalid "
            "AND c.relnamespace = current_schema()::regnamespace",
            [[tier_name(k) for k in range(1, TIERS + 1)]],
        )
        predicates = dict(cursor.fetchall())
    found = []
    for k in range(1, TIERS + 1):
        bounds = _bounds(predicates.get(tier_name(k)))
        if bounds is None or bounds[1] != (found[-1] if found else None):
            break
        found.append(bounds[0])
    return tuple(found) or None


def _bounds(predicate):
    """(from, before) of a tier's predicate (before: None for the newest), or None."""
    if predicate is None:
        return None
    predicate = predicate.strip()
    matched = _PREDICATE.fullmatch(predicate) or _BETWEEN.fullmatch(predicate)
    if matched is None:
        return None
    try:
        stamps = [datetime.datetime.fromisoformat(text) for text in matched.groups()]
    except ValueError:
        return None
    return stamps[0], (stamps[1] if len(stamps) > 1 else None)


def forget():
    _known.clear()


def roll(alias=None, *, recent=None, roll_after=None):
    """Make or move the tiers so the newest holds the newest `recent` orders (RECENT) and
    each next one the `recent` before them, when the table holds enough (tier k: more than
    (k + 1) * recent) and the newest tier holds more than `recent` + `roll_after` (ROLL) or
    the tiers are not all there; drop them when the table is small. Returns what it did,
    as a sentence."""
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


def _drop(cursor, how, suffix=""):
    """Drop every tier's index (those named with `suffix`: a roll's unfinished ones)."""
    for k in range(1, TIERS + 1):
        cursor.execute(f'DROP INDEX {how} IF EXISTS "{tier_name(k)}{suffix}"')


def _roll(db, cursor, recent, roll_after, how):
    """What roll() does, holding its lock."""
    most = (TIERS + 1) * recent
    cursor.execute('SELECT count(*) FROM (SELECT 1 FROM "orders_order" LIMIT %s) s', [most + 1])
    (rows,) = cursor.fetchone()
    tiers = sum(1 for k in range(1, TIERS + 1) if rows > (k + 1) * recent)
    current = _read(db)
    if tiers == 0:
        _drop(cursor, how)  # a tier left behind by an interrupted roll too
        forget()
        if current is None:
            return f"No recent index: the table holds {rows:,} orders, at most {2 * recent:,}."
        return f"Recent index dropped: the table holds {rows:,} orders."
    if current is not None and len(current) == tiers:
        cursor.execute(
            'SELECT count(*) FROM (SELECT 1 FROM "orders_order" WHERE created_at >= %s LIMIT %s) s',
            [current[0], recent + roll_after + 1],
        )
        (held,) = cursor.fetchone()
        if held <= recent + roll_after:
            return f"Recent index kept: it holds {held:,} orders created from {current[0]}."
    # When the recent-th, 2 * recent-th... newest order was created (one top-N sort of the
    # table: seconds at ten million orders, once a day at most).
    cursor.execute(
        "SELECT created_at FROM (SELECT created_at, row_number() OVER (ORDER BY created_at DESC)"
        ' AS r FROM (SELECT created_at FROM "orders_order" ORDER BY created_at DESC LIMIT %s) t)'
        " s WHERE r = ANY(%s) ORDER BY r",
        [tiers * recent, [k * recent for k in range(1, tiers + 1)]],
    )
    starts = []
    for (start,) in cursor.fetchall():
        if starts and start >= starts[-1]:
            break  # a tier of orders all created at one time: none past it
        starts.append(start)
    began = time.perf_counter()
    _drop(cursor, how, "_next")
    # The boundaries written into the statements: PostgreSQL takes no parameter in an
    # index's predicate. An aware datetime's ISO text, nothing else.
    stamps = [start.astimezone(datetime.UTC).isoformat() for start in starts]
    for k, when in enumerate(stamps, start=1):
        where = f"created_at >= '{when}'"
        if k > 1:
            where += f" AND created_at < '{stamps[k - 2]}'"
        cursor.execute(
            f'CREATE INDEX {how} "{tier_name(k)}_next" ON "orders_order" '
            f'USING gin ("search_text" gin_trgm_ops) WHERE {where}'
        )
    _drop(cursor, how)
    for k in range(1, len(stamps) + 1):
        cursor.execute(f'ALTER INDEX "{tier_name(k)}_next" RENAME TO "{tier_name(k)}"')
    forget()
    took = time.perf_counter() - began
    older = f"; {len(stamps) - 1} older from {stamps[-1]}" if len(stamps) > 1 else ""
    return f"Recent index built from {stamps[0]} ({recent:,} orders a tier{older}) in {took:.1f} s."
