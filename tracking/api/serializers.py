"""Input and output of the tracking API. The body is read strictly: an unknown key, a malformed
e-mail or digest, or a body that names nobody is a 400 naming the field."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class ErasureIn(serializers.Serializer):
    customer_id = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="The id your shop or `identify` call reported."
    )
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text="Hashed on arrival; never stored or logged."
    )
    email_sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        allow_blank=True,
        help_text="The SHA-256 of the trimmed, lower-cased address, if you would rather not send it.",
        error_messages={"invalid": "must be 64 hexadecimal characters (a SHA-256 digest)"},
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: f"unknown field; the body takes: {', '.join(self.fields)}" for name in unknown}
                )
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(str(attrs.get(name, "")).strip() for name in ("customer_id", "email", "email_sha256")):
            raise serializers.ValidationError(
                {"non_field_errors": "give a customer_id, an email or an email_sha256 to say whose events to erase"}
            )
        return attrs


class ErasureOut(serializers.Serializer):
    events_deleted = serializers.IntegerField(help_text="Events erased, by the person and their visitor ids.")
    visitors = serializers.IntegerField(help_text="Anonymous visitor ids that were linked to the person.")
