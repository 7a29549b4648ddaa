"""Forms of Settings → Tracking."""

from __future__ import annotations

from django import forms

from tracking.services.settings import SettingsError, normalise_origin


class TrackingSettingsForm(forms.Form):
    allowed_origins = forms.CharField(
        label="Allowed origins",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example\nhttps://www.shop.example"}),
        help_text="One per line: the sites whose pages may send events. Beacons from anywhere else are refused.",
    )
    consent_mode = forms.BooleanField(
        label="Ask for consent before storing a visitor id",
        required=False,
        help_text="Visits are counted without cookies until your consent banner calls bosco('consent', true).",
    )
    retention_months = forms.IntegerField(label="Keep events for (months)", min_value=1, max_value=60)
    lookback_days = forms.IntegerField(
        label="Lookback window (days)",
        min_value=1,
        max_value=180,
        help_text="How long before an order a visit still counts as a touchpoint.",
    )
    enabled = forms.BooleanField(label="Collect events", required=False)

    def clean_allowed_origins(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        origins = []
        for line in lines:
            try:
                origins.append(normalise_origin(line))
            except SettingsError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return origins


class ErasureForm(forms.Form):
    customer_id = forms.CharField(label="Customer id", required=False, max_length=200)
    email = forms.EmailField(label="E-mail address", required=False, help_text="Hashed here; never stored.")

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("customer_id", "").strip() and not data.get("email", "").strip() and not self.errors:
            raise forms.ValidationError("Give a customer id or an e-mail address.")
        return data
