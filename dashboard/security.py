"""Request plumbing for the hardening: which IP a request comes from (for the sign-in throttle
and the audit log), the audit origin of every request, and the sign-in lock-out page."""

import ipaddress

from django.conf import settings
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
