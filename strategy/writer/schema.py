"""The shape of a marketing strategy, shared by the LLM and the offline writer.

The schema is written for OpenAI's strict structured outputs (every object
closed with `additionalProperties: false`, every property required, no
keywords outside the supported subset), so the same dict can be sent as
`response_format` and used with `jsonschema` to validate whatever came back.
Semantic rules a schema cannot express (allocations summing to the budget,
citations of this agency only, Spanish text) live in `quality.check_strategy`.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _list_of(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


_TEXT = {"type": "string"}
_NUMBER = {"type": "number"}
_INTEGER = {"type": "integer"}

STRATEGY_SCHEMA: dict[str, Any] = _object(
    {
        "executive_summary": _TEXT,
        "diagnosis": _object(
            {"summary": _TEXT, "strengths": _list_of(_TEXT), "opportunities": _list_of(_TEXT)}
        ),
        "objectives": _list_of(
            _object(
                {
                    "title": _TEXT,
                    "metric": _TEXT,
                    "target": _NUMBER,
                    "unit": _TEXT,
                    "deadline_days": _INTEGER,
                }
            )
        ),
        "audience": _object({"description": _TEXT, "segments": _list_of(_TEXT)}),
        "channel_plan": _list_of(
            _object(
                {
                    "channel": _TEXT,
                    "rationale": _TEXT,
                    "monthly_budget": _NUMBER,
                    # Fraction of the monthly budget, 0..1.
                    "share": _NUMBER,
                }
            )
        ),
        "plan_90_days": _list_of(_object({"name": _TEXT, "weeks": _TEXT, "actions": _list_of(_TEXT)})),
        "kpis": _list_of(_object({"name": _TEXT, "target": _NUMBER, "unit": _TEXT, "frequency": _TEXT})),
        "next_steps": _list_of(_object({"action": _TEXT, "agency_service": _TEXT})),
        "citations": _list_of(_object({"document_id": _TEXT, "index": _INTEGER, "quote": _TEXT})),
        "language": {"type": "string", "enum": ["es"]},
    }
)

# The order sections appear in the document; also the order QA reports them.
SECTIONS: tuple[str, ...] = (
    "executive_summary",
    "diagnosis",
    "objectives",
    "audience",
    "channel_plan",
    "plan_90_days",
    "kpis",
    "next_steps",
)
