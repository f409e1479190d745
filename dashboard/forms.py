from django import forms

from orders import statuses as st
from orders.addresses import COUNTRY_CHOICES, country_code
from orders.models import ADDRESS_FIELDS, Order

# The merchant's actions offered for many orders at once (their words: the catalog).
BULK_ACTION_NAMES = st.BULK_ACTION_NAMES
BULK_ACTIONS = [(name, st.MERCHANT_ACTION_BY_NAME[name].verb) for name in BULK_ACTION_NAMES]
BULK_SCOPES = [("selected", "Selected orders"), ("all", "All orders matching the filter")]


class AddressForm(forms.ModelForm):
    """The shipping address fields as the merchant edits them; the service normalises and
    checks them (orders/addresses.py), so errors read the same everywhere."""

    note = forms.CharField(
        required=False,
        label="Note for our staff",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only for a change request: anything staff should know.",
    )

    # A menu of ISO 3166 countries by name; a typed name or code (a script, no JavaScript
    # autocomplete) is looked up exactly, never guessed: "Germany" is DE.
    country = forms.CharField(
        max_length=100,
        widget=forms.Select(choices=[("", "Choose a country")] + COUNTRY_CHOICES),
    )

    class Meta:
        model = Order
        fields = ADDRESS_FIELDS

    def clean_country(self):
        typed = self.cleaned_data["country"]
        code = country_code(typed)
        if code is None:
            raise forms.ValidationError(
                f"'{typed}' is not a country we know: choose one from the list."
            )
        return code

    def __init__(self, *args, request_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not request_only:
            del self.fields["note"]

    def _post_clean(self):
        # The model instance is only read here; the service applies the change under a lock.
        pass


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    # Without "all" (the list's "select all matching" box) the action is for the ticked rows.
    scope = forms.ChoiceField(choices=BULK_SCOPES, required=False)
    selected = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[])
    confirmed = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Ids are checked against the merchant's orders by the view, not a fixed choice list.
        self.fields["selected"].valid_value = lambda value: str(value).isdigit()

    def clean_selected(self):
        # An id no row can have is simply not found; it must not reach the database.
        return [pk for pk in self.cleaned_data["selected"] if 0 < pk < 2**63]

    def clean_scope(self):
        return self.cleaned_data.get("scope") or "selected"

    def clean(self):
        data = super().clean()
        if data.get("scope") == "selected" and not data.get("selected"):
            raise forms.ValidationError("Select at least one order, or choose all matching.")
        return data
