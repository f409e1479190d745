"""Prints where the demo runs and how to sign in; `make run` shows it before serving."""

from django.core.management.base import BaseCommand

from .seed_demo import DEMO_PASSWORD, LOGINS


class Command(BaseCommand):
    help = "Print the dashboard URL and the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")

    def handle(self, *args, url, **options):
        line = "=" * 72
        self.stdout.write(line)
        self.stdout.write(f"  Merchant fulfillment dashboard: {url}")
        self.stdout.write(f"  Operations admin:               {url}admin/")
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, label in LOGINS:
            self.stdout.write(f"    {username:<10} {label}")
        self.stdout.write(line)
