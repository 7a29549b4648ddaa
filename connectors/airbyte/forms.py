"""A Django form generated from an Airbyte source's `connectionSpecification` (JSON Schema).

Supported: `string` (with `enum` a choice; `airbyte_secret` a password input whose value is
stored encrypted; `pattern` checked), `integer`, `number`, `boolean`, arrays of strings (one
per line, or a multiple choice for an `enum` of items), objects nested one level, and `oneOf`
choices between object variants told apart by a `const` property (Airbyte's usual "which
storage / which authentication" switch; only the chosen variant's fields are read). Anything
else — deeper nesting, arrays of objects, a property without a type — raises `UnsupportedSpec`
naming every such field, before anything is stored.

Field names are the JSON paths joined with "." (`provider.storage`, `credentials.0.client_id` for
variant 0 of a oneOf), so the values map straight back into the config object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import RegexValidator

#: the form's own fields (not part of the source's config)
LABEL_FIELD = "bosco_label"
CURRENCY_FIELD = "bosco_currency"
TIME_ZONE_FIELD = "bosco_time_zone"


class UnsupportedSpec(Exception):
    """The spec uses JSON Schema Bosco cannot turn into a form; the message names the fields."""


@dataclass
class Variant:
    title: str
    const_key: str
    const_value: Any
    fields: list[str]


@dataclass
class FormPlan:
    """How form fields map back onto the config: plain paths, secret paths, oneOf groups."""

    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field name → config path
    kinds: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    one_of: dict[str, list[Variant]] = field(default_factory=dict)  # choice field → variants
    required: set[str] = field(default_factory=set)


def _types(schema: dict[str, Any]) -> set[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return {k for k in kind if k != "null"}
    return {kind} if isinstance(kind, str) else set()


def _label(name: str, schema: dict[str, Any]) -> str:
    return str(schema.get("title") or name.replace("_", " ").capitalize())


def _help(schema: dict[str, Any]) -> str:
    text = re.sub(r"<[^>]+>", "", str(schema.get("description") or ""))
    return text[:400]


def _ordered(properties: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    items = [(k, v) for k, v in properties.items() if isinstance(v, dict)]
    return sorted(items, key=lambda kv: kv[1].get("order", 1000) if isinstance(kv[1].get("order"), int) else 1000)


def _scalar_field(
    name: str, schema: dict[str, Any], *, required: bool, problems: list[str]
) -> tuple[forms.Field, str] | None:
    types = _types(schema)
    label, help_text = _label(name.rsplit(".", 1)[-1], schema), _help(schema)
    default = schema.get("default")
    common: dict[str, Any] = {"label": label, "help_text": help_text, "required": required}
    if "enum" in schema and isinstance(schema["enum"], list) and types <= {"string", "integer", "number"}:
        choices = [(str(v), str(v)) for v in schema["enum"]]
        if not required:
            choices = [("", "—"), *choices]
        return forms.ChoiceField(choices=choices, initial=None if default is None else str(default), **common), "enum"
    if types == {"string"}:
        validators = []
        if isinstance(schema.get("pattern"), str):
            try:
                re.compile(schema["pattern"])
                validators.append(
                    RegexValidator(schema["pattern"], message=f"{label} does not have the expected form.")
                )
            except re.error:
                pass
        if schema.get("airbyte_secret"):
            secret = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
            return forms.CharField(widget=secret, validators=validators, strip=False, **common), "secret"
        multiline = bool(schema.get("multiline"))
        widget: forms.Widget = forms.Textarea(attrs={"rows": 3}) if multiline else forms.TextInput()
        return forms.CharField(widget=widget, initial=default, validators=validators, **common), "string"
    if types == {"integer"}:
        return forms.IntegerField(
            min_value=schema.get("minimum"), max_value=schema.get("maximum"), initial=default, **common
        ), "integer"
    if types == {"number"}:
        return forms.DecimalField(
            min_value=None if schema.get("minimum") is None else Decimal(str(schema["minimum"])),
            max_value=None if schema.get("maximum") is None else Decimal(str(schema["maximum"])),
            initial=default,
            **common,
        ), "number"
    if types == {"boolean"}:
        return forms.BooleanField(label=label, help_text=help_text, required=False, initial=bool(default)), "boolean"
    if types == {"array"}:
        raw_items = schema.get("items")
        items: dict[str, Any] = raw_items if isinstance(raw_items, dict) else {}
        if _types(items) == {"string"} and isinstance(items.get("enum"), list):
            choices = [(str(v), str(v)) for v in items["enum"]]
            return forms.MultipleChoiceField(
                choices=choices, widget=forms.CheckboxSelectMultiple, initial=default or [], **common
            ), "enum_array"
        if _types(items) == {"string"}:
            initial = "\n".join(str(v) for v in default) if isinstance(default, list) else None
            return forms.CharField(
                widget=forms.Textarea(attrs={"rows": 3}),
                initial=initial,
                help_text=(help_text + " One per line.").strip(),
                **{k: v for k, v in common.items() if k != "help_text"},
            ), "string_array"
        problems.append(f"{name} (a list of {'/'.join(sorted(_types(items))) or 'untyped items'})")
        return None
    problems.append(f"{name} ({'/'.join(sorted(types)) or 'no type'})")
    return None


def spec_form_class(spec: dict[str, Any]) -> tuple[type[forms.Form], FormPlan]:
    """The form class for a connectionSpecification, and the plan to turn its values into a config."""
    if _types(spec) not in ({"object"}, set()) or not isinstance(spec.get("properties", {}), dict):
        raise UnsupportedSpec("The source's configuration is not a JSON object of fields.")
    plan = FormPlan()
    fields: dict[str, forms.Field] = {}
    problems: list[str] = []

    def add(name: str, path: tuple[str, ...], schema: dict[str, Any], *, required: bool) -> None:
        made = _scalar_field(name, schema, required=required, problems=problems)
        if made is None:
            return
        form_field, kind = made
        fields[name] = form_field
        plan.paths[name] = path
        plan.kinds[name] = kind
        if kind == "secret":
            plan.secrets.add(name)
        if required:
            plan.required.add(name)

    required_top = set(spec.get("required") or [])
    for key, schema in _ordered(spec.get("properties") or {}):
        required = key in required_top
        if isinstance(schema.get("oneOf"), list):
            _add_one_of(key, schema, required=required, fields=fields, plan=plan, problems=problems, add=add)
        elif _types(schema) == {"object"}:
            inner_required = set(schema.get("required") or [])
            for inner, inner_schema in _ordered(schema.get("properties") or {}):
                if _types(inner_schema) == {"object"} or "oneOf" in inner_schema:
                    problems.append(f"{key}.{inner} (objects nested more than one level)")
                    continue
                add(f"{key}.{inner}", (key, inner), inner_schema, required=required and inner in inner_required)
        else:
            add(key, (key,), schema, required=required)
    if problems:
        raise UnsupportedSpec(
            "Bosco cannot build a form for these fields of the source's configuration: "
            + "; ".join(problems)
            + ". Nothing was saved."
        )
    return type("AirbyteSpecForm", (forms.Form,), dict(fields)), plan


def _add_one_of(key, schema, *, required, fields, plan, problems, add) -> None:  # type: ignore[no-untyped-def]
    variants: list[Variant] = []
    for index, option in enumerate(schema["oneOf"]):
        props = option.get("properties") if isinstance(option, dict) else None
        if not isinstance(props, dict):
            problems.append(f"{key} (a choice whose option {index + 1} is not an object)")
            return
        const_key = next((k for k, v in props.items() if isinstance(v, dict) and "const" in v), None)
        if const_key is None:
            const_key = next(
                (k for k, v in props.items() if isinstance(v, dict) and len(v.get("enum") or []) == 1), None
            )
        if const_key is None:
            problems.append(f"{key} (a choice whose option {index + 1} has no constant to tell it apart)")
            return
        const = props[const_key].get("const", (props[const_key].get("enum") or [None])[0])
        names: list[str] = []
        inner_required = set(option.get("required") or [])
        for inner, inner_schema in _ordered(props):
            if inner == const_key:
                continue
            if _types(inner_schema) == {"object"} or "oneOf" in inner_schema:
                problems.append(f"{key}.{inner} (objects nested more than one level)")
                continue
            name = f"{key}.{index}.{inner}"
            add(name, (key, inner), inner_schema, required=False)
            if name in fields and inner in inner_required:
                plan.required.add(name)  # required only when this option is chosen (checked in `config_from`)
            names.append(name)
        variants.append(Variant(str(option.get("title") or const), const_key, const, names))
    choices = [(str(i), v.title) for i, v in enumerate(variants)]
    fields[key] = forms.ChoiceField(choices=choices, label=_label(key, schema), help_text=_help(schema), required=True)
    plan.one_of[key] = variants
    plan.kinds[key] = "one_of"


def _value(kind: str, value: Any) -> Any:
    if kind == "number":
        return float(value) if value is not None else None
    if kind == "string_array":
        return [line.strip() for line in str(value or "").splitlines() if line.strip()]
    if kind == "enum_array":
        return list(value or [])
    return value


def config_from(form: forms.Form, plan: FormPlan) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(config without secrets, secrets) from a valid form; None (with form errors) if a chosen option lacks a field.

    Secrets are returned separately, keyed by their config path joined with "/", so they can be
    stored encrypted and merged back only when the source runs.
    """
    data = form.cleaned_data
    config: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    chosen_fields: set[str] = set()
    for key, variants in plan.one_of.items():
        variant = variants[int(data[key])]
        config[key] = {variant.const_key: variant.const_value}
        chosen_fields.update(variant.fields)
    ok = True
    for name, path in plan.paths.items():
        in_variant = any(name in v.fields for vs in plan.one_of.values() for v in vs)
        if in_variant and name not in chosen_fields:
            continue
        value = _value(plan.kinds[name], data.get(name))
        if value in (None, "", []):
            if in_variant and name in plan.required:
                form.add_error(name, "This field is required for the option you chose.")
                ok = False
            continue
        target = secrets if name in plan.secrets else config
        if name in plan.secrets:
            target["/".join(path)] = value
            continue
        node = target
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return (config, secrets) if ok else None


def config_merge(config: dict[str, Any], secrets: dict[str, Any]) -> dict[str, Any]:
    """The full config the source reads: the stored values plus the decrypted secrets."""
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in config.items()}
    for joined, value in secrets.items():
        path = joined.split("/")
        node = merged
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return merged
