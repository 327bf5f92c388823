"""Domain-term dictionaries, tokenizer builds from recipes, whole-word-masking word ids and tokenizer evaluation.

- ``dictionary`` (with ``terms``, ``extract``, ``sudachi_dict``): ``jacorpus dict build``;
- ``recipe``, ``train`` (with ``build_char``, ``build_sentencepiece``, ``build_wordpiece``, ``export``):
  ``jacorpus tokenizer train``;
- ``wwm.word_ids``: word ids per token for whole-word masking;
- ``evaluate``: ``jacorpus tokenizer eval``;
- ``hf_tokenizer`` and ``sudachi_split`` are also copied into tokenizer folders (remote code).
"""
