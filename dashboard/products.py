"""The merchant's Products page: their products (connected for fulfillment or not) and their
ship-option mappings, fixed here by a manager without waiting for our staff; after a fix, the
held orders that were waiting on it are offered a one-click retry.

Viewers see the page; changes are a manager's (a viewer's POST is a 403). Another merchant's
product is a 404.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from orders.catalog import (
    PRODUCT_HOLDS,
    held_for_product,
    held_for_ship_option,
    orders_retry_waiting,
    product_set_connected,
    ship_option_map,
    unmapped_ship_options,
)
from orders.models import Product, ShipOptionMapping
from orders.services import ActionRefused
from orders.statuses import Status

from . import access


class MappingForm(forms.Form):
    store_option = forms.CharField(label="Ship option (as your store names it)", max_length=100)
    carrier = forms.CharField(max_length=40)
    service = forms.CharField(max_length=60)


def _page(request, merchant, form=None, status=200):
    products = (
        Product.objects.filter(merchant=merchant)
        .annotate(
            waiting=Count(
                "order_lines__order",
                filter=Q(
                    order_lines__order__status=Status.ACTION_REQUIRED,
                    order_lines__order__hold_reason__in=PRODUCT_HOLDS,
                ),
                distinct=True,
            )
        )
        .order_by("sku")
    )
    fixed = request.GET.get("fixed", "")
    fixed_kind, _, fixed_key = fixed.partition(":")
    waiting = None
    if fixed_kind == "product" and fixed_key.isdigit():
        product = Product.objects.filter(merchant=merchant, pk=int(fixed_key)).first()
        if product is not None:
            waiting = {
                "what": f"product {product.sku}",
                "orders": list(held_for_product(product)[:50]),
                "kind": "product",
                "key": product.pk,
            }
    elif fixed_kind == "ship_option" and fixed_key:
        waiting = {
            "what": f"ship option '{fixed_key}'",
            "orders": list(held_for_ship_option(merchant, fixed_key)[:50]),
            "kind": "ship_option",
            "key": fixed_key,
        }
    return render(
        request,
        "dashboard/products/products.html",
        {
            "merchant": merchant,
            "products": products,
            "mappings": ShipOptionMapping.objects.filter(merchant=merchant),
            "unmapped": sorted(unmapped_ship_options(merchant).items()),
            "can_manage": access.is_manager(request, merchant),
            "form": form or MappingForm(initial={"store_option": request.GET.get("option", "")}),
            "waiting": waiting,
        },
        status=status,
    )


@login_required
@require_GET
def products(request):
    return _page(request, access.require_merchant(request))


@login_required
@require_POST
def product_connect(request, pk):
    merchant = access.require_merchant(request)
    product = get_object_or_404(Product, pk=pk, merchant=merchant)
    access.require_manager(request, merchant)
    connected = request.POST.get("connected") == "1"
    try:
        product = product_set_connected(product=product, by=request.user, connected=connected)
    except ActionRefused as exc:
        messages.error(request, exc.message)
        return redirect("products")
    if connected:
        messages.success(request, f"{product.sku} is connected for fulfillment.")
        return redirect(f"{reverse('products')}?fixed=product:{product.pk}#waiting")
    messages.success(
        request,
        f"{product.sku} is disconnected: new orders with it will be held until it is "
        "connected again.",
    )
    return redirect("products")


@login_required
@require_POST
def ship_option_save(request):
    merchant = access.require_merchant(request)
    access.require_manager(request, merchant)
    form = MappingForm(request.POST)
    if not form.is_valid():
        return _page(request, merchant, form=form, status=400)
    try:
        mapping = ship_option_map(merchant=merchant, by=request.user, **form.cleaned_data)
    except ActionRefused as exc:
        for field, error in (getattr(exc, "errors", None) or {}).items():
            form.add_error(field if field in form.fields else None, error)
        if not getattr(exc, "errors", None):
            form.add_error(None, exc.message)
        return _page(request, merchant, form=form, status=400)
    messages.success(
        request, f"'{mapping.store_option}' now ships with {mapping.carrier} {mapping.service}."
    )
    return redirect(f"{reverse('products')}?fixed=ship_option:{mapping.store_option}#waiting")


@login_required
@require_POST
def products_retry(request):
    """Retry the held orders that were waiting on a product or a ship option."""
    merchant = access.require_merchant(request)
    access.require_manager(request, merchant)
    kind = request.POST.get("kind")
    key = request.POST.get("key", "")
    if kind == "product" and key.isdigit() and int(key) < 2**63:
        product = get_object_or_404(Product, pk=int(key), merchant=merchant)
        orders = held_for_product(product)
    elif kind == "ship_option" and key.strip():
        orders = held_for_ship_option(merchant, key[:100])
    else:
        messages.error(request, "Nothing to retry.")
        return redirect("products")
    done, refused = orders_retry_waiting(orders=orders, by=request.user)
    if done:
        messages.success(
            request,
            f"{len(done)} order{'s' if len(done) != 1 else ''} sent back to review; each "
            "order's page shows the result in a few seconds.",
        )
    for message in refused[:5]:
        messages.error(request, message)
    if not done and not refused:
        messages.info(request, "No held orders were waiting on it any more.")
    if len(done) == 1:
        return redirect("order_detail", number=done[0].number)
    return redirect("products")
