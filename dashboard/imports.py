"""Merchant pages of the order intake: CSV upload with its template, the batch report (with
progress while a batch runs), and entering an order by hand (as a Draft or submitted).

Viewers may look at batches; only managers may upload, create or submit (a viewer's POST is
a 403). Another merchant's batch or order is a 404.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from orders.formats import MappingNeeded, identify, park_for_mapping
from orders.importing import (
    COLUMN_HELP,
    COLUMNS,
    MAX_ROWS,
    TEMPLATE_EXAMPLE,
    ImportFileError,
    create_batch,
    decode_upload,
    import_orders,
    parse_api_order,
)
from orders.models import ROW_OUTCOMES, ImportBatch, Order
from orders.services import ActionRefused, order_submit
from orders.tasks import enqueue_batch

from . import access
from .intake_forms import LineFormSet, NewOrderForm, UploadForm

REPORT_PAGE_SIZE = 200


def _merchant_and_role(request):
    merchant = access.require_merchant(request)
    return merchant, access.role(request, merchant)


def _manager_only(request, merchant):
    if request.method == "POST":
        access.require_manager(request, merchant)


@login_required
def upload(request):
    merchant, role = _merchant_and_role(request)
    _manager_only(request, merchant)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        try:
            text = decode_upload(upload_file.read())
            kind, mapping = identify(merchant, text)
            batch = create_batch(
                merchant=merchant,
                content=text,
                by=request.user,
                filename=upload_file.name,
                kind=kind,
                mapping=mapping,
            )
        except MappingNeeded:
            # Not our columns nor a known export: the merchant maps them once (mappings.py).
            batch = park_for_mapping(
                merchant=merchant, content=text, by=request.user, filename=upload_file.name
            )
            return redirect("import_mapping", pk=batch.pk)
        except ImportFileError as exc:
            form.add_error("file", exc.message)
        else:
            enqueue_batch(batch)
            messages.success(
                request,
                f"{upload_file.name}: {batch.total_rows} rows received, {batch.read_as}.",
            )
            return redirect("import_batch", pk=batch.pk)
    batches = ImportBatch.objects.filter(merchant=merchant).select_related("created_by")[:20]
    return render(
        request,
        "dashboard/imports/upload.html",
        {
            "merchant": merchant,
            "is_manager": role == "manager",
            "form": form,
            "batches": batches,
            "columns": [(c, COLUMN_HELP[c]) for c in COLUMNS],
            "max_rows": MAX_ROWS,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def template_csv(request):
    _merchant_and_role(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="orders-template.csv"'
    writer = csv.DictWriter(response, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(TEMPLATE_EXAMPLE)
    return response


@login_required
def batch_detail(request, pk):
    merchant, role = _merchant_and_role(request)
    batch = get_object_or_404(ImportBatch, pk=pk, merchant=merchant)
    outcome = request.GET.get("outcome", "")
    rows = batch.rows.select_related("order", "earlier")
    if outcome in dict(ROW_OUTCOMES):
        rows = rows.filter(outcome=outcome)
    else:
        outcome = ""
    page = Paginator(rows, REPORT_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "merchant": merchant,
        "batch": batch,
        "page": page,
        "outcome": outcome,
        "outcomes": ROW_OUTCOMES,
    }
    if request.htmx and request.GET.get("part") == "progress":
        return render(request, "dashboard/includes/_batch_progress.html", context)
    return render(request, "dashboard/imports/batch.html", context)


@login_required
def new_order(request):
    merchant, role = _merchant_and_role(request)
    _manager_only(request, merchant)
    form = NewOrderForm(request.POST or None, merchant=merchant)
    lines = LineFormSet(request.POST or None, form_kwargs={"merchant": merchant})
    if request.method == "POST" and form.is_valid() and lines.is_valid():
        draft = "save_draft" in request.POST
        chosen = [f.cleaned_data for f in lines if f.cleaned_data.get("product")]
        if not chosen:
            form.add_error(None, "Add at least one product.")
        problems = {} if draft else form.address_problems()
        for name, message in problems.items():
            form.add_error(name, message)
        if chosen and not problems:
            result = _create(request, merchant, form, chosen, draft)
            if result is not None:
                return result
    drafts = Order.objects.for_merchant(merchant).filter(status="draft").order_by("-created_at")
    return render(
        request,
        "dashboard/imports/new_order.html",
        {
            "merchant": merchant,
            "form": form,
            "lines": lines,
            "drafts": drafts[:20],
            "is_manager": role == "manager",
        },
        status=400 if request.method == "POST" else 200,
    )


def _create(request, merchant, form, chosen, draft):
    data = {**form.cleaned_data, "draft": draft}
    data["lines"] = [
        {
            "sku": line["product"].sku,
            "name": line["product"].name,
            "quantity": str(line["quantity"]),
        }
        for line in chosen
    ]
    order_input = parse_api_order(data)
    outcomes = import_orders(merchant=merchant, inputs=[order_input], by=request.user)
    problems = [o for o in outcomes if not o.ok]
    if not problems:
        order = Order.objects.get(pk=outcomes[0].order.pk)
        if draft:
            messages.success(request, f"Order {order.number} saved as a draft.")
        else:
            messages.success(
                request, f"Order {order.number} submitted: it is now {order.sub_status_label}."
            )
        return redirect(reverse("new_order"))
    for o in problems:
        field = o.field if o.field in form.fields else None
        form.add_error(
            field, f"{o.message}" if o.outcome == "error" else f"{o.number}: {o.message}"
        )
    return None


@login_required
@require_POST
def submit_draft(request, number):
    merchant, role = _merchant_and_role(request)
    _manager_only(request, merchant)
    order = get_object_or_404(Order.objects.for_merchant(merchant).visible(), number=number)
    try:
        order = order_submit(order=order, by=request.user)
    except ActionRefused as exc:
        messages.error(request, exc.message)
    else:
        current = Order.objects.get(pk=order.pk)
        messages.success(
            request, f"Order {current.number} submitted: it is now {current.sub_status_label}."
        )
    back = request.POST.get("next", "")
    # Only a path of this site: redirect() would read any other word as a view name (500).
    if not (
        back.startswith("/")
        and back.isprintable()
        and url_has_allowed_host_and_scheme(back, {request.get_host()})
    ):
        back = reverse("new_order")
    return HttpResponseRedirect(back)
