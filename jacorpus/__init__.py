"""jacorpus: Japanese text to language models.

Areas: ``jacorpus.corpus`` (documents, sources, steps: pure logic), ``jacorpus.pipelines`` (recipes and engines),
``jacorpus.tokenizers`` (segmentation, dictionaries, vocabularies), ``jacorpus.train`` (token shards, DeepSpeed trainer).
"""

__version__ = "0.1.0"
