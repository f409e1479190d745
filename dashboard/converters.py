class OrderNumberConverter:
    """Store order numbers are free text ("#1001", "A-12.3", "ORD 7"): anything but '/'."""

    regex = "[^/]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)
