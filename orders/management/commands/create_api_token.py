from django.core.management.base import BaseCommand, CommandError

from orders.models import Merchant
from orders.tokens import token_create


class Command(BaseCommand):
    help = "Create an API token for a merchant and print it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("--name", required=True, help="which integration uses it")

    def handle(self, *args, merchant, name, **options):
        try:
            owner = Merchant.objects.get(slug=merchant)
        except Merchant.DoesNotExist:
            raise CommandError(f"No merchant with slug '{merchant}'.") from None
        if not name.strip():
            raise CommandError("--name must not be empty.")
        token, raw = token_create(merchant=owner, name=name)
        self.stdout.write(
            f"Token '{token.name}' for {owner.name}. Copy it now: it is not shown again."
        )
        self.stdout.write(raw)
