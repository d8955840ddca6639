"""Builders for the frames of CONTRACT §3.1, so every producer emits the same shape."""

from __future__ import annotations


def message_frame(*, seq: int, turn_id, text: str, client_id) -> dict:
    return {"seq": seq, "type": "message", "turn": str(turn_id), "role": "lead", "text": text,
            "client_id": str(client_id) if client_id else None}


def turn_started_frame(*, turn_id, role: str, agent_name: str | None = None) -> dict:
    frame = {"type": "turn.started", "turn": str(turn_id), "role": role}
    if agent_name:
        frame["agent"] = {"name": agent_name}
    return frame


def turn_delta_frame(*, turn_id, offset: int, text: str) -> dict:
    return {"type": "turn.delta", "turn": str(turn_id), "offset": offset, "text": text}


def turn_completed_frame(*, seq: int, turn_id, role: str, text: str, stopped: bool, failed: bool = False,
                         agent_name: str | None = None) -> dict:
    frame = {"seq": seq, "type": "turn.completed", "turn": str(turn_id), "role": role, "text": text, "stopped": stopped}
    if failed:
        frame["failed"] = True
    if agent_name:
        frame["agent"] = {"name": agent_name}
    return frame


def qualification_frame(*, seq: int, step: str, progress: float, answers: dict) -> dict:
    return {"seq": seq, "type": "qualification", "step": step, "progress": round(progress, 4), "answers": answers}


def strategy_frame(*, seq: int, strategy_id, status: str, pdf_url: str | None = None) -> dict:
    frame = {"seq": seq, "type": "strategy", "status": status, "strategy": str(strategy_id)}
    if pdf_url:
        frame["pdf_url"] = pdf_url
    return frame


def error_frame(code: str, message: str) -> dict:
    return {"type": "error", "code": code, "message": message}
