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
