"""A spinner with the elapsed time while a library trains without reporting progress (SentencePiece, and the
tokenizers library's WordPiece trainer, run for minutes in C++ on a real sample: 96-146 s of silence measured)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def working(label: str, enabled: bool) -> Iterator[None]:
    """rich redraws the spinner from its own thread, so a call that holds the GIL-free C++ loop still shows time."""
    if not enabled:
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn(label), TimeElapsedColumn()) as bar:
        bar.add_task(label, total=None)
        yield
