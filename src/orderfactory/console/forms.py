"""The console's forms: what a filter or an action takes from the browser, checked before any service runs.
Times are typed and shown in UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from orderfactory.factories.models import KINDS, STATUSES
from orderfactory.subscriptions.models import SUBSCRIPTION_STATUSES

KIND_NAMES = {"order_copies": "Order copies", "recurring_order_copies": "Recurring order copies"}
KIND_NAME = {"order_copies": "Order copy", "recurring_order_copies": "Recurring order copy"}


def _choices(values: tuple[str, ...], any_label: str) -> list[tuple[str, str]]:
    return [("", any_label), *((v, v.replace("_", " ")) for v in values)]


class SignInForm(forms.Form):
    email = forms.EmailField(max_length=254)
    password = forms.CharField(max_length=4096, strip=False, widget=forms.PasswordInput)


class CopyFilter(forms.Form):
    kind = forms.ChoiceField(
        required=False, choices=[("", "Both kinds"), *((k, KIND_NAMES[k]) for k in KINDS)]
    )
    status = forms.ChoiceField(required=False, choices=_choices(STATUSES, "Any status"))
    email = forms.CharField(required=False, max_length=254, label="Customer email")
    since = forms.DateField(
        required=False, label="Created from", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="Created to", widget=forms.DateInput(attrs={"type": "date"})
    )


class SubscriptionSearch(forms.Form):
    q = forms.CharField(required=False, max_length=254, label="Number or customer email")
    status = forms.ChoiceField(required=False, choices=_choices(SUBSCRIPTION_STATUSES, "Any status"))


class OrderSearch(forms.Form):
    q = forms.CharField(required=False, max_length=254, label="Number, id or customer email")


class UtcDateTimeField(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        # Django made it aware in the current time zone, which is UTC: say so without depending on it.
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


class PauseForm(forms.Form):
    until = UtcDateTimeField(label="Pause until (UTC)")


class MoveForm(forms.Form):
    next_run_at = UtcDateTimeField(label="Next run at (UTC)")


class ApplicationForm(forms.Form):
    name = forms.CharField(max_length=255)
    kind = forms.ChoiceField(choices=[("integration", "integration"), ("sales_channel", "sales channel")])


class RedeliverForm(forms.Form):
    delivery = forms.CharField(max_length=64)
