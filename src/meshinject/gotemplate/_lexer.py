"""Lexer for Go's text/template syntax, producing the token stream the parser reads.

It follows the state machine of Go's ``text/template/parse`` lexer: text up to a left delimiter, then tokens
inside the action up to the right delimiter, with ``{{-`` / ``-}}`` trimming the adjacent white space.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class T(enum.IntEnum):
    ERROR = 0
    BOOL = enum.auto()
    CHAR = enum.auto()  # a printable ASCII character: grab bag for commas etc.
    CHAR_CONSTANT = enum.auto()
    COMMENT = enum.auto()
    COMPLEX = enum.auto()
    ASSIGN = enum.auto()
    DECLARE = enum.auto()
    EOF = enum.auto()
    FIELD = enum.auto()
    IDENTIFIER = enum.auto()
    LEFT_DELIM = enum.auto()
    LEFT_PAREN = enum.auto()
    NUMBER = enum.auto()
    PIPE = enum.auto()
    RAW_STRING = enum.auto()
    RIGHT_DELIM = enum.auto()
    RIGHT_PAREN = enum.auto()
    SPACE = enum.auto()
    STRING = enum.auto()
    TEXT = enum.auto()
    VARIABLE = enum.auto()
    # keywords
    BLOCK = enum.auto()
    BREAK = enum.auto()
    CONTINUE = enum.auto()
    DOT = enum.auto()
    DEFINE = enum.auto()
    ELSE = enum.auto()
    END = enum.auto()
    IF = enum.auto()
    NIL = enum.auto()
    RANGE = enum.auto()
    TEMPLATE = enum.auto()
    WITH = enum.auto()


KEYWORDS: dict[str, T] = {
    ".": T.DOT,
    "block": T.BLOCK,
    "break": T.BREAK,
    "continue": T.CONTINUE,
    "define": T.DEFINE,
    "else": T.ELSE,
    "end": T.END,
    "if": T.IF,
    "range": T.RANGE,
    "nil": T.NIL,
    "template": T.TEMPLATE,
    "with": T.WITH,
}

_SPACE = " \t\r\n"
_TRIM_MARKER = "-"
_LEFT_COMMENT = "/*"
_RIGHT_COMMENT = "*/"


@dataclass(slots=True)
class Token:
    typ: T
    pos: int
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ >= T.BLOCK:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return _go_quote(self.val[:10]) + "..."
        return _go_quote(self.val)


def _go_quote(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}")
    out.append('"')
    return "".join(out)


def _is_alnum(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or ch.isdigit()


_StateFn = Callable[[], Any]


class LexError(Exception):
    def __init__(self, message: str, line: int, pos: int) -> None:
        super().__init__(message)
        self.line = line
        self.pos = pos


class Lexer:
    """Produces all tokens of a template eagerly (templates are small; a list is simplest and fast)."""

    def __init__(
        self,
        name: str,
        text: str,
        left: str = "",
        right: str = "",
        emit_comments: bool = False,
        break_ok: bool = True,
        continue_ok: bool = True,
    ):
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self.name = name
        self.input = text
        self.left = left or "{{"
        self.right = right or "}}"
        self.emit_comments = emit_comments
        self.tokens: list[Token] = []
        self.pos = 0
        self.start = 0
        self.line = 1
        self.start_line = 1
        self.paren_depth = 0
        self.inside_action = False

    # -- primitives ----------
    def _emit(self, typ: T) -> None:
        val = self.input[self.start : self.pos]
        self.tokens.append(Token(typ, self.start, val, self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def _emit_value(self, typ: T, val: str) -> None:
        self.tokens.append(Token(typ, self.start, val, self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def _ignore(self) -> None:
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def _next(self) -> str:
        if self.pos >= len(self.input):
            self.pos = len(self.input) + 1
            return ""
        ch = self.input[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line += 1
        return ch

    def _peek(self) -> str:
        return self.input[self.pos] if self.pos < len(self.input) else ""

    def _backup(self) -> None:
        if self.pos > len(self.input):
            self.pos = len(self.input)
            return
        self.pos -= 1
        if self.input[self.pos] == "\n":
            self.line -= 1

    def _error(self, message: str) -> LexError:
        return LexError(message, self.start_line, self.start)

    # -- driver ----------
    def run(self) -> list[Token]:
        state: _StateFn | None = self._lex_text
        while state is not None:
            state = state()
        return self.tokens

    def _lex_text(self) -> _StateFn | None:
        text = self.input
        i = text.find(self.left, self.pos)
        if i < 0:
            self.pos = len(text)
            if self.pos > self.start:
                self.line += text.count("\n", self.start, self.pos)
                self._emit(T.TEXT)
            self._emit(T.EOF)
            return None
        if i > self.pos:
            self.pos = i
            trim = 0
            if _has_left_trim_marker(text, i + len(self.left)):
                trim = i - self.start - len(text[self.start : i].rstrip(_SPACE))
            self.pos -= trim
            self.line += text.count("\n", self.start, self.pos)
            tok = Token(T.TEXT, self.start, text[self.start : self.pos], self.start_line)
            self.start = self.pos
            self.start_line = self.line
            self.pos += trim
            self._ignore()
            if tok.val:
                self.tokens.append(tok)
        return self._lex_left_delim

    def _at_right_delim(self) -> tuple[bool, bool]:
        text = self.input
        if _has_right_trim_marker(text, self.pos) and text.startswith(self.right, self.pos + 2):
            return True, True
        if text.startswith(self.right, self.pos):
            return True, False
        return False, False

    def _lex_left_delim(self) -> _StateFn | None:
        text = self.input
        self.pos += len(self.left)
        trim_space = _has_left_trim_marker(text, self.pos)
        after_marker = 2 if trim_space else 0
        if text.startswith(_LEFT_COMMENT, self.pos + after_marker):
            self.pos += after_marker
            self._ignore()
            return self._lex_comment
        self._emit(T.LEFT_DELIM)
        self.pos += after_marker
        self._ignore()
        self.paren_depth = 0
        self.inside_action = True
        return self._lex_inside_action

    def _lex_comment(self) -> _StateFn | None:
        text = self.input
        self.pos += len(_LEFT_COMMENT)
        end = text.find(_RIGHT_COMMENT, self.pos)
        if end < 0:
            raise self._error("unclosed comment")
        self.pos = end + len(_RIGHT_COMMENT)
        delim, trim_space = self._at_right_delim()
        if not delim:
            raise self._error("comment ends before closing delimiter")
        comment = Token(T.COMMENT, self.start, text[self.start : self.pos], self.start_line)
        self.line += text.count("\n", self.start, self.pos)
        self.start = self.pos
        if trim_space:
            self.pos += 2
        self.pos += len(self.right)
        if trim_space:
            self.pos += _leading_space_len(text, self.pos)
        self._ignore()
        if self.emit_comments:
            self.tokens.append(comment)
        return self._lex_text

    def _lex_right_delim(self) -> _StateFn | None:
        _, trim_space = self._at_right_delim()
        if trim_space:
            self.pos += 2
            self._ignore()
        self.pos += len(self.right)
        self._emit(T.RIGHT_DELIM)
        if trim_space:
            self.pos += _leading_space_len(self.input, self.pos)
            self._ignore()
        self.inside_action = False
        return self._lex_text

    def _lex_inside_action(self) -> _StateFn | None:
        delim, _ = self._at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self._lex_right_delim
            raise self._error("unclosed left paren")
        ch = self._next()
        if ch == "":
            raise self._error("unclosed action")
        if ch in _SPACE:
            self._backup()
            return self._lex_space
        if ch == "=":
            self._emit(T.ASSIGN)
        elif ch == ":":
            if self._next() != "=":
                raise self._error("expected :=")
            self._emit(T.DECLARE)
        elif ch == "|":
            self._emit(T.PIPE)
        elif ch == '"':
            return self._lex_quote
        elif ch == "`":
            return self._lex_raw_quote
        elif ch == "$":
            return self._lex_variable
        elif ch == "'":
            return self._lex_char
        elif ch == "." and self.pos < len(self.input) and not ("0" <= self.input[self.pos] <= "9"):
            return self._lex_field
        elif ch in ".+-" or "0" <= ch <= "9":
            self._backup()
            return self._lex_number
        elif _is_alnum(ch):
            self._backup()
            return self._lex_identifier
        elif ch == "(":
            self._emit(T.LEFT_PAREN)
            self.paren_depth += 1
        elif ch == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                raise self._error("unexpected right paren")
            self._emit(T.RIGHT_PAREN)
        elif ord(ch) <= 0x7F and ch.isprintable():
            self._emit(T.CHAR)
        else:
            raise self._error(f"unrecognized character in action: {_go_rune(ch)}")
        return self._lex_inside_action

    def _lex_space(self) -> _StateFn | None:
        num_spaces = 0
        while True:
            ch = self._peek()
            if ch == "" or ch not in _SPACE:
                break
            self._next()
            num_spaces += 1
        # A space followed by "-}}" is a trim marker, not a space token.
        if _has_right_trim_marker(self.input, self.pos - 1) and self.input.startswith(self.right, self.pos + 1):
            self._backup()
            if num_spaces == 1:
                return self._lex_right_delim
        self._emit(T.SPACE)
        return self._lex_inside_action

    def _lex_identifier(self) -> _StateFn | None:
        while True:
            ch = self._next()
            if ch and _is_alnum(ch):
                continue
            self._backup()
            word = self.input[self.start : self.pos]
            if not self._at_terminator():
                raise self._error(f"bad character {_go_rune(self._peek())}")
            kw = KEYWORDS.get(word)
            if kw is not None and kw != T.DOT:
                if (kw == T.BREAK and not self.break_ok) or (kw == T.CONTINUE and not self.continue_ok):
                    self._emit(T.IDENTIFIER)
                else:
                    self._emit(kw)
            elif word[0] == ".":
                self._emit(T.FIELD)
            elif word in ("true", "false"):
                self._emit(T.BOOL)
            else:
                self._emit(T.IDENTIFIER)
            return self._lex_inside_action

    def _lex_field(self) -> _StateFn | None:
        return self._lex_field_or_variable(T.FIELD)

    def _lex_variable(self) -> _StateFn | None:
        return self._lex_field_or_variable(T.VARIABLE)

    def _lex_field_or_variable(self, typ: T) -> _StateFn | None:
        if self._at_terminator():
            if typ == T.VARIABLE:
                self._emit(T.VARIABLE)
            else:
                self._emit(T.DOT)
            return self._lex_inside_action
        while True:
            ch = self._next()
            if not ch or not _is_alnum(ch):
                self._backup()
                break
        if not self._at_terminator():
            raise self._error(f"bad character {_go_rune(self._peek())}")
        self._emit(typ)
        return self._lex_inside_action

    def _at_terminator(self) -> bool:
        ch = self._peek()
        if ch == "" or ch in _SPACE or ch in ".,|:)(":
            return True
        return self.input.startswith(self.right, self.pos)

    def _lex_char(self) -> _StateFn | None:
        while True:
            ch = self._next()
            if ch == "\\":
                nxt = self._next()
                if nxt not in ("", "\n"):
                    continue
                ch = nxt
            if ch in ("", "\n"):
                raise self._error("unterminated character constant")
            if ch == "'":
                break
        self._emit(T.CHAR_CONSTANT)
        return self._lex_inside_action

    def _lex_number(self) -> _StateFn | None:
        if not self._scan_number():
            raise self._error(f"bad number syntax: {_go_quote(self.input[self.start : self.pos])}")
        sign = self._peek()
        if sign in ("+", "-"):
            # complex: 1+2i
            if not self._scan_number() or self.input[self.pos - 1] != "i":
                raise self._error(f"bad number syntax: {_go_quote(self.input[self.start : self.pos])}")
            self._emit(T.COMPLEX)
        else:
            self._emit(T.NUMBER)
        return self._lex_inside_action

    def _accept(self, valid: str) -> bool:
        ch = self._next()
        if ch and ch in valid:
            return True
        self._backup()
        return False

    def _accept_run(self, valid: str) -> None:
        while True:
            ch = self._next()
            if not ch or ch not in valid:
                self._backup()
                return

    def _scan_number(self) -> bool:
        self._accept("+-")
        digits = "0123456789_"
        if self._accept("0"):
            if self._accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self._accept("oO"):
                digits = "01234567_"
            elif self._accept("bB"):
                digits = "01_"
        self._accept_run(digits)
        if self._accept("."):
            self._accept_run(digits)
        if len(digits) == 10 + 1 and self._accept("eE"):
            self._accept("+-")
            self._accept_run("0123456789_")
        if len(digits) == 16 + 6 + 1 and self._accept("pP"):
            self._accept("+-")
            self._accept_run("0123456789_")
        self._accept("i")
        ch = self._peek()
        if ch and _is_alnum(ch):
            self._next()
            return False
        return True

    def _lex_quote(self) -> _StateFn | None:
        while True:
            ch = self._next()
            if ch == "\\":
                nxt = self._next()
                if nxt not in ("", "\n"):
                    continue
                ch = nxt
            if ch in ("", "\n"):
                raise self._error("unterminated quoted string")
            if ch == '"':
                break
        self._emit(T.STRING)
        return self._lex_inside_action

    def _lex_raw_quote(self) -> _StateFn | None:
        end = self.input.find("`", self.pos)
        if end < 0:
            raise self._error("unterminated raw quoted string")
        self.line += self.input.count("\n", self.pos, end + 1)
        self.pos = end + 1
        self._emit(T.RAW_STRING)
        return self._lex_inside_action


def _has_left_trim_marker(text: str, pos: int) -> bool:
    return text.startswith(_TRIM_MARKER, pos) and pos + 1 < len(text) and text[pos + 1] in _SPACE


def _has_right_trim_marker(text: str, pos: int) -> bool:
    return 0 <= pos < len(text) and text[pos] in _SPACE and text.startswith(_TRIM_MARKER, pos + 1)


def _leading_space_len(text: str, pos: int) -> int:
    n = pos
    size = len(text)
    while n < size and text[n] in _SPACE:
        n += 1
    return n - pos


def _go_rune(ch: str) -> str:
    if not ch:
        return "U+FFFD"
    code = ord(ch)
    if not ch.isprintable():
        return f"U+{code:04X}"  # Go's %#U shows the character only when it is printable
    return f"U+{code:04X} {_go_quote_rune(ch)}"


def _go_quote_rune(ch: str) -> str:
    if ch == "'":
        return "'\\''"
    if ch.isprintable():
        return f"'{ch}'"
    code = ord(ch)
    if code < 0x80:
        return f"'\\x{code:02x}'"
    return f"'\\u{code:04x}'"


def lex(
    name: str,
    text: str,
    left: str = "",
    right: str = "",
    *,
    emit_comments: bool = False,
    break_ok: bool = True,
    continue_ok: bool = True,
) -> list[Token]:
    lexer = Lexer(name, text, left, right, emit_comments, break_ok, continue_ok)
    try:
        return lexer.run()
    except LexError as err:
        # As in Go, a lexical error is a token: the parser reports it when it reaches it, so an earlier
        # syntax error in the same template wins.
        lexer.tokens.append(Token(T.ERROR, err.pos, str(err), err.line))
        return lexer.tokens
