"""Stripe's wire format: form-encoded nested parameters, ids, the error envelope, JSON replies."""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

_ALPHABET = string.ascii_letters + string.digits
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")

# How long the random part of each id is, as in real Stripe ids.
_ID_LENGTHS = {"cus": 14, "prod": 14, "si": 14, "req": 14, "cs_test": 58}


def new_id(prefix: str) -> str:
    size = _ID_LENGTHS.get(prefix, 24)
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(size))


class StripeError(Exception):
    """An API error, rendered as Stripe's `{"error": {...}}` envelope with its HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code}
        if self.code:
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        error.update({"message": self.message, "param": self.param, "type": self.type})
        return {"error": error}


def missing(resource: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(f"No such {resource}: '{object_id}'", status=404, code="resource_missing", param=param)


def required(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", code="parameter_missing", param=param)


def invalid(param: str, message: str) -> StripeError:
    return StripeError(message, code="parameter_invalid", param=param)


def json_response(body: Any, status: int = 200, request_id: str | None = None) -> Response:
    headers = {"Request-Id": request_id or new_id("req"), "Stripe-Version": API_VERSION}
    return Response(json.dumps(body, indent=2), status=status, headers=headers, content_type="application/json")


def error_response(error: StripeError, request_id: str | None = None) -> Response:
    return json_response(error.body(), error.status, request_id)


API_VERSION = "2026-04-22.dahlia"


def parse_params(request: Request) -> dict[str, Any]:
    """The request's parameters (query string for GET/DELETE, form body for POST) as nested data.

    `a[b][c]=1` becomes {"a": {"b": {"c": "1"}}}; both `a[]=x` and the indexed `a[0]=x` the stripe
    library sends become lists. Values stay strings, as Stripe receives them.
    """
    source: MultiDict[str, str] = request.args if request.method in ("GET", "DELETE") else request.form
    if request.method == "POST" and request.args:
        source = MultiDict([*request.args.items(multi=True), *request.form.items(multi=True)])
    root: dict[str, Any] = {}
    for raw_key, value in source.items(multi=True):
        head, _, rest = raw_key.partition("[")
        parts = [head, *_KEY_PART.findall("[" + rest)] if rest else [head]
        _assign(root, parts, value, raw_key)
    return _lists_from_indexes(root)


def _assign(node: dict[str, Any], parts: list[str], value: str, raw_key: str) -> None:
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if nxt == "":  # `a[]` appends
            node.setdefault(part, {})
            bucket = node[part]
            if not isinstance(bucket, dict):
                raise invalid(raw_key, f"Invalid array: {raw_key}")
            bucket[str(len(bucket))] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise invalid(raw_key, f"Invalid hash: {raw_key} mixes a value and a hash")
        node = child
    if isinstance(node.get(parts[-1]), dict):
        raise invalid(raw_key, f"Invalid hash: {raw_key} mixes a value and a hash")
    node[parts[-1]] = value


def _lists_from_indexes(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_indexes(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def as_bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    raise invalid(name, f"Invalid boolean: {value}")


def as_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise StripeError(f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)


def as_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(name, f"Invalid string: {name} must be a string")
    return value


def as_metadata(params: dict[str, Any], name: str = "metadata") -> dict[str, str] | None:
    value = params.get(name)
    if value is None:
        return None
    if value == "":  # Stripe clears metadata with `metadata=`
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise invalid(name, "Invalid hash: metadata takes string keys and string values")
    return dict(value)


def reject_unknown(params: dict[str, Any], allowed: set[str]) -> None:
    for key in params:
        if key not in allowed:
            raise StripeError(f"Received unknown parameter: {key}", code="parameter_unknown", param=key)


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    return json.dumps([method, path, params], sort_keys=True)
