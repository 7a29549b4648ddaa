"""The model graph: SQL model files with declared inputs, parsed once, run in dependency order.

Each file in warehouse/sql/<layer>/ is one model writing one table of the same name. Its header
declares what the runner needs to know:

    -- name: fct_ad_performance_daily
    -- description: ...
    -- layer: facts
    -- platform: meta                       (staging only: run only for this platform's syncs)
    -- inputs: stg_meta__adset_daily, dim_ad_account, wh_fx_rate
    -- materialization: merge | upsert | script
    -- unique_key: date_day, platform, ...  (merge / upsert)
    -- scope: date_day BETWEEN %(date_from)s AND ...   (merge: the slice of the table a run owns)
    -- test: not_null(currency) "optional message"   [warn]

The body is a SELECT (merge / upsert) followed by optional `-- step: <name>` statements; steps
whose name starts with `after_` run after the merge, the others before it. A script model is
only steps. Parameters are psycopg named parameters (`%(date_from)s`), so a literal percent
sign is written `%%`.

A body line `-- include: <fragment>` is replaced by warehouse/sql/fragments/<fragment>.sql
before anything else: SQL several models must compute identically (the reporting-currency
conversion, `fx_rates` and `fx_columns`) is written once. A model's sha256 covers the
fragments it includes, so changing a fragment is a change to every model that uses it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bosco.platforms import UPLOAD_PREFIX

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
FRAGMENT_DIR = SQL_DIR / "fragments"
LAYERS = ("staging", "dimensions", "facts", "rollups")
MATERIALIZATIONS = ("merge", "upsert", "script")

#: tables models read that no model writes, and the layer the lineage graph shows them in
SOURCES: dict[str, str] = {
    "raw_record": "sources",
    "wh_fx_rate": "sources",
    "dim_platform": "seeds",
}

_INCLUDE = re.compile(r"^--\s*include:\s*(?P<name>[a-z_]+)\s*$")
_HEADER = re.compile(r"^--\s*(?P<key>[a-z_]+):\s?(?P<value>.*)$")
_TEST = re.compile(
    r"^(?P<kind>[a-z_]+)\((?P<args>[^)]*)\)\s*(?:\"(?P<message>[^\"]*)\")?\s*(?:\[(?P<severity>warn|error)\])?$"
)


class ModelDefinitionError(Exception):
    """A SQL model file is malformed; raised at load time so a bad file never runs half-way."""


@dataclass(frozen=True)
class TestSpec:
    kind: str
    args: tuple[str, ...]
    severity: str  # "error" quarantines failing rows; "warn" only records them
    message: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}({', '.join(self.args)})"


@dataclass(frozen=True)
class Step:
    name: str
    sql: str

    @property
    def after_merge(self) -> bool:
        return self.name.startswith("after_")


@dataclass(frozen=True)
class SqlModel:
    name: str
    layer: str
    description: str
    platform: str | None
    inputs: tuple[str, ...]
    materialization: str
    unique_key: tuple[str, ...]
    scope: str | None
    tests: tuple[TestSpec, ...]
    select_sql: str | None
    steps: tuple[Step, ...]
    path: Path
    sha256: str

    @property
    def output(self) -> str:
        return self.name


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_test(text: str) -> TestSpec:
    match = _TEST.match(text.strip())
    if match is None:
        raise ModelDefinitionError(f"cannot parse test declaration {text!r}")
    args = match["args"]
    if ":" in args:  # references(dim_campaign: platform, campaign_id) / accepted_values(col: a, b)
        head, tail = args.split(":", 1)
        parsed = (head.strip(), *_split_list(tail))
    else:
        parsed = _split_list(args)
    return TestSpec(kind=match["kind"], args=parsed, severity=match["severity"] or "error", message=match["message"])


def fragment(name: str) -> str:
    """A shared SQL fragment's text (its comment lines included; they are SQL comments)."""
    path = FRAGMENT_DIR / f"{name}.sql"
    if not path.is_file():
        raise ModelDefinitionError(f"unknown SQL fragment {name!r} (no {path})")
    text = path.read_text().rstrip("\n")
    if any(_INCLUDE.match(line) or re.match(r"^--\s*step:", line) for line in text.splitlines()):
        raise ModelDefinitionError(f"{path}: a fragment holds neither includes nor steps")
    return text


def _expand(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        match = _INCLUDE.match(line)
        out.extend(fragment(match["name"]).splitlines() if match else [line])
    return out


def parse_model(path: Path) -> SqlModel:
    text = path.read_text()
    header: dict[str, list[str]] = {}
    body_lines: list[str] = []
    in_header = True
    for line in text.splitlines():
        if in_header:
            match = _HEADER.match(line)
            if match is not None and match["key"] != "step":
                header.setdefault(match["key"], []).append(match["value"].strip())
                continue
            in_header = False
        body_lines.append(line)
    body_lines = _expand(body_lines)
    name = (header.get("name") or [path.stem])[0]
    if name != path.stem:
        raise ModelDefinitionError(f"{path}: model name {name!r} must match the file name")
    materialization = (header.get("materialization") or [""])[0]
    if materialization not in MATERIALIZATIONS:
        raise ModelDefinitionError(f"{path}: materialization must be one of {MATERIALIZATIONS}")
    layer = (header.get("layer") or [""])[0]
    if layer not in LAYERS:
        raise ModelDefinitionError(f"{path}: layer must be one of {LAYERS}")

    # Split the body into the leading SELECT and named steps.
    select_lines: list[str] = []
    steps: list[Step] = []
    current: list[str] = select_lines
    current_name: str | None = None
    for line in body_lines:
        step = re.match(r"^--\s*step:\s*(\w+)\s*$", line)
        if step:
            if current_name is not None:
                steps.append(Step(current_name, "\n".join(current).strip()))
            current_name, current = step.group(1), []
            continue
        current.append(line)
    if current_name is not None:
        steps.append(Step(current_name, "\n".join(current).strip()))
    select_sql = "\n".join(select_lines).strip() or None
    unique_key = _split_list((header.get("unique_key") or [""])[0])
    scope = next(iter(header.get("scope", [])), None)
    if materialization == "script":
        if select_sql or not steps:
            raise ModelDefinitionError(f"{path}: a script model is only `-- step:` statements")
    else:
        if not select_sql or not unique_key:
            raise ModelDefinitionError(f"{path}: {materialization} needs a SELECT and a unique_key")
        if materialization == "merge" and not scope:
            raise ModelDefinitionError(f"{path}: merge needs a scope (the slice of the table a run owns)")
    for statement in [select_sql or "", *(s.sql for s in steps)]:
        if statement.rstrip().endswith(";"):
            raise ModelDefinitionError(f"{path}: end statements without a semicolon (one statement per step)")
    return SqlModel(
        name=name,
        layer=layer,
        description=" ".join(header.get("description", [])),
        platform=next(iter(header.get("platform", [])), None),
        inputs=_split_list(", ".join(header.get("inputs", []))),
        materialization=materialization,
        unique_key=unique_key,
        scope=scope,
        tests=tuple(parse_test(t) for t in header.get("test", [])),
        select_sql=select_sql,
        steps=tuple(steps),
        path=path,
        sha256=hashlib.sha256("\n".join((text, *body_lines)).encode()).hexdigest(),
    )


@cache
def models() -> dict[str, SqlModel]:
    """Every model, in dependency order (inputs before the models that read them)."""
    files = sorted(p for p in SQL_DIR.glob("*/*.sql") if p.parent.name in LAYERS)  # not fragments/
    found = {m.name: m for m in (parse_model(p) for p in files)}
    for model in found.values():
        unknown = [i for i in model.inputs if i not in found and i not in SOURCES]
        if unknown:
            raise ModelDefinitionError(f"{model.name}: unknown inputs {unknown}")
    ordered: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ModelDefinitionError(f"cycle in the model graph: {' → '.join((*path, name))}")
        state[name] = 1
        for dep in found[name].inputs:
            if dep in found:
                visit(dep, (*path, name))
        state[name] = 2
        ordered.append(name)

    layer_rank = {layer: i for i, layer in enumerate(LAYERS)}
    for name in sorted(found, key=lambda n: (layer_rank[found[n].layer], n)):
        visit(name, ())
    return {name: found[name] for name in ordered}


def platforms_with_models() -> list[str]:
    return sorted({m.platform for m in models().values() if m.platform})


#: platform codes of uploaded-file sources ("upload_linkedin") share the upload staging models
UPLOAD_PLATFORM_PREFIX = UPLOAD_PREFIX


def model_platform(code: str) -> str:
    """The `platform:` of the staging models that serve platform `code`."""
    return "upload" if code.startswith(UPLOAD_PLATFORM_PREFIX) else code


def plan(*, platforms: list[str]) -> list[SqlModel]:
    """The models a run for these platforms executes, in order: shared models and their staging."""
    wanted = {model_platform(p) for p in platforms}
    return [m for m in models().values() if m.platform is None or m.platform in wanted]


def downstream(name: str) -> set[str]:
    """Every model that reads `name`, directly or through other models."""
    result: set[str] = set()
    frontier = {name}
    while frontier:
        frontier = {m.name for m in models().values() if set(m.inputs) & frontier} - result
        result |= frontier
    return result
