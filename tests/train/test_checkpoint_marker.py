"""A checkpoint whose ``complete.json`` is damaged is skipped (the resume falls back to the previous one), never a
crash; the trainer's resume loop (``checkpoint.resume``) skips every checkpoint ``intact`` finds a problem with."""

from __future__ import annotations

import json

import pytest

from jacorpus.train.checkpoint import intact


def good_checkpoint(tag_dir, world: int = 1) -> None:
    tag_dir.mkdir(parents=True)
    (tag_dir / "mp_rank_00_model_states.pt").write_bytes(b"weights")
    from jacorpus.train.checkpoint import file_hash

    records = {"mp_rank_00_model_states.pt": [7, file_hash(str(tag_dir / "mp_rank_00_model_states.pt"))]}
    (tag_dir / "integrity-rank00000.json").write_text(json.dumps(records))
    (tag_dir / "complete.json").write_text(json.dumps({"step": 6, "world_size": world}))


@pytest.mark.parametrize("damage", [b"", b'{"step": 6, "world_si', b"\xff\xfe\x00garbage", b"[]", b'{"step": 6}',
                                    b'{"step": 6, "world_size": "two"}'])
def test_a_damaged_complete_marker_makes_the_checkpoint_skipped(tmp_path, damage):
    tag_dir = tmp_path / "step-00000006"
    good_checkpoint(tag_dir)
    assert intact(str(tag_dir), 0, 1) is None  # the undamaged checkpoint is whole
    (tag_dir / "complete.json").write_bytes(damage)
    assert intact(str(tag_dir), 0, 1) == "complete.json is unreadable or damaged"
