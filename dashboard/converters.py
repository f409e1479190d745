class OrderNumberConverter:
    """Store order numbers are free text ("#1001", "A-12.3", "ORD 7"): anything but '/' (and
    NUL, which no database column can hold)."""

    regex = "[^/\x00]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)
