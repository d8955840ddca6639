"""Flows are data: a JSON document validated by a schema, then by semantic
checks that point at the offending question so an editor can show the error
next to it (paths like `questions/3/prompt/es`)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jsonschema

QUESTION_TYPES = ["text", "choice", "multichoice", "number", "money", "email", "phone", "url", "consent"]
OPS = ["eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "answered", "not_answered"]

_I18N = {"type": "object", "required": ["es"], "properties": {"es": {"type": "string", "minLength": 1},
                                                               "en": {"type": "string"}}, "additionalProperties": False}
_CONDITION = {
    "$id": "condition",
    "oneOf": [
        {"type": "object", "required": ["field", "op"], "additionalProperties": False,
         "properties": {"field": {"type": "string"}, "op": {"enum": OPS}, "value": {}}},
        {"type": "object", "required": ["all"], "additionalProperties": False,
         "properties": {"all": {"type": "array", "items": {"$ref": "condition"}, "minItems": 1}}},
        {"type": "object", "required": ["any"], "additionalProperties": False,
         "properties": {"any": {"type": "array", "items": {"$ref": "condition"}, "minItems": 1}}},
    ],
}

FLOW_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["questions"],
    "properties": {
        "version_label": {"type": "string"},
        "locale": {"enum": ["es", "en"]},
        "questions": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "required": ["field", "type", "prompt"],
                "additionalProperties": False,
                "properties": {
                    "field": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
                    "type": {"enum": QUESTION_TYPES},
                    "prompt": _I18N,
                    "help": _I18N,
                    "required": {"type": "boolean"},
                    "choices": {"type": "array", "items": {
                        "type": "object", "required": ["value", "label"], "additionalProperties": False,
                        "properties": {"value": {"type": "string", "minLength": 1}, "label": _I18N,
                                       "synonyms": {"type": "array", "items": {"type": "string"}}}}},
                    "validation": {"type": "object", "additionalProperties": False, "properties": {
                        "min": {"type": "number"}, "max": {"type": "number"},
                        "min_length": {"type": "integer", "minimum": 0}, "max_length": {"type": "integer", "minimum": 1},
                        "pattern": {"type": "string"}}},
                },
            },
        },
        "skip": {"type": "array", "items": {"type": "object", "required": ["field", "when"], "additionalProperties": False,
                                            "properties": {"field": {"type": "string"}, "when": {"$ref": "condition"}}}},
        "branches": {"type": "array", "items": {"type": "object", "required": ["after", "when", "goto"],
                                                "additionalProperties": False,
                                                "properties": {"after": {"type": "string"}, "when": {"$ref": "condition"},
                                                               "goto": {"type": "string"}}}},
    },
    "$defs": {"condition": _CONDITION},
}


@dataclass(frozen=True)
class FlowError:
    path: str
    message: str


def _conditions(node, path: str):
    if "all" in node or "any" in node:
        key = "all" if "all" in node else "any"
        for i, child in enumerate(node[key]):
            yield from _conditions(child, f"{path}/{key}/{i}")
    else:
        yield node, path


def validate_flow(definition: dict) -> list[FlowError]:
    """Schema errors, then semantic ones; empty when the flow is usable."""
    validator = jsonschema.Draft202012Validator(FLOW_SCHEMA, registry=_registry())
    errors = [
        FlowError("/".join(str(p) for p in err.absolute_path) or "", _schema_message(err))
        for err in sorted(validator.iter_errors(definition), key=lambda e: list(e.absolute_path))
    ]
    if errors:
        return errors
    questions = definition["questions"]
    order = {q["field"]: i for i, q in enumerate(questions)}
    seen: set[str] = set()
    for i, q in enumerate(questions):
        if q["field"] in seen:
            errors.append(FlowError(f"questions/{i}/field", f"El campo «{q['field']}» está repetido."))
        seen.add(q["field"])
        if q["type"] in ("choice", "multichoice") and not q.get("choices"):
            errors.append(FlowError(f"questions/{i}/choices", "Una pregunta de opciones necesita opciones."))
        if q["type"] == "consent" and i != 0:
            errors.append(FlowError(f"questions/{i}/type", "El consentimiento debe ser la primera pregunta."))
        v = q.get("validation") or {}
        if "min" in v and "max" in v and v["min"] > v["max"]:
            errors.append(FlowError(f"questions/{i}/validation", "El mínimo no puede ser mayor que el máximo."))
    for i, rule in enumerate(definition.get("skip", [])):
        if rule["field"] not in order:
            errors.append(FlowError(f"skip/{i}/field", f"No existe la pregunta «{rule['field']}»."))
            continue
        for cond, path in _conditions(rule["when"], f"skip/{i}/when"):
            ref = cond["field"]
            if ref not in order or order[ref] >= order[rule["field"]]:
                errors.append(FlowError(f"{path}/field", f"La condición debe usar una pregunta anterior a «{rule['field']}»."))
    for i, branch in enumerate(definition.get("branches", [])):
        after, goto = branch["after"], branch["goto"]
        if after not in order:
            errors.append(FlowError(f"branches/{i}/after", f"No existe la pregunta «{after}»."))
            continue
        if goto != "done" and (goto not in order or order[goto] <= order[after]):
            errors.append(FlowError(f"branches/{i}/goto", "Un salto solo puede ir hacia delante o a «done»."))
        for cond, path in _conditions(branch["when"], f"branches/{i}/when"):
            if cond["field"] not in order or order[cond["field"]] > order[after]:
                errors.append(FlowError(f"{path}/field", "La condición debe usar una pregunta ya respondida."))
    return errors


def _schema_message(err) -> str:
    """The schema's complaint in the words an editor shows next to the
    input; jsonschema's own (English, with the regex) for anything rarer."""
    path = [str(p) for p in err.absolute_path]
    last = path[-1] if path else ""
    if err.validator == "pattern" and last == "field":
        return "Usa minúsculas, números y _, empezando por una letra (máximo 40)."
    if err.validator == "minLength" and last == "es":
        return "Escríbelo en español: no puede quedar vacío."
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        names = {"field": "el nombre del dato", "type": "el tipo", "prompt": "la pregunta", "es": "el texto en español",
                 "value": "el valor", "label": "el texto"}
        return f"Falta {names.get(missing, missing)}."
    if err.validator == "enum" and last == "type":
        return "Tipo de pregunta desconocido."
    if err.validator == "minItems" and last == "questions":
        return "El flujo necesita al menos una pregunta."
    if err.validator in ("minLength", "minItems") and last == "value":
        return "Escribe un valor."
    return err.message


@lru_cache(maxsize=1)
def _registry():
    from referencing import Registry, Resource

    return Registry().with_resource("condition", Resource.from_contents(_CONDITION, default_specification=_spec()))


def _spec():
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


@lru_cache(maxsize=1)
def _default_flow_text() -> str:
    return (Path(__file__).resolve().parent.parent / "default_flow.json").read_text(encoding="utf-8")


def load_default_flow() -> dict:
    """A fresh copy of the default Spanish flow of CONTRACT §6."""
    return copy.deepcopy(json.loads(_default_flow_text()))


def diff_flows(old: dict, new: dict) -> dict:
    """What changed between two flow definitions, by question field: added,
    removed, changed (with the keys that differ) and whether the order of the
    kept questions or the skip/branch rules changed."""
    before = {q["field"]: q for q in old.get("questions", [])}
    after = {q["field"]: q for q in new.get("questions", [])}
    changed = []
    for field_name, question in after.items():
        if field_name in before and before[field_name] != question:
            keys = sorted(k for k in set(question) | set(before[field_name]) if question.get(k) != before[field_name].get(k))
            changed.append({"field": field_name, "keys": keys, "before": before[field_name], "after": question})
    kept_before = [f for f in before if f in after]
    kept_after = [f for f in after if f in before]
    return {
        "added": [q for f, q in after.items() if f not in before],
        "removed": [q for f, q in before.items() if f not in after],
        "changed": changed,
        "reordered": kept_before != kept_after,
        "rules_changed": (old.get("skip", []), old.get("branches", [])) != (new.get("skip", []), new.get("branches", [])),
    }
