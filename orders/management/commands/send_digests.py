"""Send the daily digest e-mails (run once a day, e.g. from cron)."""

from django.core.management.base import BaseCommand

from orders.notify import send_digests


class Command(BaseCommand):
    help = "E-mail each member who chose a daily digest the events since their last one."

    def handle(self, *args, **options):
        sent = send_digests()
        self.stdout.write(f"{sent} digest e-mail(s) sent.")
