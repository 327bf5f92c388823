"""A .gz reader that survives damage: Common Crawl WARC/WET files are one gzip member per record, so after a
corrupt member reading can restart at the next gzip header instead of ending the file.

Faults are collected in ``faults`` as (decompressed offset, message) for the caller to report; the decompressed
stream simply continues with the next good member (the WARC parser then resynchronises on the next ``WARC/`` line).
"""

from __future__ import annotations

import io
import zlib

from jacorpus.foundation import storage

GZIP_MAGIC = b"\x1f\x8b\x08"
CHUNK = 1 << 16


class ResyncingGzipReader(io.RawIOBase):
    def __init__(self, path: str, start: int = 0, stop: int | None = None) -> None:
        self.stop = stop  # a split's share ends at the member starting at this offset (None: the end of the file)
        self.raw = storage.open(path, "rb")  # a path or a URL (s3://...)
        self.raw.seek(start)  # a split of a multi-member file starts at one of its members
        self.member_start = start  # compressed offset of the member being decoded
        self.member_output = 0  # bytes it has produced so far
        self.decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.buffer = b""
        self.unused = b""  # compressed bytes after the end of the previous member
        self.output_offset = 0  # decompressed bytes handed out
        self.finished = False
        self.faults: list[tuple[int, str]] = []

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while not self.buffer and not self.finished:
            self.fill()
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        self.output_offset += n
        return n

    def fault(self, message: str) -> None:
        self.faults.append((self.output_offset + len(self.buffer), message))

    def fill(self) -> None:
        if self.finished:
            return
        chunk, self.unused = (self.unused, b"") if self.unused else (self.raw.read(CHUNK), b"")
        if not chunk:
            if self.member_output or self.raw.tell() > self.member_start:
                self.fault(f"gzip stream cut: the member at compressed byte {self.member_start} has no end")
            self.finished = True
            return
        try:
            out = self.decompressor.decompress(chunk)
        except zlib.error as exc:
            self.fault(f"corrupt gzip member at compressed byte {self.member_start} ({exc}); skipped to the next one")
            self.resync(self.member_start + 1)
            return
        self.buffer += out
        self.member_output += len(out)
        if self.decompressor.eof:
            self.unused = self.decompressor.unused_data
            self.start_member(self.raw.tell() - len(self.unused))

    def start_member(self, at: int) -> None:
        if self.stop is not None and at >= self.stop:
            self.finished = True
        self.member_start, self.member_output = at, 0
        self.decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def resync(self, after: int) -> None:
        """Move to the next gzip header after ``after`` (or to the end when there is none)."""
        self.raw.seek(after)
        position, carry = after, b""
        while True:
            block = self.raw.read(CHUNK)
            if not block:
                self.finished = True
                return
            window = carry + block
            hit = window.find(GZIP_MAGIC)
            if hit >= 0:
                start = position - len(carry) + hit
                self.raw.seek(start)
                self.unused = b""
                self.start_member(start)
                return
            carry, position = window[-(len(GZIP_MAGIC) - 1) :], position + len(block)

    def close(self) -> None:
        self.raw.close()
        super().close()
