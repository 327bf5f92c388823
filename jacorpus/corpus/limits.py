"""The per-record bounds every source and expensive step keeps: bytes (``max_record_bytes``) and time
(``max_record_seconds``), both recipe options of every source.

``record_deadline`` bounds the time of one record's parsing with ``SIGALRM`` (``setitimer``): the handler runs
in the thread that parses, between bytecodes and inside C code that polls for signals, which both ``re`` and
mwparserfromhell's C tokenizer do (measured: a 40 s tokenizer call on misnested markup stops at the deadline).
No thread or process is started, so nothing can be left behind, and it works the same in the main thread of a
datatrove worker process, of a Spark Python worker and of a single-process run. Outside the main thread (where
Python cannot receive signals) the block runs unbounded: the byte bound and the cost estimates still hold.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Iterator

DEFAULT_MAX_RECORD_BYTES = 64 << 20  # a line, paragraph, page, JSON object, CSV row or HTML body above is skipped
DEFAULT_MAX_RECORD_SECONDS = 10.0  # one record's expensive parsing (wikitext, HTML, Sudachi rules) above is cut
RETRY_SECONDS = 0.05  # a timeout lost in an exception-swallowing callback fires again this much later


class RecordTimeout(Exception):
    """One record's parsing went past its deadline."""


def can_bound_time() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def record_deadline(seconds: float | None) -> Iterator[None]:
    """Raise ``RecordTimeout`` inside the block once ``seconds`` have passed (``None``: no bound).

    An outer timer (another deadline, or anyone's ``ITIMER_REAL``) is restored afterwards with the time it had
    left, so deadlines nest. The caller catches ``RecordTimeout`` around the ``with`` block (the alarm can land
    just as the block ends).
    """
    if seconds is None or not can_bound_time():
        yield
        return
    started = time.monotonic()
    outer_remaining, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    fired = []

    def expire(signum, frame):  # noqa: ARG001
        # CPython runs the handler at the next bytecode boundary, which may be inside a __del__, a weakref or GC
        # callback, where a raised exception is printed as "ignored" and lost (seen in CI: the wikitext tokenizer
        # then ran unbounded). Re-arming a short retry before raising makes a swallowed timeout fire again; a
        # block that ends normally after one was swallowed still reports it below.
        fired.append(True)
        signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        raise RecordTimeout(f"over {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    # an outer timer due first ends this block early; it is re-armed below and fires right after
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_remaining) if outer_remaining else seconds)
    try:
        yield
    except RecordTimeout:
        raise
    except Exception as exc:
        # C code that polls for signals may replace the handler's exception with its own (mwparserfromhell: "C
        # tokenizer exited with non-empty token stack", seen in CI): after the deadline, any error is the timeout
        if fired:
            raise RecordTimeout(f"over {seconds:g} s") from exc
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_remaining:
            left = outer_remaining - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), outer_interval)
    if fired:  # every alarm was swallowed (see expire) and the block still finished
        raise RecordTimeout(f"over {seconds:g} s")
