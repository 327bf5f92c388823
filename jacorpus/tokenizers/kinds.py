"""jacorpus' own tokenizer kinds (char, sentencepiece, wordpiece), each a builder with the one signature of
``TokenizerKind.build`` (registry and protocol: tokenizers/kind_registry.py)."""

from __future__ import annotations

from jacorpus.tokenizers.kind_registry import TokenizerKind, register_kind
from jacorpus.tokenizers.progress import working


@register_kind("char")
class CharKind(TokenizerKind):
    """One token per character (byte fallback for characters outside the sample); no dictionary terms."""

    def build(self, recipe, sample, terms, work, staging, progress):
        from jacorpus.tokenizers.build_char import build_char

        return build_char(recipe, sample)


@register_kind("sentencepiece")
class SentencePieceKind(TokenizerKind):
    """Unigram/BPE over raw text, or over Sudachi/MeCab chunks when the recipe names a pretokenizer."""

    def build(self, recipe, sample, terms, work, staging, progress):
        if recipe.pretokenizer.type == "none":
            from jacorpus.tokenizers.build_sentencepiece import build_sentencepiece

            with working(f"train SentencePiece ({recipe.vocab_size:,} pieces)", progress):
                return build_sentencepiece(recipe, sample, terms, work, staging)
        from jacorpus.tokenizers.build_wordpiece import build_with_words

        return build_with_words(recipe, sample, terms, work, progress)


@register_kind("wordpiece")
class WordPieceKind(TokenizerKind):
    """WordPiece over pretokenized words (Sudachi or MeCab)."""

    def build(self, recipe, sample, terms, work, staging, progress):
        from jacorpus.tokenizers.build_wordpiece import build_with_words

        return build_with_words(recipe, sample, terms, work, progress)
