"""Type stub of the compiled core (``_core.pyx``)."""

from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

HAVE_PCRE2: bool

def register_converters(mapping: Mapping[str, Callable[..., Any]],
                        postprocessors: Mapping[str, Callable[..., Any]]) -> None: ...

class CRule:
    rule: Any
    native: bool
    why: str
    pcre_state: int

class CStream:
    stream: Any

class Core:
    rules: list[CRule]

    def __init__(self, packs: Mapping[str, Any], *, keep_original: bool, forced_log_type: str | None,
                 stateless: bool, other_log_types: Iterable[str], match_type: type,
                 examples: Callable[[Any], list[str]], route: Callable[[str], str | None],
                 record_type: type | None = None) -> None: ...
    def stream(self, stream: Any) -> CStream: ...
    def encode_block(self, cs: CStream, raws: list[bytes], cut: Container[int], fallback: Callable[[int], bytes],
                     ) -> tuple[bytes, int]: ...
    def encode_line(self, cs: CStream, raw: bytes) -> bytes | None: ...
    def encoded_records_block(self, cs: CStream, raws: list[bytes], cut: Container[int],
                              fallback: Callable[[int], list[Any]], of_encoded: Callable[..., Any],
                              ) -> tuple[list[Any], list[int], int]: ...
    def records_block(self, cs: CStream, raws: list[bytes], cut: Container[int], fallback: Callable[[int], Any],
                      finish: Callable[..., Any], unmatched: Callable[..., Any] | None = None,
                      ) -> tuple[list[Any], int]: ...
    def encode_records(self, records: list[Any], fallback: Callable[[Any], bytes]) -> bytes: ...

def frame_encoded(records: list[Any], ends: list[int], tickets: list[Any],
                  head: Callable[[Any], tuple[bytes, bool]], tail: bytes,
                  other: Callable[[Any, int, int], Any], item_type: Callable[[bytes, Any], Any]) -> list[Any]: ...
