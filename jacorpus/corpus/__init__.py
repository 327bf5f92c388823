"""Corpus logic that every engine runs unchanged: documents, sources, steps, shards, the drop ledger."""
