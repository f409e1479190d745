"""Small forms for transitions that need input; the admin asks for them before applying."""

import csv
import io

from django import forms

from . import statuses as st
from .models import InventoryLevel
from .text import unsafe_cell


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


# --- bulk hand-over: one carrier for the batch, one tracking number per order -------------

TRACKING_CSV_HEADER = ["order_number", "tracking_number", "carrier", "service"]


class BulkHandOverForm(forms.Form):
    """Hand a batch of labelled orders to the carrier. Tracking numbers differ per parcel, so
    they come as lines "ORDER_NUMBER,TRACKING_NUMBER[,CARRIER[,SERVICE]]" pasted into the box
    (the box starts with one "ORDER_NUMBER," line per selected order) or as the same columns
    in an uploaded CSV file (the page offers the file for the selection to fill in)."""

    carrier = forms.CharField(
        max_length=40,
        required=False,
        help_text="For every line that names none. Leave blank to use each order's carrier "
        "from its ship option.",
    )
    service = forms.CharField(max_length=60, required=False)
    tracking_lines = forms.CharField(
        label="Tracking numbers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "spellcheck": "false"}),
        help_text="One line per order: ORDER_NUMBER,TRACKING_NUMBER (optionally ,CARRIER,"
        "SERVICE). Commas, semicolons or tabs (pasted from a spreadsheet) all work. Orders "
        "left without a tracking number are not handed over.",
    )
    tracking_csv = forms.FileField(
        label="…or a CSV file",
        required=False,
        help_text="Columns order_number, tracking_number, carrier, service (header row "
        "optional). Used instead of the box when given.",
    )

    def __init__(self, *args, orders, **kwargs):
        super().__init__(*args, **kwargs)
        self.orders = orders
        if not self.is_bound:
            self.initial["tracking_lines"] = "\n".join(
                f"{o.number},{o.tracking_number}" for o in orders
            )

    def clean_tracking_csv(self):
        upload = self.cleaned_data.get("tracking_csv")
        if not upload:
            return ""
        if upload.size > 2_000_000:
            raise forms.ValidationError("The file is larger than 2 MB.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                "The file is not UTF-8 text (save it as CSV UTF-8)."
            ) from None

    def clean(self):
        data = super().clean()
        text = data.get("tracking_csv") or data.get("tracking_lines") or ""
        by_number = {}
        for order in self.orders:
            by_number.setdefault(order.number, []).append(order)
        plan, errors, seen_orders, seen_tracking = {}, [], set(), {}
        for lineno, cells in _rows(text):
            # Our download writes formula-looking cells with a leading ' (orders.text).
            fields = [unsafe_cell(c.strip()) for c in cells]
            if lineno == 1 and fields[0].strip().lower() in ("order_number", "number", "order"):
                continue  # a header row
            number = fields[0].strip()
            tracking = fields[1].strip() if len(fields) > 1 else ""
            matches = by_number.get(number)
            if not matches:
                errors.append(f"Line {lineno}: order {number} is not among the selected orders.")
                continue
            if len(matches) > 1:
                errors.append(
                    f"Line {lineno}: order number {number} is selected for more than one "
                    "merchant; hand those over in separate batches."
                )
                continue
            if number in seen_orders:
                errors.append(f"Line {lineno}: order {number} appears twice.")
                continue
            seen_orders.add(number)
            if not tracking:
                continue  # reported per order as "no tracking number given"
            if len(tracking) > 64:
                errors.append(f"Line {lineno}: tracking number longer than 64 characters.")
                continue
            if tracking in seen_tracking:
                errors.append(
                    f"Line {lineno}: tracking number {tracking} is also on line "
                    f"{seen_tracking[tracking]}; each parcel has its own."
                )
                continue
            seen_tracking[tracking] = lineno
            plan[matches[0].pk] = {
                "tracking_number": tracking,
                "carrier": fields[2].strip()[:40] if len(fields) > 2 else "",
                "service": fields[3].strip()[:60] if len(fields) > 3 else "",
            }
        if errors:
            raise forms.ValidationError(errors)
        if not plan:
            raise forms.ValidationError("No tracking numbers given: nothing to hand over.")
        data["plan"] = plan
        return data


def _rows(text):
    """(line number, fields) for each non-blank line; comma, semicolon or tab separated."""
    reader = csv.reader(io.StringIO(text))
    for row in reader:
        lineno = reader.line_num
        fields = row
        if len(row) == 1:
            for sep in ("\t", ";"):
                if sep in row[0]:
                    fields = row[0].split(sep)
                    break
            else:
                fields = row[0].split()  # "NUMBER TRACKING" works too
        if fields and any(f.strip() for f in fields):
            yield lineno, fields


class InventoryLevelForm(forms.ModelForm):
    """A new stock level: which product at which facility, and how many are on hand."""

    class Meta:
        model = InventoryLevel
        fields = ["center", "product", "on_hand"]


class StockAdjustForm(forms.ModelForm):
    """Receive or count stock on a level's page. Either is applied as a difference to the
    on-hand count as it is when saved (orders.staff.stock_adjust): received adds its number;
    a count adds (count - what this page showed), so units shipped or received meanwhile are
    neither lost nor counted twice."""

    shown_on_hand = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    received = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        help_text="Units that arrived: added to on hand.",
    )
    counted = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=10_000_000,
        label="Counted on the shelf",
        help_text="What you counted: on hand is adjusted by the difference to what this page "
        "showed.",
    )

    class Meta:
        model = InventoryLevel
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["shown_on_hand"] = self.instance.on_hand

    def clean(self):
        data = super().clean()
        received, counted = data.get("received"), data.get("counted")
        shown = data.get("shown_on_hand")
        if "shown_on_hand" in self.errors:
            self.errors.pop("shown_on_hand")
            raise forms.ValidationError(
                "This page does not say what it showed; reload it and enter the numbers again."
            )
        if received is not None and counted is not None:
            raise forms.ValidationError("Enter either what was received or what you counted.")
        if received is None and counted is None:
            if "received" in self.errors or "counted" in self.errors:
                return data
            raise forms.ValidationError("Enter what was received or what you counted.")
        if received is not None:
            data["delta"], data["what"] = received, f"received {received}"
        else:
            delta = counted - shown
            data["delta"], data["what"] = delta, f"counted {counted}: adjust by {delta:+d}"
        return data
