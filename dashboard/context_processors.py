from orders import statuses as st

from . import access


def dashboard(request):
    """The merchant switcher in the header: who is being viewed and what else may be."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    merchant = access.current_merchant(request)
    return {
        "current_merchant": merchant,
        "merchant_choices": access.merchant_choices(request),
        # Links to pages that only change things (New order) are for managers only.
        "manages_current_merchant": merchant is not None and access.is_manager(request, merchant),
    }


def catalog(request):
    """The status catalog's names, so templates compare with Status.SHIPPED or
    Hold.INVALID_ADDRESS instead of spelling a stored value."""
    return {
        "Status": st.Status,
        "StatusGroup": st.StatusGroup,
        "Hold": st.Hold,
        "Payment": st.Payment,
        "Action": st.Action,
        "STUCK_MINUTES": st.STUCK_MINUTES,
    }
