"""The staff site: Django's admin site with one guard every admin page gets.

A NUL character in a query string (``?status__exact=%00``, ``?q=%00``) reaches the database
as a filter value that PostgreSQL refuses with an error (a 500). No column can hold one, so
such a parameter can match nothing: it is dropped and the page reloads without it, saying so.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import HttpResponseRedirect


def _without_nul(request):
    """(kept query, dropped names), or None when the query string has no NUL."""
    if "\x00" not in request.META.get("QUERY_STRING", "") and not any(
        "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
    ):
        return None
    kept, dropped = [], []
    for key, values in request.GET.lists():
        for value in values:
            if "\x00" in key or "\x00" in value:
                dropped.append(key.replace("\x00", ""))
            else:
                kept.append((key, value))
    return kept, dropped


class StaffAdminSite(admin.AdminSite):
    site_header = "Fulfillment operations"
    site_title = "Fulfillment operations"
    index_title = "Operations"

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def inner(request, *args, **kwargs):
            cleaned = _without_nul(request) if request.method in ("GET", "HEAD") else None
            if cleaned is not None:
                kept, dropped = cleaned
                messages.warning(
                    request,
                    "Ignored a filter that cannot match anything (it holds a NUL character): "
                    f"{', '.join(sorted(set(dropped))) or 'a parameter'}.",
                )
                query = urlencode(kept)
                return HttpResponseRedirect(f"{request.path}?{query}" if query else request.path)
            return guarded(request, *args, **kwargs)

        return inner
