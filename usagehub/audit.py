"""Admin audit trail with values: Django's log says who changed which fields and when; this
adds what each changed field was before and after, for the form and its inlines."""

from typing import Any


def _values(form: Any) -> dict[str, dict[str, str]]:
    return {
        name: {
            "before": str(form.initial.get(name, "")),
            "after": str(form.cleaned_data.get(name, "")),
        }
        for name in form.changed_data
    }


class AuditedAdmin:
    def construct_change_message(
        self, request: Any, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, Any]]:
        message: list[dict[str, Any]] = super().construct_change_message(  # type: ignore[misc]
            request, form, formsets, add
        )
        values: dict[str, Any] = {} if add else _values(form)
        for formset in formsets or []:
            for inline in formset.forms:
                if inline.has_changed() and inline.instance.pk and not add:
                    key = f"{inline.instance._meta.model_name} {inline.instance.pk}"
                    values[key] = _values(inline)
        if values:
            message.append({"values": values})
        return message
