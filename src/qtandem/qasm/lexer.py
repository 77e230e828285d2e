"""Tokenizer shared by the OpenQASM 2 and 3 readers.

Every token carries its line and column; errors are :class:`QasmError` with a
caret excerpt. Inputs are bounded (size, token count) so pathological files
fail fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qtandem.errors import QasmError

__all__ = ["MAX_SOURCE_BYTES", "Token", "tokenize"]

MAX_SOURCE_BYTES = 64 * 2**20
"""Largest source accepted (64 MiB)."""

_SPEC = [
    ("ws", r"[ \t\r\f\v]+"),
    ("nl", r"\n"),
    ("comment", r"//[^\n]*"),
    ("bcomment", r"/\*"),
    ("number", r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?:im)?"),
    ("string", r'"[^"\n]*"|\'[^\'\n]*\''),
    ("id", r"[A-Za-z_$π τℇ][A-Za-z0-9_]*".replace(" ", "")),
    ("op", r"->|==|!=|<=|>=|\*\*|&&|\|\||<<|>>|\+\+|[-+*/%(){}\[\];,:@=<>!&|^~.]"),
]
_RE = re.compile("|".join(f"(?P<{name}>{pat})" for name, pat in _SPEC))


@dataclass(frozen=True)
class Token:
    """A token: ``kind`` is ``number``, ``string``, ``id``, ``op`` or ``eof``."""

    kind: str
    value: str
    line: int
    col: int


class Source:
    """Source text with its file name, for error messages."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.lines = text.split("\n")

    def error(self, message: str, line: int | None, col: int | None) -> QasmError:
        src = self.lines[line - 1] if line is not None and 0 < line <= len(self.lines) else None
        return QasmError(message, filename=self.filename, line=line, column=col, source_line=src)


def decode(data: bytes, filename: str) -> str:
    """UTF-8 decode with a located error for binary input."""
    if len(data) > MAX_SOURCE_BYTES:
        raise QasmError(f"file is {len(data)} bytes; the limit is {MAX_SOURCE_BYTES}", filename=filename)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start]
        line = before.count(b"\n") + 1
        col = err.start - (before.rfind(b"\n") + 1) + 1
        raise QasmError(f"not UTF-8 text (byte 0x{data[err.start]:02x}): is this an OpenQASM file?",
                        filename=filename, line=line, column=col) from None


def tokenize(src: Source) -> list[Token]:
    """Split ``src`` into tokens (comments and white space dropped), ending with an ``eof`` token."""
    text = src.text
    if len(text) > MAX_SOURCE_BYTES:
        raise src.error(f"source is {len(text)} characters; the limit is {MAX_SOURCE_BYTES}", None, None)
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise src.error("NUL byte in source: is this an OpenQASM file?", line, i - text.rfind("\n", 0, i))
    tokens: list[Token] = []
    pos, line, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        m = _RE.match(text, pos)
        col = pos - line_start + 1
        if m is None:
            raise src.error(f"unexpected character {text[pos]!r}", line, col)
        kind = m.lastgroup
        if kind == "nl":
            line += 1
            line_start = m.end()
        elif kind == "bcomment":
            end = text.find("*/", m.end())
            if end < 0:
                raise src.error("unterminated /* comment", line, col)
            line += text.count("\n", pos, end)
            nl = text.rfind("\n", pos, end)
            if nl >= 0:
                line_start = nl + 1
            pos = end + 2
            continue
        elif kind not in ("ws", "comment"):
            tokens.append(Token(kind or "op", m.group(0), line, col))
        pos = m.end()
    tokens.append(Token("eof", "", line, pos - line_start + 1))
    return tokens
