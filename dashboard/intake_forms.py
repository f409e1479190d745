"""Forms of the intake pages: the CSV upload and the new-order-by-hand form."""

from django import forms

from orders.addresses import address_errors
from orders.importing import MAX_BYTES
from orders.models import ADDRESS_FIELDS, Order


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV: the template's columns, a Shopify orders export as it is, or "
        "another store's export (you map its columns once). "
        f"At most {MAX_BYTES // (1024 * 1024)} MB.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it."
            )
        return upload


class NewOrderForm(forms.ModelForm):
    ship_option = forms.ChoiceField(label="Ship option")

    class Meta:
        model = Order
        fields = [
            "number",
            "customer_name",
            "customer_email",
            "customer_phone",
            *ADDRESS_FIELDS,
            "ship_option",
        ]

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.merchant = merchant
        options = merchant.ship_options.values_list("store_option", flat=True)
        self.fields["ship_option"].choices = [(o, o) for o in options]
        for name in ("number", "ship_name", "address1", "city", "country"):
            self.fields[name].required = True

    def validate_unique(self):
        """Duplicates are the importer's call (skipped or refused, with the reason)."""

    def address_problems(self):
        return address_errors({k: self.cleaned_data.get(k, "") for k in ADDRESS_FIELDS})


class LineForm(forms.Form):
    product = forms.ModelChoiceField(queryset=None, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=10_000, required=False, initial=1)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = merchant.products.all()

    def clean(self):
        data = super().clean()
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", "How many?")
        return data


LineFormSet = forms.formset_factory(LineForm, extra=4, max_num=50)
