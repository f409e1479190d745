"""The order list as a workspace: the columns a user chose, saved views and internal notes.
Thin views: parse, ask access.py, call orders/notes.py, redirect with a message."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.views.decorators.http import require_POST

from orders.models import ListPreference
from orders.notes import (
    NoteRefused,
    editable_view,
    order_add_note,
    view_move,
    view_rename,
    view_save,
)
from orders.prepared import Prepared

from . import access

# Optional columns of the order list, in their order; the number, customer and status always
# show. (value, heading)
COLUMNS = [
    ("items", "Items"),
    ("total", "Total"),
    ("payment", "Payment"),
    ("ship_by", "Ship by"),
    ("changed", "Last change"),
    ("created", "Created"),
    ("center", "Center"),
    ("tracking", "Tracking"),
]
DEFAULT_COLUMNS = ["items", "total", "payment", "ship_by", "changed", "center", "tracking"]
# Not part of a view's state: where a page starts, and the jump's own parameter.
_NOT_SAVED = {"cursor", "page"}


# Every list request reads it: the statement is built once (orders/prepared.py).
_CHOSEN = Prepared(
    ListPreference,
    lambda user_id: (
        ListPreference.objects.filter(user_id=user_id)
        .order_by("pk")
        .values_list("columns", flat=True)[:1]
    ),
    int,
)


def chosen_columns(user):
    """The optional columns `user` chose (the defaults until they choose)."""
    found = _CHOSEN(user.pk)
    pref = found[0] if found else None
    if pref is None:
        return list(DEFAULT_COLUMNS)
    known = dict(COLUMNS)
    return [c for c in pref if c in known]


def _list_url(query=""):
    url = reverse("order_list")
    return f"{url}?{query}" if query else url


def _back(request):
    """The list with the query string it was posted from (kept in `back`), re-encoded so
    nothing but a query string reaches the Location header."""
    query = request.POST.get("back", "")
    return _list_url(list_state(query) if len(query) <= 1000 else "")


def list_state(query):
    """A list's query string as a view keeps it: without paging."""
    params = QueryDict(query or "", mutable=True)
    for name in _NOT_SAVED:
        params.pop(name, None)
    return params.urlencode()


@login_required
@require_POST
def list_columns(request):
    """Remember which optional columns this user wants in the order list."""
    access.require_merchant(request)
    known = dict(COLUMNS)
    columns = [c for c in request.POST.getlist("columns") if c in known]
    columns = list(dict.fromkeys(columns))
    ListPreference.objects.update_or_create(user=request.user, defaults={"columns": columns})
    messages.success(request, "Columns saved.")
    return HttpResponseRedirect(_back(request))


@login_required
@require_POST
def saved_view_create(request):
    """Save the list's current state under a name, for oneself or (managers) for the team."""
    merchant = access.require_merchant(request)
    query = list_state(request.POST.get("back", ""))
    try:
        view = view_save(
            user=request.user,
            merchant=merchant,
            name=request.POST.get("name", ""),
            query=query,
            shared=request.POST.get("shared") == "1",
            may_share=access.is_manager(request, merchant),
        )
    except NoteRefused as exc:
        messages.error(request, f"{exc.message} Nothing was saved.")
        return HttpResponseRedirect(_back(request))
    who = "your team" if view.shared else "you"
    messages.success(request, f"Saved the view “{view.name}” for {who}.")
    return HttpResponseRedirect(_list_url(query))


@login_required
@require_POST
def saved_view_edit(request, view_id):
    """Rename, move up or down, or delete a saved view: one's own, or (managers) a shared one."""
    merchant = access.require_merchant(request)
    view = editable_view(
        request.user, merchant, view_id, is_manager=access.is_manager(request, merchant)
    )
    if view is None:
        raise Http404("No such saved view.")
    do = request.POST.get("do", "")
    if do == "rename":
        try:
            view_rename(view=view, name=request.POST.get("name", ""))
        except NoteRefused as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, "View renamed.")
    elif do in ("up", "down"):
        view_move(
            view=view, user=request.user, merchant=merchant, direction=-1 if do == "up" else 1
        )
    elif do == "delete":
        view.delete()
        messages.success(request, f"Deleted the view “{view.name}”.")
    else:
        messages.error(request, "Unknown change to a view: nothing was done.")
    return HttpResponseRedirect(_back(request))


@login_required
@require_POST
def order_note_add(request, number):
    """Append an internal note to an order (managers; visible to the team and our staff)."""
    order = access.get_order_for_user(request, number)
    access.require_manager(request, order.merchant)
    detail = reverse("order_detail", args=[order.number])
    try:
        order_add_note(order=order, by=request.user, text=request.POST.get("text", ""))
    except NoteRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Note added. Your team and our staff can read it.")
    return HttpResponseRedirect(f"{detail}#notes")
