"""Prepared statements for the writers that save many orders one statement at a time.

Django leaves psycopg's prepared statements off, so PostgreSQL parses and plans every
statement anew. The chunked writers (review, bulk transitions) run the same guarded UPDATE
by primary key and the same key look-ups hundreds of times per transaction, where one plan
fits every execution: parsing and planning took up to half of each UPDATE (0.36-0.45 →
0.21-0.22 ms an order at a million orders, measured with psycopg alone). Inside `prepared()` psycopg
prepares a statement the connection has run five times, and PostgreSQL keeps its generic
plan once that costs no more than the custom ones (plan_cache_mode `auto`, the default).

The reads every page makes by a key (the session, the user, the memberships, the status
counts: orders/prepared.py, dashboard/sessions.py, dashboard/auth.py) are prepared the same
way. The rest of a page's statements keep planning for their values: a plan kept for one
merchant's search could be wrong for the next, whose text and size differ.
"""

import contextlib

from django.db import connections

THRESHOLD = 5


@contextlib.contextmanager
def prepared(using="default"):
    """Repeated statements are prepared inside this block (PostgreSQL with server-side
    binding; elsewhere nothing changes). Statements prepared here stay on the connection
    and are used again the next time the block runs on it."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not connection.features.uses_server_side_binding:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.prepare_threshold
    raw.prepare_threshold = THRESHOLD
    try:
        yield
    finally:
        raw.prepare_threshold = before
