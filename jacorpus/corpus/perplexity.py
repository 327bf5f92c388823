"""`perplexity`: cc_net's n-gram perplexity, as an annotation and (with ``buckets.keep``) as a filter.

    perplexity:
      model: lm/wiki                   # a folder from `jacorpus lm train`, relative to the recipe
      paragraphs: true                 # also annotate `perplexity_paragraphs` (one value per non-empty line)
      buckets: {percentiles: [30, 60], keep: [head, middle]}   # or {cutoffs: [1110, 1450]}

A document's perplexity is cc_net's: the text is cut into lines, each normalized (``jacorpus.corpus.lm``) and
scored with ``<s>``/``</s>``, and perplexity = 10 ** (-sum of log10 probabilities / sum of tokens). Buckets are
cc_net's: ``head`` up to the first cutoff, ``middle`` up to the second, ``tail`` above. ``percentiles`` reads the
cutoffs from the model folder's ``percentiles.json`` (``jacorpus lm cutoffs`` over the corpus to be filtered: cc_net
took its 30th/60th percentiles over each language's crawl); ``cutoffs`` gives them as perplexities. Without
``keep`` the bucket is only annotated (``perplexity_bucket``); with it, a document in another bucket is dropped as
``perplexity:<bucket>``. A document with no text to score gets no perplexity and, when filtering, is dropped as
``perplexity:empty``; when annotating it is counted (``steps.perplexity.empty``). Bucket sizes are counted as
``steps.perplexity["bucket:<name>"]``.
"""

from __future__ import annotations

import json
import os
from typing import ClassVar, Literal

import pyarrow as pa
from datatrove.data import Document
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jacorpus.corpus.lm import ARPA, PERCENTILES, document_perplexity, load_lm
from jacorpus.corpus.steps import JaFilter, StepOptions, register_step

BUCKETS = ("head", "middle", "tail")


class BucketOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percentiles: tuple[float, float] | None = None
    cutoffs: tuple[float, float] | None = None
    keep: list[Literal["head", "middle", "tail"]] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def one_source_of_cutoffs(self) -> "BucketOptions":
        if (self.percentiles is None) == (self.cutoffs is None):
            raise ValueError("buckets: give either `percentiles` (e.g. [30, 60]) or `cutoffs` (two perplexities)")
        pair = self.percentiles or self.cutoffs
        if not pair[0] < pair[1]:
            raise ValueError(f"buckets: the two values must increase, got {list(pair)}")
        if self.percentiles is not None and not all(1 <= p <= 99 and float(p).is_integer() for p in pair):
            raise ValueError(f"buckets: percentiles are whole numbers 1..99, got {list(pair)}")
        return self


class PerplexityOptions(StepOptions):
    model: str
    paragraphs: bool = False
    buckets: BucketOptions | None = None


@register_step
class Perplexity(JaFilter):
    """Annotates ``perplexity`` (and the bucket, per-line values); drops by bucket when ``buckets.keep`` is set."""

    name = "perplexity"
    Options: ClassVar[type[StepOptions]] = PerplexityOptions
    annotations: ClassVar[dict[str, pa.DataType]] = {"perplexity": pa.float64()}

    def __init__(self, options: StepOptions | None = None, base_dir: str = ".") -> None:
        super().__init__(options, base_dir)
        path = self.options.model
        self.model_dir = path if os.path.isabs(path) else os.path.normpath(os.path.join(base_dir, path))
        if not os.path.isfile(os.path.join(self.model_dir, ARPA)):
            raise FileNotFoundError(f"perplexity: no language model ({ARPA}) in {self.model_dir}")
        annotations = dict(type(self).annotations)
        buckets = self.options.buckets
        self.cutoffs: tuple[float, float] | None = None
        if buckets is not None:
            annotations["perplexity_bucket"] = pa.string()
            self.cutoffs = buckets.cutoffs or self.percentile_cutoffs(buckets.percentiles)
        if self.options.paragraphs:
            annotations["perplexity_paragraphs"] = pa.list_(pa.float64())
        self.annotations = annotations

    def percentile_cutoffs(self, percentiles: tuple[float, float]) -> tuple[float, float]:
        path = os.path.join(self.model_dir, PERCENTILES)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"perplexity: buckets by percentiles need {path}: run "
                                    f"`jacorpus lm cutoffs --model {self.model_dir} --corpus DIR` first")
        with open(path, encoding="utf-8") as fh:
            table = json.load(fh)["percentiles"]
        return table[str(int(percentiles[0]))], table[str(int(percentiles[1]))]

    def bucket(self, perplexity: float) -> str:
        assert self.cutoffs is not None
        return "head" if perplexity <= self.cutoffs[0] else "middle" if perplexity <= self.cutoffs[1] else "tail"

    def load(self) -> None:
        load_lm(self.model_dir)  # the KenLM model and its segmenter, once per process, before the first document

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        scores = load_lm(self.model_dir).paragraph_scores(doc.text)
        perplexity = document_perplexity(scores)
        buckets = self.options.buckets
        if self.options.paragraphs:
            doc.metadata["perplexity_paragraphs"] = [10.0 ** (-s / n) for s, n in scores]
        if perplexity is None:
            if buckets is not None and buckets.keep is not None:
                return False, "empty"
            self.ledger.count(self.name, "empty")
            return True
        doc.metadata["perplexity"] = perplexity
        if buckets is None:
            return True
        bucket = self.bucket(perplexity)
        doc.metadata["perplexity_bucket"] = bucket
        self.ledger.count(self.name, f"bucket:{bucket}")  # the funnel shows the split even when only annotating
        if buckets.keep is not None and bucket not in buckets.keep:
            return False, bucket
        return True
