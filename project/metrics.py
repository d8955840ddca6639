"""Prometheus metrics. One registry per process; /metrics renders it."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "markezy_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=REGISTRY
)
HTTP_LATENCY = Histogram(
    "markezy_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
OPEN_SOCKETS = Gauge("markezy_open_sockets", "Open WebSockets", ["kind"], registry=REGISTRY)
TURNS_STREAMED = Counter("markezy_turns_streamed_total", "Assistant turns streamed", ["provider", "outcome"], registry=REGISTRY)
LLM_TOKENS = Counter("markezy_llm_tokens_total", "LLM tokens", ["kind"], registry=REGISTRY)
GC_PAUSES = Histogram(
    "markezy_gc_pause_seconds",
    "Garbage-collector pauses (the event loop stands still for each)",
    ["generation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
    registry=REGISTRY,
)
FANOUT_BATCHES = Counter("markezy_fanout_batches_total", "Delta batches sent to other processes", registry=REGISTRY)
FANOUT_FAILURES = Counter("markezy_fanout_failures_total",
                          "Channel-layer group messages that could not be sent (Redis away)", registry=REGISTRY)


def render() -> bytes:
    return generate_latest(REGISTRY)
