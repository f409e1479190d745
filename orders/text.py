"""Text that the database cannot store. PostgreSQL refuses NUL characters in text columns,
and lone surrogates (which JSON's "\\ud800" escapes produce) cannot be encoded to UTF-8 at
all; SQLite accepts both, so without this check such input fails only in production."""


def unstorable(value):
    """Why `value` (a str) cannot be stored as text, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000), which cannot be stored."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains characters that are not valid Unicode (lone surrogates)."
    return None
