"""Understanding free Spanish answers with rules.

These parsers are the offline provider's understanding and, when an LLM is
configured, the check on what it extracted. Each returns a typed value or a
reason in Spanish the assistant can ask again with.
"""

from qualification.understanding.parsers import (  # noqa: F401
    ParseResult,
    detect_correction,
    extract_fields,
    fold,
    parse_answer,
    parse_money,
)
