"""Knowledge jobs: reading a large uploaded file into a knowledge base."""

from __future__ import annotations

from flowapp.extensions import db
from flowapp.services import knowledge


def index_knowledge_source(source_id: int) -> str:
    """Read and chunk the file kept for source `source_id` (a no-op unless it is still pending);
    a file that cannot be read marks the source failed, with the reason, rather than raising."""
    source = knowledge.index_source(source_id)
    db.session.commit()
    return source.status if source is not None else "missing"
