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

MAX_SOURCE_BYTES = 16 * 2**20
"""Largest source accepted (16 MiB)."""
MAX_TOKENS = 2_000_000
"""Most tokens one source may hold (about 250 000 gate lines; bounds the reader's memory to a few hundred MB)."""
LOOKAHEAD = 4
"""Number of ``eof`` tokens padding the end, so ``peek(k)`` for ``k < LOOKAHEAD`` needs no bounds check."""

_TRIVIA = r"(?:\s+|//[^\n]*|/\*[\s\S]*?\*/)*"
_TOKEN = "|".join([
    r"/\*",  # an unterminated block comment (a terminated one is trivia)
    r'"[^"\n]*"|\'[^\'\n]*\'',  # string
    r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?:im)?",  # number
    r"[^\W\d]\w*",  # identifier: a letter or '_', then letters, digits, '_' (Unicode in OpenQASM 3)
    r"\$\d+",  # physical qubit
    r"<<=|>>=|\*\*=",  # three-character operators
    r"->|==|!=|<=|>=|\*\*|&&|\|\||<<|>>|\+\+|\+=|-=|\*=|/=|%=|&=|\|=|\^=",  # two-character operators
    r"[\s\S]",  # one character: an operator, or something unexpected
    r"\Z",  # end of input
])
_RE = re.compile(f"{_TRIVIA}({_TOKEN})")
_OPS = set("-+*/%(){}[];,:@=<>!&|^~.#")


def _kind(text: str) -> str:
    c = text[:1]
    if not c:
        return "eof"
    if c in "0123456789" or (c == "." and len(text) > 1):
        return "number"
    if c.isalpha() or c == "_":
        return "id"
    if c == "$" and len(text) > 1:
        return "physical"
    if c in "\"'":
        return "string" if len(text) > 1 else "bad"
    if text == "/*":
        return "bcomment"
    if len(text) > 1 or c in _OPS:
        return "op"
    return "bad"


class Token:
    """A token: ``kind`` is ``number``, ``string``, ``id``, ``physical`` (``$3``), ``op`` or ``eof``.

    ``line`` and ``col`` (1-based) are computed from the offset ``pos`` when asked for.

    Examples:
        >>> tok = tokenize(Source("qreg q[2];\\nh q[0];", "bell.qasm"))[6]
        >>> tok.kind, tok.value, tok.line, tok.col
        ('id', 'h', 2, 1)
    """

    __slots__ = ("kind", "pos", "src", "value")

    def __init__(self, kind: str, value: str, pos: int, src: Source) -> None:
        self.kind = kind
        self.value = value
        self.pos = pos
        self.src = src

    @property
    def line(self) -> int:
        """1-based line number."""
        return self.src.locate(self.pos)[0]

    @property
    def col(self) -> int:
        """1-based column number."""
        return self.src.locate(self.pos)[1]

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.value!r}, {self.line}:{self.col})"


class Source:
    """Source text with its file name, for error messages.

    Examples:
        >>> src = Source("qreg q[2];\\nh q[0];", "bell.qasm")
        >>> src.locate(13)
        (2, 3)
        >>> src.line_text(2)
        'h q[0];'
    """

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename

    def locate(self, pos: int) -> tuple[int, int]:
        """``(line, column)``, both 1-based, of character offset ``pos`` (computed on demand, for errors)."""
        text = self.text
        pos = max(0, min(pos, len(text)))
        return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1

    def line_text(self, line: int | None) -> str | None:
        """The text of 1-based line ``line`` (``None`` when out of range)."""
        if line is None or line < 1:
            return None
        text = self.text
        start = 0
        for _ in range(line - 1):
            start = text.find("\n", start) + 1
            if start == 0:
                return None
        end = text.find("\n", start)
        return text[start:] if end < 0 else text[start:end]

    def error(self, message: str, line: int | None, col: int | None) -> QasmError:
        """A :class:`QasmError` located at ``line:col`` of this source."""
        return QasmError(message, filename=self.filename, line=line, column=col, source_line=self.line_text(line))

    def error_at(self, message: str, pos: int) -> QasmError:
        """A :class:`QasmError` located at character offset ``pos``."""
        line, col = self.locate(pos)
        return self.error(message, line, col)


def decode(data: bytes, filename: str) -> str:
    """UTF-8 decode with a located error for binary input (and the size limit).

    Raises:
        QasmError: the data is too large or not UTF-8 text.

    Examples:
        >>> decode(b"OPENQASM 3.0;", "a.qasm")
        'OPENQASM 3.0;'
        >>> decode(b"\\xff\\xfe", "a.qasm")
        Traceback (most recent call last):
        ...
        qtandem.errors.QasmError: ...
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

    Examples:
        >>> [t.value for t in tokenize(Source("h q[0]; // comment", "<string>")) if t.kind != "eof"]
        ['h', 'q', '[', '0', ']', ';']
    """
    text = src.text
    if len(text) > MAX_SOURCE_BYTES:
        raise src.error(f"source is {len(text)} characters; qtandem reads OpenQASM sources up to "
                        f"{MAX_SOURCE_BYTES} characters", None, None)
    if "\x00" in text:
        raise src.error_at("NUL byte in source: is this an OpenQASM file?", text.index("\x00"))
    tokens: list[Token] = []
    append = tokens.append
    kinds: dict[str, str] = {}
    for m in _RE.finditer(text):
        value = m.group(1)
        head = value[:2]
        kind = kinds.get(head)
        if kind is None:
            kind = kinds[head] = _kind(value)
        if kind == "string" and len(value) == 1:
            kind = "bad"
        elif kind == "id" and not value.isascii():
            bad = next((i for i, ch in enumerate(value) if not (ch.isalpha() or ch == "_" or ch in "0123456789")),
                       None)
            if bad is not None:
                raise src.error_at(f"unexpected character {value[bad]!r} in identifier {value!r} (identifiers are "
                                   "letters, digits and '_')", m.start(1) + bad)
        pos = m.start(1)
        if kind == "eof":
            eof = Token("eof", "", pos, src)
            break
        if kind in ("bad", "bcomment"):
            if kind == "bcomment":
                raise src.error_at("unterminated /* comment", pos)
            if value in "\"'":
                raise src.error_at("unterminated string (strings end on the same line)", pos)
            raise src.error_at(f"unexpected character {value!r}", pos)
        append(Token(kind, value, pos, src))
        if len(tokens) > MAX_TOKENS:
            raise src.error_at(f"more than {MAX_TOKENS} tokens; qtandem bounds the size of programs it reads", pos)
    else:  # pragma: no cover - the \Z alternative always ends the scan
        eof = Token("eof", "", len(text), src)
    tokens.extend([eof] * LOOKAHEAD)
    return tokens
