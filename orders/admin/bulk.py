"""Staff transitions on many orders at once: the order list's bulk actions (mixed into
OrderAdmin), with an intermediate page for those that need input."""

import csv
from collections import defaultdict

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponse
from django.template.response import TemplateResponse

from .. import statuses as st
from ..bulk import order_transition_many
from ..forms import TRACKING_CSV_HEADER, BulkHandOverForm, FailForm, HoldForm
from ..matching import mapping_for, mappings_by_option
from ..models import Order
from ..text import safe_cell

# Staff transitions offered as bulk actions, in the order work flows through a facility.
BULK_TRANSITIONS = [
    "start_pick",
    "finish_pick",
    "start_digitizing",
    "start_upload",
    "pass_file",
    "start_production",
    "finish_production",
    "pack_and_label",
    "hand_over",
    "hold",
    "release",
    "approve",
    "decline",
    "fail",
    "mark_paid",
    "refuse_payment",
]
# Transitions that need input ask for it once for the whole batch on an intermediate page.
BULK_FORMS = {"hand_over": BulkHandOverForm, "hold": HoldForm, "fail": FailForm}
# Order numbers listed in one message before "and N more".
SHOWN_NUMBERS = 30


def _numbers(numbers):
    shown = ", ".join(numbers[:SHOWN_NUMBERS])
    more = len(numbers) - SHOWN_NUMBERS
    return f"{shown} and {more} more" if more > 0 else shown


def _label(name):
    method = getattr(Order, name)
    transition = next(iter(method._django_fsm.transitions.values()))
    return transition.custom.get("label") or name


def _seen_statuses(post):
    """{order id: status} a list or confirmation page showed (its seen-<id> inputs)."""
    seen = {}
    for key, value in post.items():
        pk = key.removeprefix("seen-")
        if key.startswith("seen-") and pk.isdigit() and value in st.STATE_BY_VALUE:
            seen[int(pk)] = value
    return seen


def _bulk_action(name):
    def action(modeladmin, request, queryset):
        return modeladmin.bulk_transition(request, queryset, name)

    action.__name__ = f"bulk_{name}"
    suffix = "…" if name in BULK_FORMS else ""
    return admin.action(description=f"{_label(name)}{suffix}", permissions=["change"])(action)


class BulkTransitions:
    """OrderAdmin's bulk actions (`actions = bulk_actions()`)."""

    def bulk_transition(self, request, queryset, name):
        """Apply transition `name` to each selected order it is allowed for (through
        orders/bulk.py: per order as order_transition does it, a chunk of orders per
        transaction) and report per order what happened. Transitions that need input first
        show an intermediate page that asks once for the batch."""
        orders = list(queryset.select_related("merchant", "center").order_by("number", "id"))
        seen = _seen_statuses(request.POST)
        for order in orders:  # what the list showed; an order that moved on is refused
            order.seen_status = seen.get(order.pk, order.status)
        form_class = BULK_FORMS.get(name)
        if form_class is None:
            return self._apply_bulk(request, orders, name, lambda order: {})
        extra = {}
        if form_class is BulkHandOverForm:
            extra = {"orders": orders}
            mapped = self._mappings(orders)
            for order in orders:  # what a blank carrier field will use, shown on the page
                mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
                order.default_carrier = order.carrier or (mapping.carrier if mapping else "")
        if "apply" in request.POST or "download_csv" in request.POST:
            if "download_csv" in request.POST:
                return self._tracking_csv(orders)
            form = form_class(request.POST, request.FILES, **extra)
            if form.is_valid():
                return self._apply_bulk(request, orders, name, self._params_for(name, form))
        else:
            form = form_class(**extra)
        return TemplateResponse(
            request,
            "admin/orders/order/bulk_transition.html",
            {
                **self.admin_site.each_context(request),
                "title": _label(name),
                "opts": self.model._meta,
                "orders": orders,
                "form": form,
                "action": f"bulk_{name}",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "form_url": request.get_full_path(),
                "csv_download": name == "hand_over",
                "media": self.media + form.media,
            },
        )

    def _params_for(self, name, form):
        data = form.cleaned_data
        if name == "hold":
            return lambda order: {"reason": data["reason"], "note": data["note"]}
        if name == "fail":
            return lambda order: {"reason": data["reason"]}
        mapped = self._mappings(form.orders)
        plan = data["plan"]

        def hand_over_params(order):
            line = plan.get(order.pk)
            if line is None:
                return "no tracking number given"
            mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
            carrier = (
                line["carrier"]
                or data["carrier"]
                or order.carrier
                or (mapping.carrier if mapping else "")
            )
            if not carrier:
                return "no carrier: give one for the batch or on its line"
            service = line["service"] or data["service"] or order.service
            if not service and mapping and mapping.carrier == carrier:
                service = mapping.service
            return {
                "carrier": carrier,
                "service": service,
                "tracking_number": line["tracking_number"],
            }

        return hand_over_params

    def _apply_bulk(self, request, orders, name, params_for):
        label = _label(name)
        done, refused, items = [], defaultdict(list), []
        for order in orders:
            params = params_for(order)
            if isinstance(params, str):
                refused[params].append(order.number)
            else:
                items.append((order, params))
        # Each order as order_transition would do it, a chunk of them per transaction.
        outcome = order_transition_many(items=items, name=name, by=request.user)
        done = [order.number for order in outcome.done]
        for order, message in outcome.refused:
            reason = message.removeprefix(f"Order {order.number}: ").rstrip(".")
            refused[reason].append(order.number)
        if done:
            self.message_user(
                request,
                f"{label}: done for {len(done)} order{'s' if len(done) != 1 else ''} "
                f"({_numbers(done)}).",
                level=messages.SUCCESS,
            )
        for reason, numbers in refused.items():
            count = f"{len(numbers)} order{'s' if len(numbers) != 1 else ''}"
            self.message_user(
                request,
                f"{label}: refused for {count}, {reason}: {', '.join(numbers)}.",
                level=messages.ERROR,
            )
        return None  # back to the list, filters kept

    @staticmethod
    def _mappings(orders):
        """The ship-option mappings of these orders' merchants (orders/matching.py)."""
        return mappings_by_option({o.merchant_id for o in orders})

    def _tracking_csv(self, orders):
        """The selection as a CSV to fill in (tracking numbers) and upload again."""
        mapped = self._mappings(orders)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="hand-over.csv"'
        writer = csv.writer(response)
        writer.writerow(TRACKING_CSV_HEADER)
        for order in orders:
            mapping = mapping_for(mapped, order.merchant_id, order.ship_option)
            carrier = order.carrier or (mapping.carrier if mapping else "")
            service = order.service or (mapping.service if mapping else "")
            # Order numbers come from merchants' stores: no formulas in staff's spreadsheet.
            writer.writerow(
                [safe_cell(v) for v in (order.number, order.tracking_number, carrier, service)]
            )
        return response


def bulk_actions():
    """The admin actions of BULK_TRANSITIONS, in the order work flows."""
    return [_bulk_action(name) for name in BULK_TRANSITIONS]
