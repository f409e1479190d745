"""Searching and sorting the order list: the domain owns its indexes.

One search box finds text anywhere in an order's number, customer name, customer email,
tracking number, line SKUs and internal notes, ignoring case and accents ("muller" finds
"Müller", "arcia@exam" finds "maria.garcia@example.com").

How it stays fast at a million orders:

- Every order keeps that text folded (lower case, accents removed) in `Order.search_text`,
  one field per line ("\\nnumber\\nname\\nemail\\ntracking\\nsku...\\nnote...\\n"), written
  by `reindex()`. Every path that writes those fields calls it: Order.save() when a searched
  field changed, the importers after the lines, a new note, the admin's field edits.
- PostgreSQL: a trigram GIN index on search_text (`pg_trgm`, migration 0010) answers
  `search_text LIKE '%text%'`.
- SQLite: an FTS5 table with the trigram tokenizer (`order_search`, rowid = order id),
  written by reindex() in the same transaction as search_text. The match is checked again on
  the order's own search_text, so an FTS row left behind (a test database flush) never shows.
- Either index is asked for a few of the text's rarest trigrams, chosen by a sample of the
  orders (index_pieces()), and the whole text is checked on each order it gives: a trigram
  in most orders (the "example" of an e-mail) costs the index a read of most orders.
- Texts shorter than a trigram (1 or 2 characters) match the start of the number, name or
  email, through the lower() indexes of migration 0005.

Ranking: an exact order number first, then orders whose number, customer name or e-mail
starts with the text, then orders with a line of that very SKU, then the rest; newest first
within each. `relevance` is that rank as a number (3, 2, 1, 0), so the list's sort is
(relevance, created, id), all descending, and cursors page through it. The list reads such
a page tier by tier (`tiers()`), each newest first, so a term found in half of all orders
costs one page of the creation index, not a sort of every match.
"""

import datetime
import re
import time
import unicodedata
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, F, IntegerField, OuterRef, Q, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Lower, StrIndex
from django.db.models.lookups import (
    Contains,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    LessThan,
    Lookup,
    StartsWith,
)

from . import search_recent

# The list's sorts: value -> (label, fields, how each field travels in a page cursor).
# Every one is served by an index ending in the tie-breaker, id (Order.Meta.indexes).
SORTS = [
    ("-created", "Newest first"),
    ("created", "Oldest first"),
    ("-changed", "Last status change"),
    ("changed", "Longest unchanged"),
    ("number", "Order number (A-Z)"),
    ("-number", "Order number (Z-A)"),
    ("-relevance", "Best match"),
]
SORT_FIELDS = {
    "created": ["created_at", "id"],
    "changed": ["status_changed_at", "id"],
    "number": ["number", "id"],
    "relevance": ["relevance", "created_at", "id"],
}
SORT_KINDS = {
    "created": ["datetime", "int"],
    "changed": ["datetime", "int"],
    "number": ["str", "int"],
    "relevance": ["int", "datetime", "int"],
}
DEFAULT_SORT = "-created"
SEARCH_SORT = "-relevance"
# Columns a user can sort by clicking their heading: (column, ascending sort, descending).
SORTABLE_COLUMNS = {
    "number": ("number", "-number"),
    "created": ("created", "-created"),
    "changed": ("changed", "-changed"),
}

# Shorter texts have no trigram: they match the start of a field instead.
TRIGRAM = 3
NOTE_CHARS = 500  # how much of each note is searchable
FTS_TABLE = "order_search"
_TOP = "\U0010ffff"  # every text starting with p sorts before p + this, byte-wise


def fold(text):
    """Text as search compares it: accents removed, case folded, spaces squeezed."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().replace("\x00", "").split())


def search_text(number, name, email, tracking, skus=(), notes=()):
    """The folded text stored for one order, one field per line, with a line break before
    the first and after the last, so "\\n" + text finds a field's start."""
    fields = [number, name, email, tracking, *skus, *(n[:NOTE_CHARS] for n in notes)]
    return "\n" + "\n".join(fold(f) for f in fields) + "\n"


# --- keeping the text in step ----------------------------------------------------------------

SEARCHED_FIELDS = ("number", "customer_name", "customer_email", "tracking_number")
CHUNK = 500


def reindex(order_ids):
    """Recompute the search text of these orders from the database and write it (and on
    SQLite the FTS5 rows) in the caller's transaction. Called by every path that writes a
    searched field, a line or a note."""
    from .models import Order, OrderLine, OrderNote

    ids = sorted(set(order_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        skus, notes = {}, {}
        for order_id, sku in OrderLine.objects.filter(order_id__in=chunk).values_list(
            "order_id", "sku"
        ):
            skus.setdefault(order_id, []).append(sku)
        for order_id, text in (
            OrderNote.objects.filter(order_id__in=chunk)
            .order_by("id")
            .values_list("order_id", "text")
        ):
            notes.setdefault(order_id, []).append(text)
        texts = {
            row[0]: search_text(*row[1:], skus.get(row[0], ()), notes.get(row[0], ()))
            for row in Order.objects.filter(pk__in=chunk).values_list("id", *SEARCHED_FIELDS)
        }
        _write(texts)


def _write(texts):
    if not texts:
        return
    rows = [(text, pk) for pk, text in texts.items()]
    with connection.cursor() as cursor:
        cursor.executemany('UPDATE "orders_order" SET "search_text" = %s WHERE "id" = %s', rows)
    mirror(texts)


def mirror(texts):
    """On SQLite, write {order id: search text} to the FTS5 table (replacing what it held for
    those ids); PostgreSQL indexes the column itself. For new orders whose creator computed
    search_text already (order_create, order_create_many)."""
    if connection.vendor != "sqlite" or not texts:
        return
    rows = [(text, pk) for pk, text in texts.items()]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT OR REPLACE INTO {FTS_TABLE} (text, rowid) VALUES (%s, %s)", rows
        )


def text_for_new(fields, number, lines):
    """The search text of an order about to be created from these field values and line
    dicts (it has no notes yet)."""
    return search_text(
        number,
        fields.get("customer_name", ""),
        fields.get("customer_email", ""),
        fields.get("tracking_number", ""),
        [line["sku"] for line in lines],
    )


def reindex_all(batch=5000, *, out=None):
    """Rebuild every order's search text (data generators, a restored database)."""
    from .models import Order

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")
    last = 0
    done = 0
    while True:
        ids = list(
            Order.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return done
        reindex(ids)
        done += len(ids)
        last = ids[-1]
        if out:
            out(f"{done:,} orders indexed")


# --- asking ------------------------------------------------------------------------------------


def _fold_like_lower(value):
    """The text folded the way the database's lower() folds stored values: SQLite's lower()
    changes ASCII letters only, PostgreSQL's all of them."""
    if connection.vendor == "sqlite":
        return value.translate(_ASCII_LOWER)
    return value.lower()


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def starts_with(field, value):
    """Case-insensitive prefix match that an index on (merchant, lower(field)) answers
    (migration 0005): LIKE 'p%' with text_pattern_ops on PostgreSQL, a range on SQLite,
    whose LIKE cannot use an expression index."""
    folded = _fold_like_lower(value)
    if connection.vendor == "sqlite":
        return Q(GreaterThanOrEqual(Lower(F(field)), folded)) & Q(
            LessThan(Lower(F(field)), folded + _TOP)
        )
    return Q(StartsWith(Lower(F(field)), folded))


def same_text(field, value):
    """Case-insensitive equality on lower(field), answered by the same indexes."""
    return Q(Exact(Lower(F(field)), _fold_like_lower(value)))


def _fts_phrase(folded):
    return '"' + folded.replace('"', '""') + '"'


def matching(text):
    """A condition on orders: `text` is somewhere in their searched fields."""
    folded = fold(text)
    if len(folded) < TRIGRAM:
        return (
            starts_with("number", text)
            | starts_with("customer_name", text)
            | starts_with("customer_email", text)
        )
    pieces = index_pieces(folded)
    if connection.vendor == "sqlite":
        in_fts = RawSQL(
            f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s",
            [" AND ".join(_fts_phrase(piece) for piece in pieces)],
        )
        return Q(pk__in=in_fts) & _contains(folded)
    # The whole text is checked on `search_text || ''`, which the trigram index does not
    # answer (so it is not asked for every trigram), and whose LIKE the planner still
    # counts as narrowing (strpos() it would take to keep a third of the rows, and then walk
    # the newest orders looking for a rare text).
    whole = Q(Contains(Concat(F("search_text"), Value(""), output_field=TextField()), folded))
    grams = long_pieces(folded)
    if grams:
        return Q(_HasGrams(F("search_text"), grams)) & whole
    if pieces == [folded]:
        return Q(search_text__contains=folded)
    # The pieces in one LIKE, in the text's order: as separate conditions PostgreSQL
    # judged each too narrow and, at ten million orders, ANDed the trigram index with a
    # scan of every order of the merchant (350 ms instead of 150).
    return Q(_Like(F("search_text"), _pattern(folded, pieces))) & whole


class _Like(Lookup):
    """`field LIKE pattern`, the pattern as given (its pieces are letters and digits)."""

    lookup_name = "like_pattern"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs}", [*lhs_params, *rhs_params]


def _pattern(folded, pieces):
    """A LIKE pattern every text holding `folded` matches: its pieces where they first
    stand in it, in that order, those that overlap joined into the stretch they cover
    ("333" and "334" of "0333334" as "3334"), with anything between them."""
    spans = sorted((folded.index(piece), folded.index(piece) + len(piece)) for piece in pieces)
    joined = [list(spans[0])]
    for start, end in spans[1:]:
        if start < joined[-1][1]:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return "%" + "%".join(folded[start:end] for start, end in joined) + "%"


# --- which trigrams to ask the index for --------------------------------------------------
#
# The trigram index (GIN on PostgreSQL, FTS5 on SQLite) answers a text by reading the whole
# list of orders of each of its trigrams and keeping the orders on every list. A list costs
# what it holds: "nes" (in every Jones) is in a tenth of all orders and took 12 ms at a
# million, "es3" 1 ms. A text's trigrams are far from equal: the "example" of an e-mail and
# the "940" and "000" of a tracking number are in most orders. So the index is asked for a
# few of the text's rarest trigrams, and the whole text is checked on the orders it gives.
# How common each trigram is comes from a sample of the newest orders' search texts.

SAMPLE = 2000  # orders in the sample
SAMPLE_SECONDS = 3600  # how long a sample is used before it is taken again
SAMPLE_MINIMUM = 500  # with fewer orders the index costs nothing: the text is asked whole
PIECES = 4  # trigrams asked at most
# What checking one order the index gave costs, in entries of a trigram's list read
# (PostgreSQL at a million orders: about 1.2 us an order against 0.12 us an entry).
CHECK_COST = 10
# What reading a further trigram's list while skipping along it costs at least, for each
# entry of that list: reading the 605,000 entries of "cas" beside rarer trigrams took 2.4 ms
# at ten million orders (PostgreSQL), about a thirtieth of reading them one by one.
LIST_COST = 0.03
_samples = {}  # database alias -> (monotonic time, orders sampled, {trigram: bit mask})
_spans = {}  # database alias -> how many orders the sample was spread over (by id)
_gram_counts = {}  # database alias -> {five-character piece: sampled orders holding it}
# A text the sample expects in no more orders than this (of all merchants) is read from
# FTS5 at once on SQLite, not first looked for among the newest orders (Window).
RARE = 2000
_RUNS = re.compile(r"[^\W_]+")


def _grams(text):
    """The trigrams of a text's runs of letters and digits: the ones both indexes hold as
    they are (PostgreSQL's pg_trgm splits words at any other character)."""
    return _pieces_of_runs(_RUNS, text, TRIGRAM)


def _pieces_of_runs(runs, text, size):
    """Every `size` consecutive characters within one of the text's runs (`runs`, a
    pattern)."""
    return {run[i : i + size] for run in runs.findall(text) for i in range(len(run) - size + 1)}


def trigram_sample(alias=None):
    """(orders sampled, {trigram: int whose bit i says whether sampled order i has it}),
    from the search texts of up to SAMPLE orders spread evenly over all of them (the newest
    alone would say little of tracking numbers, which come later), kept SAMPLE_SECONDS."""
    from django.db.models import Max, Min

    from .models import Order

    alias = alias or connection.alias
    now = time.monotonic()
    kept = _samples.get(alias)
    if kept is not None and now - kept[0] < SAMPLE_SECONDS:
        return kept[1], kept[2]
    orders = Order.objects.using(alias)
    ends = orders.aggregate(low=Min("pk"), high=Max("pk"))
    masks, counts, size, span = {}, {}, 0, 0
    if ends["low"] is not None:
        low, high = ends["low"], ends["high"]
        span = high - low + 1
        step = max(1, (high - low + 1) // SAMPLE)
        ids = range(low, high + 1, step)[:SAMPLE]
        texts = orders.filter(pk__in=list(ids)).values_list("search_text", flat=True)
        for size, text in enumerate(texts.iterator(chunk_size=SAMPLE), start=1):
            bit = 1 << (size - 1)
            for gram in _grams(text or ""):
                masks[gram] = masks.get(gram, 0) | bit
            for gram in long_grams(text or ""):
                counts[gram] = counts.get(gram, 0) + 1
    _samples[alias] = (now, size, masks)
    _spans[alias] = span
    _gram_counts[alias] = counts
    return size, masks


def forget_sample():
    """Drop the kept samples (tests that write their own orders, a restored database)."""
    _samples.clear()
    _spans.clear()
    _gram_counts.clear()


def expected_orders(pieces, sample=None, span=None):
    """About how many orders (of all merchants) hold every trigram of `pieces`, the orders
    the index gives for them, by the sample; None when there is no sample to go by or a
    piece has no trigram of letters and digits."""
    size, masks = sample if sample is not None else trigram_sample()
    span = span if span is not None else _spans.get(connection.alias, 0)
    if size < SAMPLE_MINIMUM or not span:
        return None
    together = (1 << size) - 1
    for piece in pieces:
        grams = _grams(piece)
        if not grams:
            return None
        for gram in grams:
            together &= masks.get(gram, 0)
    return (together.bit_count() + 0.5) / (size + 1) * span


def _newest_holding(pieces, wanted, low, high, unknown):
    """How many of the newest orders should hold `wanted` orders with `pieces` by the
    sample, between `low` and `high`; `unknown` without a sample to go by."""
    expected = expected_orders(pieces)
    span = _spans.get(connection.alias, 0)
    if not expected or not span or not wanted:
        return unknown
    return int(min(high, max(low, wanted * span / expected)))


def common_window(pieces):
    """How many of the newest orders a common text's page is looked for among first
    (Bounded.common): by the sample, three pages of its orders' worth, between WINDOW and
    COMMON_WINDOW (finding where a window ends reads that much of the list's index)."""
    return _newest_holding(pieces, 3 * PAGE_ROWS, WINDOW, COMMON_WINDOW, COMMON_WINDOW)


def count_window(pieces, bound):
    """How many of the newest orders a common text's count ("1,000+") checks first on
    SQLite (Window.count_size): as many as should hold `bound` of its orders by the sample,
    and half again, between COUNT_WINDOW and COUNT_REACH, so one statement reaches the
    bound where two did (the window, then the orders up to COUNT_REACH)."""
    return _newest_holding(pieces, 1.5 * (bound or 0), COUNT_WINDOW, COUNT_REACH, COUNT_WINDOW)


def index_pieces(folded, sample=None):
    """What of a folded search text (three characters or more) the trigram index is asked
    for: a few of its trigrams, chosen so that reading their lists and then checking the
    orders found on all of them costs least by the sample (`sample`: (orders sampled,
    masks) as trigram_sample() gives), or the whole text when there is no sample to go by
    or no trigram of letters and digits. Always substrings of `folded`, so every order
    holding the text is among those the index gives."""
    size, masks = sample if sample is not None else trigram_sample()
    grams = _grams(folded)
    if size < SAMPLE_MINIMUM or not grams:
        return [folded]
    if len(grams) <= PIECES and _RUNS.fullmatch(folded):
        # A short word ("jones"): asked whole, nothing is left to check on the orders, and
        # PostgreSQL's planner knows from the column's statistics how common it is (it walks
        # the newest orders for a common one instead of reading the index).
        return [folded]

    def share(mask):  # of all orders, the part holding these trigrams, by the sample
        return (mask.bit_count() + 0.5) / (size + 1)

    # The rarest trigram's list is read whole; each further one costs about an entry per
    # order still in the running (the index skips along its list), but no less than
    # LIST_COST of its whole list, and each order left at the end costs CHECK_COST entries
    # to check.
    rarest = sorted(grams, key=lambda gram: (masks.get(gram, 0).bit_count(), gram))
    chosen, together, cost = [], (1 << size) - 1, float("inf")
    left = 1.0  # the part of all orders holding the chosen trigrams, by the sample
    read = 0.0
    for gram in rarest:
        mask = masks.get(gram, 0)
        more_read = read + max(LIST_COST * share(mask), min(share(mask), left))
        more_together = together & mask
        if more_together or together:
            more_left = share(more_together)
        else:
            # The sample holds none of the orders still in the running, so it cannot tell
            # which of them this trigram rules out: it keeps the part of them that it keeps
            # of the orders holding the chosen trigram it goes with most (of the same word,
            # "luc" beside "cas" of "lucas", it rules out none).
            more_left = left * max(_given(mask, masks.get(other, 0)) for other in chosen)
        more_cost = more_read + CHECK_COST * more_left
        if more_cost < cost:
            chosen.append(gram)
            read, together, left, cost = more_read, more_together, more_left, more_cost
            if len(chosen) == PIECES:
                break
    return sorted(chosen, key=folded.index)


def _given(mask, other):
    """Of the sampled orders holding the trigram of `other`, the part also holding that of
    `mask`."""
    return ((mask & other).bit_count() + 0.5) / (other.bit_count() + 1)


# --- five-character pieces (PostgreSQL) ------------------------------------------------------
#
# A trigram's list grows with the orders: "333" and "334" of a tracking number are each in
# hundreds of thousands of ten million orders, and the orders on both lists in thousands, all
# read and checked to answer a search that finds one. PostgreSQL also indexes the
# five-character pieces of every run of ASCII letters and digits (migration 0015, the SQL
# function order_search_grams): "33334" or "er335" is in a few orders of a million and a few
# dozen of ten million, so the two rarest pieces of a whole tracking number, e-mail or
# number leave a handful of orders to check at any size. A text whose pieces are all common
# ("uller") is asked for its trigrams, as before.

GRAM = 5
_ASCII_RUNS = re.compile(r"[a-z0-9]+")
# The rarest piece must be in no more than this many of the sampled orders (0.2 %): a
# commoner one gives more orders to check than the trigrams do.
GRAM_RARE = 4
GRAM_PIECES = 2  # pieces asked at most


def long_grams(text):
    """The five-character pieces of a text's runs of ASCII letters and digits, as the SQL
    function order_search_grams() gives them for a stored search text: a text holding
    another holds every piece of it (consecutive letters and digits stand in one run)."""
    return _pieces_of_runs(_ASCII_RUNS, text, GRAM)


def long_pieces(folded):
    """The rarest five-character pieces of a folded search text to ask the index of
    order_search_grams() for (PostgreSQL), or None when trigrams serve better: no sample to
    go by, no piece of five ASCII letters or digits, or none rare enough. Ties (pieces the
    sample never saw) go to the later piece: a tracking number's or an e-mail's end tells
    orders apart more than its start."""
    if connection.vendor != "postgresql":
        return None
    size, _masks = trigram_sample()
    counts = _gram_counts.get(connection.alias)
    grams = long_grams(folded)
    if size < SAMPLE_MINIMUM or counts is None or not grams:
        return None
    rarest = sorted(grams, key=lambda gram: (counts.get(gram, 0), -folded.rindex(gram)))
    if counts.get(rarest[0], 0) > GRAM_RARE:
        return None
    return sorted(rarest[:GRAM_PIECES], key=folded.index)


class _HasGrams(Lookup):
    """Every one of the pieces is among order_search_grams(field): answered by its GIN
    index (migration 0015)."""

    lookup_name = "has_grams"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        marks = ", ".join(["%s"] * len(self.rhs))
        return f"order_search_grams({lhs}) @> ARRAY[{marks}]::text[]", [*lhs_params, *self.rhs]


def _exact(text):
    """The order number is the text (in any case): an index lookup."""
    return same_text("number", text)


def _prefix(text):
    """The number, customer name or customer email starts with the text: three index ranges
    (migration 0005)."""
    return (
        starts_with("number", text)
        | starts_with("customer_name", text)
        | starts_with("customer_email", text)
    )


def _sku(text, merchant):
    """A line's SKU is the text (in any case): the orders of those lines, from the index on
    (merchant, lower(sku)) (migration 0009). Without a merchant, each order's own."""
    from .models import OrderLine

    lines = OrderLine.objects.filter(same_text("sku", text))
    if merchant is not None:
        lines = lines.filter(merchant=merchant)
    else:
        lines = lines.filter(merchant_id=OuterRef("merchant_id"))
    return Q(pk__in=lines.values("order_id"))


@dataclass
class Keys:
    """A tier read through another table's index (dashboard.paging reads it): `keys` gives,
    in the list's order, the values of its sort fields after the rank (`fields`, the last one
    the order's id), several times per order at most."""

    keys: object  # a queryset
    fields: list
    # The tier's orders whose rows are read by the ids of the keys, without the condition
    # the keys met already (a second look at the lines' index per row); None: the tier's.
    rows: object = None
    # True when the list has no filter but the search: the tier's orders are then the keys'
    # orders less those of the better tiers, and it can be counted from the keys alone.
    alone: bool = False


@dataclass
class Window:
    """A tier first looked for among the newest `size` orders of the list (`around`, in the
    list's order), with `plain` (the tier's condition, checked on each of them without an
    index); only when those hold too few is the tier's indexed query read, past them
    (dashboard.paging reads it). A text found in many orders fills a page from the window."""

    around: object  # the list's orders without the search
    plain: object  # the tier's orders, checked without an index
    size: int
    count_size: int
    count_reach: int = 0  # how far a count goes on checking orders itself (windowed_count)
    bound: int = 0  # the count's bound: past the window, rows are read with their count


@dataclass
class Bounded:
    """A tier read together with its count (dashboard.paging reads it): first up to `limit`
    of its keys (the sort's fields after the rank), in no order, as a bounded count would
    count them: one scan of the trigram index. With fewer than `limit`, the tier is known
    whole: its page comes from those keys, sorted in Python, and the list does not count it
    again (a rare text cost two scans of the index, one for the rows, one for the count).
    With `limit` of them, the text is common: the tier is read along the creation index like
    any other, where its matches are dense, and it counts as `limit` ("1,000+")."""

    limit: int
    # The tier's orders, checked without the index, to read the page's rows from by id
    # (SQLite: not through FTS5 a second time); None: the tier's own.
    rows: object = None
    # With `limit` keys or more: a Window of the newest orders to read the page from first
    # (see COMMON_WINDOW); None: along the creation index with the tier's own condition.
    common: object = None
    # The sample calls the text common (PostgreSQL): the first page's keys are taken newest
    # first along the list's index, so the scan that counts to the bound also gives the
    # page's ids (one statement instead of two), and it reads the newest orders, which the
    # list keeps in the database's cache, instead of scanning the table from its start.
    newest: bool = False
    # The sample expects the bound among the newest orders the recent trigram indexes hold
    # (orders.search_recent): the count is asked of them first, newest first, for the orders
    # created from each of these times on (and before the one ahead of it).
    recent: tuple[datetime.datetime, ...] | None = None


# Orders a Window looks at for a page, and for a count ("1,000+"): reading a few thousand rows
# by the creation index costs a few milliseconds on SQLite.
WINDOW = 2000
COUNT_WINDOW = 5000
# A text in more orders than the count's bound has its page looked for among this many of
# the newest orders first, checked one by one (Bounded.common). Asked through the trigram
# index, PostgreSQL expects a few hundred matches of any text, so it reads every match and
# sorts them: 910 ms for "cas.muller", in 54,682 of ten million orders, against walking
# the newest orders until the page is full.
COMMON_WINDOW = 20000
# A text the sample expects to find the count's bound of among this many of the newest
# orders has its bounded count taken newest first (Bounded.newest): the walk's length does
# not grow with the table ("ones", in 8 % of the orders: about 13,000 orders, 4 ms). A
# rarer text is left to the planner, which scans its matches from the trigram index.
NEWEST_WALK = 20000
# A text is counted in the recent trigram indexes first when the sample expects the bound of
# it within the newest search_recent.RECENT / RECENT_MARGIN orders a tier (each holds more).
RECENT_MARGIN = 1.5
PAGE_ROWS = 51  # a page of the list and the row that tells whether another follows
# A count goes on checking the newest orders itself up to here when the text is common
# enough in the first COUNT_WINDOW to reach the bound within them (dashboard.paging).
COUNT_REACH = 20000


def _contains(folded):
    """The folded text is in the order's search text, checked on each row (no index)."""
    return Q(GreaterThan(StrIndex(F("search_text"), Value(folded)), 0))


def sku_keys(text, merchant, listed):
    """(order creation time, order id) of the lines of SKU `text`, to read a SKU's orders
    newest first from the index orderline_merchant_sku (merchant, lower(sku), listed, order
    creation time, order id; order lines keep copies of their order's, migration 0009), or
    None without a merchant."""
    from .models import OrderLine

    if merchant is None:
        return None
    lines = OrderLine.objects.filter(same_text("sku", text), merchant=merchant)
    # `listed IN (x)`: SQLite reads a bare boolean as a test on each row, not as a key of the
    # index; a one-value IN is an equality.
    return Keys(lines.filter(listed__in=[listed]), ["order_created_at", "order_id"])


def relevance(text, merchant=None):
    """3 for the exact order number, 2 where the number, name or e-mail starts with the text,
    1 where a line's SKU is the text, 0 for the rest (text found anywhere else)."""
    return Case(
        When(_exact(text), then=Value(3)),
        When(_prefix(text), then=Value(2)),
        When(_sku(text, merchant), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def sku_query(merchant, text):
    """One SKU of this merchant's lines equal to `text` in any case, if any (a query to run,
    answered by the index on lower(sku))."""
    from .models import OrderLine

    lines = OrderLine.objects.filter(same_text("sku", text))
    if merchant is not None:
        lines = lines.filter(merchant=merchant)
    return lines.order_by().values_list("sku", flat=True)[:1]


def tiers(
    searched,
    text,
    merchant=None,
    *,
    any_exact=True,
    any_sku=True,
    unsearched=None,
    listed=True,
    bound=None,
    alone=False,
):
    """[(relevance, orders)] best first: `searched` (orders filtered by matching()) split by
    relevance, so a page sorted by best match reads each tier newest first along the
    creation index and stops when the page is full, instead of ranking every match of a
    broad term first.
    `any_exact=False` / `any_sku=False`: the caller knows no order has the number
    (same_numbers() found none) / no line has the SKU (sku_query()), so that tier is not asked
    for. `unsearched`: the orders before matching(), from which the SKU tier is read; its
    orders come newest first from the lines' index (sku_keys(); `listed`: whether the list
    shows listed or clean-swept orders). `bound`: the last tier is read with its count up
    to this bound (Bounded: on PostgreSQL, and on SQLite for a text the sample calls rare).
    `alone`: the list has no other filter (Keys.alone)."""
    exact, prefix, sku = _exact(text), _prefix(text), _sku(text, merchant)
    folded = fold(text)
    found = []
    if len(folded) < TRIGRAM:  # shorter texts match only at the start: two tiers
        if any_exact:
            found.append((3, _ranked(searched.filter(exact), 3)))
        found.append((2, _ranked(searched.filter(~exact & prefix), 2)))
        return found
    # The first tiers come from their own indexes (number, name, e-mail, a line's SKU); the
    # text is then checked on those few orders, without the trigram index.
    base = searched
    contains = Q()
    if unsearched is not None:
        base = unsearched  # each tier gets its rank as a constant (_ranked)
        contains = _contains(folded)
    if any_exact:
        found.append((3, _ranked(base.filter(exact & contains), 3)))
    found.append((2, _ranked(base.filter(~exact & prefix & contains), 2)))
    rest = ~exact & ~prefix
    if any_sku:
        # A line whose SKU is the text puts it in the order's search text: these orders match
        # without asking the trigram index, which finds every order with "cap" and "blk" and
        # "2xl" for CAP-BLK-2XL. The lines' own index answers instead.
        keys = sku_keys(text, merchant, listed)
        if keys is not None:
            keys.rows = _ranked(base.filter(rest), 1)
            keys.alone = alone
        found.append((1, _ranked(base.filter(rest & sku), 1), keys))
        rest &= ~sku
    found.append(
        _Later(0, lambda: _last_tier(searched, base, unsearched, folded, rest, contains, bound))
    )
    return found


def _last_tier(searched, base, unsearched, folded, rest, contains, bound):
    """(orders, how to read them) of the last tier: the text anywhere else."""
    how = None
    if connection.vendor == "sqlite" and unsearched is not None:
        # The text first: SQLite checks the conditions in the order written, and instr()
        # rules out most orders before the three lower() of the prefix test are computed.
        plain = _ranked(base.filter(contains & rest), 0)
        pieces = index_pieces(folded)
        expected = expected_orders(pieces)
        if bound and expected is not None and expected <= RARE:
            # A rare text: FTS5 gives its few orders at once, with their count.
            common = Window(unsearched, plain, common_window(pieces), 0)
            how = Bounded(bound, rows=plain, common=common)
        else:
            # SQLite reads every FTS5 match before the first row: a text in half of all
            # orders costs seconds. The newest orders are looked at first (Window).
            counted = count_window(pieces, bound)
            how = Window(unsearched, plain, WINDOW, counted, COUNT_REACH, bound or 0)
    elif bound is not None:
        common = recent = None
        newest = False
        if unsearched is not None:
            plain = _ranked(base.filter(contains & rest), 0)
            pieces = index_pieces(folded)
            common = Window(unsearched, plain, common_window(pieces), 0)
            # How many of the newest orders hold `bound` of the text's, by the sample.
            walk = _newest_holding(pieces, bound, 0, float("inf"), None)
            newest = walk is not None and walk <= NEWEST_WALK
            if not newest and walk is not None:
                recent = search_recent.boundary()
                if recent and walk * RECENT_MARGIN > search_recent.RECENT * len(recent):
                    recent = None
        how = Bounded(bound, common=common, newest=newest, recent=recent)
    return _ranked(searched.filter(rest), 0), how


class _Later:
    """A tier built when it is first read, as (rank, orders, how) like the others: a page
    filled by the better tiers, whose count passes the bound there too, never builds it
    (its conditions cost a millisecond of the ORM's time). Its rank is known at once: the
    list orders the tiers by it."""

    def __init__(self, rank, build):
        self.rank = rank
        self._build = build
        self._parts = None

    def __getitem__(self, index):
        return self.rank if index == 0 else tuple(self)[index]

    def __iter__(self):
        if self._parts is None:
            self._parts = (self.rank, *self._build())
        return iter(self._parts)


def _ranked(orders, rank):
    """A tier's orders with their relevance as the constant it is within the tier, instead
    of the ranking's CASE (whose SKU test reads the lines' index) on every row."""
    return orders.annotate(relevance=Value(rank, output_field=IntegerField()))


def sort_of(value, searching):
    """(sort value, fields, descending) for a sort asked for (or "" for the default). Best
    match is the default while searching and means newest first otherwise."""
    sort = value or (SEARCH_SORT if searching else DEFAULT_SORT)
    if sort.lstrip("-") == "relevance" and not searching:
        sort = DEFAULT_SORT
    return sort, SORT_FIELDS[sort.lstrip("-")], sort.startswith("-")


def same_numbers_query(queryset, text):
    """Up to three numbers of `queryset` equal to `text` in any case (a query to run)."""
    text = (text or "").strip()
    return queryset.filter(same_text("number", text)).values_list("number", flat=True)[:3]


def same_numbers(queryset, text):
    """Up to three numbers of `queryset` equal to `text` in any case. One query."""
    if not (text or "").strip():
        return []
    return list(same_numbers_query(queryset, text))


def exact_number(queryset, text, found=None):
    """The order of `queryset` that `text` names, to jump to: the number spelled exactly so,
    else the only one spelled in another case ("ab-1001" for AB-1001); None when there is
    none or the case leaves it open. `found`: same_numbers() if already read; else one
    query."""
    text = (text or "").strip()
    if found is None:
        found = same_numbers(queryset, text)
    if text in found:
        return text
    return found[0] if len(found) == 1 else None
