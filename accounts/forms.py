from __future__ import annotations

import zoneinfo

from django import forms

from accounts.roles import Role
from bosco.formatting import DEFAULT_NUMBER_FORMAT, NUMBER_FORMATS
from bosco.money import REPORTING_CURRENCIES

COMMON_TIME_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
]


def _time_zone_choices() -> list[tuple[str, str]]:
    rest = sorted(zoneinfo.available_timezones() - set(COMMON_TIME_ZONES))
    return [(tz, tz.replace("_", " ")) for tz in COMMON_TIME_ZONES + rest]


def _currency_choices() -> list[tuple[str, str]]:
    return [(code, f"{code} — {name}") for code, name in REPORTING_CURRENCIES.items()]


def _number_format_choices() -> list[tuple[str, str]]:
    return [(f.code, f.label) for f in NUMBER_FORMATS.values()]


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        max_length=100, widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "Acme Inc."})
    )
    slug = forms.CharField(
        label="Address",
        max_length=40,
        help_text="Lowercase letters, digits and hyphens.",
        widget=forms.TextInput(attrs={"placeholder": "acme", "autocapitalize": "none", "spellcheck": "false"}),
    )
    reporting_currency = forms.ChoiceField(choices=_currency_choices, initial="EUR")
    time_zone = forms.ChoiceField(choices=_time_zone_choices, initial="Europe/Berlin")
    number_format = forms.ChoiceField(choices=_number_format_choices, initial="en-US", required=False)


def number_format_for(accept_language: str) -> str:
    """The number format closest to the browser's preferred languages (en-US when none is close)."""
    by_tag = {code.lower(): code for code in NUMBER_FORMATS}
    by_language: dict[str, str] = {}
    for code in NUMBER_FORMATS:  # the first format of a language stands for it (en → en-US)
        by_language.setdefault(code.split("-")[0].lower(), code)
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("_", "-").lower()
        if tag:
            chosen = by_tag.get(tag) or by_language.get(tag.split("-")[0])
            if chosen:
                return chosen
    return DEFAULT_NUMBER_FORMAT


class WorkspaceSettingsForm(forms.Form):
    name = forms.CharField(max_length=100)
    reporting_currency = forms.ChoiceField(choices=_currency_choices)
    time_zone = forms.ChoiceField(choices=_time_zone_choices)
    number_format = forms.ChoiceField(choices=_number_format_choices, initial="en-US", required=False)


class InvitationForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"placeholder": "colleague@example.com"}))
    role = forms.ChoiceField(
        choices=[(r.value, r.label) for r in Role if r != Role.OWNER] + [(Role.OWNER.value, "Owner")],
        initial=Role.ANALYST,
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
