"""The qualification state machine: pure functions over (flow, answers).

Which questions a lead is asked is a function of the flow and the answers so
far — the *path* — re-evaluated after every change. The current step is the
first question on the path without an answer; answers that fall off the path
(an edit changed a branch) are dropped from the lead and kept in its history.
The LLM never decides any of this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PERSONAL_FIELDS = frozenset({"name", "company", "email", "phone", "website"})
TERMINAL = ("done", "declined")

# The lifecycle, as a plain table: state kind -> event -> next kind.
TRANSITIONS: dict[str, dict[str, str]] = {
    "asking": {
        "answer": "asking|done",
        "edit": "asking",
        "correction": "asking|done",
        "consent_granted": "asking",
        "consent_declined": "declined",
    },
    "done": {"edit": "asking", "correction": "done|asking", "consent_withdrawn": "done"},
    "declined": {"consent_granted": "asking"},
}


class InvalidTransition(Exception):
    pass


def check_transition(from_kind: str, event: str) -> str:
    try:
        return TRANSITIONS[from_kind][event]
    except KeyError:
        raise InvalidTransition(f"{event!r} is not allowed while {from_kind!r}") from None


def _resolve(value, settings: dict):
    if isinstance(value, dict) and "setting" in value:
        return settings.get(value["setting"])
    return value


def evaluate(condition: dict, answers: dict, settings: dict) -> bool:
    if "all" in condition:
        return all(evaluate(c, answers, settings) for c in condition["all"])
    if "any" in condition:
        return any(evaluate(c, answers, settings) for c in condition["any"])
    op = condition["op"]
    present = condition["field"] in answers and answers[condition["field"]] is not None
    if op == "answered":
        return present
    if op == "not_answered":
        return not present
    if not present:
        # An unanswered field satisfies no comparison: skips wait for the answer.
        return False
    actual = answers[condition["field"]]
    expected = _resolve(condition.get("value"), settings)
    try:
        if op == "eq":
            return actual == expected or (isinstance(actual, list) and expected in actual)
        if op == "ne":
            return not (actual == expected or (isinstance(actual, list) and expected in actual))
        if op == "in":
            return actual in expected or (isinstance(actual, list) and any(a in expected for a in actual))
        if op == "not_in":
            return actual not in expected
        if expected is None:
            return False
        if op == "lt":
            return float(actual) < float(expected)
        if op == "lte":
            return float(actual) <= float(expected)
        if op == "gt":
            return float(actual) > float(expected)
        if op == "gte":
            return float(actual) >= float(expected)
    except (TypeError, ValueError):
        return False
    raise ValueError(f"unknown operator {op!r}")


def path_for(flow: dict, answers: dict, *, settings: dict) -> list[str]:
    """The questions this lead is asked, in order, given the answers so far."""
    questions = [q["field"] for q in flow["questions"]]
    skips: dict[str, list[dict]] = {}
    for rule in flow.get("skip", []):
        skips.setdefault(rule["field"], []).append(rule["when"])
    branches: dict[str, list[dict]] = {}
    for rule in flow.get("branches", []):
        branches.setdefault(rule["after"], []).append(rule)
    path: list[str] = []
    i = 0
    while i < len(questions):
        field_name = questions[i]
        if any(evaluate(c, answers, settings) for c in skips.get(field_name, ())):
            i += 1
            continue
        path.append(field_name)
        if field_name not in answers:
            # Later branching depends on this answer: the rest of the path is
            # provisional, so list it as if no branch fires.
            i += 1
            continue
        jump = next((b["goto"] for b in branches.get(field_name, ()) if evaluate(b["when"], answers, settings)), None)
        if jump == "done":
            break
        i = questions.index(jump) if jump else i + 1
    return path


def next_step(flow: dict, answers: dict, *, settings: dict) -> str:
    if answers.get("consent") is False:
        return "declined"
    for field_name in path_for(flow, answers, settings=settings):
        if field_name not in answers:
            return field_name
    return "done"


def progress(flow: dict, answers: dict, *, settings: dict) -> float:
    path = path_for(flow, answers, settings=settings)
    if not path:
        return 1.0
    answered = sum(1 for f in path if f in answers)
    return round(answered / len(path), 4)


def can_store(field_name: str, answers: dict) -> bool:
    """No personal data before consent (RGPD)."""
    return field_name not in PERSONAL_FIELDS or answers.get("consent") is True


@dataclass(frozen=True)
class Transition:
    kind: str
    field: str
    old: object
    new: object
    dropped: dict = field(default_factory=dict)
    next_step: str = ""


def apply_answer(flow: dict, answers: dict, field_name: str, value, *, settings: dict) -> Transition:
    """The answers after setting `field_name`, minus those now off the path."""
    old = answers.get(field_name)
    kind = "edit" if field_name in answers else "answer"
    updated = {**answers, field_name: value}
    path = set(path_for(flow, updated, settings=settings))
    dropped = {k: v for k, v in updated.items() if k != "consent" and k not in path}
    for k in dropped:
        updated.pop(k)
    return Transition(kind, field_name, old, value, dropped, next_step(flow, updated, settings=settings))


def rewind_to(flow: dict, answers: dict, field_name: str, *, settings: dict) -> Transition:
    """Back to a question: its answer is cleared until answered again."""
    old = answers.get(field_name)
    return Transition("rewind", field_name, old, None, {}, field_name)
