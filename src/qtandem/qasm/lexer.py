"""Tokenizer shared by the OpenQASM 2 and 3 readers.

Every token carries its line and column; errors are :class:`QasmError` with a
caret excerpt. Inputs are bounded (size, token count) so pathological files
fail fast with bounded memory.

Examples:
    >>> src = Source("h q[0]; // comment", "<string>")
    >>> [(t.kind, t.value, t.col) for t in tokenize(src)[:4]]
    [('id', 'h', 1), ('id', 'q', 3), ('op', '[', 4), ('number', '0', 5)]
"""

from __future__ import annotations

import re

from qtandem.errors import QasmError

__all__ = ["MAX_SOURCE_BYTES", "MAX_TOKENS", "Source", "Token", "decode", "tokenize"]

MAX_SOURCE_BYTES = 32 * 2**20
"""Largest source accepted (32 MiB, about two million gate lines)."""
MAX_TOKENS = 20_000_000
"""Most tokens one source may hold."""
LOOKAHEAD = 4
"""Number of ``eof`` tokens padding the end, so ``peek(k)`` for ``k < LOOKAHEAD`` needs no bounds check."""

_SPEC = [
    ("ws", r"\s+"),
    ("comment", r"//[^\n]*"),
    ("bcomment", r"/\*"),
    ("number", r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?:im)?"),
    ("string", r'"[^"\n]*"|\'[^\'\n]*\''),
    ("id", r"[A-Za-z_πτℇ][A-Za-z0-9_]*"),
    ("op", r"->|==|!=|<=|>=|\*\*|&&|\|\||<<|>>|\+\+|\+=|-=|\*=|/=|[-+*/%(){}\[\];,:@=<>!&|^~.]"),
]
_RE = re.compile("|".join(f"(?P<{name}>{pat})" for name, pat in _SPEC))


class Token:
    """A token: ``kind`` is ``number``, ``string``, ``id``, ``op`` or ``eof``; ``line``/``col`` are 1-based."""

    __slots__ = ("col", "kind", "line", "value")

    def __init__(self, kind: str, value: str, line: int, col: int) -> None:
        self.kind = kind
        self.value = value
        self.line = line
        self.col = col

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.line}:{self.col})"


class Source:
    """Source text with its file name, for error messages."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self._lines: list[str] | None = None

    def line_text(self, line: int | None) -> str | None:
        """The text of 1-based line ``line`` (``None`` when out of range)."""
        if self._lines is None:
            self._lines = self.text.split("\n")
        if line is None or not 0 < line <= len(self._lines):
            return None
        return self._lines[line - 1]

    def error(self, message: str, line: int | None, col: int | None) -> QasmError:
        """A :class:`QasmError` located at ``line:col`` of this source."""
        return QasmError(message, filename=self.filename, line=line, column=col, source_line=self.line_text(line))


def decode(data: bytes, filename: str) -> str:
    """UTF-8 decode with a located error for binary input (and the size limit).

    Raises:
        QasmError: the data is too large or not UTF-8 text.
    """
    if len(data) > MAX_SOURCE_BYTES:
        raise QasmError(f"file is {len(data)} bytes; qtandem reads OpenQASM sources up to {MAX_SOURCE_BYTES} bytes",
                        filename=filename)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start]
        line = before.count(b"\n") + 1
        col = err.start - (before.rfind(b"\n") + 1) + 1
        raise QasmError(f"not UTF-8 text (byte 0x{data[err.start]:02x}): is this an OpenQASM file?",
                        filename=filename, line=line, column=col) from None


def tokenize(src: Source) -> list[Token]:
    """Split ``src`` into tokens (comments and white space dropped), ending with ``eof`` tokens.

    Raises:
        QasmError: unexpected character, unterminated comment or string, NUL byte, too large.
    """
    text = src.text
    if len(text) > MAX_SOURCE_BYTES:
        raise src.error(f"source is {len(text)} characters; qtandem reads OpenQASM sources up to "
                        f"{MAX_SOURCE_BYTES} characters", None, None)
    if "\x00" in text:
        i = text.index("\x00")
        line = text.count("\n", 0, i) + 1
        raise src.error("NUL byte in source: is this an OpenQASM file?", line, i - text.rfind("\n", 0, i))
    tokens: list[Token] = []
    append = tokens.append
    pos, line, line_start = 0, 1, 0
    n = len(text)
    match = _RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            col = pos - line_start + 1
            ch = text[pos]
            if ch in "\"'":
                raise src.error("unterminated string (strings end on the same line)", line, col)
            raise src.error(f"unexpected character {ch!r}", line, col)
        kind = m.lastgroup
        end = m.end()
        if kind == "ws":
            k = text.count("\n", pos, end)
            if k:
                line += k
                line_start = text.rfind("\n", pos, end) + 1
        elif kind == "bcomment":
            close = text.find("*/", end)
            if close < 0:
                raise src.error("unterminated /* comment", line, pos - line_start + 1)
            k = text.count("\n", pos, close)
            if k:
                line += k
                line_start = text.rfind("\n", pos, close) + 1
            end = close + 2
        elif kind != "comment":
            append(Token(kind, m.group(), line, pos - line_start + 1))  # type: ignore[arg-type]
            if len(tokens) > MAX_TOKENS:
                raise src.error(f"more than {MAX_TOKENS} tokens", line, pos - line_start + 1)
        pos = end
    eof = Token("eof", "", line, pos - line_start + 1)
    tokens.extend([eof] * LOOKAHEAD)
    return tokens
