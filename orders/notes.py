"""Internal notes on orders and saved views of the order list: how a merchant's team (and
our staff) work together on orders. Notes are append-only; saved views belong to one user or
are shared with their merchant's team."""

from django.db import transaction
from django.db.models import Q

from . import search
from .models import OrderNote, SavedView
from .prepared import Prepared


class NoteRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def order_add_note(*, order, by, text, from_operations=False):
    """Append a note to `order`, written by `by` (a merchant member from the dashboard, or
    staff from the admin with from_operations=True). The caller has checked that `by` may
    see the order. Notes are never edited or deleted; the order's search text takes it in."""
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise NoteRefused("Write something first: the note is empty.")
    if len(text) > OrderNote.MAX_LENGTH:
        raise NoteRefused(f"A note holds at most {OrderNote.MAX_LENGTH:,} characters.")
    with transaction.atomic():
        note = OrderNote.objects.create(
            order=order,
            author=by,
            author_name=by.get_username(),
            from_operations=from_operations,
            text=text,
        )
        search.reindex([order.pk])
    return note


# A page of the list reads them: one statement per page length (orders/prepared.py).
_NOTES_OF = Prepared(
    OrderNote,
    lambda ids: OrderNote.objects.filter(order_id__in=ids).order_by("order_id", "-id"),
    list,
    objects=True,
)


def latest_notes(order_ids):
    """{order id: its latest note} for a page of orders, in one query."""
    latest = {}
    for note in _NOTES_OF(list(order_ids)):
        latest.setdefault(note.order_id, note)
    return latest


# --- saved views -----------------------------------------------------------------------------

MAX_VIEWS = 30


class ViewRefused(NoteRefused):
    pass


def views_for(user, merchant):
    """The saved views `user` sees at `merchant`: their own and their team's shared ones."""
    return SavedView.objects.filter(merchant=merchant).filter(Q(owner=user) | Q(shared=True))


# Every list request reads them: the statement is built once (orders/prepared.py).
_SHOWN_VIEWS = Prepared(
    SavedView,
    lambda merchant_id, user_id: SavedView.objects.filter(merchant_id=merchant_id).filter(
        Q(owner_id=user_id) | Q(shared=True)
    ),
    int,
    int,
    objects=True,
)


def shown_views(user, merchant):
    """views_for() read as a list, in their order (position, then id)."""
    return _SHOWN_VIEWS(merchant.pk, user.pk)


def view_save(*, user, merchant, name, query, shared, may_share):
    """Save the list's state `query` under `name`. Only a manager may share (may_share)."""
    name = (name or "").replace("\x00", "").strip()
    if not name:
        raise ViewRefused("Give the view a name.")
    if len(name) > 60:
        raise ViewRefused("A view's name has at most 60 characters.")
    if shared and not may_share:
        raise ViewRefused("Only managers can share views with the team; save it for yourself.")
    if SavedView.objects.filter(merchant=merchant, owner=user).count() >= MAX_VIEWS:
        raise ViewRefused(f"You have {MAX_VIEWS} saved views: delete one first.")
    last = views_for(user, merchant).order_by("-position").values_list("position", flat=True)
    return SavedView.objects.create(
        merchant=merchant,
        owner=user,
        name=name,
        query=(query or "")[:1000],
        shared=bool(shared),
        position=(last.first() or 0) + 1,
    )


def editable_view(user, merchant, pk, *, is_manager):
    """The saved view `pk` that `user` may rename, move or delete: their own, or a shared one
    when they are a manager. None otherwise (the caller answers 404)."""
    mine = Q(owner=user)
    if is_manager:
        mine |= Q(shared=True)
    return SavedView.objects.filter(merchant=merchant, pk=pk).filter(mine).first()


def view_rename(*, view, name):
    name = (name or "").replace("\x00", "").strip()
    if not name or len(name) > 60:
        raise ViewRefused("A view's name has 1 to 60 characters.")
    SavedView.objects.filter(pk=view.pk).update(name=name)


def view_move(*, view, user, merchant, direction):
    """Swap `view` with its neighbour above (direction -1) or below (+1) in the list the
    user sees."""
    with transaction.atomic():
        views = list(views_for(user, merchant).select_for_update().order_by("position", "id"))
        index = next((i for i, v in enumerate(views) if v.pk == view.pk), None)
        other = None if index is None else index + direction
        if other is None or not 0 <= other < len(views):
            return
        views[index], views[other] = views[other], views[index]
        for position, item in enumerate(views, start=1):
            if item.position != position:
                SavedView.objects.filter(pk=item.pk).update(position=position)
