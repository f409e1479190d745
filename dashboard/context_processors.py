from . import access


def dashboard(request):
    """The merchant switcher in the header: who is being viewed and what else may be."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {
        "current_merchant": access.current_merchant(request),
        "merchant_choices": access.merchant_choices(request),
    }
