"""Redaction of secrets (the Hub token, S3 keys) from any text jacorpus prints, logs or writes.

A server or library can echo a secret in another form than it was sent: lower- or upper-cased, percent-encoded
in a URL, base64 inside a ``Basic`` authorization header. ``redact`` removes every such form, case-insensitively.
Better still, callers do not show server responses at all (``publish/hub.py`` shows the status line only).
"""

from __future__ import annotations

import base64
import re
from typing import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_SECRET = 6  # shorter "secrets" (empty, placeholders) would mask ordinary words


def secret_forms(secret: str) -> set[str]:
    """The secret as a server may echo it: as is, percent-encoded, base64 at each of the 3 byte alignments."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    raw = secret.encode("utf-8")
    for pad in (b"", b"x", b"xx"):  # base64 of the secret inside a longer value (e.g. "user:token")
        encoded = base64.b64encode(pad + raw).decode("ascii")
        start = 4 if pad else 0  # the first group mixes in the bytes before the secret
        core = encoded[start:len(encoded) - 4]  # the last group may mix in the bytes after it
        if len(core) >= MIN_SECRET:
            forms.add(core)
    return {form for form in forms if len(form) >= MIN_SECRET}


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every form of every secret replaced by ``***``, whatever its case."""
    forms = sorted({f for s in secrets if s and len(s) >= MIN_SECRET for f in secret_forms(s)}, key=len, reverse=True)
    if not forms:
        return text
    return re.sub("|".join(re.escape(f) for f in forms), MASK, text, flags=re.IGNORECASE)
