"""Signing in, landing, choosing a merchant, and the status guide."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from orders import statuses as st
from orders.counts import status_counts

from .. import access
from .common import _waiting_on_you


class LoginView(auth_views.LoginView):
    """Sign in; staff land in the admin where they work (a `next` page still wins), merchant
    members on their orders."""

    redirect_authenticated_user = True

    def get_default_redirect_url(self):
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()


@login_required
def home(request):
    merchant = access.current_merchant(request)
    if merchant is None:
        if request.user.is_staff:
            return redirect("choose_merchant")
        return render(request, "dashboard/no_merchant.html", status=403)
    # A merchant with anything waiting on them lands where it is.
    if _waiting_on_you(status_counts(merchant)):
        return redirect(f"{reverse('order_list')}?view=waiting_on_you")
    return redirect("order_list")


@login_required
@require_http_methods(["GET", "POST"])
def choose_merchant(request):
    if request.method == "POST":
        merchant = access.set_current_merchant(request, request.POST.get("merchant", ""))
        if merchant is None:
            messages.error(request, "You cannot view that merchant.")
        else:
            messages.success(request, f"Now viewing {merchant.name}.")
            return redirect("order_list")
    return render(
        request,
        "dashboard/choose_merchant.html",
        {"choices": access.merchant_choices(request)},
    )


@login_required
@require_GET
def status_guide(request):
    groups = [
        {"group": g, "states": [st.state(s) for s in st.STATES_BY_GROUP[g.value]]}
        for g in st.GROUPS
    ]
    return render(
        request,
        "dashboard/status_guide.html",
        {
            "groups": groups,
            "holds": st.HOLD_REASONS,
            "payments": st.PAYMENT_STATUSES,
            "merchant": access.current_merchant(request),
        },
    )
