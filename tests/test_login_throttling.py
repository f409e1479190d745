"""Sign-in throttling (django-axes): after the failure limit of wrong passwords for one username
from one IP, the sign-in page (and the admin's) answers 429 with a page that says how long to
wait and whom to ask, even for the right password; other users and other IPs are not
affected; a correct sign-in before the limit resets the count."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from .conftest import PASSWORD

LIMIT = settings.AXES_FAILURE_LIMIT
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def attempt(client, user, password, url=LOGIN, ip="203.0.113.5"):
    return client.post(
        url,
        {"username": user.get_username(), "password": password},
        REMOTE_ADDR=ip,
    )


def signed_in(client):
    return "_auth_user_id" in client.session


def test_throttling_is_configured_per_username_and_ip():
    assert LIMIT == 5
    assert datetime.timedelta(minutes=15) == settings.AXES_COOLOFF_TIME
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AXES_ENABLED is not False


def test_wrong_passwords_below_the_limit_just_say_wrong(client, manager):
    for _ in range(LIMIT - 1):
        response = attempt(client, manager, "wrong")
        assert response.status_code == 200
        assert "Sign-in paused" not in response.text
    assert attempt(client, manager, PASSWORD).status_code == 302
    assert signed_in(client)


def test_after_the_limit_even_the_right_password_gets_the_lockout_page(client, manager):
    for _ in range(LIMIT):
        attempt(client, manager, "wrong")
    response = attempt(client, manager, PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)
    assert response["Retry-After"] == str(15 * 60)
    page = response.text
    assert "Sign-in paused" in page
    assert "15 minutes" in page
    assert settings.SUPPORT_CONTACT in page
    # A styled page of the site, not a bare message.
    assert "/static/css/dashboard.css" in page
    assert client.get("/orders/").status_code == 302  # still asked to sign in


def test_the_limit_th_wrong_password_already_shows_the_lockout(client, manager):
    for _ in range(LIMIT - 1):
        attempt(client, manager, "wrong")
    assert attempt(client, manager, "wrong").status_code == 429


def test_another_user_from_the_same_ip_is_not_locked(client, manager, viewer):
    for _ in range(LIMIT):
        attempt(client, manager, "wrong")
    assert attempt(client, manager, PASSWORD).status_code == 429
    response = attempt(Client(), viewer, PASSWORD)
    assert response.status_code == 302


def test_the_same_user_from_another_ip_is_not_locked(client, manager):
    for _ in range(LIMIT):
        attempt(client, manager, "wrong")
    other = Client()
    assert attempt(other, manager, PASSWORD, ip="198.51.100.7").status_code == 302
    assert signed_in(other)


def test_a_successful_sign_in_resets_the_count(client, manager):
    for _ in range(LIMIT - 1):
        attempt(client, manager, "wrong")
    assert attempt(client, manager, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # Without the reset, the next wrong password would reach the limit.
    for _ in range(LIMIT - 1):
        assert attempt(client, manager, "wrong").status_code == 200
    assert attempt(client, manager, PASSWORD).status_code == 302
    assert signed_in(client)


def test_the_lockout_ends_after_the_cool_off(client, manager):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(LIMIT):
            attempt(client, manager, "wrong")
        assert attempt(client, manager, PASSWORD).status_code == 429
    with time_machine.travel(start + datetime.timedelta(minutes=16), tick=False):
        assert attempt(client, manager, PASSWORD).status_code == 302
        assert signed_in(client)


def test_admin_sign_in_is_throttled_too(client, staff):
    for _ in range(LIMIT):
        attempt(client, staff, "wrong", url=ADMIN_LOGIN)
    response = attempt(client, staff, PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Sign-in paused" in response.text
    assert ADMIN_LOGIN in response.text  # "back to sign in" leads to the admin's
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("url", [LOGIN, ADMIN_LOGIN])
def test_the_lockout_page_has_no_inline_code(client, manager, url):
    from .test_no_inline_code import INLINE

    for _ in range(LIMIT):
        attempt(client, manager, "wrong", url=url)
    response = attempt(client, manager, PASSWORD, url=url)
    assert response.status_code == 429
    assert not INLINE.findall(response.text)
