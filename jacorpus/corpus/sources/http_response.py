"""The HTTP message inside a WARC ``response`` record: status, headers and the body with transfer and content
encodings undone, where the bytes really carry them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_HEAD_BYTES = 1 << 18
HEADER_END = re.compile(rb"\r?\n\r?\n")
CHUNK_SIZE_LINE = re.compile(rb"^([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")
MAX_BODY_BYTES = 32 << 20  # decompressed; stops a gzip bomb


@dataclass
class HttpResponse:
    status: int | None
    headers: dict[str, str]  # names lower-cased
    body: bytes = field(repr=False)


def parse_http_response(block: bytes) -> HttpResponse | None:
    """Status, headers and the decoded body of an HTTP response block, or None when the block is not one."""
    if not block.startswith(b"HTTP/"):
        return None
    end = HEADER_END.search(block, 0, MAX_HEAD_BYTES)
    head, body = (block[: end.start()], block[end.end() :]) if end else (block, b"")
    lines = head.split(b"\n")
    parts = lines[0].split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    headers: dict[str, str] = {}
    for raw in lines[1:]:
        name, sep, value = raw.partition(b":")
        if sep:
            headers.setdefault(name.strip().decode("latin-1").lower(), value.strip().decode("latin-1"))
    return HttpResponse(status, headers, decode_body(body, headers))


def decode_body(body: bytes, headers: dict[str, str]) -> bytes:
    """Undo transfer and content encodings when the body really carries them. Crawlers often store bodies
    already decoded but keep the headers (ClueWeb09 says gzip over plain HTML), so each step checks the bytes."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = dechunk(body)
    encoding = headers.get("content-encoding", "").lower()
    if "gzip" in encoding and body[:2] == b"\x1f\x8b":
        body = inflate(body, 16 + 15)
    elif "deflate" in encoding and body[:1] == b"\x78":
        body = inflate(body, 15)
    elif "deflate" in encoding and body and not body.lstrip()[:1] == b"<":
        body = inflate(body, -15) or body
    return body


def inflate(data: bytes, wbits: int) -> bytes:
    import zlib

    try:
        return zlib.decompressobj(wbits).decompress(data, MAX_BODY_BYTES)  # a cut stream still gives its start
    except zlib.error:
        return data


def dechunk(body: bytes) -> bytes:
    """Join chunked transfer coding; when the bytes are not chunked after all, return them unchanged."""
    out, pos = [], 0
    while pos < len(body):
        match = CHUNK_SIZE_LINE.match(body, pos)
        if not match:
            return body if pos == 0 else b"".join(out) + body[pos:]
        size = int(match.group(1), 16)
        if size == 0:
            break
        start = match.end()
        out.append(body[start : start + size])
        pos = start + size
        pos += 2 if body[pos : pos + 2] == b"\r\n" else 1 if body[pos : pos + 1] == b"\n" else 0
    return b"".join(out)
