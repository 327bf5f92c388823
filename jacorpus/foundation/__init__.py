"""Utilities every area of jacorpus imports instead of importing each other (imports run down to here, never up).

- ``storage``: every path may be a local path or an fsspec URL (s3://, gs://, hf://, hdfs://): list, open, write;
- ``atomic_files``: write a file under a temporary name and rename it into place (no half file looks whole);
- ``recipe_yaml``: read a YAML recipe as a mapping and phrase validation errors with the file and line;
- ``sudachi_chunks``: cut text under Sudachi's 49,149-byte input limit (stdlib only: copied into tokenizer folders);
- ``finished_corpus``: read a finished corpus folder (Arrow saved dataset or Parquet shards).

Nothing here imports another jacorpus package (checked by tests/test_import_graph.py).
"""
