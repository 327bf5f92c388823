"""Deduplication: exact (hash of normalized text), CCNet-style line dedup, and MinHash-LSH near-duplicates.

Algorithms, pure functions over numpy arrays shared by every engine: ``textnorm``, ``hashing``, ``shingles``,
``minhash``, ``lsh``, ``clusters``, ``exact``, ``lines`` (``kernels``: their hot loops compiled with numba, optional).
The local engine's orchestration over stage shards: ``prepare`` (with ``scan``, ``candidates``, ``spill``,
``stage_io``) and ``apply`` (the per-document half). ``steps`` registers the recipe step ``dedup``. See docs/dedup.md.
"""
