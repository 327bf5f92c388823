"""fastText's ``predict`` for a supervised hierarchical-softmax model (lid.176), compiled with numba: the same model
file, the same top label and the same float32 probability as the fastText library.

Why by hand: on Japanese text fastText's predict is dominated by its character n-grams. For every n-gram of every
token the C++ code builds a ``std::string``, hashes it from the first byte and, in a pruned model such as
lid.176.ftz, probes an ``unordered_map``; the embedding rows themselves are cheap (16 dimensions, 8 product-quantized
sub-vectors). These loops extend one FNV-1a hash byte by byte over the n-grams that start at a character (2-, 3- and
4-grams share their prefix), look the bucket up in a dense array, and add the row straight into the hidden vector.
Measured on the same 1,181 web documents, one core: ``bench/results/filters.md``, pair ``jacorpus_lid_only`` (this
path) against ``hojichar_lid_only`` (the library's predict on the same model and text).

What is reproduced, from fastText 0.9.2 (``dictionary.cc``, ``quantmatrix.cc``, ``productquantizer.cc``,
``loss.cc``): tokens split at the seven ASCII separators, the end-of-line token ``</s>`` the Python wrapper's
trailing newline adds, tokens starting with the label prefix dropped, the signed-char FNV-1a hash, n-grams of
``<token>`` on UTF-8 character boundaries, the pruned bucket map, rows added in fastText's order in float32 and
scaled by ``1.0 / n`` rounded to float, and the depth-first walk of the Huffman tree with fastText's mixed
float/double arithmetic (``std_log`` takes a float). Tests compare labels and probabilities with the library on real
text (``tests/corpus/test_fasttext_lid.py``). Only k = 1 and threshold 0 (what the language step asks) are compiled;
other models (softmax loss, unsupervised) are refused, and callers then use the library.

numba is optional: without it (or with ``JACORPUS_NUMBA=0``) ``language.py`` calls the fastText library.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

MAGIC, MAX_VERSION = 793712314, 12
LOSS_HS, MODEL_SUPERVISED = 1, 3
KSUB = 256  # product quantizer: 8-bit codes
EOS = b"</s>"
LABEL_PREFIX = b"__label__"


class UnsupportedModel(ValueError):
    """A fastText file this kernel does not compute (the caller uses the fastText library instead)."""


@dataclass(frozen=True)
class Quantized:
    """A product-quantized matrix (``QuantMatrix``): per row ``nsubq`` byte codes; optional quantized row norms."""

    codes: np.ndarray  # uint8 (rows * nsubq)
    centroids: np.ndarray  # float32 (dim * 256)
    nsubq: int
    dsub: int
    lastdsub: int
    norm_codes: np.ndarray  # uint8 (rows,), empty without qnorm
    norm_centroids: np.ndarray  # float32 (256,), empty without qnorm


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, dtype: str, count: int = 1) -> np.ndarray:
        array = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += array.nbytes
        return array

    def one(self, dtype: str) -> int | float | bool:
        return self.take(dtype)[0].item()

    def entry(self) -> tuple[bytes, int, int]:
        """A dictionary entry: the word (NUL-terminated), its count (int64) and type (int8: 0 word, 1 label)."""
        end = self.data.index(b"\0", self.pos)
        count, kind = struct.unpack_from("<qb", self.data, end + 1)
        word, self.pos = self.data[self.pos : end], end + 10
        return word, count, kind


def _read_quantized(r: _Reader) -> Quantized:
    qnorm = bool(r.one("u1"))
    rows, _cols, codesize = r.one("<i8"), r.one("<i8"), r.one("<i4")
    codes = r.take("u1", codesize)
    dim, nsubq, dsub, lastdsub = (int(v) for v in r.take("<i4", 4))
    centroids = r.take("<f4", dim * KSUB)
    norm_codes, norm_centroids = np.empty(0, np.uint8), np.empty(0, np.float32)
    if qnorm:
        norm_codes = r.take("u1", rows)
        ndim = int(r.take("<i4", 4)[0])
        norm_centroids = r.take("<f4", ndim * KSUB)
    return Quantized(codes, centroids, nsubq, dsub, lastdsub, norm_codes, norm_centroids)


def _read_dense(r: _Reader) -> np.ndarray:
    rows, cols = r.one("<i8"), r.one("<i8")
    return r.take("<f4", rows * cols).reshape(rows, cols)


class FastTextLID:
    """A supervised hierarchical-softmax fastText model read from its ``.bin``/``.ftz`` file; ``predict`` gives the
    library's ``predict(text, k=1)`` as (label without ``__label__``, float32 probability), ("", 0.0) when fastText
    would return nothing."""

    def __init__(self, path: str | Path) -> None:
        r = _Reader(Path(path).read_bytes())
        magic, version = r.one("<i4"), r.one("<i4")
        if magic != MAGIC or version > MAX_VERSION:
            raise UnsupportedModel(f"{path}: not a fastText model file (magic {magic}, version {version})")
        dim, _ws, _epoch, _min_count, _neg, word_ngrams, loss, model, bucket, minn, maxn, _lr_rate = (
            int(v) for v in r.take("<i4", 12))
        r.take("<f8")  # sampling threshold t
        if model != MODEL_SUPERVISED or loss != LOSS_HS:
            raise UnsupportedModel(f"{path}: model {model}, loss {loss}; compiled: supervised (3) with hs loss (1)")
        if version == 11:  # fastText: old supervised models have no character n-grams
            maxn = 0
        size, nwords, _nlabels = (int(v) for v in r.take("<i4", 3))
        r.take("<i8")  # ntokens
        pruneidx_size = r.one("<i8")
        words, counts, types = [], [], []
        for _ in range(size):
            word, count, kind = r.entry()
            words.append(word)
            counts.append(count)
            types.append(kind)
        pairs = r.take("<i4", 2 * max(pruneidx_size, 0)).reshape(-1, 2)
        if bool(r.one("u1")):
            self.input_q, self.input_dense = _read_quantized(r), np.empty((0, dim), np.float32)
            self.pq_shape = np.array([self.input_q.nsubq, self.input_q.dsub, self.input_q.lastdsub], np.int64)
        else:
            self.input_q, self.input_dense = None, _read_dense(r)
        qout = bool(r.one("u1"))
        if self.input_q is not None and qout:
            raise UnsupportedModel(f"{path}: quantized output matrix (qout) is not compiled")
        self.output = _read_dense(r)
        if r.pos != len(r.data):
            raise UnsupportedModel(f"{path}: {len(r.data) - r.pos} bytes left after the model")

        self.labels = [w.decode("utf-8").removeprefix(LABEL_PREFIX.decode()) for w in words[nwords:]]
        self.params = np.array([nwords, bucket, minn, maxn, word_ngrams, pruneidx_size], dtype=np.int64)
        # pruned models keep a subset of the n-gram buckets: bucket -> row after the words, -1 where pruned away
        self.prune_map = np.full(bucket if pruneidx_size > 0 else 0, -1, dtype=np.int32)
        if pruneidx_size > 0:
            self.prune_map[pairs[:, 0]] = pairs[:, 1]
        # the in-vocabulary words (not labels) in an open-addressing table keyed by fastText's own hash
        self.word_bytes = np.frombuffer(b"".join(words[:nwords]), dtype=np.uint8)
        self.word_offsets = np.zeros(nwords + 1, dtype=np.int64)
        np.cumsum([len(w) for w in words[:nwords]], out=self.word_offsets[1:])
        slots = 1 << max(4, (2 * nwords).bit_length())
        self.word_table = np.full(slots, -1, dtype=np.int32)
        for wid, word in enumerate(words[:nwords]):
            slot = _fnv1a(np.frombuffer(word, np.uint8), 0, len(word)) & (slots - 1)
            while self.word_table[slot] != -1:
                slot = (slot + 1) & (slots - 1)
            self.word_table[slot] = wid
        self.eos_id = self._word_id(EOS)
        self.left, self.right = _huffman_tree([c for c, t in zip(counts, types) if t == 1])

    def _word_id(self, word: bytes) -> int:
        buf = np.frombuffer(word, np.uint8)
        return int(_find_word(buf, 0, len(buf), _fnv1a(buf, 0, len(buf)), self.word_table, self.word_bytes,
                              self.word_offsets))

    def predict(self, text: str) -> tuple[str, float]:
        """Top label and probability of one line of text (the library refuses newlines; so does this)."""
        if "\n" in text:
            raise ValueError("predict processes one line at a time (remove '\\n')")
        q = self.input_q
        if q is None:
            label, prob = _predict_dense(np.frombuffer(text.encode("utf-8"), np.uint8), self.params, self.eos_id,
                                         self.word_table, self.word_bytes, self.word_offsets, self.prune_map,
                                         self.input_dense, self.output, self.left, self.right)
        else:
            label, prob = _predict_quantized(
                np.frombuffer(text.encode("utf-8"), np.uint8), self.params, self.eos_id, self.word_table,
                self.word_bytes, self.word_offsets, self.prune_map, q.codes, q.centroids,
                self.pq_shape, q.norm_codes, q.norm_centroids, self.output,
                self.left, self.right)
        return (self.labels[label], float(prob)) if label >= 0 else ("", 0.0)


def _huffman_tree(counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``HierarchicalSoftmaxLoss::buildTree``: children of every node; leaves are the labels 0..osz-1."""
    osz = len(counts)
    count = list(counts) + [10**15] * (osz - 1)  # int64 counts, 1e15 for the inner nodes, as fastText
    left, right = np.full(2 * osz - 1, -1, np.int32), np.full(2 * osz - 1, -1, np.int32)
    leaf, node = osz - 1, osz
    for i in range(osz, 2 * osz - 1):
        mini = [0, 0]
        for j in range(2):
            if leaf >= 0 and count[leaf] < count[node]:
                mini[j], leaf = leaf, leaf - 1
            else:
                mini[j], node = node, node + 1
        left[i], right[i] = mini
        count[i] = count[mini[0]] + count[mini[1]]
    return left, right


@njit(cache=True, inline="always")
def _fnv_step(h, byte):
    # fastText hashes bytes as *signed* chars: h ^ uint32(int8(b)) sign-extends bytes >= 0x80 (dictionary.cc)
    b = np.uint32(byte) if byte < 0x80 else np.uint32(np.uint32(byte) | np.uint32(0xFFFFFF00))
    return np.uint32(np.uint32(h ^ b) * np.uint32(16777619))


@njit(cache=True)
def _fnv1a(buf, start, end):
    h = np.uint32(2166136261)
    for i in range(start, end):
        h = _fnv_step(h, buf[i])
    return h


@njit(cache=True)
def _find_word(buf, start, end, h, table, word_bytes, word_offsets):
    mask = table.size - 1
    slot = h & mask
    n = end - start
    while table[slot] != -1:
        wid = table[slot]
        a, b = word_offsets[wid], word_offsets[wid + 1]
        if b - a == n:
            same = True
            for k in range(n):
                if word_bytes[a + k] != buf[start + k]:
                    same = False
                    break
            if same:
                return wid
        slot = (slot + 1) & mask
    return -1


@njit(cache=True, inline="always")
def _is_separator(c):
    return c == 32 or c == 10 or c == 13 or c == 9 or c == 11 or c == 12 or c == 0


@njit(cache=True)
def _input_rows(buf, params, eos_id, table, word_bytes, word_offsets, prune_map):
    """The input rows of one line in fastText's order (``Dictionary::getLine``): per token its word row (if in the
    vocabulary) and its n-gram rows, then the word n-grams (wordNgrams > 1)."""
    nwords, bucket, minn, maxn, word_ngrams, pruneidx_size = (
        params[0], params[1], params[2], params[3], params[4], params[5])
    max_tokens = buf.size // 2 + 2
    # per token its word row and at most maxn n-grams per byte of "<token>" (tokens' bytes + 2 per token <= 3n + 4);
    # then at most wordNgrams - 1 word n-grams per token
    rows = np.empty(buf.size + 2 + (3 * buf.size + 4) * max(maxn, 1) + max_tokens * max(word_ngrams - 1, 0),
                    dtype=np.int64)
    hashes = np.empty(max_tokens, dtype=np.uint32)
    nrows, nhashes = 0, 0
    gram = np.empty(buf.size + 2, dtype=np.uint8)  # "<" + token + ">"
    i, n = 0, buf.size
    while True:
        while i < n and _is_separator(buf[i]):
            i += 1
        at_end = i >= n
        if at_end:  # the wrapper's trailing newline: the end-of-line token
            if eos_id >= 0:
                rows[nrows] = eos_id
                nrows += 1
            h = np.uint32(2166136261)
            for c in (60, 47, 115, 62):  # </s>
                h = _fnv_step(h, c)
            hashes[nhashes] = h
            nhashes += 1
            break
        start = i
        while i < n and not _is_separator(buf[i]):
            i += 1
        end = i
        is_label = end - start >= 9
        if is_label:
            for k in range(9):  # "__label__": labels are not input (fastText: entry_type::label)
                if buf[start + k] != (95, 95, 108, 97, 98, 101, 108, 95, 95)[k]:
                    is_label = False
                    break
        if is_label:
            continue
        h = _fnv1a(buf, start, end)
        wid = _find_word(buf, start, end, h, table, word_bytes, word_offsets)
        hashes[nhashes] = h
        nhashes += 1
        if end - start == 4 and buf[start] == 60 and buf[start + 1] == 47 and buf[start + 2] == 115 \
                and buf[start + 3] == 62:  # "</s>" in the text ends the line for fastText: no n-grams, no more tokens
            if wid >= 0:
                rows[nrows] = wid
                nrows += 1
            break
        if wid >= 0:
            rows[nrows] = wid
            nrows += 1
            if maxn <= 0:
                continue
        length = end - start + 2
        gram[0] = 60  # <
        gram[1 : length - 1] = buf[start:end]
        gram[length - 1] = 62  # >
        for s in range(length):  # Dictionary::computeSubwords
            if (gram[s] & 0xC0) == 0x80:
                continue
            gh = np.uint32(2166136261)
            j, chars = s, 1
            while j < length and chars <= maxn:
                gh = _fnv_step(gh, gram[j])
                j += 1
                while j < length and (gram[j] & 0xC0) == 0x80:
                    gh = _fnv_step(gh, gram[j])
                    j += 1
                if chars >= minn and not (chars == 1 and (s == 0 or j == length)):
                    nrows = _push_bucket(rows, nrows, np.int64(gh % np.uint32(bucket)), nwords, pruneidx_size,
                                         prune_map)
                chars += 1
    for a in range(nhashes):  # Dictionary::addWordNgrams (its hashes are int32: sign-extended to uint64)
        wh = _sign_extended(hashes[a])
        for b in range(a + 1, min(nhashes, a + word_ngrams)):
            wh = np.uint64(wh * np.uint64(116049371) + _sign_extended(hashes[b]))
            nrows = _push_bucket(rows, nrows, np.int64(wh % np.uint64(bucket)), nwords, pruneidx_size, prune_map)
    return rows[:nrows]


@njit(cache=True, inline="always")
def _sign_extended(h):
    return np.uint64(h) | np.uint64(0xFFFFFFFF00000000) if h >= np.uint32(0x80000000) else np.uint64(h)


@njit(cache=True, inline="always")
def _push_bucket(rows, nrows, bucket_id, nwords, pruneidx_size, prune_map):
    """``Dictionary::pushHash``: a bucket's row after the words; in a pruned model only the buckets kept."""
    if pruneidx_size == 0:
        return nrows
    if pruneidx_size > 0:
        bucket_id = prune_map[bucket_id]
        if bucket_id < 0:
            return nrows
    rows[nrows] = nwords + bucket_id
    return nrows + 1


@njit(cache=True)
def _std_log(x):
    # loss.cc: real std_log(real x) { return std::log(x + 1e-5); }: a float argument, double log, float result
    return np.float32(math.log(np.float64(np.float32(x)) + 1e-5))


@njit(cache=True)
def _best_leaf(hidden, output, left, right):
    """``HierarchicalSoftmaxLoss::dfs`` for k = 1, threshold 0: the leaf with the highest log-probability, ties to the
    later leaf (fastText's heap keeps the new element on equal scores)."""
    osz = (left.size + 1) // 2
    floor = _std_log(np.float32(0.0))
    best_score, best_leaf = np.float32(0.0), -1
    stack_nodes = np.empty(2 * left.size, dtype=np.int64)
    stack_scores = np.empty(2 * left.size, dtype=np.float32)
    stack_nodes[0], stack_scores[0], top = left.size - 1, np.float32(0.0), 1
    while top > 0:
        top -= 1
        node, score = stack_nodes[top], stack_scores[top]
        if score < floor or (best_leaf >= 0 and score < best_score):
            continue
        if left[node] == -1 and right[node] == -1:
            best_score, best_leaf = score, node
            continue
        f = np.float32(0.0)
        row = node - osz
        for j in range(hidden.size):
            f = np.float32(f + np.float32(output[row, j] * hidden[j]))
        f = np.float32(1.0 / np.float64(np.float32(np.float32(1.0) + np.float32(math.exp(np.float32(-f))))))
        # right is pushed first so that left is visited first, as in the recursion
        stack_nodes[top], stack_scores[top] = right[node], np.float32(score + _std_log(f))
        stack_nodes[top + 1] = left[node]
        stack_scores[top + 1] = np.float32(score + _std_log(np.float32(1.0 - np.float64(f))))
        top += 2
    if best_leaf < 0:
        return -1, np.float32(0.0)
    return best_leaf, np.float32(math.exp(best_score))


@njit(cache=True)
def _predict_quantized(buf, params, eos_id, table, word_bytes, word_offsets, prune_map, codes, centroids, pq,
                       norm_codes, norm_centroids, output, left, right):
    rows = _input_rows(buf, params, eos_id, table, word_bytes, word_offsets, prune_map)
    if rows.size == 0:
        return -1, np.float32(0.0)
    nsubq, dsub, lastdsub = pq[0], pq[1], pq[2]
    hidden = np.zeros(output.shape[1], dtype=np.float32)
    for r in range(rows.size):  # QuantMatrix::addRowToVector -> ProductQuantizer::addcode
        t = rows[r]
        alpha = np.float32(1.0)
        if norm_codes.size:
            alpha = norm_centroids[norm_codes[t]]
        for m in range(nsubq):
            d = lastdsub if m == nsubq - 1 else dsub
            c = m * KSUB * dsub + codes[nsubq * t + m] * (lastdsub if m == nsubq - 1 else dsub)
            for k in range(d):
                hidden[m * dsub + k] = np.float32(hidden[m * dsub + k] + np.float32(alpha * centroids[c + k]))
    scale = np.float32(1.0 / rows.size)
    for k in range(hidden.size):
        hidden[k] = np.float32(hidden[k] * scale)
    return _best_leaf(hidden, output, left, right)


@njit(cache=True)
def _predict_dense(buf, params, eos_id, table, word_bytes, word_offsets, prune_map, matrix, output, left, right):
    rows = _input_rows(buf, params, eos_id, table, word_bytes, word_offsets, prune_map)
    if rows.size == 0:
        return -1, np.float32(0.0)
    hidden = np.zeros(output.shape[1], dtype=np.float32)
    for r in range(rows.size):
        for k in range(hidden.size):
            hidden[k] = np.float32(hidden[k] + matrix[rows[r], k])
    scale = np.float32(1.0 / rows.size)
    for k in range(hidden.size):
        hidden[k] = np.float32(hidden[k] * scale)
    return _best_leaf(hidden, output, left, right)
