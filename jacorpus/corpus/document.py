"""The one document schema.

Documents travel as datatrove ``Document`` objects so every step is a datatrove step. Where things live:
``doc.metadata["source"]`` (recipe source name), ``doc.metadata["origin"]`` (file + record locator),
``doc.metadata["meta"]`` (source metadata: title, url, timestamps, page id ...), and step annotations as
top-level metadata keys declared by the step (``JaStep.annotations``) so shards have a fixed typed schema.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pyarrow as pa
from datatrove.data import Document

CORE_FIELDS: dict[str, pa.DataType] = {
    "id": pa.string(),
    "text": pa.string(),
    "source": pa.string(),
    "origin": pa.string(),
    "metadata": pa.string(),  # JSON object of source metadata
}
DROPPED_FIELDS: dict[str, pa.DataType] = {
    "reason": pa.string(),  # "<step>:<reason>"
    "duplicate_of": pa.string(),
}


def stable_id(source: str, origin: str) -> str:
    """Same source and locator, same id, on every machine and engine."""
    return hashlib.blake2b(f"{source}\x00{origin}".encode(), digest_size=10).hexdigest()


def make_document(
    text: str, *, source: str, origin: str, doc_id: str | None = None, meta: dict[str, Any] | None = None
) -> Document:
    return Document(
        text=text,
        id=doc_id if doc_id is not None else stable_id(source, origin),
        metadata={"source": source, "origin": origin, "meta": dict(meta or {})},
    )


def document_from_row(row: dict[str, Any], annotation_names: list[str] | tuple[str, ...] = ()) -> Document:
    """Inverse of the shard writer's row conversion (used when a later stage reads intermediate shards)."""
    meta = orjson.loads(row["metadata"]) if row.get("metadata") else {}
    metadata = {"source": row["source"], "origin": row["origin"], "meta": meta}
    for name in annotation_names:
        if row.get(name) is not None:
            metadata[name] = row[name]
    return Document(text=row["text"], id=row["id"], metadata=metadata)
