"""Sprig's string functions, with the quirks of the Go libraries behind them (goutils, xstrings).

Several goutils helpers walk a string byte by byte and write every byte back as a rune: they turn non-ASCII
text into Latin-1 mojibake. Sprig users get that output from Go, so it is reproduced here.
"""

from __future__ import annotations

import random
import secrets
import string
from typing import Any

from meshinject.gotemplate._sprig_base import (
    FuncError,
    GoMap,
    GoSlice,
    byte_len,
    format_value,
    from_bytes,
    go_is_letter,
    go_is_lower,
    go_is_number,
    go_is_punct,
    go_is_space,
    go_is_title,
    go_is_upper,
    go_quote,
    go_to_lower,
    go_to_title,
    go_to_upper,
    is_slice,
    slice_bytes,
    slice_items,
    strval,
    to_bytes,
)
from meshinject.gotemplate.funcs import go_func

# --- small Go strings-package helpers -----------------------------------------------------------------------


def go_repeat(s: str, count: int) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    return s * count


def go_split(s: str, sep: str, n: int = -1) -> list[str]:
    """``strings.SplitN`` (``n < 0``: no limit; an empty separator splits into runes)."""
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if 0 < n < len(chars):
            return [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    if n < 0:
        return s.split(sep)
    return s.split(sep, n - 1)


def go_trim(s: str, cutset: str) -> str:
    return s.strip(cutset) if cutset else s


# --- encodings ----------------------------------------------------------------------------------------------

_B64_ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
_B64_DECODE = {ord(c): i for i, c in enumerate(_B64_ALPHABET)}
_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_DECODE = {ord(c): i for i, c in enumerate(_B32_ALPHABET)}


class _CorruptInput(ValueError):
    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.pos = pos


@go_func("string")
def b64enc(v: str) -> str:
    import base64

    return base64.b64encode(to_bytes(v)).decode("ascii")


@go_func("string")
def b64dec(v: str) -> str:
    """Decoding errors are returned as the text of the error, as Sprig does."""
    try:
        return from_bytes(_b64_decode(to_bytes(v)))
    except _CorruptInput as exc:
        return f"illegal base64 data at input byte {exc.pos}"


def _b64_decode(src: bytes) -> bytes:
    """``base64.StdEncoding.DecodeString``: strict padding, CR and LF ignored, Go's error offsets."""
    out = bytearray()
    si = 0
    n = len(src)
    while si < n:
        dbuf = [0, 0, 0, 0]
        dlen = 4
        j = 0
        trailing_error: int | None = None
        while j < 4:
            if si == n:
                if j == 0:
                    return bytes(out)
                raise _CorruptInput(si - j)
            c = src[si]
            si += 1
            if c in _B64_DECODE:
                dbuf[j] = _B64_DECODE[c]
                j += 1
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D:
                raise _CorruptInput(si - 1)
            if j in (0, 1):
                raise _CorruptInput(si - 1)
            if j == 2:
                while si < n and src[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise _CorruptInput(n)
                if src[si] != 0x3D:
                    raise _CorruptInput(si - 1)
                si += 1
            while si < n and src[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                trailing_error = si
            dlen = j
            break
        val = dbuf[0] << 18 | dbuf[1] << 12 | dbuf[2] << 6 | dbuf[3]
        out += val.to_bytes(3, "big")[: dlen - 1]
        if trailing_error is not None:
            raise _CorruptInput(trailing_error)
        if dlen < 4:
            break
    return bytes(out)


@go_func("string")
def b32enc(v: str) -> str:
    import base64

    return base64.b32encode(to_bytes(v)).decode("ascii")


@go_func("string")
def b32dec(v: str) -> str:
    try:
        return from_bytes(_b32_decode(to_bytes(v).replace(b"\r", b"").replace(b"\n", b"")))
    except _CorruptInput as exc:
        return f"illegal base32 data at input byte {exc.pos}"


def _b32_decode(src: bytes) -> bytes:
    """``base32.StdEncoding`` decoding (input already stripped of newlines), with Go's error offsets."""
    out = bytearray()
    olen = len(src)
    pos = 0
    end = False
    while pos < olen and not end:
        dbuf = [0] * 8
        dlen = 8
        j = 0
        while j < 8:
            if pos == olen:
                raise _CorruptInput(olen - (olen - pos) - j)
            c = src[pos]
            pos += 1
            left = olen - pos
            if c == 0x3D and j >= 2 and left < 8:
                if left + j < 7:
                    raise _CorruptInput(olen)
                for k in range(7 - j):
                    if left > k and src[pos + k] != 0x3D:
                        raise _CorruptInput(olen - left + k - 1)
                dlen, end = j, True
                if dlen in (1, 3, 6):
                    raise _CorruptInput(olen - left - 1)
                break
            if c not in _B32_DECODE:
                raise _CorruptInput(olen - left - 1)
            dbuf[j] = _B32_DECODE[c]
            j += 1
        val = 0
        for d in dbuf:
            val = val << 5 | d
        nbytes = {8: 5, 7: 4, 5: 3, 4: 2, 2: 1}.get(dlen, 0)
        out += val.to_bytes(5, "big")[:nbytes]
    return bytes(out)


# --- goutils ------------------------------------------------------------------------------------------------


def _abbreviate_full(s: str, offset: int, max_width: int) -> str:
    """goutils.AbbreviateFull; widths and offsets count bytes. Its errors give "" (Sprig drops them)."""
    if s == "":
        return ""
    if max_width < 4:
        return ""
    b = to_bytes(s)
    n = len(b)
    if n <= max_width:
        return s
    offset = min(offset, n)
    if n - offset < max_width - 3:
        offset = n - (max_width - 3)
    if offset <= 4:
        return from_bytes(b[: max_width - 3]) + "..."
    if max_width < 7:
        return ""
    if offset + max_width - 3 < n:
        return "..." + _abbreviate_full(from_bytes(b[offset:]), 0, max_width - 3)
    return "..." + from_bytes(b[n - (max_width - 3) :])


@go_func("int", "string")
def abbrev(width: int, s: str) -> str:
    if width < 4:
        return s
    return _abbreviate_full(s, 0, width)


@go_func("int", "int", "string")
def abbrevboth(left: int, right: int, s: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return s
    return _abbreviate_full(s, left, right)


@go_func("string")
def initials(s: str) -> str:
    """goutils.Initials: walks bytes, so a non-ASCII initial comes out as Latin-1 mojibake."""
    out = []
    last_was_gap = True
    for byte in to_bytes(s):
        ch = chr(byte)
        if go_is_space(ch):
            last_was_gap = True
        elif last_was_gap:
            out.append(ch)
            last_was_gap = False
    return "".join(out)


@go_func("string")
def nospace(s: str) -> str:
    """goutils.DeleteWhiteSpace (byte-wise, like initials)."""
    if s == "":
        return s
    raw = to_bytes(s)
    kept = [chr(b) for b in raw if not go_is_space(chr(b))]
    if len(kept) == len(raw):
        return s
    return "".join(kept)


@go_func("string")
def untitle(s: str) -> str:
    """goutils.Uncapitalize: lower-cases the first letter of every whitespace-separated word."""
    out = []
    lower_next = True
    for c in s:
        if go_is_space(c):
            lower_next = True
            out.append(c)
        elif lower_next:
            out.append(go_to_lower(c))
            lower_next = False
        else:
            out.append(c)
    return "".join(out)


@go_func("string")
def swapcase(s: str) -> str:
    """goutils.SwapCase: a lower-case letter after whitespace becomes title case, the others upper case."""
    out = []
    whitespace = True
    for c in s:
        if go_is_upper(c) or go_is_title(c):
            out.append(go_to_lower(c))
            whitespace = False
        elif go_is_lower(c):
            if whitespace:
                out.append(go_to_title(c))
                whitespace = False
            else:
                out.append(go_to_upper(c))
        else:
            out.append(c)
            whitespace = go_is_space(c)
    return "".join(out)


def wrap_custom(s: str, wrap_length: int, newline: str, wrap_long_words: bool) -> str:
    """goutils.WrapCustom (byte offsets)."""
    if s == "":
        return ""
    if newline == "":
        newline = "\n"
    wrap_length = max(wrap_length, 1)
    b = to_bytes(s)
    nl = to_bytes(newline)
    n = len(b)
    offset = 0
    out = bytearray()
    while n - offset > wrap_length:
        if b[offset] == 0x20:
            offset += 1
            continue
        space = b.rfind(b" ", offset, wrap_length + offset + 1)
        if space >= 0:
            out += b[offset:space] + nl
            offset = space + 1
        elif wrap_long_words:
            out += b[offset : offset + wrap_length] + nl
            offset += wrap_length
        else:
            idx = b.find(b" ", wrap_length + offset)
            if idx == -1:
                out += b[offset:]
                offset = n
            else:
                out += b[offset:idx] + nl
                offset = idx + 1
    out += b[offset:]
    return from_bytes(bytes(out))


@go_func("int", "string")
def wrap(length: int, s: str) -> str:
    return wrap_custom(s, length, "", False)


@go_func("int", "string", "string")
def wrap_with(length: int, sep: str, s: str) -> str:
    return wrap_custom(s, length, sep, True)


def _random_string(count: int, alphabet: str) -> str:
    if count < 0:
        return ""
    return "".join(secrets.choice(alphabet) for _ in range(count))


_ALNUM = string.ascii_letters + string.digits
_ASCII_PRINTABLE = "".join(chr(c) for c in range(32, 127))


@go_func("int")
def rand_alpha_num(count: int) -> str:
    return _random_string(count, _ALNUM)


@go_func("int")
def rand_alpha(count: int) -> str:
    return _random_string(count, string.ascii_letters)


@go_func("int")
def rand_ascii(count: int) -> str:
    return _random_string(count, _ASCII_PRINTABLE)


@go_func("int")
def rand_numeric(count: int) -> str:
    return _random_string(count, string.digits)


# --- strings.Title ------------------------------------------------------------------------------------------


def _is_separator(c: str) -> bool:
    if c < "\x80":
        return not (c.isalnum() or c == "_")
    if go_is_letter(c) or go_is_number(c):
        return False
    return go_is_space(c)


@go_func("string")
def title(s: str) -> str:
    """The deprecated ``strings.Title``: upper-cases the first letter of each word, leaves the rest."""
    out = []
    prev = " "
    for c in s:
        out.append(go_to_title(c) if _is_separator(prev) else c)
        prev = c
    return "".join(out)


# --- xstrings -----------------------------------------------------------------------------------------------

_INVALID, _NUMBER, _UPPER, _ALPHABET, _CONNECTOR, _PUNCT, _OTHER = range(7)
_RUNE_ERROR = "\ufffd"


def _is_connector(c: str) -> bool:
    return c in "-_" or go_is_space(c)


def _is_alphabet(c: str) -> bool:
    if not go_is_letter(c):
        return False
    o = ord(c)
    return not (0x4E00 <= o <= 0x9FCC or 0x3400 <= o <= 0x4D85 or 0x20000 <= o <= 0x2B81D)


def _is_rune_error(c: str) -> bool:
    return c == _RUNE_ERROR or "\udc80" <= c <= "\udcff"


def _next_valid_rune(s: str, prev: str) -> tuple[str, int]:
    """The first rune that decodes, and how many runes were consumed to reach it."""
    for i, c in enumerate(s):
        if not _is_rune_error(c):
            return c, i + 1
    return prev, len(s)


def _next_word(s: str) -> tuple[int, str, str]:
    if not s:
        return _INVALID, "", ""
    r, size = _next_valid_rune(s, _RUNE_ERROR)
    offset = size
    remaining = s
    if _is_rune_error(r):
        return _INVALID, s[:offset], s[offset:]

    def run(pred: Any, r: str, remaining: str, offset: int) -> tuple[str, int, str]:
        while remaining:
            r, size = _next_valid_rune(remaining, r)
            if not pred(r):
                break
            offset += size
            remaining = remaining[size:]
        return r, offset, remaining

    if _is_connector(r):
        wt = _CONNECTOR
        _, offset, remaining = run(_is_connector, r, remaining[size:], offset)
    elif go_is_punct(r):
        wt = _PUNCT
        _, offset, remaining = run(go_is_punct, r, remaining[size:], offset)
    elif go_is_upper(r):
        wt = _UPPER
        remaining = remaining[size:]
        if remaining:
            r, size = _next_valid_rune(remaining, r)
            if go_is_upper(r):
                prev_size = size
                offset += size
                remaining = remaining[size:]
                while remaining:
                    r, size = _next_valid_rune(remaining, r)
                    if not go_is_upper(r):
                        break
                    prev_size = size
                    offset += size
                    remaining = remaining[size:]
                # "HTTPServer": the last capital starts the next word
                if remaining and _is_alphabet(r):
                    offset -= prev_size
                    remaining = s[offset:]
            elif _is_alphabet(r):
                offset += size
                remaining = remaining[size:]
                _, offset, remaining = run(lambda c: _is_alphabet(c) and not go_is_upper(c), r, remaining, offset)
    elif _is_alphabet(r):
        wt = _ALPHABET
        _, offset, remaining = run(lambda c: _is_alphabet(c) and not go_is_upper(c), r, remaining[size:], offset)
    elif go_is_number(r):
        wt = _NUMBER
        _, offset, remaining = run(go_is_number, r, remaining[size:], offset)
    else:
        wt = _OTHER
        _, offset, remaining = run(
            lambda c: not (_is_connector(c) or _is_alphabet(c) or go_is_number(c) or go_is_punct(c)),
            r,
            remaining[size:],
            offset,
        )
    return wt, s[:offset], remaining


def _to_lower(buf: list[str], wt: int, word: str, connector: str) -> None:
    if wt not in (_UPPER, _CONNECTOR):
        buf.append(word)
        return
    for c in word:
        if _is_connector(c):
            buf.append(connector)
        elif go_is_upper(c):
            buf.append(go_to_lower(c))
        else:
            buf.append(c)


def _camel_to_lower(s: str, connector: str) -> str:
    """xstrings' word splitter behind ToSnakeCase and ToKebabCase."""
    if not s:
        return ""
    buf: list[str] = []
    wt, word, remaining = _next_word(s)
    while remaining:
        if wt != _CONNECTOR:
            _to_lower(buf, wt, word, connector)
        prev, last = wt, word
        wt, word, remaining = _next_word(remaining)
        if prev == _NUMBER:
            while wt in (_ALPHABET, _NUMBER):
                _to_lower(buf, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _PUNCT, _CONNECTOR):
                buf.append(connector)
        elif prev == _CONNECTOR:
            _to_lower(buf, prev, last, connector)
        elif prev == _PUNCT:
            pass
        else:
            if wt != _NUMBER:
                if wt not in (_CONNECTOR, _PUNCT):
                    buf.append(connector)
                continue
            if not remaining:
                continue
            last = word
            wt, word, remaining = _next_word(remaining)
            # a number directly after a word belongs to it ("Bld4Floor" -> "bld4_floor")
            if wt != _ALPHABET:
                _to_lower(buf, _NUMBER, last, connector)
                if wt not in (_CONNECTOR, _PUNCT):
                    buf.append(connector)
                continue
            # lower-case letters after the number start a new word ("HTTP2xx" -> "http_2xx")
            buf.append(connector)
            _to_lower(buf, _NUMBER, last, connector)
            while wt in (_ALPHABET, _NUMBER):
                _to_lower(buf, wt, word, connector)
                wt, word, remaining = _next_word(remaining)
            if wt not in (_INVALID, _CONNECTOR, _PUNCT):
                buf.append(connector)
    _to_lower(buf, wt, word, connector)
    return "".join(buf)


@go_func("string")
def snakecase(s: str) -> str:
    return _camel_to_lower(s, "_")


@go_func("string")
def kebabcase(s: str) -> str:
    return _camel_to_lower(s, "-")


@go_func("string")
def camelcase(s: str) -> str:
    """Upper camel case (Sprig maps ``camelcase`` to xstrings' Pascal-case conversion)."""
    if not s:
        return ""
    buf: list[str] = []
    i = 0
    r0 = ""
    while i < len(s):
        r0 = s[i]
        i += 1
        if not _is_connector(r0):
            r0 = go_to_upper(r0)
            break
        buf.append(r0)
    if i >= len(s):
        # xstrings writes the last rune once more here, even when it was a connector already written
        buf.append(r0)
        return "".join(buf)
    while i < len(s):
        r1 = r0
        r0 = s[i]
        i += 1
        if _is_connector(r0) and _is_connector(r1):
            buf.append(r1)
            continue
        if _is_connector(r1):
            r0 = go_to_upper(r0)
        else:
            r0 = go_to_lower(r0)
            buf.append(r1)
    buf.append(r0)
    return "".join(buf)


@go_func("string")
def shuffle(s: str) -> str:
    runes = list(s)
    for i in range(len(runes) - 1, 0, -1):
        j = random.randrange(i + 1)
        runes[i], runes[j] = runes[j], runes[i]
    return "".join(runes)


# --- plain string functions ---------------------------------------------------------------------------------


@go_func("string")
def trim(s: str) -> str:
    from meshinject.gotemplate._sprig_base import go_trim_space

    return go_trim_space(s)


@go_func("string", "string")
def trim_all(cutset: str, s: str) -> str:
    return go_trim(s, cutset)


@go_func("string", "string")
def trim_suffix(suffix: str, s: str) -> str:
    return s.removesuffix(suffix)


@go_func("string", "string")
def trim_prefix(prefix: str, s: str) -> str:
    return s.removeprefix(prefix)


@go_func("string")
def upper(s: str) -> str:
    from meshinject.gotemplate._sprig_base import go_upper

    return go_upper(s)


@go_func("string")
def lower(s: str) -> str:
    from meshinject.gotemplate._sprig_base import go_lower

    return go_lower(s)


@go_func("int", "int", "string")
def substr(start: int, end: int, s: str) -> str:
    """Byte offsets; a negative start means "from 0", an end past the string means "to the end"."""
    if start < 0:
        return slice_bytes(s, None, end)
    if end < 0 or end > byte_len(s):
        return slice_bytes(s, start, None)
    return slice_bytes(s, start, end)


@go_func("int", "string")
def repeat(count: int, s: str) -> str:
    return go_repeat(s, count)


@go_func("int", "string")
def trunc(c: int, s: str) -> str:
    n = byte_len(s)
    if c < 0 and n + c > 0:
        return slice_bytes(s, n + c, None)
    if c >= 0 and n > c:
        return slice_bytes(s, None, c)
    return s


@go_func("string", "string")
def contains(substring: str, s: str) -> bool:
    return substring in s


@go_func("string", "string")
def has_prefix(prefix: str, s: str) -> bool:
    return s.startswith(prefix)


@go_func("string", "string")
def has_suffix(suffix: str, s: str) -> bool:
    return s.endswith(suffix)


@go_func(variadic="any")
def quote(*values: Any) -> str:
    return " ".join(go_quote(strval(v)) for v in values if v is not None)


@go_func(variadic="any")
def squote(*values: Any) -> str:
    return " ".join(f"'{format_value(v)}'" for v in values if v is not None)


@go_func(variadic="any")
def cat(*values: Any) -> str:
    return " ".join(format_value(v) for v in values if v is not None)


@go_func("int", "string")
def indent(spaces: int, v: str) -> str:
    pad = go_repeat(" ", spaces)
    return pad + v.replace("\n", "\n" + pad)


@go_func("int", "string")
def nindent(spaces: int, v: str) -> str:
    return "\n" + indent(spaces, v)


@go_func("string", "string", "string")
def replace(old: str, new: str, src: str) -> str:
    return src.replace(old, new)


@go_func("string", "string", "int")
def plural(one: str, many: str, count: int) -> str:
    return one if count == 1 else many


def strslice(v: Any) -> list[str]:
    """Sprig's ``strslice``: a slice becomes its non-nil elements as strings; nil gives []."""
    if isinstance(v, GoSlice) and v.go_type == "[]string":
        return list(v)
    if is_slice(v):
        return [strval(x) for x in slice_items(v) if x is not None]
    if v is None:
        return []
    return [strval(v)]


@go_func("any")
def to_strings(v: Any) -> GoSlice:
    return GoSlice(strslice(v), "[]string")


@go_func("any")
def to_string(v: Any) -> str:
    return strval(v)


@go_func("string", "any")
def join(sep: str, v: Any) -> str:
    return sep.join(strslice(v))


def _indexed_map(parts: list[str]) -> GoMap:
    return GoMap({f"_{i}": p for i, p in enumerate(parts)}, "map[string]string", "")


@go_func("string", "string")
def split(sep: str, orig: str) -> GoMap:
    return _indexed_map(go_split(orig, sep))


@go_func("string", "int", "string")
def splitn(sep: str, n: int, orig: str) -> GoMap:
    return _indexed_map(go_split(orig, sep, n))


@go_func("string", "string")
def split_list(sep: str, orig: str) -> GoSlice:
    return GoSlice(go_split(orig, sep), "[]string")


@go_func("any")
def sort_alpha(v: Any) -> GoSlice:
    if is_slice(v):
        return GoSlice(sorted(strslice(v), key=to_bytes), "[]string")
    return GoSlice([strval(v)], "[]string")
