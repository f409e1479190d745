"""Where a customer (or a merchant) follows a parcel: the carrier's public tracking page."""

from urllib.parse import quote

# Carrier names are typed by staff and sent by stores in many spellings; compare them folded.
_TRACKING_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html"
    "?submit=1&tracking-id={number}",
}
_ALIASES = {
    "unitedparcelservice": "ups",
    "unitedstatespostalservice": "usps",
    "federalexpress": "fedex",
    "dhlexpress": "dhl",
    "dhlecommerce": "dhl",
}
# Any other carrier: a universal tracking search that recognises most number formats.
GENERIC_TRACKING_PAGE = "https://parcelsapp.com/en/tracking/{number}"


def _carrier_key(carrier):
    folded = "".join(ch for ch in str(carrier or "").lower() if ch.isalnum())
    return _ALIASES.get(folded, folded)


def tracking_page(carrier):
    """The tracking page template of a carrier ("{number}" marks where the number goes)."""
    return _TRACKING_PAGES.get(_carrier_key(carrier), GENERIC_TRACKING_PAGE)


def tracking_url(carrier, tracking_number):
    """The public tracking page for a parcel, or "" without a tracking number.

    UPS, USPS, FedEx and DHL link to their own pages; any other carrier to a generic
    tracking search, so a link is always there once the parcel has a number."""
    number = str(tracking_number or "").strip()
    if not number:
        return ""
    return tracking_page(carrier).format(number=quote(number, safe=""))
