"""Writing a lead's marketing strategy: schema, sector templates, the offline
(template) writer, the LLM prompt, QA, and the LLM-with-fallback writer."""

from strategy.writer.llm import write_strategy
from strategy.writer.offline import allocate_budget, write_strategy_offline
from strategy.writer.prompt import build_strategy_messages
from strategy.writer.quality import check_strategy
from strategy.writer.schema import STRATEGY_SCHEMA
from strategy.writer.templates import TEMPLATE_VERSION, get_template

__all__ = [
    "STRATEGY_SCHEMA",
    "TEMPLATE_VERSION",
    "allocate_budget",
    "build_strategy_messages",
    "check_strategy",
    "get_template",
    "write_strategy",
    "write_strategy_offline",
]
