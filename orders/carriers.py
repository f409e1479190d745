"""Links to a carrier's public tracking page. Small and self-contained on purpose: the
dashboard, the CSV export and operations tools all ask here."""

from urllib.parse import quote

_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={n}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={n}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={n}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={n}",
}
# Carriers we have no page for still get a link that finds the parcel.
_GENERIC = "https://parcelsapp.com/en/tracking/{n}"
_ALIASES = {"united parcel service": "ups", "fed ex": "fedex", "dhl express": "dhl"}


def tracking_url(carrier, tracking_number):
    """The carrier's tracking page for this number, or "" when there is no number."""
    number = (tracking_number or "").strip()
    if not number:
        return ""
    key = (carrier or "").strip().lower()
    key = _ALIASES.get(key, key)
    return (_PAGES.get(key) or _GENERIC).format(n=quote(number, safe=""))
