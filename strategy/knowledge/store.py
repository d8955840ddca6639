"""The one Qdrant collection of the knowledge base, on a server (QDRANT_URL)
or in qdrant-client's local mode (QDRANT_PATH), with the same calls.

Local mode takes an exclusive file lock on its directory, so a process keeps
ONE client per path for its whole life, and calls into it are serialised
(the local engine is plain Python objects over SQLite, not thread-safe).

Points: named vectors `lexical` (sparse, always) and `dense` (only when
embeddings are configured; its size is learnt from the first vectors), and
the payload {agency_id, document_id, index, title, text}. Every read and
delete here takes an agency id and filters on it; there is no other way in.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import uuid
from dataclasses import dataclass

import structlog
from django.conf import settings

log = structlog.get_logger(__name__)

LEXICAL = "lexical"
DENSE = "dense"
# Fixed namespace: point ids must be the same in every process and on every run.
_POINT_NAMESPACE = uuid.UUID("5b0f3c1e-6f0e-4d55-9a59-3f3c0e7b6a11")

# Another process may recreate the collection (knowledge_reindex --recreate):
# a cached layout is trusted this long, and forgotten at once when a write fails.
_LAYOUT_TTL_SECONDS = 30.0
_UPSERT_BATCH = 256
_clients_lock = threading.Lock()
_clients: dict[tuple, _Store] = {}


@dataclass(frozen=True, slots=True)
class Layout:
    dense_size: int | None  # None: the collection has no dense vector


def point_id(document_id, index: int) -> str:
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{document_id}:{index}"))


def _require(agency_id) -> str:
    if agency_id is None or str(agency_id).strip() in ("", "None"):
        raise ValueError("agency_id is required: the knowledge base is never read or written without a tenant")
    return str(agency_id)


class _Store:
    def __init__(self, *, url: str | None, path: str | None):
        from qdrant_client import QdrantClient

        self.local = url is None
        if self.local:
            self.client = QdrantClient(path=path)
            self._lock: contextlib.AbstractContextManager = threading.RLock()
        else:
            self.client = QdrantClient(url=url, api_key=settings.QDRANT_API_KEY or None, timeout=10,
                                       check_compatibility=False)
            self._lock = contextlib.nullcontext()
        self._layouts: dict[str, tuple[Layout, float]] = {}

    # --- collection -------------------------------------------------------------

    def layout(self, collection: str) -> Layout | None:
        """The collection's layout, or None when it does not exist yet."""
        cached = self._layouts.get(collection)
        if cached is not None and time.monotonic() - cached[1] < _LAYOUT_TTL_SECONDS:
            return cached[0]
        with self._lock:
            if not self.client.collection_exists(collection):
                self._layouts.pop(collection, None)
                return None
            info = self.client.get_collection(collection)
        vectors = info.config.params.vectors
        dense = vectors.get(DENSE) if isinstance(vectors, dict) else None
        layout = Layout(dense_size=dense.size if dense else None)
        self._layouts[collection] = (layout, time.monotonic())
        return layout

    def forget(self, collection: str) -> None:
        self._layouts.pop(collection, None)

    def ensure(self, collection: str, *, dense_size: int | None) -> Layout:
        """The collection, created with a dense vector of `dense_size` when given.

        An existing collection keeps its layout: named vectors cannot be added
        later, so a deployment that gains an embeddings key afterwards keeps
        lexical-only retrieval until `manage.py knowledge_reindex --recreate`.
        """
        from qdrant_client import models

        layout = self.layout(collection)
        if layout is not None:
            return layout
        with self._lock:
            try:
                self.client.create_collection(
                    collection,
                    vectors_config=(
                        {DENSE: models.VectorParams(size=dense_size, distance=models.Distance.COSINE)}
                        if dense_size else {}
                    ),
                    sparse_vectors_config={LEXICAL: models.SparseVectorParams()},
                )
            except Exception:  # another process may have created it first
                if not self.client.collection_exists(collection):
                    raise
            if not self.local:
                for field, schema in (
                    ("agency_id", models.KeywordIndexParams(type=models.KeywordIndexType.KEYWORD, is_tenant=True)),
                    ("document_id", models.PayloadSchemaType.KEYWORD),
                ):
                    self.client.create_payload_index(collection, field_name=field, field_schema=schema)
        self._layouts.pop(collection, None)
        return self.layout(collection)

    def drop(self, collection: str) -> None:
        with self._lock:
            self.client.delete_collection(collection)
        self._layouts.pop(collection, None)

    def ping(self, collection: str) -> None:
        """Raises unless the store answers; the collection may not exist yet."""
        with self._lock:
            self.client.collection_exists(collection)

    # --- points -------------------------------------------------------------------

    @staticmethod
    def _filter(agency_id, document_id=None):
        from qdrant_client import models

        must = [models.FieldCondition(key="agency_id", match=models.MatchValue(value=_require(agency_id)))]
        if document_id is not None:
            must.append(models.FieldCondition(key="document_id", match=models.MatchValue(value=str(document_id))))
        return models.Filter(must=must)

    def replace_document(self, collection: str, *, agency_id, document_id, points: list) -> None:
        """Delete the document's points (by document AND agency), then upsert `points`."""
        from qdrant_client import models

        try:
            with self._lock:
                if self.client.collection_exists(collection):
                    self.client.delete(collection, points_selector=models.FilterSelector(
                        filter=self._filter(agency_id, document_id)), wait=True)
                # Batches keep each request well under a server's 32 MB body limit.
                for start in range(0, len(points), _UPSERT_BATCH):
                    self.client.upsert(collection, points=points[start:start + _UPSERT_BATCH], wait=True)
        except Exception:
            self.forget(collection)  # the retry looks the layout up again
            raise

    def delete(self, collection: str, *, agency_id, document_id=None) -> None:
        from qdrant_client import models

        with self._lock:
            if not self.client.collection_exists(collection):
                return
            self.client.delete(collection, points_selector=models.FilterSelector(
                filter=self._filter(agency_id, document_id)), wait=True)

    def count(self, collection: str, *, agency_id, document_id=None) -> int:
        with self._lock:
            if not self.client.collection_exists(collection):
                return 0
            return self.client.count(collection, count_filter=self._filter(agency_id, document_id), exact=True).count

    def query(self, collection: str, *, agency_id, sparse, dense: list[float] | None, limit: int) -> list:
        from qdrant_client import models

        flt = self._filter(agency_id)
        layout = self.layout(collection)
        if layout is None:
            return []
        has_sparse = bool(sparse.indices)
        use_dense = dense is not None and layout.dense_size == len(dense)
        try:
            with self._lock:
                if use_dense and has_sparse:
                    depth = max(limit * 4, 24)
                    result = self.client.query_points(
                        collection,
                        prefetch=[
                            models.Prefetch(query=sparse, using=LEXICAL, filter=flt, limit=depth),
                            models.Prefetch(query=dense, using=DENSE, filter=flt, limit=depth),
                        ],
                        query=models.FusionQuery(fusion=models.Fusion.RRF),
                        query_filter=flt, limit=limit, with_payload=True,
                    )
                elif use_dense:
                    result = self.client.query_points(collection, query=dense, using=DENSE, query_filter=flt,
                                                      limit=limit, with_payload=True)
                elif has_sparse:
                    result = self.client.query_points(collection, query=sparse, using=LEXICAL, query_filter=flt,
                                                      limit=limit, with_payload=True)
                else:
                    return []
        except Exception:
            self.forget(collection)
            raise
        return list(result.points)


def store() -> _Store:
    """This process's store for the configured Qdrant (created on first use)."""
    key = (settings.QDRANT_URL, None if settings.QDRANT_URL else str(settings.QDRANT_PATH))
    with _clients_lock:
        current = _clients.get(key)
        if current is None:
            current = _clients[key] = _Store(url=key[0], path=key[1])
        return current


def collection() -> str:
    return settings.QDRANT_COLLECTION


@atexit.register
def _close_all() -> None:
    # Closing before interpreter teardown releases local mode's lock cleanly.
    with _clients_lock:
        for current in _clients.values():
            try:
                current.client.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        _clients.clear()
