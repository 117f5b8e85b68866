"""Parsing stage: header split, declarative rule packs, one flat :class:`~esalog.parsers.record.Record` per line
(the nested event is built by :mod:`esalog.encode`)."""

from esalog.parsers.engine import CompiledPack, load_builtin_packs
from esalog.parsers.header import Header, HeaderParser
from esalog.parsers.parser import LineParser, Stream

__all__ = ["CompiledPack", "Header", "HeaderParser", "LineParser", "Stream", "load_builtin_packs"]
