"""Medical text: abstracts and clinical documents as JSONL/CSV/TSV, PubMed/MEDLINE XML, or generic XML records.

Recipe examples::

    {type: medical, format: jsonl, text_fields: [title, abstract], id_field: pmid, paths: [abs.jsonl]}
    {type: medical, format: pubmed, languages: [jpn], paths: [pubmed/*.xml.gz]}
    {type: medical, format: xml, record: article, sentences: documents, paths: [MedTxt-CR-JA-training.xml]}

``sentences`` splits each record with ``jacorpus.corpus.sentences``: ``documents`` makes one document per sentence
(locator ``<record>/s<k>``, the unit the medical RoBERTa corpora were built from), ``lines`` keeps one document per
record with one sentence per line. Empty records are dropped with reason ``no_text``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Iterator, Literal

from datatrove.data import Document
from pydantic import field_validator, model_validator

from jacorpus.corpus.sources.base import Source, SourceError, SourceOptions, register_source
from jacorpus.corpus.sources.compression import open_counted
from jacorpus.corpus.sources.jsonl import json_objects
from jacorpus.corpus.sources.text import known_encoding, lines_of

TABLE_FORMATS = ("jsonl", "csv", "tsv")
# options that only make sense for some formats: setting them for another format is a recipe error
FORMAT_OPTIONS = {
    "text_fields": TABLE_FORMATS, "id_field": TABLE_FORMATS, "encoding": TABLE_FORMATS, "columns": ("csv", "tsv"),
    "languages": ("pubmed",), "require_language": ("pubmed",),
    "record": ("xml",), "id_attribute": ("xml",), "title_attribute": ("xml",), "title_in_text": ("xml",),
}


class MedicalOptions(SourceOptions):
    format: Literal["jsonl", "csv", "tsv", "pubmed", "xml"] = "jsonl"
    sentences: Literal["none", "documents", "lines"] = "none"
    encoding: str = "utf-8"  # jsonl/csv/tsv; XML files declare their own
    # jsonl / csv / tsv: text fields joined by a newline, a field used as the document id, the rest is metadata
    text_fields: list[str] = ["title", "abstract"]
    id_field: str | None = None
    columns: list[str] | None = None  # column names of a CSV/TSV without a header row
    # pubmed: preferred languages (MEDLINE codes); records with a vernacular title/other abstract in one use it
    languages: list[str] = ["jpn"]
    require_language: bool = False  # drop records with no text in a preferred language
    # xml: the record element, its id and title attributes; inline tags inside a record are stripped
    record: str = "article"
    id_attribute: str | None = "id"
    title_attribute: str | None = "title"
    title_in_text: bool = True

    @field_validator("encoding")
    @classmethod
    def encoding_is_known(cls, value: str) -> str:
        return known_encoding(value)  # a codec name or `auto`, checked when the recipe is read

    @field_validator("sentences", mode="before")
    @classmethod
    def boolean_means_documents(cls, value: Any) -> Any:
        return {True: "documents", False: "none"}.get(value, value) if isinstance(value, bool) else value

    @model_validator(mode="after")
    def options_fit_the_format(self) -> "MedicalOptions":
        for name in sorted(self.model_fields_set):
            allowed = FORMAT_OPTIONS.get(name)
            if allowed and self.format not in allowed:
                raise ValueError(f"option {name!r} applies to format {' / '.join(allowed)}, not {self.format!r}")
        if self.format in TABLE_FORMATS and not self.text_fields:
            raise ValueError("text_fields must name at least one field")
        return self


def field_text(value: Any) -> str:
    """A text field's value as text: strings as is, lists of strings one per line, numbers printed, else empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "\n".join(t for t in (field_text(v) for v in value) if t)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


@register_source("medical")
class MedicalSource(Source):
    Options = MedicalOptions

    def record_rule(self) -> str | None:
        # JSON lines split at any line; CSV/TSV rows may hold quoted newlines: the split stage finds row starts by
        # parsing the file once as this reader does (split_rows.py); XML records are found by parsing from the
        # file's start: read whole
        return {"jsonl": "line", "csv": "csv", "tsv": "csv"}.get(self.options.format)

    def record_scan(self) -> dict[str, Any] | None:
        opts: MedicalOptions = self.options
        if opts.format not in ("csv", "tsv"):
            return None
        return {"delimiter": "\t" if opts.format == "tsv" else ",", "encoding": opts.encoding,
                "max_record_bytes": opts.max_record_bytes, "header": opts.columns is None}

    def read_file(self, path: str) -> Iterator[Document]:
        opts: MedicalOptions = self.options
        if opts.format == "jsonl":
            records = self._jsonl_records(path)
        elif opts.format in ("csv", "tsv"):
            records = self._csv_records(path, "\t" if opts.format == "tsv" else ",")
        elif opts.format == "pubmed":
            records = self._pubmed_records(path)
        else:
            records = self._xml_records(path)
        for locator, doc_id, text, meta in records:
            yield from self._documents(path, locator, doc_id, text, meta)

    # -- one record -> documents -----------------------------------------------------------------------------
    def _documents(self, path: str, locator: str, doc_id: str | None, text: str, meta: dict[str, Any]):
        mode = self.options.sentences
        if mode != "none":
            from jacorpus.corpus.sentences import split_sentences

            sentences = split_sentences(text)
            if mode == "lines":
                text = "\n".join(sentences)
            elif sentences:
                for k, sentence in enumerate(sentences):
                    sid = f"{doc_id}/s{k}" if doc_id is not None else None
                    yield self._make(sentence, path, f"{locator}/s{k}", sid, {**meta, "sentence": k})
                return
        doc = self._make(text, path, locator, doc_id, meta)
        if not text.strip():
            self.drop(doc, "no_text")
            return
        yield doc

    def _make(self, text: str, path: str, locator: str, doc_id: str | None, meta: dict[str, Any]) -> Document:
        doc = self.document(text, path, locator, doc_id=doc_id)
        doc.metadata["meta"].update(meta)  # not as keywords: a field may be named "path" or "text"
        return doc

    def _split_record(self, record: dict[str, Any]) -> tuple[str | None, str, dict[str, Any]]:
        opts: MedicalOptions = self.options
        text = "\n".join(t for t in (field_text(record.get(f)) for f in opts.text_fields) if t)
        raw_id = record.get(opts.id_field) if opts.id_field else None
        doc_id = None if raw_id in (None, "") else str(raw_id)
        skip = set(opts.text_fields) | ({opts.id_field} if doc_id is not None else set())
        return doc_id, text, {k: v for k, v in record.items() if k not in skip}

    # -- formats ---------------------------------------------------------------------------------------------
    def _jsonl_records(self, path: str):
        for number, record in json_objects(self, path, self.options.encoding):
            yield (f"L{number}", *self._split_record(record))

    def _csv_records(self, path: str, delimiter: str):
        opts: MedicalOptions = self.options
        # a field (an unclosed quote gathers lines) over max_record_bytes is a csv.Error, reported as a bad row
        csv.field_size_limit(opts.max_record_bytes)
        # decoded line by line (bad bytes, NULs and oversized lines reported with their line); quoted newlines
        # become "\n"
        first: list[int] = []  # the first line's number: 1, or where a split of the file starts (splits.py)

        def lines():
            for number, _, line in lines_of(path, opts.encoding, self):
                if not first:
                    first.append(number)
                if line is not None:
                    yield line + "\n"

        rows = csv.reader(lines(), delimiter=delimiter, strict=True)
        header = opts.columns
        line = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                start, line = first[0] + line, rows.line_num
                self.error(path, {"line": start}, f"malformed {opts.format.upper()} row: {exc}")
                continue
            start = first[0] + line
            line = rows.line_num
            self._position = {"line": start}
            if header is None:
                header = row
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                self.error(path, {"line": start}, f"{len(row)} fields where the header has {len(header)}")
                continue
            yield (f"L{start}", *self._split_record(dict(zip(header, row))))

    def _pubmed_records(self, path: str):
        opts: MedicalOptions = self.options
        for number, element in iter_records(path, "PubmedArticle", self):
            fields = pubmed_fields(element, opts.languages)
            text = "\n".join(t for t in (fields.pop("title"), fields.pop("abstract")) if t)
            locator = f"pmid:{fields['pmid']}" if fields.get("pmid") else f"r{number}"
            if opts.require_language and fields["language"] not in opts.languages:
                self.drop(self._make(text, path, locator, None, fields), "no_preferred_language")
                continue
            yield locator, None, text, fields

    def _xml_records(self, path: str):
        opts: MedicalOptions = self.options
        for number, element in iter_records(path, opts.record, self):
            doc_id, title, body, meta = record_fields(element, opts.id_attribute, opts.title_attribute)
            text = "\n".join(t for t in (title if opts.title_in_text else "", body) if t)
            yield (doc_id or f"r{number}"), doc_id, text, meta


# -- XML -------------------------------------------------------------------------------------------------------
class RecordBoundedStream(io.RawIOBase):
    """The decompressed stream lxml reads, refusing to go on once one record has taken ``limit`` bytes: lxml builds
    a record's whole subtree before it yields it, so this is where a bomb inside one record is stopped."""

    def __init__(self, counted: Any, limit: int) -> None:
        self.counted = counted
        self.limit = limit
        self.record_start: int | None = None  # decompressed offset where the current record began

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.record_start is not None and self.counted.offset - self.record_start > self.limit:
            seen = self.counted.offset - self.record_start
            raise SourceError(f"record over max_record_bytes ({self.limit}): {seen} bytes seen without its end",
                              {"byte": self.record_start, "size": seen})
        return self.counted.readinto(buffer)

    def close(self) -> None:
        self.counted.close()
        super().close()


def iter_records(path: str, tag: str, source: Source) -> Iterator[tuple[int, Any]]:
    """Stream the ``tag`` elements (any namespace) of an XML file, freeing each one after use.

    Malformed XML ends the file with a ``SourceError`` at the parser's line and column; records before it are kept.
    So does a record over ``max_record_bytes`` (XML has no boundary to resume at once a record is cut).
    DTDs and external entities are never loaded.
    """
    from lxml import etree

    bounded = RecordBoundedStream(open_counted(path), source.options.max_record_bytes)
    stream = io.BufferedReader(bounded, buffer_size=1 << 16)
    number = 0
    with stream:
        parser = etree.iterparse(
            stream, events=("start", "end"), tag="{*}" + tag, load_dtd=False, no_network=True,
            resolve_entities=False,
        )
        try:
            for event, element in parser:
                if event == "start":
                    bounded.record_start = bounded.counted.offset
                    continue
                bounded.record_start = None
                number += 1
                source._position = {"record": number, "line": element.sourceline}
                yield number, element
                element.clear()
                while element.getprevious() is not None:  # siblings already seen (records or not)
                    del element.getparent()[0]
        except etree.XMLSyntaxError as exc:
            line, column = exc.position
            where = {"line": line, "column": column, "records_before": number}
            raise SourceError(f"malformed XML: {exc.msg}", where) from exc


def element_text(element: Any) -> str:
    """Text of an element with inline tags stripped (their text kept), lines trimmed, blank lines removed."""
    if element is None:
        return ""
    from lxml import etree

    # the text serialization skips comments, processing instructions and unexpanded entities, keeps their tails
    text = etree.tostring(element, method="text", encoding="unicode", with_tail=False)
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def record_fields(element: Any, id_attribute: str | None, title_attribute: str | None):
    """(id, title, body, meta) of a generic XML record; attributes other than the id become metadata."""
    attributes = {str(k): str(v) for k, v in element.attrib.items()}
    doc_id = attributes.pop(id_attribute, None) if id_attribute else None
    title = attributes.get(title_attribute, "").strip() if title_attribute else ""
    return doc_id or None, title, element_text(element), attributes


def inline_text(element: Any) -> str:
    return " ".join(element_text(element).split())


def pubmed_fields(article: Any, languages: Iterable[str]) -> dict[str, Any]:
    """Title, abstract and metadata of a PubmedArticle, in the first preferred language it has text in.

    Japanese text lives in ``Article/VernacularTitle`` (original-language title of a jpn article) and
    ``MedlineCitation/OtherAbstract[@Language="jpn"]``; ``ArticleTitle`` and ``Abstract`` are English. A record
    is never mixed: with a preferred language found, only text in that language is used.
    """
    citation = article.find("MedlineCitation")
    art = citation.find("Article") if citation is not None else None
    if art is None:
        return {"title": "", "abstract": "", "pmid": None, "language": None}
    article_languages = [inline_text(el) for el in art.findall("Language")]
    vernacular = inline_text(art.find("VernacularTitle"))
    others: dict[str, str] = {}
    for other in citation.findall("OtherAbstract"):
        text = "\n".join(t for t in (inline_text(el) for el in other.findall("AbstractText")) if t)
        if text:
            others.setdefault(other.get("Language", ""), text)
    chosen = next((lang for lang in languages if lang in others or (vernacular and lang in article_languages)), None)
    if chosen:
        title = vernacular if chosen in article_languages else ""
        abstract = others.get(chosen, "")
    else:  # English title (translated titles are bracketed by NLM convention) and the main abstract
        title = re.sub(r"^\[(.*)\]\.?$", r"\1", inline_text(art.find("ArticleTitle")))
        abstract = "\n".join(t for t in (inline_text(el) for el in art.findall("Abstract/AbstractText")) if t)
    pub_date = art.find("Journal/JournalIssue/PubDate")
    year_text = inline_text(pub_date) if pub_date is not None else inline_text(art.find("ArticleDate/Year"))
    year = re.search(r"\d{4}", year_text)
    doi = article.find("PubmedData/ArticleIdList/ArticleId[@IdType='doi']")
    return {
        "title": title,
        "abstract": abstract,
        "pmid": inline_text(citation.find("PMID")) or None,
        "journal": inline_text(art.find("Journal/Title")) or None,
        "year": int(year.group()) if year else None,
        "language": chosen or "eng",
        "article_language": article_languages,
        "doi": inline_text(doi) or None,
    }
