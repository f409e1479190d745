"""Pieces the staff admin's pages share: read-only inlines and records, and saves that a
service may refuse."""

from django import forms
from django.contrib import admin

from ..services import ActionRefused


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- saves that a service may refuse ---------------------------------------------------------


class RefusalShown(forms.ModelForm):
    """A form that shows a service's refusal of its save as its own error (see
    RefusalsAsFormErrors): the message at the top, per-field messages at their fields."""

    refused = None

    def clean(self):
        data = super().clean()
        if self.refused is not None:
            for name, message in (getattr(self.refused, "errors", None) or {}).items():
                if name in self.fields:
                    self.add_error(name, message)
            raise forms.ValidationError(self.refused.message)
        return data


class RefusalsAsFormErrors:
    """The change page saves through a service (save_model / save_related). When the service
    refuses, the admin's transaction is rolled back and the same POST is shown again, with
    the refusal as the form's error and what the person typed still in the fields."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ActionRefused as exc:
            if request.method != "POST" or getattr(request, "_refused", None) is not None:
                raise
            # The service's own audit entry went with the rollback: keep the refusal.
            self.record_refusal(request, exc)
            request._refused = exc
            return super().changeform_view(request, object_id, form_url, extra_context)

    def record_refusal(self, request, exc):
        """Write the audit entry of a refused save (after the admin's rollback)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refused = getattr(request, "_refused", None)
        if refused is None:
            return form
        shown = type(form.__name__, (form,), {})
        shown.refused = refused
        return shown


class RecordAdmin(admin.ModelAdmin):
    """Append-only records (history, audit): shown and searched, never added, changed or
    deleted from the admin (the models refuse it too, see orders/integrity.py)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
