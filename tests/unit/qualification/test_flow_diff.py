"""diff_flows: what the console's version diff shows."""

from __future__ import annotations

import copy

from qualification.flows import diff_flows, load_default_flow


def test_identical_flows_have_no_differences():
    flow = load_default_flow()
    assert diff_flows(flow, copy.deepcopy(flow)) == {"added": [], "removed": [], "changed": [], "reordered": False,
                                                     "rules_changed": False}


def test_added_removed_changed_reordered_and_rules():
    old = load_default_flow()
    new = copy.deepcopy(old)
    removed = new["questions"].pop(5)
    new["questions"].append({"field": "employees", "type": "number", "prompt": {"es": "¿Cuántos sois?"}})
    new["questions"][1]["prompt"] = {"es": "¿Tu nombre?"}
    new["questions"][2], new["questions"][3] = new["questions"][3], new["questions"][2]
    new["branches"] = [*new.get("branches", []), {"after": "name", "when": {"field": "name", "op": "answered"},
                                                  "goto": "done"}]
    diff = diff_flows(old, new)
    assert [q["field"] for q in diff["added"]] == ["employees"]
    assert [q["field"] for q in diff["removed"]] == [removed["field"]]
    assert [(c["field"], c["keys"]) for c in diff["changed"]] == [("name", ["prompt"])]
    assert diff["reordered"] is True and diff["rules_changed"] is True
