"""Reading an uploaded file whatever its columns: our template, a store's own export as it
comes (Shopify's "Export orders"), or any other CSV through the merchant's saved column
mapping. Each reader turns the file into the importer's rows (orders/importing/,
`group_rows`), so every source gets the same checks, reimport rules and report.

`identify()` decides how a file is read, from its header alone:

1. a saved mapping named by the caller (API `?mapping=`, command `--mapping`);
2. our template's columns;
3. a known export (Shopify);
4. a mapping this merchant saved for files with exactly these headers;
5. otherwise MappingNeeded: the dashboard asks the merchant to map the columns.
"""

import csv
import hashlib
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .. import audit
from ..importing import COLUMNS, ImportFileError, _separator, count_rows, parse_csv
from ..models import ColumnMapping, ImportBatch
from ..text import unstorable
from . import mapped, shopify


class MappingNeeded(ImportFileError):
    """The file's columns are not ours, not a known export, and no saved mapping fits."""

    def __init__(self, headers):
        unknown = [h for h in headers if h.strip() and h.strip().lower() not in COLUMNS]
        super().__init__(
            f"The file's columns are not the template's (unknown: {', '.join(unknown[:8])}"
            f"{', …' if len(unknown) > 8 else ''}) and no saved column mapping fits them. "
            "Upload it in the dashboard to map its columns once, or name a saved mapping."
        )
        self.headers = headers


@dataclass
class Reading:
    inputs: list
    count: int
    # Outcomes for what the reader left out on purpose: orders the store cancelled or
    # fulfilled ("skipped"), lines that need no shipping ("note").
    notes: list = field(default_factory=list)


def normalize(name):
    """A column name as compared: case, surrounding and repeated spaces ignored."""
    return " ".join(str(name).split()).casefold()


def signature(headers):
    """What "the same headers" means for a remembered mapping."""
    joined = "\x1f".join(normalize(h) for h in headers)
    return hashlib.sha256(joined.encode()).hexdigest()


def rows_reader(text):
    """A csv.reader over the file with its own separator (the importer's rule)."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))


def header_of(text):
    """The file's column names (its first row); ImportFileError when there is none."""
    reader = rows_reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("The file is empty.") from None
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV: {exc}.") from None
    if not any(h.strip() for h in header):
        raise ImportFileError("The file's first row has no column names.")
    return [h.strip() for h in header]


def is_template(headers):
    return all(h.lower() in COLUMNS for h in headers if h)


def identify(merchant, text, mapping_name=None):
    """How to read `text` for `merchant`: (kind, ColumnMapping or None). Raises
    ImportFileError (MappingNeeded when the merchant has to map the columns)."""
    headers = header_of(text)
    if mapping_name:
        if unstorable(mapping_name):  # PostgreSQL would refuse even to look it up
            raise ImportFileError("That is not the name of a saved column mapping.")
        found = ColumnMapping.objects.filter(merchant=merchant, name=mapping_name.strip()).first()
        if found is None:
            raise ImportFileError(f"No saved column mapping is named '{mapping_name}'.")
        mapped.check_fits(found.columns, headers, found.name)
        return "mapped", found
    if is_template(headers):
        return "template", None
    if shopify.matches(headers):
        return "shopify", None
    found = ColumnMapping.objects.filter(merchant=merchant, signature=signature(headers)).first()
    if found is not None:
        mapped.check_fits(found.columns, headers, found.name)
        return "mapped", found
    raise MappingNeeded(headers)


def read(text, kind, mapping=None):
    """The file's orders as the importer's OrderInputs (see Reading)."""
    if kind == "shopify":
        return shopify.read(text)
    if kind == "mapped":
        if mapping is None:
            raise ImportFileError("The column mapping of this import was deleted.")
        return mapped.read(text, mapping.columns)
    inputs, count = parse_csv(text)
    return Reading(inputs=inputs, count=count)


def count(text, kind, mapping=None):
    """Check the file as a whole and count its rows, without importing."""
    if kind == "template":
        return count_rows(text)
    return read(text, kind, mapping).count


def read_batch(batch):
    return read(batch.content, batch.kind, batch.mapping)


# --- the mapping step --------------------------------------------------------------------


def park_for_mapping(*, merchant, content, by=None, filename="", source="csv"):
    """Keep an upload whose columns need mapping as a batch waiting for it (never run until
    `map_batch` queues it)."""
    header_of(content)
    return ImportBatch.objects.create(
        merchant=merchant,
        created_by=by if getattr(by, "pk", None) else None,
        source=source,
        filename=filename[:255],
        content=content,
        state="mapping",
    )


def save_mapping(*, merchant, name, headers, columns, by=None):
    """Remember `columns` ({our field: the file's column}) under `name` for files with these
    headers: updates this merchant's mapping for the same headers, or creates one. Raises
    ImportFileError when the mapping does not fit the headers or the name is taken."""
    name = " ".join(str(name).split())[:100]
    if not name:
        raise ImportFileError("Give the mapping a name (the API and the command use it).")
    columns = {k: v for k, v in columns.items() if v}
    messages = mapped.problems(columns, headers)
    if messages:
        raise ImportFileError(" ".join(messages))
    key = signature(headers)
    same_name = ColumnMapping.objects.filter(merchant=merchant, name=name).first()
    if same_name is not None and same_name.signature != key:
        raise ImportFileError(
            f"A mapping named '{name}' already exists for files with other columns; "
            "choose another name."
        )
    mapping, _created = ColumnMapping.objects.update_or_create(
        merchant=merchant,
        signature=key,
        defaults={
            "name": name,
            "headers": list(headers),
            "columns": columns,
            "updated_at": timezone.now(),
        },
        create_defaults={
            "name": name,
            "headers": list(headers),
            "columns": columns,
            "created_by": by if getattr(by, "pk", None) else None,
        },
    )
    return mapping


def map_batch(*, batch, name, columns, by=None):
    """A merchant manager confirms the mapping of a waiting batch: the mapping is saved for
    files with the same headers and the batch is checked, counted and queued. Returns the
    batch, or None when it was no longer waiting (a second click). Raises ImportFileError."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().filter(pk=batch.pk, state="mapping")
        batch = locked.select_related("merchant").first()
        if batch is None:
            return None
        headers = header_of(batch.content)
        mapping = save_mapping(
            merchant=batch.merchant, name=name, headers=headers, columns=columns, by=by
        )
        total = mapped.read(batch.content, mapping.columns).count
        batch.kind, batch.mapping, batch.total_rows = "mapped", mapping, total
        batch.state = "queued"
        batch.save(update_fields=["kind", "mapping", "total_rows", "state"])
        if audit.is_audited(by):
            audit.note(batch=batch.pk)
            audit.record(
                "import_upload",
                by=by,
                merchant=batch.merchant,
                outcome=audit.DONE,
                reason=f"{batch.filename or 'upload'}: {total} rows queued as batch {batch.pk} "
                f"through the column mapping '{mapping.name}'",
            )
    return batch
