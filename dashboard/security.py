"""Request plumbing for the hardening: which IP a request comes from (for the sign-in throttle
and the audit log), the audit origin of every request, and the sign-in lock-out page."""

import http
import ipaddress

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.shortcuts import render

from orders import audit


def _valid_ip(value):
    try:
        return str(ipaddress.ip_address(value.strip()))
    except (ValueError, AttributeError):
        return None


def client_ip(request):
    """The client's address: the connection's own, or, behind TRUSTED_PROXY_COUNT proxies,
    the entry of X-Forwarded-For that the outermost trusted proxy appended. Entries further
    left were written by the client and could be anything."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        hops = [hop for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            found = _valid_ip(hops[-proxies])
            if found:
                return found
    return _valid_ip(request.META.get("REMOTE_ADDR", ""))


class AuditOriginMiddleware:
    """Every request is an audit origin: changes to orders made while it runs are recorded
    with its client IP and path (see orders/audit.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit.origin(ip=client_ip(request), path=request.path):
            return self.get_response(request)


# What a view or template can do to change one response's policy (django-csp's decorators set
# these on the response; a template asking for request.csp_nonce sets _csp_nonce).
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


class CSPMiddleware(BaseCSPMiddleware):
    """django-csp's middleware with the policy built once. django-csp builds both headers
    (enforced and report-only) from the settings on every response, the same two strings
    each time here: no view changes the policy and no template asks for a nonce. A
    response that does either is still built by django-csp itself."""

    _headers = None  # {header name: value}, from the settings on first use

    @classmethod
    def headers(cls):
        if cls._headers is None:
            found = {}
            for name, report_only, setting in (
                (HEADER, False, "CONTENT_SECURITY_POLICY"),
                (HEADER_REPORT_ONLY, True, "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
            ):
                value = build_policy(report_only=report_only)
                if value:
                    policy = getattr(settings, setting, None) or {}
                    excluded = tuple(policy.get("EXCLUDE_URL_PREFIXES", None) or ())
                    found[name] = (value, excluded)
            cls._headers = found
        return cls._headers

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_POLICY
        ):
            return super().process_response(request, response)
        debug_page = response.status_code in (
            http.HTTPStatus.INTERNAL_SERVER_ERROR,
            http.HTTPStatus.NOT_FOUND,
        )
        if debug_page and settings.DEBUG:
            return response
        for name, (value, excluded) in self.headers().items():
            exempt = getattr(
                response, "_csp_exempt_ro" if name == HEADER_REPORT_ONLY else "_csp_exempt", False
            )
            if (
                name not in response
                and exempt is False
                and not (excluded and request.path_info.startswith(excluded))
            ):
                response[name] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


@receiver(setting_changed)
def _forget_csp_headers(setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        CSPMiddleware._headers = None


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a username and IP have had too many failed sign-ins: our own
    page, saying how long to wait and whom to ask, with 429 Too Many Requests."""
    cool_off = settings.AXES_COOLOFF_TIME
    minutes = int(cool_off.total_seconds() // 60)
    response = render(
        request,
        "registration/locked_out.html",
        {
            "minutes": minutes,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "support_contact": settings.SUPPORT_CONTACT,
            "admin_login": request.path.startswith("/admin/"),
        },
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
