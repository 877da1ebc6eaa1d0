"""Forms of the CSM pages: they validate and keep what the user typed; services do the rest."""

from django import forms

from accounts.models import RAG, AccountUseCase, Activity, Comparison, Objective, Persona, UseCase


class ActivityForm(forms.Form):
    KINDS = [(k, label) for k, label in Activity.Kind.choices if k != Activity.Kind.SYSTEM]

    kind = forms.ChoiceField(choices=KINDS)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=5000,
        label="Note / reason",
    )
    sentiment = forms.ChoiceField(choices=[("", "—"), *RAG.choices], required=False)
    ticket_count = forms.IntegerField(min_value=0, max_value=100_000, required=False)
    personas = forms.ModelMultipleChoiceField(
        queryset=Persona.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean(self) -> dict:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == Activity.Kind.SENTIMENT:
            if not data.get("sentiment"):
                self.add_error("sentiment", "Choose red, yellow or green.")
            if not data.get("body"):
                self.add_error("body", "Say why: the reason is what the team reads later.")
        elif data.get("sentiment"):
            self.add_error("sentiment", "Only a sentiment entry has a colour.")
        if kind == Activity.Kind.SUPPORT_TICKETS and data.get("ticket_count") is None:
            self.add_error("ticket_count", "How many tickets in the last 30 days?")
        if kind == Activity.Kind.NOTE and not data.get("body"):
            self.add_error("body", "Write the note.")
        return data


class ObjectiveForm(forms.ModelForm):
    class Meta:
        model = Objective
        fields = [
            "title",
            "category",
            "use_case",
            "priority",
            "status",
            "due_date",
            "baseline",
            "success_criteria",
            "metric_key_path",
            "comparison",
            "target_value",
        ]
        widgets = {
            "due_date": forms.DateInput(attrs={"type": "date"}),
            "baseline": forms.Textarea(attrs={"rows": 2}),
            "success_criteria": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["use_case"].queryset = UseCase.objects.filter(is_active=True)  # type: ignore[attr-defined]
        self.fields["status"].choices = [  # type: ignore[attr-defined]
            c for c in Objective.Status.choices if c[0] not in Objective.CLOSED_STATUSES
        ]
        self.fields["comparison"].choices = [("", "—"), *Comparison.choices]  # type: ignore[attr-defined]

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("metric_key_path") and (
            not data.get("comparison") or data.get("target_value") is None
        ):
            self.add_error("target_value", "A metric criterion needs a comparison and a target.")
        return data


class ObjectiveCloseForm(forms.Form):
    status = forms.ChoiceField(
        choices=[c for c in Objective.Status.choices if c[0] in Objective.CLOSED_STATUSES]
    )
    outcome_summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        error_messages={"required": "Write the outcome summary."},
    )


class OverrideForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Follow usage data"), *AccountUseCase.Status.choices], required=False
    )
    reason = forms.CharField(max_length=2000, required=False)


class AlertForm(forms.Form):
    action = forms.ChoiceField(choices=[("acknowledge", "Acknowledge"), ("close", "Close")])
    note = forms.CharField(max_length=2000, required=False)


class SharedReportForm(forms.Form):
    label = forms.CharField(max_length=100, required=False, label="For")
    expires_on = forms.DateField(
        label="Expires after", widget=forms.DateInput(attrs={"type": "date"})
    )
