import pytest

from orders.carriers import tracking_url


@pytest.mark.parametrize(
    ("carrier", "host"),
    [
        ("UPS", "www.ups.com"),
        ("usps", "tools.usps.com"),
        ("FedEx", "www.fedex.com"),
        ("DHL", "www.dhl.com"),
        ("DHL Express", "www.dhl.com"),
        ("Royal Mail", "parcelsapp.com"),
        ("", "parcelsapp.com"),
    ],
)
def test_tracking_url_points_at_the_carriers_page(carrier, host):
    url = tracking_url(carrier, "1Z999AA10123456784")
    assert url.startswith(f"https://{host}/")
    assert url.endswith("1Z999AA10123456784")


def test_tracking_url_is_empty_without_a_number():
    assert tracking_url("UPS", "") == ""
    assert tracking_url("UPS", None) == ""


def test_tracking_url_escapes_the_number():
    assert tracking_url("UPS", "A B&c=1") == "https://www.ups.com/track?tracknum=A%20B%26c%3D1"
