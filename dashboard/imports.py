"""Merchant pages of the order intake: CSV upload with its template, the batch report (with
progress while a batch runs), and entering an order by hand (as a Draft or submitted).

Viewers may look at batches; only managers may upload, create or submit (a viewer's POST is
a 403). Another merchant's batch or order is a 404.
"""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from orders import import_report
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
from orders.models import MANAGER, ROW_OUTCOMES, ImportBatch, Order, Product
from orders.services import DRAFT_FLAG, ActionRefused, order_submit
from orders.statuses import Status
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
            "is_manager": role == MANAGER,
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
    if batch.finished:
        context["summary"] = import_report.summary(batch)
    if request.htmx and request.GET.get("part") == "progress":
        response = render(request, "dashboard/includes/_batch_progress.html", context)
        if batch.finished:
            # The report below the bar is as of the finish: show it whole.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "dashboard/imports/batch.html", context)


@login_required
@require_GET
def batch_errors_csv(request, pk):
    """The rows that had errors, with what to fix, as a CSV to correct and upload again."""
    merchant, role = _merchant_and_role(request)
    batch = get_object_or_404(ImportBatch, pk=pk, merchant=merchant)
    text = import_report.errors_csv(batch)
    if not text:
        messages.info(request, "This import has no rows with errors to download.")
        return redirect("import_batch", pk=batch.pk)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{batch.pk}-errors.csv"'
    return response


@login_required
def new_order(request):
    merchant, role = _merchant_and_role(request)
    _manager_only(request, merchant)
    drafts = (
        Order.objects.for_merchant(merchant).filter(status=Status.DRAFT).order_by("-created_at")
    )
    if role != MANAGER:
        # Viewers see their drafts but no form they could not send.
        return render(
            request,
            "dashboard/imports/new_order.html",
            {"merchant": merchant, "drafts": drafts[:20], "is_manager": False},
        )
    data = request.POST or None
    if data is not None and "add_line" in data:
        # Without JavaScript "Add item" posts the form back with one more empty line.
        data = data.copy()
        total = _int(data.get("form-TOTAL_FORMS"), 1)
        data["form-TOTAL_FORMS"] = str(min(total + 1, 50))
    form = NewOrderForm(data, merchant=merchant)
    lines = LineFormSet(data, form_kwargs={"merchant": merchant})
    adding = data is not None and "add_line" in data
    if request.method == "POST" and not adding and form.is_valid() and lines.is_valid():
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
    return render(
        request,
        "dashboard/imports/new_order.html",
        {
            "merchant": merchant,
            "form": form,
            "lines": lines,
            "drafts": drafts[:20],
            "is_manager": True,
            "currency": "USD",
        },
        status=400 if request.method == "POST" and not adding else 200,
    )


def _int(text, default):
    try:
        return max(0, int(text))
    except (TypeError, ValueError):
        return default


@login_required
@require_GET
def new_order_line(request):
    """One more line of the new-order form (htmx), optionally with a product chosen; the
    formset's count is updated out of band."""
    merchant, role = _merchant_and_role(request)
    access.require_manager(request, merchant)
    index = min(_int(request.GET.get("form-TOTAL_FORMS"), 0), 49)
    initial = {}
    product = request.GET.get("product", "")
    if product.isdigit() and int(product) < 2**63:
        chosen = Product.objects.filter(merchant=merchant, pk=int(product)).first()
        if chosen is not None:
            initial = {"product": chosen, "quantity": 1}
    form = LineFormSet(form_kwargs={"merchant": merchant}).form(
        prefix=f"form-{index}", initial=initial, merchant=merchant
    )
    return render(
        request,
        "dashboard/imports/_line_row.html",
        {"line": form, "index": index, "total": index + 1, "oob": True},
    )


@login_required
@require_GET
def new_order_products(request):
    """Product search for the new-order form: SKU or name, with price and free stock."""
    merchant, role = _merchant_and_role(request)
    access.require_manager(request, merchant)
    q = request.GET.get("q", "").strip()[:100].replace("\x00", "")
    found = []
    if q:
        found = (
            Product.objects.filter(merchant=merchant)
            .filter(Q(sku__istartswith=q) | Q(name__icontains=q))
            .annotate(
                free=Coalesce(Sum("stock__on_hand", filter=Q(stock__center__handles_stock=True)), 0)
                - Coalesce(Sum("stock__reserved", filter=Q(stock__center__handles_stock=True)), 0)
            )
            .order_by("sku")[:10]
        )
    return render(request, "dashboard/imports/_product_results.html", {"products": found, "q": q})


def _create(request, merchant, form, chosen, draft):
    data = {**form.cleaned_data, DRAFT_FLAG: draft}
    data["lines"] = [
        {
            "sku": line["product"].sku,
            "name": line["product"].name,
            "quantity": str(line["quantity"]),
            **(
                {"unit_price": str(line["product"].price)}
                if line["product"].price is not None
                else {}
            ),
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
