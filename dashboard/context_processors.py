from . import access


def dashboard(request):
    """The merchant switcher in the header: who is being viewed and what else may be."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    merchant = access.current_merchant(request)
    return {
        "current_merchant": merchant,
        "merchant_choices": access.merchant_choices(request),
        # Viewers are not offered pages of changes they could not make (New order).
        "current_role": access.role(request, merchant) if merchant else None,
    }
