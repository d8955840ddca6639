"""The agency knowledge base: uploaded documents, their chunks in Qdrant, and
the one hybrid search the strategy writer and the search API use
(`strategy.knowledge.selectors.knowledge_search`)."""
