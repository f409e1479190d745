"""Recompute every order's search text (and SQLite's FTS5 rows) after a bulk load that went
around orders.search.reindex(), or as a repair."""

from django.core.management.base import BaseCommand

from orders.search import reindex_all


class Command(BaseCommand):
    help = "Rebuild the order search index (search text of every order) from the orders."

    def handle(self, *args, **options):
        done = reindex_all(out=lambda line: self.stdout.write(line))
        self.stdout.write(f"Search index rebuilt for {done:,} orders.")
