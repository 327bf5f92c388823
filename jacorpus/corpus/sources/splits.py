"""Input splits: one big file read by many tasks, each record by exactly one of them, ids unchanged.

How a file splits depends on its container (``plan_file``):

- plain files: byte ranges (``seek``);
- ``.xz`` with several blocks, ``.zst`` with several frames: ranges starting at block / frame boundaries, which
  python-xz (the xz index) and indexed_zstd seek to in the decompressed stream (``seek``);
- ``.gz`` with many members (Common Crawl WARC/WET), ``.bz2`` multistream (Wikipedia): ranges starting at member /
  stream starts, in the compressed file (``members``), found by the split stage from nominal offsets and verified
  by decoding (a magic number alone may occur inside compressed data); a Wikipedia dump's ``-index.txt.bz2`` gives
  the stream offsets directly (``index``);
- a single-stream ``.xz``/``.gz``/``.zst``/``.bz2`` larger than a split cannot be entered in the middle: the split
  stage streams it once and cuts it into zstd parts, one per split (``cut``);
- CSV/TSV (plain, or xz / zstd that seek): row starts found by one pass of the reader's own csv parsing in the split
  stage (``rows``, split_rows.py); a CSV that would need members or cutting is read whole.

Paths may be URLs (``s3://...``): sizes and reads go through fsspec (``foundation/storage.py``, ranged reads), and
so do the split stage's work files (range counts, cut parts), whatever the output's place.

Ranges start at *anchors* that need not be record boundaries. A split reads from the first record boundary at or
after its anchor to the first one at or after the next split's anchor (``AlignedStream``), with the source type's
rule for a boundary (a line start; the line after a blank line; a ``WARC/x.y`` line; a ``<page>`` line; the
streams are in split_streams.py).
Both ends use the same rule on the same bytes, so every record is read once, whatever the split size. Locators keep
file-wide line numbers and byte offsets: the split stage counts each range's decompressed bytes and newlines
(``count_range``) and a split adds those of the ranges before it (``SplitInfo``).
"""

from __future__ import annotations

import bz2
import io
import json
import math
import os
import re
import zlib
from dataclasses import dataclass, replace
from typing import Any, BinaryIO, Iterator

from jacorpus.corpus.sources.split_streams import (
    CHUNK, VERSION_LINE, AlignedStream, ReadAdapter, SplitInfo, blank_line, is_page_line, open_from, open_xz,
)
from jacorpus.foundation import storage
from jacorpus.foundation.atomic_files import atomic_write_text

RATIO = 4  # assumed decompressed/compressed ratio for members/cut: turns split_bytes into compressed spacing
PROBE_BYTES = 4 << 20  # compressed bytes read to tell a multi-member .gz / multistream .bz2 from a single one
PROBE_STEP = 64 << 10  # ... in steps of this size, stopping at the first member's end
VERIFY_BYTES = 1 << 20  # compressed bytes decoded to accept a member/stream start found by its magic
SCAN_BYTES = 64 << 20  # how far past a nominal offset the next member/stream start is searched
# zstd's worker threads for the cut parts: with one, a part's compression runs beside the decompression of the
# input instead of after it (the cut is one sequential pass that nothing else waits beside); bench/scale.py --cut-only
CUT_THREADS = 1 if (os.cpu_count() or 1) > 1 else 0
GZIP_MAGIC = b"\x1f\x8b\x08"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZ2_MAGIC = re.compile(rb"BZh[1-9]1AY&SY")



@dataclass(frozen=True)
class Split:
    """One task's share of one input file (picklable: it travels to Spark executors)."""

    source: int  # index of the recipe source
    path: str
    method: str  # whole | seek | members | index | cut | rows
    rule: str | None = None  # record boundary rule (RULES); None for whole files
    index: int = 0  # position among the file's splits
    count: int = 1  # splits of this file
    first_rank: int = 0  # plan rank of the file's first split
    anchor: int = 0  # decompressed offset (seek), compressed offset (members: nominal; index: exact); cut: unused
    next_anchor: int | None = None
    file_key: str = ""
    container: str = ""  # plain | xz | zst | gz | bz2
    scan: dict[str, Any] | None = None  # rows: the csv reader's options (Source.record_scan)

    @property
    def rank(self) -> int:
        return self.first_rank + self.index

    @property
    def whole(self) -> bool:
        return self.method == "whole"


def container_of(path: str) -> str:
    for suffix, name in ((".xz", "xz"), (".zst", "zst"), (".zstd", "zst"), (".gz", "gz"), (".bz2", "bz2")):
        if path.endswith(suffix):
            return name
    return "plain"


# -- planning (driver side: reads headers, indexes and a few MiB at most, never a whole file) --------------------
def plan_file(source: int, path: str, rule: str | None, split_bytes: int, file_key: str,
              wiki_index: str | None = None, scan: dict[str, Any] | None = None) -> list[Split]:
    """The splits of one file; ``first_rank`` is set by the caller. A file whose container cannot be inspected
    (truncated, corrupt, not what its name says) is read whole, and its reader reports the fault as it does today."""
    whole = [Split(source, path, "whole", file_key=file_key, container=container_of(path))]
    try:
        found = storage.info(path, listed=True) if rule is not None else None  # a path or a URL (s3://...)
    except OSError:
        found = None
    if found is None or found["type"] != "file":
        return whole
    try:
        splits = inspect_file(source, path, rule, split_bytes, file_key, wiki_index, found["size"]) or whole
    except Exception:  # noqa: BLE001 - see above: one task, the reader's own error entry
        return whole
    if rule == "csv":  # rows are found by parsing from the file's start: only where the reader can seek
        if splits[0].method != "seek":
            return whole
        scan = {**(scan or {}), "anchors": [s.anchor for s in splits]}  # the split stage finds rows for each
        splits = [replace(s, method="rows", scan=scan) for s in splits]
    return splits


def inspect_file(source: int, path: str, rule: str, split_bytes: int, file_key: str,
                 wiki_index: str | None, size: int) -> list[Split] | None:
    whole = None
    kind = container_of(path)
    anchors: list[int]
    method = "seek"
    if kind == "plain":
        if size <= split_bytes:
            return whole
        n = math.ceil(size / split_bytes)
        anchors = [size * k // n for k in range(n)]
    elif kind == "zst" and storage.is_url(path):
        # indexed_zstd seeks only in local files (it takes a path or a descriptor, not a file object): an object's
        # frames are found like gzip members, at their magic number, verified by decoding
        if size * RATIO <= split_bytes:
            return whole
        if several_members(path, kind):
            n = math.ceil(size * RATIO / split_bytes)
            anchors, method = [size * k // n for k in range(n)], "members"
        else:
            anchors, method = list(range(math.ceil(estimated_size(path, kind, size) / split_bytes))), "cut"
    elif kind in ("xz", "zst"):
        total, bounds = frame_boundaries(path, kind)
        if total <= split_bytes:
            return whole
        if len(bounds) > 1:
            anchors = group(bounds, split_bytes)
        else:
            anchors, method = list(range(math.ceil(total / split_bytes))), "cut"
    else:
        if not wiki_index and size * RATIO <= split_bytes:
            return whole  # small: no need to look inside (planning 100,000 Common Crawl files stays cheap)
        if wiki_index and kind == "bz2":
            offsets = index_offsets(wiki_index)
            anchors, method = group([0] + offsets, max(1, split_bytes // RATIO)), "index"
        elif several_members(path, kind):
            n = math.ceil(size * RATIO / split_bytes)
            anchors, method = [size * k // n for k in range(n)], "members"
        else:
            n = math.ceil(estimated_size(path, kind, size) / split_bytes)
            anchors, method = list(range(n)), "cut"
    if len(anchors) <= 1:
        return whole
    n = len(anchors)
    return [Split(source, path, method, rule, k, n, 0, anchors[k], anchors[k + 1] if k + 1 < n else None,
                  file_key, kind) for k in range(n)]


def group(bounds: list[int], target: int) -> list[int]:
    """Boundaries (sorted, starting at 0) kept so that consecutive kept ones are about ``target`` apart."""
    kept = [0]
    for b in bounds[1:]:
        if b - kept[-1] >= target:
            kept.append(b)
    return kept


def frame_boundaries(path: str, kind: str) -> tuple[int, list[int]]:
    """Decompressed size and decompressed offsets of the xz blocks (xz index) / zstd frames of a file."""
    if kind == "xz":
        with open_xz(path) as fh:
            total = fh.seek(0, io.SEEK_END)
            return total, sorted({b for b in fh.block_boundaries if b < total})
    import indexed_zstd

    fh = indexed_zstd.IndexedZstdFile(path)
    try:
        total = fh.size()
        return total, sorted({b for b in fh.block_offsets().values() if b < total})  # it lists the end too
    finally:
        fh.close()


def several_members(path: str, kind: str) -> bool:
    """Whether the first gzip member / bz2 stream ends within the first ``PROBE_BYTES`` with more data after it."""
    decoder = member_decoder(kind)
    read = 0
    # read in small steps: a Common Crawl file's first member (its warcinfo record) ends within a few KiB, so
    # planning thousands of files decodes little of each, not PROBE_BYTES
    with storage.open(path, "rb") as fh:
        try:
            while read < PROBE_BYTES and not decoder.eof:
                step = fh.read(PROBE_STEP)
                if not step:
                    return False
                read += len(step)
                decoder.decompress(step, 1 << 24) if kind == "bz2" else decoder.decompress(step)
        except Exception:  # noqa: BLE001 - zlib.error, OSError, EOFError, ValueError, zstandard.ZstdError
            return False
        return decoder.eof and (bool(decoder.unused_data) or bool(fh.read(1)))


def estimated_size(path: str, kind: str, size: int) -> int:
    """Decompressed size of a single-stream file: ``RATIO`` times its size (gzip's ISIZE field is the size modulo
    4 GiB, and garbage in a truncated file: not trusted), a zstd frame's declared size."""
    if kind == "zst" and storage.is_url(path):
        import zstandard

        with storage.open(path, "rb") as fh:
            declared = zstandard.frame_content_size(fh.read(18))
        return declared if declared > 0 else size * RATIO
    if kind == "zst":
        return frame_boundaries(path, "zst")[0]
    return size * RATIO


def index_offsets(path: str) -> list[int]:
    """Stream offsets of a Wikipedia multistream dump from its ``-index.txt.bz2`` (lines ``offset:pageid:title``)."""
    offsets: set[int] = set()
    raw = storage.open(path, "rb")
    with raw, (bz2.open(raw, "rb") if path.endswith(".bz2") else raw) as fh:
        for line in fh:
            head = line.split(b":", 1)[0]
            if head.isdigit():
                offsets.add(int(head))
    return sorted(o for o in offsets if o > 0)


def beside_index(path: str) -> str | None:
    """The index a Wikipedia dump ships with, under its usual name next to the dump."""
    if "multistream.xml.bz2" not in os.path.basename(path):
        return None
    candidate = path.replace("multistream.xml.bz2", "multistream-index.txt.bz2")
    return candidate if storage.exists(candidate) else None


# -- member / stream starts (split stage) ---------------------------------------------------------------------
def verified_start(path: str, kind: str, nominal: int) -> int:
    """First real gzip member / bz2 stream start at or after ``nominal`` (the file size when there is none)."""
    if nominal == 0:
        return 0
    size = storage.size(path)
    with storage.open(path, "rb") as fh:
        position = nominal
        while position < size and position - nominal < SCAN_BYTES:
            fh.seek(position)
            window = fh.read(CHUNK + 16)
            if not window:
                break
            candidates = ([m.start() for m in BZ2_MAGIC.finditer(window)] if kind == "bz2"
                          else find_all(window, ZSTD_MAGIC if kind == "zst" else GZIP_MAGIC))
            for hit in candidates:
                if hit < CHUNK or len(window) < CHUNK + 16:  # later hits are looked at in the next window
                    if decodes_from(fh, position + hit, kind):
                        return position + hit
            position += CHUNK
    return size


def find_all(window: bytes, needle: bytes) -> list[int]:
    hits, at = [], window.find(needle)
    while at >= 0:
        hits.append(at)
        at = window.find(needle, at + 1)
    return hits


def decodes_from(fh: BinaryIO, at: int, kind: str) -> bool:
    """A member/stream really starts at ``at``: up to ``VERIFY_BYTES`` of it decode (with its CRC when it ends)."""
    fh.seek(at)
    data = fh.read(VERIFY_BYTES)
    decoder = member_decoder(kind)
    try:
        out = decoder.decompress(data) if kind == "zst" else decoder.decompress(data, 1 << 24)
    except Exception:  # noqa: BLE001 - zlib.error, OSError, EOFError, ValueError, zstandard.ZstdError
        return False
    return bool(out) or decoder.eof


def member_decoder(kind: str) -> Any:
    """An incremental decoder of one gzip member / bz2 stream / zstd frame."""
    if kind == "gz":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "zst":
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()
    return bz2.BZ2Decompressor()



# -- opening a split's stream -----------------------------------------------------------------------------------
# -- the split stage: counting ranges, cutting single streams ----------------------------------------------------
def work_paths(work_dir: str, split: Split) -> tuple[str, str]:
    """(info file of this split's range, folder of the file's cut parts)."""
    return (storage.join(work_dir, "info", f"{split.rank:05d}.json"),
            storage.join(work_dir, "cut", split.file_key))


def prepare(split: Split, work_dir: str) -> dict[str, Any] | None:
    """The split stage's task for ``split``: count its range, or (first split of a cut file) cut the whole file.
    Written atomically (on an object store: uploaded whole); a rerun finds it done. ``work_dir`` is a path or a URL."""
    if split.whole or (split.method in ("cut", "rows") and split.index > 0):
        return None
    info_path, cut_dir = work_paths(work_dir, split)
    if split.method == "cut":
        info_path = storage.join(cut_dir, "parts.json")
    if split.method == "rows":
        info_path = rows_path(work_dir, split)
    if storage.exists(info_path):
        return json.loads(storage.read_text(info_path))
    if split.method == "cut":
        info = cut_file(split, cut_dir)
    elif split.method == "rows":
        from jacorpus.corpus.sources.split_rows import scan_rows

        info = scan_rows(split.path, split.scan["anchors"], split.scan)
    else:
        info = count_split(split)
    storage.makedirs(os.path.dirname(info_path))
    atomic_write_text(info_path, json.dumps(info))
    return info


def rows_path(work_dir: str, split: Split) -> str:
    return storage.join(work_dir, "rows", f"{split.file_key}.json")


def count_split(split: Split) -> dict[str, Any]:
    anchor, stop = split.anchor, split.next_anchor
    if split.method == "members":
        anchor = verified_start(split.path, split.container, split.anchor)
        stop = None if stop is None else verified_start(split.path, split.container, stop)
    if split.method == "seek":
        length = None if stop is None else stop - anchor
        stream: BinaryIO = open_from(split, anchor)
    else:
        length = None
        stream = open_from(split, anchor, stop, resync=split.rule == "warc")
    info = {"anchor": anchor, "stop": stop, "bytes": 0, "lines": 0, "ends_line": True, "error": None}
    if split.method in ("members", "index") and (anchor >= storage.size(split.path)
                                                 or (stop is not None and anchor >= stop)):
        return info  # no member/stream starts in this split's share: the split before reads through it
    try:
        with stream:
            left = length
            last = b""
            while left is None or left > 0:
                data = stream.read(CHUNK if left is None else min(CHUNK, left))
                if not data:
                    break
                info["bytes"] += len(data)
                info["lines"] += data.count(b"\n")
                last = data[-1:]
                if left is not None:
                    left -= len(data)
            info["ends_line"] = last in (b"", b"\n")
    except Exception as exc:  # noqa: BLE001 - the read tasks meet the same fault and report it as an input error
        info["error"] = f"{type(exc).__name__}: {exc}"
    return info


def cut_file(split: Split, cut_dir: str) -> dict[str, Any]:
    """Stream a single-stream file once and cut it into ``split.count`` zstd parts (cut after a newline near each
    target size; the last part takes what remains). Each part is written under a temporary name and renamed, or,
    when ``cut_dir`` is a URL, written to a local temporary file and uploaded whole when complete (``atomic_output``):
    the local disk holds one part at a time."""
    import zstandard

    from jacorpus.corpus.sources.compression import open_binary
    from jacorpus.foundation.atomic_files import atomic_output

    storage.makedirs(cut_dir)
    total = estimated_total(split)
    target = max(1, math.ceil(total / split.count))
    parts: list[dict[str, Any]] = []
    error = None
    compressor = zstandard.ZstdCompressor(level=1, threads=CUT_THREADS)

    def new_part():
        name = f"part-{len(parts):05d}.zst"
        commit = atomic_output(storage.join(cut_dir, name))
        fh = open(commit.__enter__(), "wb")
        return {"file": name, "commit": commit, "fh": fh, "writer": compressor.stream_writer(fh),
                "bytes": 0, "lines": 0, "last": b""}

    def close(part):
        part["writer"].close()
        part.pop("commit").__exit__(None, None, None)  # renamed / uploaded under its final name
        part.pop("fh"), part.pop("writer")
        part["ends_line"] = part.pop("last") in (b"", b"\n")
        parts.append(part)

    current = new_part()
    stream = open_binary(split.path)
    read = getattr(stream, "read1", stream.read)  # one read of the file at a time: a fault loses nothing before it
    try:
        while True:
            data = read(CHUNK)
            if not data:
                break
            while data:
                room = target - current["bytes"]
                if room > 0 or len(parts) == split.count - 1:
                    take = data if len(parts) == split.count - 1 else data[:room]
                else:  # past the target: cut after the next newline
                    nl = data.find(b"\n")
                    take = data if nl < 0 else data[: nl + 1]
                current["writer"].write(take)
                current["bytes"] += len(take)
                current["lines"] += take.count(b"\n")
                current["last"] = take[-1:]
                data = data[len(take):]
                if current["bytes"] >= target and current["last"] == b"\n" and len(parts) < split.count - 1:
                    close(current)
                    current = new_part()
    except Exception as exc:  # noqa: BLE001 - kept: what was read; the fault goes to the manifest via the read task
        where = sum(p["bytes"] for p in parts) + current["bytes"]
        error = f"truncated or corrupt compressed stream after {where} decompressed bytes: {exc}"
    finally:
        stream.close()
    close(current)
    if error and split.rule:  # a one-task read loses the record the fault cut: so do the splits
        parts[-1]["valid_bytes"] = last_boundary(storage.join(cut_dir, parts[-1]["file"]), split.rule)
    return {"parts": parts, "error": error, "decompressed_bytes": sum(p["bytes"] for p in parts)}


def last_boundary(part: str, rule: str) -> int:
    """Offset in a cut part after which only an unfinished record follows (``AlignedStream``'s rules)."""
    from jacorpus.corpus.sources.compression import open_binary

    last = position = 0
    with io.BufferedReader(ReadAdapter(open_binary(part, whole=True)), buffer_size=CHUNK) as fh:
        for line in iter(lambda: fh.readline(CHUNK), b""):
            start, position = position, position + len(line)
            if not line.endswith(b"\n"):
                break
            if rule == "line" or (rule == "blank_line" and blank_line(line, "utf-8", CHUNK)):
                last = position
            elif (rule == "warc" and VERSION_LINE.match(line)) or (rule == "page" and is_page_line(line)):
                last = start
    return last


def estimated_total(split: Split) -> int:
    if split.container == "xz":
        return frame_boundaries(split.path, "xz")[0]
    return estimated_size(split.path, split.container, storage.size(split.path))


# -- a split as a stream: counts of the ranges before it, aligned to record boundaries ----------------------------
def load_info(split: Split, work_dir: str) -> SplitInfo:
    info_path, cut_dir = work_paths(work_dir, split)
    if split.method == "rows":
        found = json.loads(storage.read_text(rows_path(work_dir, split)))
        starts = [[0, 0], *found["rows"]]
        header_bytes, header_lines = found["header"]
        mine = starts[split.index]
        following = starts[split.index + 1] if split.index + 1 < len(starts) else None
        if mine is None:  # no row starts in this split's share: the split before reads through it
            return SplitInfo(0, 0, 0, 0, True, empty=True)
        span = None if following is None else following[0] - mine[0]
        if split.index == 0:
            return SplitInfo(0, span, 0, 0, True)
        # the header row is read first (read_split's prefix): numbered so that this split's first row gets its
        # file-wide line number and offset
        return SplitInfo(mine[0], span, mine[0] - header_bytes, mine[1] - header_lines, True,
                         header_bytes=header_bytes)
    if split.method == "cut":
        cut = json.loads(storage.read_text(storage.join(cut_dir, "parts.json")))
        parts = cut["parts"]
        before = parts[: split.index]
        mine = parts[split.index] if split.index < len(parts) else None
        last = split.index >= len(parts) - 1
        valid = parts[-1].get("valid_bytes")
        return SplitInfo(
            0, None if last else (mine["bytes"] if mine else 0), sum(p["bytes"] for p in before),
            sum(p["lines"] for p in before), before[-1]["ends_line"] if before else True,
            [storage.join(cut_dir, p["file"]) for p in parts[split.index:]],
            cut.get("error") if split.index == len(parts) - 1 else None,  # reported by the task of the last part
            None if valid is None else sum(p["bytes"] for p in parts[split.index:-1]) + valid)
    infos = []
    for k in range(split.index + 1):
        infos.append(json.loads(storage.read_text(storage.join(work_dir, "info", f"{split.first_rank + k:05d}.json"))))
    mine, before = infos[-1], infos[:-1]
    last = split.next_anchor is None
    if split.method in ("members", "index"):  # no member/stream start after this split's: it reads to the end
        last = last or mine["stop"] is None or mine["stop"] >= storage.size(split.path)
    return SplitInfo(mine["anchor"], None if last else mine["bytes"], sum(i["bytes"] for i in before),
                     sum(i["lines"] for i in before), before[-1]["ends_line"] if before else True,
                     error=mine.get("error"))


def wiki_header(path: str, limit: int = 16 << 20) -> bytes:
    """The XML before a dump's first ``<page>`` (root element and siteinfo), put before every later split."""
    from jacorpus.corpus.sources.compression import open_binary

    out = []
    seen = 0
    with io.BufferedReader(ReadAdapter(open_binary(path)), buffer_size=CHUNK) as fh:
        for line in fh:
            if is_page_line(line):
                break
            out.append(line)
            seen += len(line)
            if seen > limit:
                raise ValueError("no <page> in the first 16 MiB of the dump")
    return b"".join(out)


WIKI_FOOTER = b"</mediawiki>\n"


# -- reading a split with a source's own parser ------------------------------------------------------------------
def read_split(source: Any, split: Split, work_dir: str) -> Iterator[Any]:
    """The documents of one split, read by ``source.read_file_safely`` as if the split were the file (see
    ``compression.SPLIT_OPENERS``): same parser, same locators, same ids as a one-task read of the file."""
    from jacorpus.corpus.sources.compression import SPLIT_OPENERS, open_binary

    if split.whole:
        yield from source.read_file_safely(split.path)
        return
    try:
        info = load_info(split, work_dir)
        if split.method in ("members", "index") and info.anchor >= storage.size(split.path):
            return  # nothing starts in this split's share of the file
        codec = "utf-8"
        if split.rule == "blank_line":
            from jacorpus.corpus.sources.text import file_encoding

            codec = file_encoding(split.path, getattr(source.options, "encoding", "utf-8"))
        if info.empty:
            return
        prefix = wiki_header(split.path) if split.rule == "page" and split.index > 0 else b""
        if info.header_bytes:  # CSV/TSV: the header row, then this split's rows
            with open_binary(split.path, whole=True) as fh:
                prefix = fh.read(info.header_bytes)
            prefix = prefix.removeprefix(b"\xef\xbb\xbf")  # a one-task read drops the BOM of its line 1 only
    except Exception as exc:  # noqa: BLE001 - e.g. the split stage's record is missing: this split is not read
        source.error(split.path, {"split": split.index}, f"split {split.index} not readable: {type(exc).__name__}: {exc}")
        return
    suffix = WIKI_FOOTER if split.rule == "page" else b""
    limit = source.options.max_record_bytes

    def opener() -> BinaryIO:
        raw = open_from(split, info.anchor, parts=info.parts, resync=split.rule == "warc", limit=info.limit)
        rule = "line" if split.rule in (None, "csv") else split.rule  # csv: split stage's row starts are lines
        return AlignedStream(raw, rule, info, split.index == 0, codec, limit, prefix, suffix)

    SPLIT_OPENERS[split.path] = opener
    try:
        yield from source.read_file_safely(split.path)
    finally:
        SPLIT_OPENERS.pop(split.path, None)
    if split.method == "cut" and info.error:  # where the cutting stage met a fault, as a one-task read reports it
        source.error(split.path, int(info.error.split(" after ", 1)[1].split(" ", 1)[0]), info.error)
