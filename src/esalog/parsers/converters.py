"""Named converters a pattern may apply to a captured value: ``%{QS:email.subject:unquote}``.

A converter takes the captured text and returns the value to store, or ``None`` to store nothing.
Unknown names are rejected when a pack loads, never at match time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from datetime import UTC, datetime

Converter = Callable[[str], object]

_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[\\'\"abfnrtv0])")
_SIMPLE_ESCAPES = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
    "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0",
}


def _bytes_text(raw: bytes) -> str:
    """Bytes as text: UTF-8 when they are valid UTF-8, else Latin-1 (one character per byte)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def decode_escapes(text: str) -> str:
    r"""Decode Python-style escapes (``\r\n``, ``\t``, ``\xNN``, ``\'``) without ``eval``.

    A run of ``\xNN`` escapes is the repr of *bytes*: it is decoded as UTF-8 when it is valid UTF-8
    (``\xe2\x80\x93`` -> an en dash), else byte by byte as Latin-1 (``\xe9`` -> ``é``).
    """
    if "\\" not in text:
        return text
    out: list[str] = []
    pending = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        if m.start() != pos or m.group(1)[0] != "x":
            if pending:
                out.append(_bytes_text(bytes(pending)))
                pending.clear()
        out.append(text[pos:m.start()])
        pos = m.end()
        code = m.group(1)
        if code[0] == "x":
            pending.append(int(code[1:], 16))
        elif code[0] in "uU":
            out.append(chr(int(code[1:], 16)))
        else:
            out.append(_SIMPLE_ESCAPES[code])
    if pending:
        out.append(_bytes_text(bytes(pending)))
    out.append(text[pos:])
    return "".join(out)


_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[QqBb]\?")


def decode_rfc2047(text: str) -> str:
    """RFC 2047 encoded-words (``=?UTF-8?B?...?=``, ``=?ISO-8859-15?Q?...?=``) decoded with ``email.header``.

    Text without an encoded-word, or with one the standard library cannot read, is returned unchanged.
    """
    if "=?" not in text or not _ENCODED_WORD.search(text):
        return text
    from email.errors import HeaderParseError  # imported by the first line that needs it (start-up)
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, UnicodeError, LookupError, ValueError):
        return text


def subject(text: str) -> str:
    """A logged subject: one pair of quotes stripped, Python escapes and RFC 2047 encoded-words decoded."""
    return decode_rfc2047(unquote(text))


def cef_subject(text: str) -> str:
    """CEF ``msg``: like :func:`subject`; an encoded-word whose ``=`` kept a CEF escape (``\\=?UTF-8?Q?..?\\=``) too."""
    text = unquote(text)
    if "\\=?" in text:
        text = text.replace("\\=", "=")
    return decode_rfc2047(text)


def subject_text(text: str) -> str:
    """An unquoted logged subject: Python escapes and RFC 2047 encoded-words decoded."""
    return decode_rfc2047(decode_escapes(text))


def unquote(text: str) -> str:
    """Strip one pair of matching quotes (``'...'`` or ``"..."``) and decode escapes inside."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1]
    return decode_escapes(text)


def number_or_none(text: str) -> float | None:
    """A float, or ``None`` when the text is a word (``None``, ``not enabled``...)."""
    try:
        return float(text)
    except ValueError:
        return None


_INT64 = 1 << 63


def int64(text: str) -> int:
    """``int(text)`` within the 64-bit range an event's integers keep (orjson, Elasticsearch ``long``); a
    longer number (a garbled MID) raises OverflowError, so the event says which field it could not convert."""
    return _within_int64(int(text), text)


def _within_int64(value: int, text: str) -> int:
    if not -_INT64 <= value < _INT64:
        raise OverflowError(f"{text[:30]}{'...' if len(text) > 30 else ''} does not fit in 64 bits")
    return value


def rid_list(text: str) -> list[int]:
    """``[0, 1, 2]`` or ``0`` -> ``[0, 1, 2]`` / ``[0]``."""
    if text.isdigit():
        return [int64(text)]
    return [int64(x) for x in text.strip("[] ").replace(",", " ").split()]


def address(text: str) -> str | None:
    """An envelope address without its angle brackets; ``None`` when empty."""
    text = text.strip().removeprefix("<").removesuffix(">").strip()
    return text or None


def address_list(text: str) -> list[str] | None:
    """One envelope address as a one-element list (ECS ``email.*.address`` are arrays)."""
    if len(text) > 2 and text[0] == "<" and text[-1] == ">" and not (text[1].isspace() or text[-2].isspace()):
        return [text[1:-1]]  # the common ``<user@example.com>``: nothing else to strip
    addr = address(text)
    return [addr] if addr else None


def comma_list(text: str) -> list[str] | None:
    """``a@x, b@y`` -> ``["a@x", "b@y"]``."""
    items = [part.strip() for part in text.split(",") if part.strip()]
    return items or None


def lower(text: str) -> str:
    """The text in lower case (``PASS`` -> ``pass``)."""
    return text.lower()


def capitalize(text: str) -> str:
    """First letter upper-case: ``dropped by ...`` -> ``Dropped by ...`` (old wording, current template)."""
    return text[:1].upper() + text[1:]


def yes_no(text: str) -> bool | None:
    """``yes``/``true``/``True`` -> True, ``no``/``false`` -> False."""
    low = text.lower()
    if low in ("yes", "true"):
        return True
    if low in ("no", "false"):
        return False
    return None


def kebab(text: str) -> str:
    """``Dropped by CASE`` -> ``dropped-by-case``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


#: The usual SMTP reply of a bounce or delay line, ``('550', ['line', ...])``, with plain quoted texts (no
#: quote, backslash, line break or NUL inside: each text is what is between its quotes)
_PLAIN_REPLY = re.compile(r"\('([^'\\\r\n\x00]*)', \[((?:'[^'\\\r\n\x00]*'(?:, '[^'\\\r\n\x00]*')*)?)\]\)")
_QUOTED = re.compile(r"'([^']*)'")


def py_literal(text: str) -> object:
    """A Python literal (tuple, list, str, number) parsed safely with ``ast.literal_eval``; else the text. The
    usual SMTP reply is read without the parser (the same value, at a fraction of the cost)."""
    plain = _PLAIN_REPLY.fullmatch(text)
    if plain is not None:
        return plain[1], _QUOTED.findall(plain[2])
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


_QP_ESCAPE = re.compile(r"=[0-9A-Fa-f]{2}")


def qp_name(text: str) -> str:
    """A file name as ESA logs it: quoted-printable ``=D1=82`` sequences decoded (UTF-8, else Latin-1)."""
    if not _QP_ESCAPE.search(text):
        return text
    import quopri  # (start-up: few lines name an encoded file)

    raw = quopri.decodestring(text.encode("latin-1", "replace"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def attachment(text: str) -> list[dict[str, object]] | None:
    """``'name.pdf'`` -> ``[{"file": {"name": "name.pdf"}}]`` (ECS ``email.attachments``)."""
    name = qp_name(unquote(text.strip()))
    return [{"file": {"name": name}}] if name else None


_RESULT_WORDS = {"passed": "pass", "failed": "fail", "failure": "fail"}


def verdict_word(text: str) -> str:
    """A verdict normalised to one lower-case word: ``passed`` -> ``pass``, ``Failed`` -> ``fail``."""
    low = text.lower()
    return _RESULT_WORDS.get(low, low)


def sbrs_text(text: str) -> str | None:
    """The SBRS word when there is no score (``None``, ``not enabled``); ``None`` for a number."""
    return text if number_or_none(text) is None else None


def cef_time(text: str) -> str | None:
    """``Thu Nov  3 14:05:44 2022`` (appliance clock, no zone) -> ``2022-11-03T14:05:44.000Z``."""
    try:
        moment = datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return f"{moment.year:04d}-" + moment.strftime("%m-%dT%H:%M:%S.000Z")  # strptime gives a naive time


def cef_direction(text: str) -> str | None:
    """CEF ``deviceDirection``: 0 -> inbound, 1 -> outbound."""
    return {"0": "inbound", "1": "outbound"}.get(text.strip())


def spf_results(text: str) -> dict[str, dict[str, str]] | None:
    """``{'mailfrom': {'result': 'Pass', 'sender': 'a@b'}, ...}`` parsed safely -> lower-case results."""
    value = py_literal(text)
    if not isinstance(value, dict):
        return None
    out: dict[str, dict[str, str]] = {}
    for scope, facts in value.items():
        if isinstance(facts, dict):
            item = {}
            if "result" in facts:
                item["result"] = verdict_word(str(facts["result"]))
            if "sender" in facts:
                item["sender"] = str(facts["sender"])
            out[str(scope)] = item
    return out or None


def cef_attachments(text: str) -> list[dict[str, object]] | None:
    """``ESAAttachmentDetails`` (a Python dict by file name) -> ECS ``email.attachments`` with SHA-256."""
    value = py_literal(text)
    if not isinstance(value, dict):
        return None
    out: list[dict[str, object]] = []
    for name, facts in value.items():
        file: dict[str, object] = {"name": str(name)}
        amp = facts.get("AMP") if isinstance(facts, dict) else None
        if isinstance(amp, dict) and isinstance(amp.get("fileHash"), str):
            file["hash"] = {"sha256": amp["fileHash"]}
        out.append({"file": file})
    return out or None


#: Words ESA writes where a value is absent (reverse DNS, SDR domains, country, SBRS, sender group ...).
PLACEHOLDERS = frozenset({"unknown", "not present", "not enabled", "not applicable", "none", "(none)", "n/a"})


def is_placeholder(text: str) -> bool:
    """True when *text* is one of the words ESA writes instead of a value (``unknown``, ``Not Present`` ...)."""
    return text.strip().lower() in PLACEHOLDERS


def placeholder(text: str) -> str | None:
    """The placeholder word itself (for a ``*_status`` field); ``None`` when *text* is a real value."""
    return text.strip() if is_placeholder(text) else None


def value(text: str) -> str | None:
    """The value, or ``None`` when it is a placeholder word (the state then goes to a status field)."""
    return None if is_placeholder(text) or not text.strip() else text.strip()


def nonempty(text: str) -> str | None:
    """The text without surrounding blanks, ``None`` when it is empty (``match  SBRS None``: nothing
    matched; ``match nx.domain  SBRS rfc1918``: the doubled space is not part of the match)."""
    return text.strip() or None


#: One address of a list separated by ``;`` or ``,``: a separator inside a quoted local part is part of it.
_LISTED_ADDRESS = re.compile(r'(?:"(?:[^"\\]|\\.)*"|[^;,])+')


def address_split(text: str) -> list[str] | None:
    """Several addresses separated by ``;`` or ``,`` (CEF ``duser=a@x;b@y``) -> a list; placeholders dropped.
    A quoted local part keeps its separators (``<"a,b"@x>``)."""
    items = [address(part) for part in _LISTED_ADDRESS.findall(text)]
    out = [item for item in items if item and not is_placeholder(item)]
    return out or None


def quarantine_name(text: str) -> str | None:
    """A quarantine name without its quotes and without the location word (``local Policy`` -> ``Policy``)."""
    name = unquote(text.strip())
    low = name.lower()
    for prefix in ("local ", "offbox "):
        if low.startswith(prefix):
            name = unquote(name[len(prefix):].strip())
            break
    return name or None
#: AMP File Analysis dispositions by number (Cisco: 1 no malware detected / presumed clean, 2 clean,
#: 3 malware) and the multi-word reputation dispositions, as one lower-case word.
_AMP_DISPOSITIONS = {"1": "clean", "2": "clean", "3": "malicious", "file unknown": "unknown"}


def amp_disposition(text: str) -> str | None:
    """An AMP disposition as one lower-case word: ``MALICIOUS`` -> ``malicious``, ``3`` -> ``malicious``,
    ``FILE UNKNOWN`` -> ``unknown``; another number -> ``None`` (kept as logged elsewhere)."""
    low = " ".join(text.split()).lower()
    if low in _AMP_DISPOSITIONS:
        return _AMP_DISPOSITIONS[low]
    if not low or low.isdigit():
        return None
    return low.replace(" ", "_")


def epoch(text: str) -> str | None:
    """Unix seconds (``1475832815.7``) -> ``2016-10-07T09:33:35.700Z``; ``0`` or nonsense -> ``None``."""
    try:
        seconds = float(text)
        if seconds <= 0:
            return None
        moment = datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGTP]?)B?", re.IGNORECASE)


def size_bytes(text: str) -> int | None:
    """A size as the status log writes it (``148G``, ``1T``, ``512M``, ``4096``) -> bytes, 1024-based."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        return None
    return _within_int64(int(float(m.group(1)) * _SIZE_UNITS[m.group(2).upper()]), text)


def list_of(text: str) -> list[str]:
    """Wrap one value in a list."""
    return [text]


CONVERTERS: dict[str, Converter] = {
    "int": int64,  # the compiled core reads up to 18 digits itself; longer numbers come here
    "float": float,  # the builtin itself: no Python frame per capture on the hot path
    "str": str,
    "number_or_none": number_or_none,
    "unquote": unquote,
    "unescape": decode_escapes,
    "subject": subject,
    "subject_text": subject_text,
    "cef_subject": cef_subject,
    "placeholder": placeholder,
    "value": value,
    "nonempty": nonempty,
    "address_split": address_split,
    "quarantine_name": quarantine_name,
    "rid_list": rid_list,
    "address": address,
    "address_list": address_list,
    "comma_list": comma_list,
    "lower": lower,
    "capitalize": capitalize,
    "yesno": yes_no,
    "kebab": kebab,
    "list": list_of,
    "attachment": attachment,
    "dmarc_result": verdict_word,
    "verdict": verdict_word,
    "sbrs_text": sbrs_text,
    "cef_time": cef_time,
    "cef_direction": cef_direction,
    "spf_results": spf_results,
    "cef_attachments": cef_attachments,
    "amp_disposition": amp_disposition,
    "epoch": epoch,
    "size_bytes": size_bytes,
}
