"""Forms of the intake pages: the CSV upload and the new-order-by-hand form."""

from django import forms

from orders.addresses import COUNTRY_CHOICES, address_errors, country_code
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
    country = forms.CharField(
        max_length=100,
        widget=forms.Select(choices=[("", "Choose a country")] + COUNTRY_CHOICES),
    )

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
        self.fields["customer_email"].widget.attrs["autocomplete"] = "email"
        self.fields["postal_code"].widget.attrs["autocomplete"] = "postal-code"
        self.fields["address1"].widget.attrs["autocomplete"] = "address-line1"
        self.fields["address2"].widget.attrs["autocomplete"] = "address-line2"
        self.fields["city"].widget.attrs["autocomplete"] = "address-level2"

    def clean_country(self):
        typed = self.cleaned_data["country"]
        code = country_code(typed)
        if code is None:
            raise forms.ValidationError(f"'{typed}' is not a country we know: choose one.")
        return code

    def validate_unique(self):
        """Duplicates are the importer's call (skipped or refused, with the reason)."""

    def address_problems(self):
        return address_errors({k: self.cleaned_data.get(k, "") for k in ADDRESS_FIELDS})


class ProductChoice(forms.ModelChoiceField):
    """Products as "SKU · name · price", with the price on the option for the running
    total (static/js/dashboard.js)."""

    def label_from_instance(self, obj):
        price = f" · {obj.price}" if obj.price is not None else ""
        return f"{obj.sku} · {obj.name}{price}"


class PricedSelect(forms.Select):
    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        instance = getattr(value, "instance", None)
        if instance is not None and instance.price is not None:
            option["attrs"]["data-price"] = str(instance.price)
        return option


class LineForm(forms.Form):
    product = ProductChoice(queryset=None, required=False, widget=PricedSelect)
    quantity = forms.IntegerField(min_value=1, max_value=10_000, required=False, initial=1)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = merchant.products.all()
        self.fields["product"].empty_label = "Choose a product"

    def clean(self):
        data = super().clean()
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", "How many?")
        return data


LineFormSet = forms.formset_factory(LineForm, extra=1, max_num=50)
