"""Write docs/fields.md, the field-by-field reference, from planner's schema.

Run `python docs/make_fields.py`; tests/test_docs.py fails when the committed file is stale.
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from planner.schema import Instance

INTRO = """# Instance and pathway-model fields

Generated from `planner/schema.py` by `python docs/make_fields.py`; do not edit by hand.

An **instance** file (`instances/`) describes one local plan and names its **pathway model**
(`models/`) with `model: ../models/<file>.yaml`. The model file holds reusable evidence: the
top-level fields `pathway`, `title`, `description`, `health_unit`, `interventions`, `outcomes`,
`uncertainty` and `sources`. The instance's `interventions`, `outcomes` and `uncertainty` are
merged field by field over the model's, so an instance adds local numbers (baseline units,
capacity, partners) and may override any number of the model. A scenario
(`scenarios: {name: {...}}`) is merged over the instance the same way; in a scenario or an
instance, `null` removes a field. Unknown fields are errors.

Money is in the instance's `currency`; health gain in its `health_unit`. Names (the keys of
interventions, outcomes, partners, floors, groups, complements, resources and scenarios) use
letters, digits and underscores and start with a letter. Every number is smaller than 1e15 in
size: a solver cannot take larger ones (HiGHS refuses a matrix entry from 1e15 on), so state
money in thousands or millions where it would reach that.
"""


def type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if annotation is Any:
        return "any field"
    if origin is typing.Annotated:
        return type_name(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in get_args(annotation) if a is not type(None)]
        return " or ".join(names)
    if origin is dict:
        key, value = get_args(annotation)
        return f"mapping of {type_name(key)} to {type_name(value)}"
    if origin is list:
        return f"list of {type_name(get_args(annotation)[0])}"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return {float: "number", int: "whole number", str: "text", bool: "yes/no"}.get(
        annotation, str(annotation)
    )


def nested(annotation: Any) -> list[type[BaseModel]]:
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if origin is None:
        return []
    return [m for arg in get_args(annotation) for m in nested(arg)]


def section(model: type[BaseModel]) -> list[str]:
    lines = [f"## {model.__name__}", "", (model.__doc__ or "").strip(), ""]
    lines += ["| field | type | unit | default | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if info.default is PydanticUndefined:
            default = "**required**"
        elif info.default in (None, {}, []):
            default = ""
        elif isinstance(info.default, BaseModel):
            default = "see below"
        else:
            default = f"`{info.default}`"
        lines.append(
            f"| `{name}` | {type_name(info.annotation)} | {extra.get('unit', '')} | {default} "
            f"| {info.description or ''} |"
        )
    return [*lines, ""]


def render() -> str:
    order: list[type[BaseModel]] = []
    queue: list[type[BaseModel]] = [Instance]
    while queue:
        model = queue.pop(0)
        if model in order:
            continue
        order.append(model)
        for info in model.model_fields.values():
            queue += nested(info.annotation)
    lines = [INTRO]
    for model in order:
        lines += section(model)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    target = Path(__file__).with_name("fields.md")
    target.write_text(render())
    sys.stdout.write(f"wrote {target}\n")
