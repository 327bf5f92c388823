"""The per-record bounds every source keeps (recipe options ``max_record_bytes``, ``max_record_seconds``)."""

DEFAULT_MAX_RECORD_BYTES = 64 << 20  # a line, paragraph, page, JSON object, CSV row or HTML body above is skipped
DEFAULT_MAX_RECORD_SECONDS = 10.0  # one record's expensive parsing (wikitext, HTML extraction) above is cut short
