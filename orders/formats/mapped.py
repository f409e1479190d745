"""Any other CSV, read through a merchant's column mapping: {our field: the file's column}.

The mapping step guesses each field from the file's column names (our name, a few names
stores commonly use for it, or a close spelling), the merchant corrects and confirms it,
and it is kept for files with the same headers (ColumnMapping).
"""

import csv
import difflib
import re

from ..importing import COLUMNS, REQUIRED_COLUMNS, ImportFileError, _rows, group_rows

# Names other platforms give our fields (compared as letters and digits only, lower case).
SYNONYMS = {
    "order_number": ["order", "order id", "order no", "order name", "order ref", "reference"],
    "customer_name": ["customer", "buyer", "buyer name", "full name", "billing name"],
    "customer_email": ["email", "e-mail", "buyer email", "email address"],
    "customer_phone": ["phone", "telephone", "phone number", "buyer phone"],
    "ship_name": [
        "recipient",
        "ship to name",
        "shipping name",
        "shipping full name",
        "ship to",
        "deliver to",
    ],
    "address1": ["address", "street", "address 1", "address line 1", "street 1", "ship address1"],
    "address2": ["address 2", "address line 2", "street 2", "apartment", "suite"],
    "city": ["town", "ship city", "shipping city"],
    "region": ["state", "province", "county", "ship state", "shipping state"],
    "postal_code": ["zip", "zip code", "postcode", "post code", "ship zipcode", "postal"],
    "country": ["country code", "ship country", "shipping country"],
    "ship_option": ["shipping method", "shipping service", "carrier service", "shipping"],
    "currency": ["currency code", "order currency"],
    "total": ["order total", "order total amount", "grand total", "amount", "order value"],
    "payment": ["payment status", "financial status", "paid"],
    "sku": ["item sku", "product sku", "variant sku", "sku code", "product code"],
    "quantity": ["qty", "quantity ordered", "item quantity", "units"],
    "unit_price": ["price", "item price", "item cost", "unit cost", "price per item"],
    "item_name": ["item", "product", "product name", "item title", "title", "description"],
    "personalization": ["personalisation", "custom text", "engraving", "gift message"],
}


def _letters(name):
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


# Words that only say which address a column belongs to: "Postcode (Shipping)" is a postcode.
QUALIFIERS = {"shipping", "ship", "billing", "code"}


def _words(name, qualified=False):
    """Column names as words: "City (Shipping)" and "shipping city" match; without
    `qualified`, the qualifiers are left out too ("Postcode (Shipping)" is a postcode)."""
    words = set(re.findall(r"[a-z0-9]+", str(name).lower().replace("_", " ")))
    return frozenset(words if qualified else (words - QUALIFIERS or words))


def guess(headers):
    """{our field: the file's column} for the fields whose column can be told from its name.
    A column is given to one field at most; exact and known names win over close ones, and
    a name with all its words ("Full Name (Shipping)" is the recipient) over one without its
    qualifiers (where it would be the buyer's)."""
    by_letters, by_words, by_bare_words = {}, {}, {}
    for h in headers:
        by_letters.setdefault(_letters(h), h)
        by_words.setdefault(_words(h, qualified=True), h)
        by_bare_words.setdefault(_words(h), h)
    found = {}
    taken = set()
    lookups = [
        lambda name: by_letters.get(_letters(name)) or by_words.get(_words(name, True)),
        lambda name: by_bare_words.get(_words(name)),
    ]
    for lookup in lookups:  # exact or known names first, in any word order
        for field in COLUMNS:
            if field in found:
                continue
            for candidate in [field, *SYNONYMS.get(field, [])]:
                column = lookup(candidate)
                if column and column not in taken:
                    found[field] = column
                    taken.add(column)
                    break
    free = [k for k, h in by_letters.items() if h not in taken and k]
    for field in COLUMNS:  # then close spellings ("order_num", "qnty", "e_mail")
        if field in found:
            continue
        names = [_letters(field), *(_letters(s) for s in SYNONYMS.get(field, []))]
        for name in names:
            close = difflib.get_close_matches(name, free, n=1, cutoff=0.8)
            if close:
                found[field] = by_letters[close[0]]
                taken.add(found[field])
                free.remove(close[0])
                break
    return found


def problems(columns, headers):
    """What keeps a mapping from being used on a file with these headers (a list of
    messages; empty when it fits)."""
    messages = []
    missing = [f for f in REQUIRED_COLUMNS if not columns.get(f)]
    if missing:
        messages.append(f"Choose a column for {', '.join(missing)} (required).")
    unknown = [f for f in columns if f not in COLUMNS]
    if unknown:
        messages.append(f"Unknown field(s): {', '.join(unknown)}.")
    have = {h.strip() for h in headers}
    absent = sorted({c for c in columns.values() if c and c not in have})
    if absent:
        messages.append(f"The file has no column named {', '.join(absent)}.")
    used = [c for c in columns.values() if c]
    twice = sorted({c for c in used if used.count(c) > 1})
    if twice:
        messages.append(f"Column {', '.join(twice)} is chosen for more than one field.")
    return messages


def check_fits(columns, headers, name):
    messages = problems(columns, headers)
    if messages:
        raise ImportFileError(f"The column mapping '{name}' does not fit this file: {messages[0]}")


def _mapped_rows(text, columns, limit=None):
    from . import rows_reader

    reader = rows_reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error):
        raise ImportFileError("The file is empty or not valid CSV.") from None
    position = {h: i for i, h in reversed(list(enumerate(header)))}
    where = {ours: position[theirs] for ours, theirs in columns.items() if theirs in position}
    for n, (row, values) in enumerate(_rows(reader)):
        if limit is not None and n >= limit:
            return
        yield row, {ours: values[i] if i < len(values) else "" for ours, i in where.items()}


def read(text, columns):
    from . import Reading

    inputs, count = group_rows(_mapped_rows(text, columns))
    return Reading(inputs=inputs, count=count)


def preview(text, columns, rows=5):
    """The first `rows` rows as they would import: [(row, {our field: value}, [errors])]."""
    shown = []
    for row, raw in _mapped_rows(text, columns, limit=rows):
        inputs, _count = group_rows([(row, raw)])
        errors = [f"{name}: {message}" for o in inputs for _r, name, message in o.errors]
        shown.append((row, raw, errors))
    return shown
