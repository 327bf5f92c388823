"""Model families: one table that training (which config a new model gets) and evaluation (causal or masked, how
many positions a model can read) both use. A separate package adds a family with ``@register_family`` or through
the ``jacorpus.model_families`` entry point group (an entry point names a ``ModelFamily`` object)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class ModelFamily:
    name: str                 # the recipe's model.arch
    model_type: str           # transformers' config.model_type
    causal: bool              # CLM (scored left to right) or MLM
    defaults: Callable[[Any, int], dict[str, Any]]  # (tokenizer, seq_len) -> config values the recipe may override
    position_limit: Callable[[Any], int | None]     # config -> how many tokens one forward pass may hold


_FAMILIES: dict[str, ModelFamily] = {}
_LOADED_ENTRY_POINTS = False


def register_family(family: ModelFamily) -> ModelFamily:
    if family.name in _FAMILIES and _FAMILIES[family.name] != family:
        raise ValueError(f"model family {family.name!r} is already registered")
    _FAMILIES[family.name] = family
    return family


def _load_entry_points() -> None:
    global _LOADED_ENTRY_POINTS
    if _LOADED_ENTRY_POINTS:
        return
    _LOADED_ENTRY_POINTS = True
    from importlib.metadata import entry_points

    for point in entry_points(group="jacorpus.model_families"):
        register_family(point.load())


def families() -> dict[str, ModelFamily]:
    _load_entry_points()
    return dict(_FAMILIES)


def family(arch: str) -> ModelFamily:
    known = families()
    if arch not in known:
        raise ValueError(f"unknown model.arch {arch!r}; known: {sorted(known)}")
    return known[arch]


def family_of_config(config: Any) -> ModelFamily | None:
    """The registered family of a loaded transformers config, or None for a model type jacorpus does not build."""
    for fam in families().values():
        if fam.model_type == config.model_type:
            return fam
    return None


def is_causal(config: Any) -> bool:
    """Causal (left-to-right) or masked: from the family table; for model types outside it, from what the config
    says of itself (``is_decoder`` or a ``*ForCausalLM`` architecture)."""
    fam = family_of_config(config)
    if fam is not None:
        return fam.causal
    if getattr(config, "is_decoder", False):
        return True
    return any(name.endswith(("ForCausalLM", "LMHeadModel")) for name in (getattr(config, "architectures", None) or []))


def position_limit(config: Any) -> int | None:
    """Tokens (special tokens included) one sequence may hold: the model's own position table, never a constant."""
    fam = family_of_config(config)
    if fam is not None:
        return fam.position_limit(config)
    for key in ("n_positions", "max_position_embeddings", "n_ctx", "max_sequence_length"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _special(tokenizer: Any) -> tuple[int, int | None, int | None, int | None]:
    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.cls_token_id
    return len(tokenizer), tokenizer.pad_token_id, bos, eos


def _gpt2(tokenizer: Any, seq_len: int) -> dict[str, Any]:
    vocab, pad, _, eos = _special(tokenizer)
    # export rewrites bos/eos to the ids the token shards used (see train/export.py)
    return {"vocab_size": vocab, "n_positions": seq_len, "bos_token_id": eos, "eos_token_id": eos, "pad_token_id": pad}


def _roberta(tokenizer: Any, seq_len: int) -> dict[str, Any]:
    vocab, pad, bos, eos = _special(tokenizer)
    pad = pad if pad is not None else 1
    # RoBERTa numbers positions from pad_token_id + 1, so its table holds seq_len + pad + 1 rows
    return {"vocab_size": vocab, "max_position_embeddings": seq_len + pad + 1, "pad_token_id": pad,
            "bos_token_id": bos, "eos_token_id": eos, "type_vocab_size": 1}


def _roberta_limit(config: Any) -> int:
    return config.max_position_embeddings - (config.pad_token_id if config.pad_token_id is not None else 1) - 1


def _deberta(tokenizer: Any, seq_len: int) -> dict[str, Any]:
    vocab, pad, _, _ = _special(tokenizer)
    return {"vocab_size": vocab, "max_position_embeddings": seq_len, "pad_token_id": pad if pad is not None else 0}


def _llama(tokenizer: Any, seq_len: int) -> dict[str, Any]:
    vocab, pad, bos, eos = _special(tokenizer)
    return {"vocab_size": vocab, "max_position_embeddings": seq_len, "bos_token_id": bos, "eos_token_id": eos,
            "pad_token_id": pad}


register_family(ModelFamily("gpt2", "gpt2", True, _gpt2, lambda c: c.n_positions))
register_family(ModelFamily("roberta", "roberta", False, _roberta, _roberta_limit))
register_family(ModelFamily("deberta-v2", "deberta-v2", False, _deberta, lambda c: c.max_position_embeddings))
register_family(ModelFamily("llama", "llama", True, _llama, lambda c: c.max_position_embeddings))
