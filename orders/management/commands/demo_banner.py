"""Prints where the demo runs, how to sign in and where the background processes log;
`make run` shows it once the server answers (scripts/run-demo.sh)."""

from django.core.management.base import BaseCommand

from .seed_demo import DEMO_PASSWORD, LOGINS


class Command(BaseCommand):
    help = "Print the dashboard URL, the demo logins and the demo's log files."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/")
        parser.add_argument(
            "--log",
            action="append",
            default=[],
            metavar="NAME=PATH",
            help="a background process and its log file (repeatable)",
        )
        parser.add_argument(
            "--footer",
            default="Ctrl-C stops everything; `make reset` starts a fresh demo.",
            help="the last line (make serve says something else than make run)",
        )

    def handle(self, *args, url, log, footer, **options):
        line = "=" * 72
        self.stdout.write(line)
        self.stdout.write(f"  Merchant fulfillment dashboard: {url}")
        self.stdout.write(f"  Operations admin:               {url}admin/")
        self.stdout.write(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, label in LOGINS:
            self.stdout.write(f"    {username:<10} {label}")
        if log:
            self.stdout.write("  Background logs (watch one with tail -f):")
            for item in log:
                name, _sep, path = item.partition("=")
                self.stdout.write(f"    {name:<10} {path}")
        self.stdout.write(f"  {footer}")
        self.stdout.write(line)
