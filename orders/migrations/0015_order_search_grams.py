"""Search (orders/search.py, long_pieces): on PostgreSQL, an index of the five-character
pieces of every run of ASCII letters and digits in an order's search text. A whole tracking
number, an e-mail or a number's digits are found through two of their rarest pieces, whose
lists hold a few orders even at ten million, where the trigram index's lists of "333" or
"334" hold hundreds of thousands."""

from django.db import migrations

# Kept in step with orders.search.long_grams (a test compares the two on many texts).
FUNCTION = r"""
CREATE OR REPLACE FUNCTION order_search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(run, i, 5)), '{}')
    FROM regexp_split_to_table(t, '[^a-z0-9]+') AS run,
         generate_series(1, length(run) - 4) AS i
$$
"""
INDEX = (
    'CREATE INDEX IF NOT EXISTS "order_search_grams" ON "orders_order" '
    'USING gin (order_search_grams("search_text"))'
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite searches through its FTS5 trigram table alone
    schema_editor.execute(FUNCTION)
    schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute('DROP INDEX IF EXISTS "order_search_grams"')
    schema_editor.execute("DROP FUNCTION IF EXISTS order_search_grams(text)")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_order_in_review_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
