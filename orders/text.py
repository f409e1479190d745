"""Text that is dangerous to pass on as it is.

The database: PostgreSQL refuses NUL characters in text columns, and lone surrogates (which
JSON's "\\ud800" escapes produce) cannot be encoded to UTF-8 at all; SQLite accepts both, so
without a check such input fails only in production.

Spreadsheets: a CSV cell starting like a formula is run when the file is opened, and order
numbers, names and addresses come from merchants' stores (CSV injection).
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def unstorable(value):
    """Why `value` (a str) cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains characters that are not valid Unicode (lone surrogates)."
    return None


def storable(value):
    """`value` as text any database keeps: NUL and lone surrogates become U+FFFD. For what
    we record about input (the audit log), never for the input itself, which is refused."""
    text = str(value)
    if unstorable(text) is None:
        return text
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def safe_cell(value):
    """Spreadsheets run cells that start like a formula; a leading ' keeps them as text."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def unsafe_cell(text):
    """A cell of a file we exported and someone filled in, back to its value."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text
