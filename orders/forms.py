"""Small forms for transitions that need input; the admin asks for them before applying."""

from django import forms

from . import statuses as st


class HoldForm(forms.Form):
    reason = forms.ChoiceField(choices=st.HOLD_REASON_CHOICES)
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the merchant next to the hold reason.",
    )


class FailForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to the merchant on the order page, e.g. 'artwork rejected: 72 dpi'.",
    )


class HandOverForm(forms.Form):
    carrier = forms.CharField(max_length=40, help_text="UPS, USPS, FedEx, DHL, ...")
    service = forms.CharField(max_length=60, required=False)
    tracking_number = forms.CharField(max_length=64)


class RefundForm(forms.Form):
    amount = forms.DecimalField(min_value=0.01, max_digits=12, decimal_places=2)
