from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from orders.formats import identify
from orders.importing import ImportFileError, create_batch, decode_upload, run_batch
from orders.models import BATCH_FAILED, ImportBatch, Merchant


class Command(BaseCommand):
    help = (
        "Import orders from a CSV file and review them: the upload template's columns, a "
        "Shopify orders export as is, or any CSV through a column mapping saved in the "
        "dashboard (found from the file's headers, or named with --mapping)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--merchant", required=True, help="merchant slug")
        parser.add_argument("file", help="path to the CSV file")
        parser.add_argument("--mapping", default="", help="name of a saved column mapping")

    def handle(self, *args, merchant, file, mapping="", **options):
        try:
            owner = Merchant.objects.get(slug=merchant)
        except Merchant.DoesNotExist:
            raise CommandError(f"No merchant with slug '{merchant}'.") from None
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            text = decode_upload(path.read_bytes())
            kind, saved = identify(owner, text, mapping or None)
            batch = create_batch(
                merchant=owner,
                content=text,
                filename=path.name,
                source="command",
                kind=kind,
                mapping=saved,
            )
        except ImportFileError as exc:
            raise CommandError(exc.message) from None
        run_batch(batch.pk)
        batch = ImportBatch.objects.get(pk=batch.pk)
        for row in batch.rows.exclude(outcome__in=["created", "reimported"]):
            where = f"row {row.row}" + (f", {row.field}" if row.field else "")
            self.stdout.write(
                f"{where}: {row.number or '-'}: {row.get_outcome_display()}. {row.message}"
            )
        summary = (
            f"Batch {batch.pk} ({batch.read_as}): {batch.created} created, "
            f"{batch.reimported} reimported, "
            f"{batch.skipped} skipped, {batch.refused} refused, {batch.errors} errors."
        )
        if batch.state == BATCH_FAILED:
            raise CommandError(f"{summary} {batch.message}")
        self.stdout.write(self.style.SUCCESS(summary))
