"""The Digests tab's forms: a member's schedule and time zone, and the workspace's white-label look."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django import forms

from digests.models import Delivery, Frequency, Weekday

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def time_zone_choices() -> list[tuple[str, str]]:
    return [(tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.Form):
    frequency = forms.ChoiceField(choices=Frequency.choices, label="Send me")
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int, label="On (weekly)")
    hour = forms.TypedChoiceField(choices=[(h, f"{h:02d}:00") for h in range(24)], coerce=int, label="At")
    time_zone = forms.ChoiceField(choices=time_zone_choices, label="My time zone")
    delivery = forms.ChoiceField(
        choices=Delivery.choices,
        widget=forms.RadioSelect,
        label="With several workspaces",
        help_text="Combined: workspaces with the same schedule arrive in one e-mail.",
    )


class BrandingForm(forms.Form):
    sender_name = forms.CharField(max_length=80, required=False, label="Sender name")
    logo_url = forms.URLField(
        max_length=500,
        required=False,
        label="Logo URL",
        help_text="An https address of a PNG or JPEG logo, 32 px high.",
    )
    primary_color = forms.CharField(max_length=7, initial="#2357d9", label="Main colour")
    accent_color = forms.CharField(max_length=7, initial="#1f2933", label="Heading colour")

    def clean_logo_url(self) -> str:
        url = self.cleaned_data["logo_url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError("Use an https address: mail clients block images over plain http.")
        return url

    def _color(self, name: str) -> str:
        value = self.cleaned_data[name].strip()
        if not COLOR.match(value):
            raise forms.ValidationError("Write a colour as # and six hex digits, e.g. #2357d9.")
        return value.lower()

    def clean_primary_color(self) -> str:
        return self._color("primary_color")

    def clean_accent_color(self) -> str:
        return self._color("accent_color")

    def initial_from(self, branding: Any) -> None:
        for name in ("sender_name", "logo_url", "primary_color", "accent_color"):
            self.initial[name] = getattr(branding, name)
