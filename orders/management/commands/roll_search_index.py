"""Make, move forward or drop the trigram indexes of the newest orders (orders.search_recent:
a tier of the newest million, and one of the million before) that counts of search texts
are asked of first on a large PostgreSQL table. Run it after a bulk load and from time to
time (daily is plenty: the tiers are moved once the orders since grow past
orders.search_recent.ROLL); searches stay right without them, only slower."""

from django.core.management.base import BaseCommand

from orders import search_recent


class Command(BaseCommand):
    help = "Keep the trigram indexes of the newest orders (PostgreSQL, large tables) up to date."

    def handle(self, *args, **options):
        self.stdout.write(search_recent.roll())
