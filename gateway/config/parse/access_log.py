"""Parsers of access loggers: ``AccessLog`` and the file / stdout / stderr sinks with their formats."""

from __future__ import annotations

from gateway.config.fields import Fields, Invalid
from gateway.config.model.access_log import (
    AccessLog,
    FileAccessLog,
    StderrAccessLog,
    StdoutAccessLog,
    SubstitutionFormatString,
)
from gateway.config.parse.common import parse_data_source, read_data_source
from gateway.config.registry import REGISTRY, Category


def parse_access_log(f: Fields) -> AccessLog:
    f.unsupported("filter")
    name = f.string("name")
    sink = REGISTRY.parse_typed_config(f, Category.ACCESS_LOGGER, name)
    if not isinstance(sink, FileAccessLog | StdoutAccessLog | StderrAccessLog):
        raise Invalid
    return AccessLog(name=name, typed_config=sink)


def parse_substitution_format_string(f: Fields) -> SubstitutionFormatString:
    """``core.v3.SubstitutionFormatString``, with ``text_format_source`` read into ``text_format``."""
    f.unsupported("formatters", "json_format_options")
    which = f.oneof("text_format", "json_format", "text_format_source", required=True)
    f.string("content_type")  # for local reply bodies (local_reply_config is not supported): accepted, no effect
    text = f.opt_string("text_format")
    source = f.message("text_format_source", parse_data_source)
    if source is not None:
        data = read_data_source(f, "text_format_source", source)
        text = None if data is None else data.decode("utf-8", "replace")
    result = SubstitutionFormatString(
        text_format=text,
        json_format=f.struct("json_format"),
        omit_empty_values=f.boolean("omit_empty_values"),
    )
    if which is None or (result.text_format is None and result.json_format is None):
        raise Invalid
    return result


def parse_file_access_log(f: Fields) -> FileAccessLog:
    """``FileAccessLog``; the deprecated ``format`` / ``json_format`` / ``typed_json_format`` become
    ``log_format``."""
    which = f.oneof("format", "json_format", "typed_json_format", "log_format")
    path = f.string("path", required=True)
    log_format = f.message("log_format", parse_substitution_format_string)
    text = f.opt_string("format")
    if text is not None:
        log_format = SubstitutionFormatString(text_format=text)
    for field in ("json_format", "typed_json_format"):
        json_format = f.struct(field)
        if json_format is not None:
            log_format = SubstitutionFormatString(json_format=json_format)
    if not path or (which is not None and log_format is None):
        raise Invalid
    return FileAccessLog(path=path, log_format=log_format)


def parse_stdout_access_log(f: Fields) -> StdoutAccessLog:
    return StdoutAccessLog(log_format=f.message("log_format", parse_substitution_format_string))


def parse_stderr_access_log(f: Fields) -> StderrAccessLog:
    return StderrAccessLog(log_format=f.message("log_format", parse_substitution_format_string))
