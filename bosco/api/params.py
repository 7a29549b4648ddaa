"""Query-string input: comma-separated lists, strict parameter names, and their OpenAPI form.

Every GET endpoint validates its query string with an input serializer through
`query_params_validate`, which also refuses parameters it does not know and parameters given
twice: a typo such as `?platfrom=meta` must answer 400, not silently return unfiltered data.
Lists are one parameter with comma-separated values (`?metrics=spend,roas`), which OpenAPI
describes as `style: form, explode: false`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

#: ids and codes in filters: platform codes, account / campaign / ad group ids and their
#: "platform:account:campaign" forms. Anything else cannot match stored data.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,199}$"
_ID_RE = re.compile(ID_PATTERN)
PAGINATION_PARAMS = ("page", "page_size")


class CommaListField(serializers.Field):
    """`a,b,c` → ["a", "b", "c"]; items from `choices` or matching `pattern`, no repeats."""

    default_error_messages = {
        "empty_item": "has an empty item; separate values with single commas",
        "too_many": "takes at most {max_items} values",
        "repeated": "lists {item!r} twice",
        "invalid_choice": "{item!r} is not one of: {choices}",
        "invalid_item": "{item!r} is not a valid value",
    }

    def __init__(
        self,
        *,
        choices: Sequence[str] | None = None,
        pattern: str | None = ID_PATTERN,
        max_items: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.choices = list(choices) if choices is not None else None
        self.pattern = re.compile(pattern) if pattern else None
        self.max_items = max_items

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, str):
            self.fail("invalid_item", item=data)
        items = [item.strip() for item in data.split(",")]
        if any(not item for item in items):
            self.fail("empty_item")
        if len(items) > self.max_items:
            self.fail("too_many", max_items=self.max_items)
        seen: set[str] = set()
        for item in items:
            if item in seen:
                self.fail("repeated", item=item)
            seen.add(item)
            if self.choices is not None:
                if item not in self.choices:
                    self.fail("invalid_choice", item=item, choices=", ".join(self.choices))
            elif self.pattern is not None and not self.pattern.fullmatch(item):
                self.fail("invalid_item", item=item)
        return items

    def to_representation(self, value: Iterable[str]) -> str:
        return ",".join(value)


class NoQueryParams(serializers.Serializer):
    """For endpoints without parameters: they still refuse unknown ones."""


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.fullmatch(value))


@functools.cache
def _field_names(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    # Instantiating a serializer deep-copies its fields: once per class is enough for the names.
    return frozenset(serializer_class().fields)


def query_params_validate(
    request: Request, serializer_class: type[serializers.Serializer], *, extra: Iterable[str] = ()
) -> dict[str, Any]:
    """The validated query string, or a 400 problem naming every bad parameter."""
    known = _field_names(serializer_class) | set(extra)
    errors: dict[str, str] = {}
    for name in request.query_params:
        if name not in known:
            errors[name] = f"unknown parameter; this endpoint takes: {', '.join(sorted(known))}"
        elif len(request.query_params.getlist(name)) > 1:
            errors[name] = "is given more than once; give a comma-separated list once"
    if errors:
        raise serializers.ValidationError(errors)
    data = {name: request.query_params[name] for name in request.query_params if name not in extra}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def list_parameter(
    name: str,
    description: str,
    *,
    enum: Sequence[str] | None = None,
    pattern: str | None = ID_PATTERN,
    required: bool = False,
    max_items: int = 50,
) -> OpenApiParameter:
    """The OpenAPI description of a `CommaListField` query parameter."""
    items: dict[str, Any] = {"type": "string"}
    if enum is not None:
        items["enum"] = list(enum)
    elif pattern:
        items["pattern"] = pattern
    schema = {"type": "array", "items": items, "minItems": 1, "maxItems": max_items, "uniqueItems": True}
    return OpenApiParameter(name, schema, required=required, description=description, style="form", explode=False)
