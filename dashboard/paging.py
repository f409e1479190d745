"""Keyset (cursor) paging for the order list.

OFFSET paging makes the database walk past every earlier row, so page 1,000 of a large
merchant costs a thousand times page 1. Here a page link carries an opaque cursor: the sort
values of the row the next page starts after (or the previous page ends before). The query
asks for rows past that key along the same index the first page uses, so every page costs
the same. A cursor that cannot be read (edited, or from another sort) starts at page one.
"""

import base64
import binascii
import datetime
import json
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Q

from orders.prepared import Prepared
from orders.search import Bounded, Window
from orders.text import unstorable

NEXT, PREV = "n", "p"


@dataclass
class Page:
    object_list: list
    start_index: int
    newer: str | None  # cursor of the page before (towards the start of the sort)
    older: str | None  # cursor of the page after
    # With tiers: {rank: rows} of the tiers this page read whole (no need to count them).
    whole_tiers: dict | None = None

    @property
    def end_index(self):
        return self.start_index + len(self.object_list) - 1

    @property
    def has_previous(self):
        return self.newer is not None

    @property
    def has_next(self):
        return self.older is not None


def _encode_value(value):
    if isinstance(value, datetime.datetime):
        return {"t": value.isoformat()}
    return value


# What a bigint column holds; a larger id cannot be compared with one on every database.
_INT_RANGE = range(-(2**63), 2**63)
# Cursor positions are row counts; past this a cursor was edited.
_MAX_POSITION = 10**12


def _decode_value(value, kind):
    """A cursor value back to what the database compares with; ValueError when the
    database could not take it (so the cursor is unreadable and the list starts at page one
    instead of answering 500)."""
    if kind == "datetime":
        if not isinstance(value, dict) or not isinstance(value.get("t"), str):
            raise ValueError("not a time")
        parsed = datetime.datetime.fromisoformat(value["t"])
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        # In UTC: PostgreSQL refuses offsets beyond 15:59, and 0001-01-01 at +01:00 is
        # before the first representable moment (OverflowError, caught by the caller).
        return parsed.astimezone(datetime.UTC)
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value not in _INT_RANGE:
            raise ValueError("not a number")
        return value
    if not isinstance(value, str) or unstorable(value):
        raise ValueError("not text")  # NUL or a lone surrogate: no database takes it
    return value


def encode_cursor(sort, direction, values, position):
    raw = json.dumps(
        {"s": sort, "d": direction, "v": [_encode_value(v) for v in values], "p": position},
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor, sort, kinds):
    """(direction, values, position) or None when the cursor cannot be used for this sort."""
    if not cursor or len(cursor) > 400:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != sort:
            return None
        direction = data.get("d")
        values = data.get("v")
        position = data.get("p")
        if direction not in (NEXT, PREV) or not isinstance(values, list):
            return None
        if len(values) != len(kinds) or not isinstance(position, int):
            return None
        if isinstance(position, bool) or not 1 <= position <= _MAX_POSITION:
            return None
        return (
            direction,
            [_decode_value(v, k) for v, k in zip(values, kinds, strict=True)],
            position,
        )
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError):
        return None


def past_cursor(fields, values, descending, forward, including=False):
    """Rows strictly past `values` in the sort order (forward) or strictly before it;
    `including`: the row at `values` too.

    Written as `first <= v AND (first < v OR (first = v AND ... ))`: the leading range is
    what lets the database start its index scan at the cursor instead of filtering from the
    top of the index."""
    later = descending == forward  # moving towards smaller values
    op = "lt" if later else "gt"
    op_eq = "lte" if later else "gte"
    tie = Q()
    for i in range(len(fields) - 1, -1, -1):
        last_op = op_eq if including and i == len(fields) - 1 else op
        strict = Q(**{f"{fields[i]}__{last_op}": values[i]})
        tie = strict if i == len(fields) - 1 else strict | (Q(**{fields[i]: values[i]}) & tie)
    return Q(**{f"{fields[0]}__{op_eq}": values[0]}) & tie


def _union(querysets, select, connection):
    """(sql, params, which) of `_each`'s statement: `which` gives the index of the queryset
    of each part (a queryset that cannot match has none)."""
    parts, params, which = [], [], []
    for index, queryset in enumerate(querysets):
        try:
            sql, part_params = queryset.query.get_compiler(connection=connection).as_sql()
        except EmptyResultSet:
            continue
        parts.append(f"SELECT {len(which)} AS part, {select} FROM ({sql}) q")
        params.extend(part_params)
        which.append(index)
    return " UNION ALL ".join(parts), params, which


def _each(querysets, select):
    """[(index of the queryset, row)] of several sliced querysets read with one statement:
    each one's `select` over it ("q.*" or "COUNT(*)"), joined by UNION ALL. A queryset that
    cannot match (EmptyResultSet: no line has the SKU) gives no rows."""
    connection = connections[querysets[0].db]
    sql, params, which = _union(querysets, select, connection)
    if not which:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(which[part], value) for part, value in cursor.fetchall()]


class PreparedCounts(Prepared):
    """counts_of_each() of the querysets `build(*args)` gives, with the statement built once
    (orders/prepared.py). Calling it returns the list of counts. A set of querysets where
    one cannot match for the stand-in arguments is counted through the ORM every time."""

    def __init__(self, model, build, parts, *kinds):
        super().__init__(model, build, *kinds)
        self.parts = parts

    def __call__(self, *args, using=None):
        found = [0] * self.parts
        for index, count in super().__call__(*args, using=using):
            found[index] = count
        return found

    def _statement(self, connection, stand_ins):
        querysets = self.build(*stand_ins)
        sql, params, which = _union(querysets, "COUNT(*)", connection)
        if which != list(range(self.parts)):
            return None
        return sql, params, [], False

    def _through_the_orm(self, args, alias):
        return _each([queryset.using(alias) for queryset in self.build(*args)], "COUNT(*)")


def values_of_each(querysets):
    """[list of values] for each of several one-column, sliced querysets, read with one
    statement. Values come back as the database gives them, unconverted."""
    found = [[] for _ in querysets]
    for index, value in _each(querysets, "q.*"):
        found[index].append(value)
    return found


def counts_of_each(querysets):
    """How many rows each of several sliced querysets gives, counted with one statement: the
    list's bounded counts of its views cost one round trip, and no ids travel."""
    found = [0 for _ in querysets]
    for index, count in _each(querysets, "COUNT(*)"):
        found[index] = count
    return found


def _read_keyed(queryset, keyed, rest, descending, forward, values, wanted, read):
    """Up to `wanted` rows of `queryset` in the order of keyed.keys (orders.search.Keys:
    the values of the sort's fields after the rank, the last one the row's id, several times
    per row at most, in the sort's order): a batch of keys, the
    rows of their ids that pass the list's other filters, and more keys (four times as many)
    while rows are missing and keys remain."""
    later = descending == forward
    order = [f"-{f}" if later else f for f in rest]
    key_order = [f"-{f}" if later else f for f in keyed.fields]
    rows, batch = [], wanted + wanted // 8 + 8
    while True:
        keys = keyed.keys
        if values is not None:
            keys = keys.filter(past_cursor(keyed.fields, values, descending, forward))
        found = list(keys.order_by(*key_order).values_list(*keyed.fields)[:batch])
        ids = list(dict.fromkeys(key[-1] for key in found))
        if ids:
            chosen = (keyed.rows if keyed.rows is not None else queryset).filter(pk__in=ids)
            rows.extend(read(chosen.order_by(*order)[: wanted - len(rows)]))
        if len(rows) >= wanted or len(found) < batch:
            return rows
        # Past the last key: an order's other lines share its key, so none comes twice.
        values, batch = list(found[-1]), batch * 4


def _read_windowed(queryset, window, rest, descending, forward, values, wanted, read):
    """(up to `wanted` rows, how many the tier holds up to window.bound or None) of a tier
    (`queryset`, answered by an index) looked for first among the next window.size orders
    of the list (orders.search.Window): a text in many orders fills the page there, without
    the index reading all of them; past the window, the indexed query. Read from the tier's
    start, a page that goes past the window reads what lies past it with its count (as
    Bounded does): FTS5 returns every match of a text anyway, and the count would ask again.
    The window is the range of the list's index up to its last order (read first), walked
    in order until the page is full: cheaper than a list of its orders' ids."""
    later = descending == forward
    order = [f"-{f}" if later else f for f in rest]
    around = window.around
    plain = window.plain
    if values is not None:
        cursor = past_cursor(rest, values, descending, forward)
        around = around.filter(cursor)
        plain = plain.filter(cursor)
    last = list(around.order_by(*order).values_list(*rest)[window.size - 1 : window.size])
    if not last:
        # The window holds every order left: nothing past it.
        rows = read(plain.order_by(*order)[:wanted])
        return rows, (len(rows) if values is None and len(rows) < wanted else None)
    last = list(last[0])
    # The window: from its start through its last order.
    window_rows = past_cursor(rest, last, descending, not forward, including=True)
    rows = read(plain.filter(window_rows).order_by(*order)[:wanted])
    if len(rows) >= wanted:
        return rows, None
    past = queryset.filter(past_cursor(rest, last, descending, forward))
    if values is None and window.bound:
        # The page's rows are read by id with the tier's condition checked on each (plain),
        # not through FTS5 again.
        more, total = _read_bounded(
            past,
            Bounded(window.bound),
            rest,
            descending,
            forward,
            None,
            wanted - len(rows),
            read,
            rows=window.plain,
        )
        if more is not None:
            return rows + more, len(rows) + total
        # A common text: read along the index, and it counts as the bound.
        return rows + read(past.order_by(*order)[: wanted - len(rows)]), window.bound
    return rows + read(past.order_by(*order)[: wanted - len(rows)]), None


def windowed_count(queryset, window, limit):
    """How many orders of a tier (orders.search.Window) there are, counting no further than
    `limit`: in the newest window.count_size orders of the list first; then, when the text
    is common enough there to reach the bound within window.count_reach orders, in those
    next orders, checked the same way (FTS5 would return every match of a common text,
    100,000 for "ones" at a million orders); only then the indexed query past them. Each
    stretch of newest orders is a range of the list's index up to its last order."""
    fields = ["created_at", "id"]
    order = ["-created_at", "-id"]
    keys = window.around.order_by(*order).values_list(*fields)
    size = window.count_size
    last = list(keys[size - 1 : size])
    if not last:
        return window.plain.order_by()[:limit].count()
    last = list(last[0])
    newest = past_cursor(fields, last, True, False, including=True)  # through `last`
    found = window.plain.filter(newest).order_by()[:limit].count()
    if found >= limit:
        return found
    reach = window.count_reach
    if reach > size and found * reach >= limit * size:
        further = list(keys[reach - 1 : reach])
        band = window.plain.filter(past_cursor(fields, last, True, True))
        if further:
            band = band.filter(past_cursor(fields, list(further[0]), True, False, including=True))
        found += band.order_by()[: limit - found].count()
        if found >= limit or not further:
            return found
        last = list(further[0])
    past = queryset.filter(past_cursor(fields, last, True, True))
    return found + past.order_by()[: limit - found].count()


# The sort after the rank that the list's index on (merchant, created_at, id) serves.
NEWEST_KEYS = ["created_at", "id"]


def _keys_and_count(queryset, limit, rest, order, newest, values, wanted):
    """[(0, count), (1, id)...]: the statement of _read_bounded, counting up to `limit`
    (None when the queryset cannot match)."""
    later = order[0].startswith("-")
    try:
        inner, params = (
            queryset.order_by(*(order if newest else ()))
            .values_list(*rest)[:limit]
            .query.get_compiler(using=queryset.db)
            .as_sql()
        )
    except EmptyResultSet:
        return None
    names = [f"k{i}" for i in range(len(rest))]
    past = ""
    if values is not None:
        marks = ", ".join(["%s"] * len(rest))
        past = f"WHERE ({', '.join(names)}) {'<' if later else '>'} ({marks})"
        # Compared with the keys as the database holds them: SQLite keeps a time as text,
        # which a Python datetime's own text (with its "+00:00") does not sort with.
        ops = connections[queryset.db].ops
        params = [
            *params,
            *(
                ops.adapt_datetimefield_value(value)
                if isinstance(value, datetime.datetime)
                else value
                for value in values
            ),
        ]
    ordering = ", ".join(f"{name} {'DESC' if later else 'ASC'}" for name in names)
    # Written for both databases: no LATERAL (SQLite has none); the count comes as part 0.
    statement = (
        f"WITH k({', '.join(names)}) AS MATERIALIZED ({inner}) "
        f"SELECT 0, COUNT(*) FROM k UNION ALL SELECT 1, id FROM "
        f"(SELECT {names[-1]} AS id FROM k {past} ORDER BY {ordering} LIMIT %s) page"
    )
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(statement, [*params, wanted])
        return cursor.fetchall()


def _count(found):
    return next(value for part, value in found if part == 0)


def _read_bounded(queryset, bounded, rest, descending, forward, values, wanted, read, rows=None):
    """(up to `wanted` rows, how many the tier holds up to bounded.limit) of a tier read with
    its count (orders.search.Bounded; on SQLite, the part of a Window past the window). One
    statement takes up to bounded.limit of the tier's keys in no order (the scan a bounded
    count makes), counts them, and sorts them to give the ids of the page past `values`.
    With fewer than the bound the tier is known whole and its rows are read by those ids;
    else the rows are None and the caller reads them along the tier's index (the ids sorted
    here are not the newest of all). `rows`: the tier's orders to read the page's rows from
    by id, when checking its condition on them costs less than asking its index again.
    A common text's first page in the list's default order takes its keys newest first
    instead (Bounded.newest): the first of them are the page, read by their ids, and the
    tier counts as the bound when they reach it. A text the sample expects often enough
    among the newest orders is counted in their own indexes first (Bounded.recent)."""
    later = descending == forward
    order = [f"-{f}" if later else f for f in rest]
    newest = bounded.newest and values is None and list(rest) == NEWEST_KEYS

    def by_ids(ids):
        chosen = (rows if rows is not None else queryset).filter(pk__in=ids)
        return read(chosen.order_by(*order)[:wanted])

    newest_ids = None
    if bounded.recent and values is None and not newest:
        # A text the sample expects the bound of among the newest orders: counted first in
        # the indexes of those alone, newest first (orders.search_recent), whose lists do
        # not grow with the table; it counts as the bound when they hold it.
        held, upper, known = 0, None, []
        whole = later and list(rest) == NEWEST_KEYS
        for lower in bounded.recent:
            tier = queryset.filter(created_at__gte=lower)
            if upper is not None:
                tier = tier.filter(created_at__lt=upper)
            found = _keys_and_count(tier, bounded.limit - held, rest, order, False, None, wanted)
            if found is None:
                break
            held += _count(found)
            # Known whole, as are the newer tiers: every order past them is older, so when
            # they fill the page it is theirs, whatever the count ("nas.jones3", in 0.07 %
            # of ten million orders: 70 ms when the page was then looked for in the newest
            # 20,000 orders and past them).
            whole = whole and held < bounded.limit
            if whole:
                known += [pk for part, pk in found if part == 1]
            if held >= bounded.limit:
                break
            upper = lower
        if len(known) >= wanted:
            newest_ids = known[:wanted]
        if held >= bounded.limit:
            page = None if newest_ids is None else by_ids(newest_ids)
            return page, bounded.limit
    found = _keys_and_count(queryset, bounded.limit, rest, order, newest, values, wanted)
    if found is None:
        return [], 0
    total = _count(found)
    if total >= bounded.limit and not newest:
        page = None if newest_ids is None else by_ids(newest_ids)
        return page, bounded.limit
    ids = [pk for part, pk in found if part == 1]
    if not ids:
        return [], total
    return by_ids(ids), total


def _read_tiers(tiers, fields, descending, forward, values, limit, read, whole=None):
    """Up to `limit` rows of a sort whose first field is a rank of few values (a search's
    relevance), read tier by tier: [(rank, queryset[, orders.search.Keys])] in any order.
    Each tier is read along the rest of the sort (its own index) and reading stops once the
    page is full, so no tier is sorted whole. `values`: the cursor's, or None from the start.
    `whole`, a dict, gets {rank: number of rows} of each tier read from its start to its
    end; of a Bounded tier, how many it holds up to its bound."""
    later = descending == forward  # walking towards smaller values
    rest = fields[1:]
    order = [f"-{f}" if later else f for f in rest]
    rows = []
    for rank, queryset, *keyed in sorted(tiers, key=lambda tier: tier[0], reverse=later):
        from_start = values is None or rank != values[0]
        after = None
        if values is not None:
            if (rank > values[0]) if later else (rank < values[0]):
                continue  # the whole tier lies behind the cursor
            if rank == values[0]:
                after = values[1:]
        wanted = limit - len(rows)
        how = keyed[0] if keyed else None
        found = None
        if isinstance(how, Bounded):
            found, size = _read_bounded(
                queryset, how, rest, descending, forward, after, wanted, read, rows=how.rows
            )
            if whole is not None:
                whole[rank] = size  # known whole, or counted as the bound
            if found is None and how.common is not None:
                # A common text: its page from the newest orders first (the window's bound
                # is 0: the count is known to be the bound already).
                found, _size = _read_windowed(
                    queryset, how.common, rest, descending, forward, after, wanted, read
                )
        if found is not None:
            pass  # read with its count above
        elif isinstance(how, Window):
            found, size = _read_windowed(
                queryset, how, rest, descending, forward, after, wanted, read
            )
            if size is not None and whole is not None:
                whole[rank] = size  # known whole, or counted as the bound
        elif how is not None and not isinstance(how, Bounded):
            found = _read_keyed(queryset, how, rest, descending, forward, after, wanted, read)
        else:
            if after is not None:
                queryset = queryset.filter(past_cursor(rest, after, descending, forward))
            found = read(queryset.order_by(*order)[:wanted])
        rows.extend(found)
        if whole is not None and from_start and len(found) < wanted and rank not in whole:
            whole[rank] = len(found)
        if len(rows) >= limit:
            break
    return rows


def keyset_page(queryset, *, sort, fields, descending, kinds, cursor, size, read=list, tiers=None):
    """One page of `queryset` (already ordered by `fields`, all ascending or all descending,
    the last one unique) starting at `cursor`.

    `read` turns the page's (sliced) queryset into its rows; each row has the sort fields as
    attributes. By default they are model instances. `tiers` ([(rank, queryset)]) splits the
    queryset by the value of its first sort field, read one after the other."""
    decoded = decode_cursor(cursor, sort, kinds)
    order = [f"-{f}" if descending else f for f in fields]
    reverse = [f if descending else f"-{f}" for f in fields]

    whole = {}

    def fetch(values, forward, limit):
        if tiers is not None:
            return _read_tiers(tiers, fields, descending, forward, values, limit, read, whole)
        chosen = queryset
        if values is not None:
            chosen = chosen.filter(past_cursor(fields, values, descending, forward))
        return read(chosen.order_by(*(order if forward else reverse))[:limit])

    if decoded is None:
        rows = fetch(None, True, size + 1)
        more_after, more_before, position = len(rows) > size, False, 1
        rows = rows[:size]
    else:
        direction, values, position = decoded
        if direction == NEXT:
            rows = fetch(values, True, size + 1)
            more_after, more_before = len(rows) > size, True
            rows = rows[:size]
        else:
            rows = fetch(values, False, size + 1)
            more_before, more_after = len(rows) > size, True
            rows = rows[:size][::-1]
            position = max(position - size, 1) if more_before else 1

    def key(row):
        return [getattr(row, f) for f in fields]

    newer = older = None
    if rows and more_before:
        newer = encode_cursor(sort, PREV, key(rows[0]), position)
    if rows and more_after:
        older = encode_cursor(sort, NEXT, key(rows[-1]), position + len(rows))
    return Page(
        object_list=rows,
        start_index=position if rows else 0,
        newer=newer,
        older=older,
        whole_tiers=whole if tiers is not None else None,
    )
