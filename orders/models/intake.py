"""Intake: import batches with their per-row report, saved column mappings and API tokens."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .order import Order
from .reference import Merchant

IMPORT_SOURCES = [
    ("csv", "CSV upload"),
    ("command", "Command line"),
    ("api", "API"),
    ("manual", "Entered by hand"),
]
# A batch's state and a row's outcome are not order statuses, though "failed" and "refused"
# are spelled like one: each is named once, here. A batch counts its rows by outcome in
# fields of the outcomes' names (created, reimported, skipped, refused).
BATCH_DONE = "done"
BATCH_FAILED = "failed"
ROW_REFUSED = "refused"
BATCH_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    (BATCH_DONE, "Done"),
    (BATCH_FAILED, "Failed"),
    ("mapping", "Waiting for its column mapping"),
]
ROW_OUTCOMES = [
    ("created", "Created"),
    ("reimported", "Reimported"),
    ("skipped", "Skipped"),
    (ROW_REFUSED, "Refused: cancelled, not reimported"),
    ("error", "Error"),
    ("note", "Note"),
]
# How an uploaded file's rows are read (orders/formats/): our template's columns, a store's
# own export, or the merchant's saved column mapping.
FILE_KINDS = [
    ("template", "our template"),
    ("shopify", "a Shopify orders export"),
    ("mapped", "a column mapping"),
]


class ImportBatch(models.Model):
    """One upload (or command run) of orders, with its per-row report in ImportRow.

    The file's text is kept so a worker can process it after the request returned, and so
    support can see exactly what was sent.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="import_batches")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    source = models.CharField(max_length=10, choices=IMPORT_SOURCES, default="csv")
    filename = models.CharField(max_length=255, blank=True)
    content = models.TextField(blank=True)
    kind = models.CharField("read as", max_length=10, choices=FILE_KINDS, default="template")
    mapping = models.ForeignKey(
        "ColumnMapping", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=10, choices=BATCH_STATES, default="queued")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    orders_to_review = models.PositiveIntegerField(default=0)
    orders_reviewed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    reimported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["merchant", "created_at"], name="batch_merchant_created")]

    def __str__(self):
        return f"Import {self.pk} ({self.filename or self.get_source_display()})"

    @property
    def finished(self):
        return self.state in (BATCH_DONE, BATCH_FAILED)

    @property
    def read_as(self):
        """How the file was read, for the report: "read as a Shopify orders export"."""
        if self.kind == "mapped" and self.mapping_id:
            return f"read through the column mapping “{self.mapping.name}”"
        return f"read as {self.get_kind_display()}"

    @property
    def percent(self):
        """Import and review each count for half of the progress bar."""
        if self.finished:
            return 100
        imported = self.processed_rows / self.total_rows if self.total_rows else 0
        reviewed = self.orders_reviewed / self.orders_to_review if self.orders_to_review else 0
        return int(50 * imported + 50 * reviewed)


class ImportRow(models.Model):
    """What happened to one order of a batch: `row` is the (first) file row it came from, or
    the row an error was found on."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    row = models.PositiveIntegerField()
    number = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=ROW_OUTCOMES)
    field = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    earlier = models.ForeignKey(
        Order,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The clean-swept row a reimport links to, or the order that blocked it.",
    )

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["batch", "outcome"], name="importrow_batch_outcome")]

    def __str__(self):
        return f"row {self.row} {self.number}: {self.outcome}"


class ColumnMapping(models.Model):
    """A merchant's answer to "which of this file's columns is which of our fields", kept for
    files with the same headers (`signature`) and usable by name from the API and command."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=100)
    headers = models.JSONField(default=list, help_text="The file's column names, in order.")
    signature = models.CharField(max_length=64, editable=False)
    columns = models.JSONField(default=dict, help_text="Our field -> the file's column.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["merchant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="mapping_unique_name"),
            models.UniqueConstraint(
                fields=["merchant", "signature"], name="mapping_unique_headers"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.merchant})"


class ApiToken(models.Model):
    """A merchant's bearer token for the JSON API. Only a SHA-256 of the token is stored; the
    token itself is shown once when it is created."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. Shopify.")
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["merchant", "name"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…) for {self.merchant}"

    @property
    def active(self):
        return self.revoked_at is None
