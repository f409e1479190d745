"""Recompute the kept status counts from the orders (after a bulk load, or as a repair)."""

from django.core.management.base import BaseCommand, CommandError

from orders.counts import rebuild_status_counts
from orders.models import Merchant


class Command(BaseCommand):
    help = "Recompute the dashboard's status counts from the orders, for one merchant or all."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", help="Slug of one merchant; all merchants if left out.")

    def handle(self, *args, merchant=None, **options):
        chosen = None
        if merchant:
            chosen = Merchant.objects.filter(slug=merchant).first()
            if chosen is None:
                raise CommandError(f"No merchant with slug {merchant!r}.")
        rebuild_status_counts(chosen)
        self.stdout.write(f"Status counts rebuilt for {chosen or 'all merchants'}.")
