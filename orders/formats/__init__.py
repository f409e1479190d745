"""Reading an uploaded file whatever its columns: our template, a store's own export as it
comes (Shopify's "Export orders"), or any other CSV through the merchant's saved column
mapping. Each reader turns the file into the importer's rows (orders/importing.py,
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

from ..importing import COLUMNS, ImportFileError, count_rows, parse_csv
from ..models import ColumnMapping
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


def header_of(text):
    """The file's column names (its first row); ImportFileError when there is none."""
    reader = csv.reader(io.StringIO(text, newline=""))
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
