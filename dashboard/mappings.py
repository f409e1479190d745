"""The column mapping step of an upload: a CSV whose columns are neither our template's nor a
known export's waits (as a batch in state "mapping") until a manager says which of its
columns is which of our fields; the mapping is then kept for files with the same headers.

Another merchant's batch or mapping is a 404; a viewer may look, not confirm (403).
"""

from pathlib import PurePath

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from orders.formats import header_of, map_batch, mapped
from orders.importing import COLUMN_HELP, COLUMNS, REQUIRED_COLUMNS, ImportFileError
from orders.models import ColumnMapping, ImportBatch
from orders.tasks import enqueue_batch

from . import access

PREVIEW_ROWS = 5
NOT_IN_FILE = ""


class MappingForm(forms.Form):
    name = forms.CharField(
        label="Save this mapping as",
        max_length=100,
        help_text="Files with the same columns will use it without asking; the API and the "
        "command can name it.",
    )

    def __init__(self, *args, headers, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "— not in this file —")] + [(h, h) for h in headers if h]
        for name in COLUMNS:
            self.fields[f"col_{name}"] = forms.ChoiceField(
                label=name,
                choices=choices,
                required=False,
                help_text=COLUMN_HELP[name],
            )

    def field_rows(self):
        return [(name, self[f"col_{name}"], name in REQUIRED_COLUMNS) for name in COLUMNS]

    def columns(self):
        """{our field: the chosen column} as submitted (or as guessed, before a submit)."""
        return {name: self[f"col_{name}"].value() or "" for name in COLUMNS}


def _merchant(request):
    merchant = access.require_merchant(request)
    if request.method == "POST":
        access.require_manager(request, merchant)
    return merchant


@login_required
def mapping_step(request, pk):
    """GET: the menus (guessed) and a preview; POST "preview": the preview of the chosen
    columns; POST "confirm": save the mapping and import the file."""
    merchant = _merchant(request)
    batch = get_object_or_404(ImportBatch, pk=pk, merchant=merchant)
    if batch.state != "mapping":
        return redirect("import_batch", pk=batch.pk)
    try:
        headers = header_of(batch.content)
    except ImportFileError as exc:  # parked files have a header; kept for safety
        messages.error(request, exc.message)
        return redirect("imports")
    initial = {f"col_{k}": v for k, v in mapped.guess(headers).items()}
    initial["name"] = PurePath(batch.filename).stem[:100] or "My store's export"
    form = MappingForm(request.POST or None, headers=headers, initial=initial)
    status = 200
    problems = []
    if request.method == "POST":
        if form.is_valid():
            columns = {k: v for k, v in form.columns().items() if v}
            problems = mapped.problems(columns, headers)
            if "confirm" in request.POST and not problems:
                try:
                    done = map_batch(
                        batch=batch,
                        name=form.cleaned_data["name"],
                        columns=columns,
                        by=request.user,
                    )
                except ImportFileError as exc:
                    problems = [exc.message]
                else:
                    if done is None:
                        return redirect("import_batch", pk=batch.pk)
                    enqueue_batch(done)
                    messages.success(
                        request,
                        f"{done.filename or 'The file'}: {done.total_rows} rows received, "
                        f"{done.read_as}. Files with the same columns will use it directly.",
                    )
                    return redirect("import_batch", pk=done.pk)
        status = 400 if (problems or form.errors) and "confirm" in request.POST else 200
    columns = {k: v for k, v in form.columns().items() if v}
    try:
        preview = mapped.preview(batch.content, columns, rows=PREVIEW_ROWS)
    except ImportFileError as exc:
        preview, problems = [], [*problems, exc.message]
    shown = [name for name in COLUMNS if columns.get(name)]
    return render(
        request,
        "dashboard/imports/mapping.html",
        {
            "merchant": merchant,
            "batch": batch,
            "form": form,
            "headers": headers,
            "problems": problems,
            "preview_columns": shown,
            "preview": [
                (row, [raw.get(name, "") for name in shown], errors) for row, raw, errors in preview
            ],
            "is_manager": access.is_manager(request, merchant),
        },
        status=status,
    )


@login_required
def mapping_list(request):
    merchant = _merchant(request)
    return render(
        request,
        "dashboard/imports/mappings.html",
        {
            "merchant": merchant,
            "mappings": ColumnMapping.objects.filter(merchant=merchant),
            "is_manager": access.is_manager(request, merchant),
        },
    )


@login_required
@require_POST
def mapping_forget(request, pk):
    merchant = _merchant(request)
    mapping = get_object_or_404(ColumnMapping, pk=pk, merchant=merchant)
    mapping.delete()
    messages.success(
        request, f"Mapping '{mapping.name}' forgotten: files with its columns will ask again."
    )
    return redirect("import_mappings")
