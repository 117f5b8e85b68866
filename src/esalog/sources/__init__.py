"""The source stage: files, globs and stdin (plain or gzip), read once or followed through rotation,
resumed from one checkpoint format; every physical line handed on once, in order, with its position."""

from esalog.sources.checkpoint import Checkpoint, Ledger, LineTicket
from esalog.sources.files import FileId, InputFile, expand_paths, input_name, open_input
from esalog.sources.lines import Block, decode_line, read_blocks, read_line_bytes
from esalog.sources.reader import Batch, Source, SourceConfig

__all__ = [
    "Batch",
    "Block",
    "Checkpoint",
    "FileId",
    "InputFile",
    "Ledger",
    "LineTicket",
    "Source",
    "SourceConfig",
    "decode_line",
    "expand_paths",
    "input_name",
    "open_input",
    "read_blocks",
    "read_line_bytes",
]
