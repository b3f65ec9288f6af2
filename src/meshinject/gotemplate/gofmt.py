"""Go's ``fmt`` printing as templates use it: ``Sprint``, ``Sprintln``, ``Sprintf`` and ``%v``.

The output is byte-identical to Go 1.26 for every value of the engine's model (see :mod:`._values`): verbs,
flags, width and precision (including ``*``), Go's ``%!verb(...)`` error notes, map keys in ``fmt``'s sorted
order, shortest float formatting, and ``strconv.Quote`` escapes (with Go's own table of printable runes, so
the result does not depend on the Unicode version of the running Python).

Go strings are bytes; a Python ``str`` stands for its UTF-8 encoding. Bytes that are not valid UTF-8 can be
carried as ``surrogateescape`` characters (U+DC80..U+DCFF) and print as Go prints invalid bytes.
"""

from __future__ import annotations

import math
import re
import struct
from bisect import bisect_right
from collections.abc import Mapping
from typing import Any, Final

from ._values import MISSING, GoObject, TypedInt, go_type_name

__all__ = [
    "format_float",
    "format_value",
    "go_bytes",
    "is_print",
    "quote",
    "quote_ascii",
    "quote_rune",
    "sprint",
    "sprintf",
    "sprintln",
    "type_name",
]

_NIL: Final = "<nil>"
_MAX_RUNE: Final = 0x10FFFF
_RUNE_ERROR: Final = 0xFFFD
_U64: Final = (1 << 64) - 1
_TOO_LARGE: Final = 1_000_000  # fmt refuses widths and precisions beyond this

# ----------------------------------------------------------------------------------------------------------
# Printable runes (strconv.IsPrint), Unicode 15.0.0 as in Go 1.26: sorted "first-last" hex ranges.

_PRINT_RANGES: Final = """
20-7e a1-ac ae-377 37a-37f 384-38a 38c 38e-3a1 3a3-52f 531-556 559-58a 58d-58f 591-5c7 5d0-5ea
5ef-5f4 606-61b 61d-6dc 6de-70d 710-74a 74d-7b1 7c0-7fa 7fd-82d 830-83e 840-85b 85e 860-86a 870-88e
898-8e1 8e3-983 985-98c 98f-990 993-9a8 9aa-9b0 9b2 9b6-9b9 9bc-9c4 9c7-9c8 9cb-9ce 9d7 9dc-9dd
9df-9e3 9e6-9fe a01-a03 a05-a0a a0f-a10 a13-a28 a2a-a30 a32-a33 a35-a36 a38-a39 a3c a3e-a42 a47-a48
a4b-a4d a51 a59-a5c a5e a66-a76 a81-a83 a85-a8d a8f-a91 a93-aa8 aaa-ab0 ab2-ab3 ab5-ab9 abc-ac5
ac7-ac9 acb-acd ad0 ae0-ae3 ae6-af1 af9-aff b01-b03 b05-b0c b0f-b10 b13-b28 b2a-b30 b32-b33 b35-b39
b3c-b44 b47-b48 b4b-b4d b55-b57 b5c-b5d b5f-b63 b66-b77 b82-b83 b85-b8a b8e-b90 b92-b95 b99-b9a b9c
b9e-b9f ba3-ba4 ba8-baa bae-bb9 bbe-bc2 bc6-bc8 bca-bcd bd0 bd7 be6-bfa c00-c0c c0e-c10 c12-c28
c2a-c39 c3c-c44 c46-c48 c4a-c4d c55-c56 c58-c5a c5d c60-c63 c66-c6f c77-c8c c8e-c90 c92-ca8 caa-cb3
cb5-cb9 cbc-cc4 cc6-cc8 cca-ccd cd5-cd6 cdd-cde ce0-ce3 ce6-cef cf1-cf3 d00-d0c d0e-d10 d12-d44
d46-d48 d4a-d4f d54-d63 d66-d7f d81-d83 d85-d96 d9a-db1 db3-dbb dbd dc0-dc6 dca dcf-dd4 dd6 dd8-ddf
de6-def df2-df4 e01-e3a e3f-e5b e81-e82 e84 e86-e8a e8c-ea3 ea5 ea7-ebd ec0-ec4 ec6 ec8-ece ed0-ed9
edc-edf f00-f47 f49-f6c f71-f97 f99-fbc fbe-fcc fce-fda 1000-10c5 10c7 10cd 10d0-1248 124a-124d
1250-1256 1258 125a-125d 1260-1288 128a-128d 1290-12b0 12b2-12b5 12b8-12be 12c0 12c2-12c5 12c8-12d6
12d8-1310 1312-1315 1318-135a 135d-137c 1380-1399 13a0-13f5 13f8-13fd 1400-167f 1681-169c 16a0-16f8
1700-1715 171f-1736 1740-1753 1760-176c 176e-1770 1772-1773 1780-17dd 17e0-17e9 17f0-17f9 1800-180d
180f-1819 1820-1878 1880-18aa 18b0-18f5 1900-191e 1920-192b 1930-193b 1940 1944-196d 1970-1974
1980-19ab 19b0-19c9 19d0-19da 19de-1a1b 1a1e-1a5e 1a60-1a7c 1a7f-1a89 1a90-1a99 1aa0-1aad 1ab0-1ace
1b00-1b4c 1b50-1b7e 1b80-1bf3 1bfc-1c37 1c3b-1c49 1c4d-1c88 1c90-1cba 1cbd-1cc7 1cd0-1cfa 1d00-1f15
1f18-1f1d 1f20-1f45 1f48-1f4d 1f50-1f57 1f59 1f5b 1f5d 1f5f-1f7d 1f80-1fb4 1fb6-1fc4 1fc6-1fd3
1fd6-1fdb 1fdd-1fef 1ff2-1ff4 1ff6-1ffe 2010-2027 2030-205e 2070-2071 2074-208e 2090-209c 20a0-20c0
20d0-20f0 2100-218b 2190-2426 2440-244a 2460-2b73 2b76-2b95 2b97-2cf3 2cf9-2d25 2d27 2d2d 2d30-2d67
2d6f-2d70 2d7f-2d96 2da0-2da6 2da8-2dae 2db0-2db6 2db8-2dbe 2dc0-2dc6 2dc8-2dce 2dd0-2dd6 2dd8-2dde
2de0-2e5d 2e80-2e99 2e9b-2ef3 2f00-2fd5 2ff0-2ffb 3001-303f 3041-3096 3099-30ff 3105-312f 3131-318e
3190-31e3 31f0-321e 3220-a48c a490-a4c6 a4d0-a62b a640-a6f7 a700-a7ca a7d0-a7d1 a7d3 a7d5-a7d9
a7f2-a82c a830-a839 a840-a877 a880-a8c5 a8ce-a8d9 a8e0-a953 a95f-a97c a980-a9cd a9cf-a9d9 a9de-a9fe
aa00-aa36 aa40-aa4d aa50-aa59 aa5c-aac2 aadb-aaf6 ab01-ab06 ab09-ab0e ab11-ab16 ab20-ab26 ab28-ab2e
ab30-ab6b ab70-abed abf0-abf9 ac00-d7a3 d7b0-d7c6 d7cb-d7fb f900-fa6d fa70-fad9 fb00-fb06 fb13-fb17
fb1d-fb36 fb38-fb3c fb3e fb40-fb41 fb43-fb44 fb46-fbc2 fbd3-fd8f fd92-fdc7 fdcf fdf0-fe19 fe20-fe52
fe54-fe66 fe68-fe6b fe70-fe74 fe76-fefc ff01-ffbe ffc2-ffc7 ffca-ffcf ffd2-ffd7 ffda-ffdc ffe0-ffe6
ffe8-ffee fffc-fffd 10000-1000b 1000d-10026 10028-1003a 1003c-1003d 1003f-1004d 10050-1005d
10080-100fa 10100-10102 10107-10133 10137-1018e 10190-1019c 101a0 101d0-101fd 10280-1029c 102a0-102d0
102e0-102fb 10300-10323 1032d-1034a 10350-1037a 10380-1039d 1039f-103c3 103c8-103d5 10400-1049d
104a0-104a9 104b0-104d3 104d8-104fb 10500-10527 10530-10563 1056f-1057a 1057c-1058a 1058c-10592
10594-10595 10597-105a1 105a3-105b1 105b3-105b9 105bb-105bc 10600-10736 10740-10755 10760-10767
10780-10785 10787-107b0 107b2-107ba 10800-10805 10808 1080a-10835 10837-10838 1083c 1083f-10855
10857-1089e 108a7-108af 108e0-108f2 108f4-108f5 108fb-1091b 1091f-10939 1093f 10980-109b7 109bc-109cf
109d2-10a03 10a05-10a06 10a0c-10a13 10a15-10a17 10a19-10a35 10a38-10a3a 10a3f-10a48 10a50-10a58
10a60-10a9f 10ac0-10ae6 10aeb-10af6 10b00-10b35 10b39-10b55 10b58-10b72 10b78-10b91 10b99-10b9c
10ba9-10baf 10c00-10c48 10c80-10cb2 10cc0-10cf2 10cfa-10d27 10d30-10d39 10e60-10e7e 10e80-10ea9
10eab-10ead 10eb0-10eb1 10efd-10f27 10f30-10f59 10f70-10f89 10fb0-10fcb 10fe0-10ff6 11000-1104d
11052-11075 1107f-110bc 110be-110c2 110d0-110e8 110f0-110f9 11100-11134 11136-11147 11150-11176
11180-111df 111e1-111f4 11200-11211 11213-11241 11280-11286 11288 1128a-1128d 1128f-1129d 1129f-112a9
112b0-112ea 112f0-112f9 11300-11303 11305-1130c 1130f-11310 11313-11328 1132a-11330 11332-11333
11335-11339 1133b-11344 11347-11348 1134b-1134d 11350 11357 1135d-11363 11366-1136c 11370-11374
11400-1145b 1145d-11461 11480-114c7 114d0-114d9 11580-115b5 115b8-115dd 11600-11644 11650-11659
11660-1166c 11680-116b9 116c0-116c9 11700-1171a 1171d-1172b 11730-11746 11800-1183b 118a0-118f2
118ff-11906 11909 1190c-11913 11915-11916 11918-11935 11937-11938 1193b-11946 11950-11959 119a0-119a7
119aa-119d7 119da-119e4 11a00-11a47 11a50-11aa2 11ab0-11af8 11b00-11b09 11c00-11c08 11c0a-11c36
11c38-11c45 11c50-11c6c 11c70-11c8f 11c92-11ca7 11ca9-11cb6 11d00-11d06 11d08-11d09 11d0b-11d36 11d3a
11d3c-11d3d 11d3f-11d47 11d50-11d59 11d60-11d65 11d67-11d68 11d6a-11d8e 11d90-11d91 11d93-11d98
11da0-11da9 11ee0-11ef8 11f00-11f10 11f12-11f3a 11f3e-11f59 11fb0 11fc0-11ff1 11fff-12399
12400-1246e 12470-12474 12480-12543 12f90-12ff2 13000-1342f 13440-13455 14400-14646 16800-16a38
16a40-16a5e 16a60-16a69 16a6e-16abe 16ac0-16ac9 16ad0-16aed 16af0-16af5 16b00-16b45 16b50-16b59
16b5b-16b61 16b63-16b77 16b7d-16b8f 16e40-16e9a 16f00-16f4a 16f4f-16f87 16f8f-16f9f 16fe0-16fe4
16ff0-16ff1 17000-187f7 18800-18cd5 18d00-18d08 1aff0-1aff3 1aff5-1affb 1affd-1affe 1b000-1b122
1b132 1b150-1b152 1b155 1b164-1b167 1b170-1b2fb 1bc00-1bc6a 1bc70-1bc7c 1bc80-1bc88 1bc90-1bc99
1bc9c-1bc9f 1cf00-1cf2d 1cf30-1cf46 1cf50-1cfc3 1d000-1d0f5 1d100-1d126 1d129-1d172 1d17b-1d1ea
1d200-1d245 1d2c0-1d2d3 1d2e0-1d2f3 1d300-1d356 1d360-1d378 1d400-1d454 1d456-1d49c 1d49e-1d49f 1d4a2
1d4a5-1d4a6 1d4a9-1d4ac 1d4ae-1d4b9 1d4bb 1d4bd-1d4c3 1d4c5-1d505 1d507-1d50a 1d50d-1d514 1d516-1d51c
1d51e-1d539 1d53b-1d53e 1d540-1d544 1d546 1d54a-1d550 1d552-1d6a5 1d6a8-1d7cb 1d7ce-1da8b 1da9b-1da9f
1daa1-1daaf 1df00-1df1e 1df25-1df2a 1e000-1e006 1e008-1e018 1e01b-1e021 1e023-1e024 1e026-1e02a
1e030-1e06d 1e08f 1e100-1e12c 1e130-1e13d 1e140-1e149 1e14e-1e14f 1e290-1e2ae 1e2c0-1e2f9 1e2ff
1e4d0-1e4f9 1e7e0-1e7e6 1e7e8-1e7eb 1e7ed-1e7ee 1e7f0-1e7fe 1e800-1e8c4 1e8c7-1e8d6 1e900-1e94b
1e950-1e959 1e95e-1e95f 1ec71-1ecb4 1ed01-1ed3d 1ee00-1ee03 1ee05-1ee1f 1ee21-1ee22 1ee24 1ee27
1ee29-1ee32 1ee34-1ee37 1ee39 1ee3b 1ee42 1ee47 1ee49 1ee4b 1ee4d-1ee4f 1ee51-1ee52 1ee54 1ee57 1ee59
1ee5b 1ee5d 1ee5f 1ee61-1ee62 1ee64 1ee67-1ee6a 1ee6c-1ee72 1ee74-1ee77 1ee79-1ee7c 1ee7e 1ee80-1ee89
1ee8b-1ee9b 1eea1-1eea3 1eea5-1eea9 1eeab-1eebb 1eef0-1eef1 1f000-1f02b 1f030-1f093 1f0a0-1f0ae
1f0b1-1f0bf 1f0c1-1f0cf 1f0d1-1f0f5 1f100-1f1ad 1f1e6-1f202 1f210-1f23b 1f240-1f248 1f250-1f251
1f260-1f265 1f300-1f6d7 1f6dc-1f6ec 1f6f0-1f6fc 1f700-1f776 1f77b-1f7d9 1f7e0-1f7eb 1f7f0 1f800-1f80b
1f810-1f847 1f850-1f859 1f860-1f887 1f890-1f8ad 1f8b0-1f8b1 1f900-1fa53 1fa60-1fa6d 1fa70-1fa7c
1fa80-1fa88 1fa90-1fabd 1fabf-1fac5 1face-1fadb 1fae0-1fae8 1faf0-1faf8 1fb00-1fb92 1fb94-1fbca
1fbf0-1fbf9 20000-2a6df 2a700-2b739 2b740-2b81d 2b820-2cea1 2ceb0-2ebe0 2f800-2fa1d 30000-3134a
31350-323af e0100-e01ef
"""


def _parse_ranges(text: str) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for item in text.split():
        first, _, last = item.partition("-")
        starts.append(int(first, 16))
        ends.append(int(last or first, 16))
    return starts, ends


_PRINT_STARTS, _PRINT_ENDS = _parse_ranges(_PRINT_RANGES)


def is_print(r: int) -> bool:
    """strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if r < 0x80:
        return 0x20 <= r < 0x7F
    i = bisect_right(_PRINT_STARTS, r) - 1
    return i >= 0 and r <= _PRINT_ENDS[i]


# ----------------------------------------------------------------------------------------------------------
# strconv.Quote and friends

_SHORT_ESCAPES: Final = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
}
_NEEDS_QUOTING: Final = re.compile(r'[^\x20-\x7e]|["\\]')


def _escape_rune(r: int, quote_char: int, ascii_only: bool) -> str:
    """One rune as strconv escapes it inside a quoted literal (``quote_char`` is ``"`` or ``'``)."""
    if r == quote_char or r == 0x5C:
        return "\\" + chr(r)
    if ascii_only:
        if r < 0x80 and is_print(r):
            return chr(r)
    elif is_print(r):
        return chr(r)
    short = _SHORT_ESCAPES.get(r)
    if short is not None:
        return short
    if r < 0x20 or r == 0x7F:
        return f"\\x{r:02x}"
    if r > _MAX_RUNE or 0xD800 <= r <= 0xDFFF:
        r = _RUNE_ERROR
    if r < 0x10000:
        return f"\\u{r:04x}"
    return f"\\U{r:08x}"


def _escape_char(c: str, ascii_only: bool) -> str:
    r = ord(c)
    if 0xD800 <= r <= 0xDFFF:
        # Not valid UTF-8 in Go: every byte of it is escaped on its own.
        if 0xDC80 <= r <= 0xDCFF:
            return f"\\x{r - 0xDC00:02x}"
        return "".join(f"\\x{b:02x}" for b in c.encode("utf-8", "surrogatepass"))
    return _escape_rune(r, 0x22, ascii_only)


def _escape_match(m: re.Match[str]) -> str:
    return _escape_char(m.group(), False)


def _escape_match_ascii(m: re.Match[str]) -> str:
    return _escape_char(m.group(), True)


def quote(s: str) -> str:
    """strconv.Quote: a double-quoted Go string literal; non-printable runes are escaped."""
    if _NEEDS_QUOTING.search(s) is None:
        return '"' + s + '"'
    return '"' + _NEEDS_QUOTING.sub(_escape_match, s) + '"'


def quote_ascii(s: str) -> str:
    """strconv.QuoteToASCII: like :func:`quote` but every non-ASCII rune is escaped too."""
    if _NEEDS_QUOTING.search(s) is None:
        return '"' + s + '"'
    return '"' + _NEEDS_QUOTING.sub(_escape_match_ascii, s) + '"'


def quote_rune(r: int, ascii_only: bool = False) -> str:
    """strconv.QuoteRune (or QuoteRuneToASCII): a single-quoted Go rune literal."""
    if r > _MAX_RUNE or r < 0 or 0xD800 <= r <= 0xDFFF:
        r = _RUNE_ERROR
    return "'" + _escape_rune(r, 0x27, ascii_only) + "'"


def _can_backquote(s: str) -> bool:
    """strconv.CanBackquote: the string can be a raw string literal unchanged."""
    for c in s:
        r = ord(c)
        if r < 0x80:
            if (r < 0x20 and r != 0x09) or r == 0x60 or r == 0x7F:
                return False
        elif r == 0xFEFF or 0xD800 <= r <= 0xDFFF:
            return False
    return True


def go_bytes(s: str) -> bytes:
    """The bytes of the Go string that ``s`` stands for."""
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        pass
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # Other lone surrogates: their (invalid) three-byte UTF-8 form.
        return b"".join(
            bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("utf-8", "surrogatepass") for c in s
        )


def _from_utf8(b: bytes | bytearray) -> str:
    return b.decode("utf-8", "surrogateescape")


# ----------------------------------------------------------------------------------------------------------
# strconv.FormatFloat


def _shortest_digits(a: float) -> tuple[str, int]:
    """The shortest digits that identify ``a`` (> 0), without trailing zeros, and the point position."""
    r = repr(a)
    e = r.find("e")
    if e >= 0:
        exp = int(r[e + 1 :])
        mant = r[:e]
    else:
        exp = 0
        mant = r
    dot = mant.find(".")
    if dot >= 0:
        digits = mant[:dot] + mant[dot + 1 :]
        dp = dot + exp
    else:
        digits = mant
        dp = len(mant) + exp
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    return stripped.rstrip("0"), dp


def _fmt_e(digits: str, dp: int, prec: int, e: str) -> str:
    """%e from decimal digits: d.ddde±dd with ``prec`` fraction digits (zero-filled)."""
    nd = len(digits)
    out = digits[0] if nd else "0"
    if prec > 0:
        frac = digits[1 : prec + 1]
        out += "." + frac + "0" * (prec - len(frac))
    exp = dp - 1 if nd else 0
    if exp < 0:
        return f"{out}{e}-{-exp:02d}"
    return f"{out}{e}+{exp:02d}"


def _fmt_f(digits: str, dp: int, prec: int) -> str:
    """%f from decimal digits: integer part, then ``prec`` fraction digits (zero-filled)."""
    nd = len(digits)
    if dp > 0:
        out = digits[:dp] + "0" * (dp - nd) if dp > nd else digits[:dp]
    else:
        out = "0"
    if prec > 0:
        if dp >= 0:
            frac = digits[dp : dp + prec]
        else:
            frac = ("0" * -dp + digits)[:prec]
        out += "." + frac + "0" * (prec - len(frac))
    return out


def _fmt_b(x: float) -> str:
    bits = int.from_bytes(_pack_double(x), "big")
    exp = (bits >> 52) & 0x7FF
    mant = bits & ((1 << 52) - 1)
    if exp == 0:
        exp = 1
    else:
        mant |= 1 << 52
    exp += -1023 - 52
    sign = "-" if bits >> 63 else ""
    return f"{sign}{mant}p{exp:+d}" if exp >= 0 else f"{sign}{mant}p{exp}"


def _fmt_b32(x: float) -> str:
    bits = int.from_bytes(struct.pack(">f", x), "big")
    exp = (bits >> 23) & 0xFF
    mant = bits & ((1 << 23) - 1)
    if exp == 0:
        exp = 1
    else:
        mant |= 1 << 23
    exp += -127 - 23
    sign = "-" if bits >> 31 else ""
    return f"{sign}{mant}p{exp:+d}" if exp >= 0 else f"{sign}{mant}p{exp}"


def _pack_double(x: float) -> bytes:
    return struct.pack(">d", x)


def _fmt_x(x: float, prec: int, fmt: str) -> str:
    bits = int.from_bytes(_pack_double(x), "big")
    neg = bool(bits >> 63)
    exp = (bits >> 52) & 0x7FF
    mant = bits & ((1 << 52) - 1)
    if exp == 0:
        exp = 1
    else:
        mant |= 1 << 52
    exp -= 1023
    if mant == 0:
        exp = 0
    mant <<= 8  # leading 1 (if any) at bit 60
    while mant and not mant & (1 << 60):
        mant <<= 1
        exp -= 1
    if 0 <= prec < 15:
        shift = prec * 4
        extra = (mant << shift) & ((1 << 60) - 1)
        mant >>= 60 - shift
        if extra | (mant & 1) > 1 << 59:
            mant += 1
        mant <<= 60 - shift
        if mant & (1 << 61):
            mant >>= 1
            exp += 1
    hexdigits = "0123456789ABCDEF" if fmt == "X" else "0123456789abcdef"
    out = ["-" if neg else "", "0", fmt, "1" if (mant >> 60) & 1 else "0"]
    mant = (mant << 4) & _U64
    if prec < 0 and mant:
        out.append(".")
        while mant:
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _U64
    elif prec > 0:
        out.append(".")
        for _ in range(prec):
            out.append(hexdigits[(mant >> 60) & 15])
            mant = (mant << 4) & _U64
    out.append("P" if fmt == "X" else "p")
    out.append(f"-{-exp:02d}" if exp < 0 else f"+{exp:02d}")
    return "".join(out)


def _to_float32(x: float) -> float:
    try:
        f: float = struct.unpack("f", struct.pack("f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)
    return f


def _shortest_digits32(a: float) -> tuple[str, int]:
    """Like :func:`_shortest_digits` for a float32 value: the fewest digits that read back as it."""
    for prec in range(9):
        text = f"{a:.{prec}e}"
        if _to_float32(float(text)) == a:
            break
    mant, _, exp = text.partition("e")
    return mant.replace(".", "").rstrip("0"), int(exp) + 1


def format_float(x: float, fmt: str = "g", prec: int = -1, bits: int = 64) -> str:
    """strconv.FormatFloat(x, fmt, prec, bits) for fmt in ``b e E f g G x X``; prec -1 = shortest."""
    if bits == 32:
        x = _to_float32(x)
        if prec < 0 and fmt in "eEfgG" and x == x and x not in (math.inf, -math.inf):
            return _shortest(x, fmt, 32)
    if x != x:
        return "NaN"
    if x == math.inf:
        return "+Inf"
    if x == -math.inf:
        return "-Inf"
    if fmt == "b":
        return _fmt_b32(x) if bits == 32 else _fmt_b(x)
    if fmt == "x" or fmt == "X":
        return _fmt_x(x, prec, fmt)
    if prec >= 0:
        # Python's own rounding is exact (round half to even on the exact binary value), as Go's is.
        return format(x, f".{prec}{fmt}")
    if fmt == "g":
        return _float_v(x)
    return _shortest(x, fmt)


def _shortest(x: float, fmt: str, bits: int = 64) -> str:
    """strconv.FormatFloat(x, fmt, -1, bits) for a finite x and fmt in ``e E f g G``."""
    neg = x < 0 or (x == 0 and math.copysign(1.0, x) < 0)
    a = -x if neg else x
    if not a:
        digits, dp = "", 0
    elif bits == 32:
        digits, dp = _shortest_digits32(a)
    else:
        digits, dp = _shortest_digits(a)
    nd = len(digits)
    if fmt == "e" or fmt == "E":
        body = _fmt_e(digits, dp, max(nd - 1, 0), fmt)
    elif fmt == "f":
        body = _fmt_f(digits, dp, max(nd - dp, 0))
    else:
        exp = dp - 1
        if exp < -4 or exp >= 6:
            body = _fmt_e(digits, dp, nd - 1, "e" if fmt == "g" else "E")
        else:
            body = _fmt_f(digits, dp, max(nd - dp, 0))
    return "-" + body if neg else body


def _float_v(x: float) -> str:
    """%v of a float64: strconv 'g' with the shortest representation."""
    a = abs(x)
    if 1e-4 <= a < 1e6:
        # repr has the same shortest digits, in fixed notation with ".0" for integral values.
        r = repr(x)
        return r[:-2] if r.endswith(".0") else r
    if (a < 1e-4 and a != 0.0) or 1e16 <= a < math.inf:
        return repr(x)  # exponent form, identical to Go's (e-05, e+16, e+100)
    return _shortest(x, "g")


# ----------------------------------------------------------------------------------------------------------
# Type names and map-key order


def type_name(value: Any) -> str:
    """The Go type of a value of the model as ``%T`` prints it.

    Typed maps and slices (dict and list subclasses) and sized floats name their type in a ``go_type`` or
    ``bits`` attribute.
    """
    t = type(value)
    if t is not dict and t is not list and t is not float:
        go_type = getattr(value, "go_type", None)
        if isinstance(go_type, str) and go_type:
            return go_type
        if isinstance(value, float) and getattr(value, "bits", 64) == 32:
            return "float32"
        if isinstance(value, bytes | bytearray):
            return "[]uint8"
    if t is dict and value and all(type(k) is int for k in value):
        return "map[int]interface {}"
    return go_type_name(value)


def _key_rank(k: Any) -> tuple[int, Any]:
    if k is None or k is MISSING:
        return (0, 0)
    if isinstance(k, bool):
        return (1, int(k))
    if isinstance(k, int):
        return (2, int(k))
    if isinstance(k, float):
        # fmtsort: NaN sorts before every other float.
        return (3, (0, 0.0) if k != k else (1, k))
    if isinstance(k, str):
        return (4, k)
    return (5, str(k))


def _sorted_keys(m: Mapping[Any, Any]) -> list[Any]:
    """Map keys in the order Go's fmt (internal/fmtsort) prints them."""
    try:
        keys = sorted(m)
    except TypeError:
        return sorted(m, key=_key_rank)
    if keys and isinstance(keys[0], float):
        return sorted(m, key=_key_rank)
    return keys


# ----------------------------------------------------------------------------------------------------------
# The printer (fmt's pp and fmt structs)


class _Printer:
    __slots__ = (
        "buf",
        "erroring",
        "good_argnum",
        "minus",
        "plus",
        "plus_v",
        "prec",
        "prec_present",
        "reordered",
        "sharp",
        "sharp_v",
        "space",
        "wid",
        "wid_present",
        "zero",
    )

    def __init__(self) -> None:
        self.buf: list[str] = []
        self.erroring = False
        self.reordered = False
        self.good_argnum = True
        self.clear_flags()

    def clear_flags(self) -> None:
        self.plus = self.minus = self.sharp = self.space = self.zero = False
        self.plus_v = self.sharp_v = False
        self.wid = self.prec = 0
        self.wid_present = self.prec_present = False

    # -- padding -------------------------------------------------------------------------------------------

    def write_padding(self, n: int) -> None:
        if n > 0:
            self.buf.append(("0" if self.zero and not self.minus else " ") * n)

    def pad(self, s: str) -> None:
        if not self.wid_present or self.wid == 0:
            self.buf.append(s)
            return
        width = self.wid - len(s)
        if self.minus:
            self.buf.append(s)
            self.write_padding(width)
        else:
            self.write_padding(width)
            self.buf.append(s)

    def pad_no_zero(self, s: str) -> None:
        zero = self.zero
        self.zero = False
        self.pad(s)
        self.zero = zero

    # -- basic formatting (fmt/format.go) ------------------------------------------------------------------

    def fmt_s(self, s: str) -> None:
        if self.prec_present:
            s = s[: self.prec]
        self.pad(s)

    def fmt_integer(self, v: int, signed: bool, base: int, verb: str, upper: bool = False) -> None:
        negative = signed and v < 0
        u = -v if negative else v & _U64 if not signed else v
        prec = 0
        if self.prec_present:
            prec = self.prec
            if prec == 0 and u == 0:
                self.zero, zero = False, self.zero
                self.write_padding(self.wid)
                self.zero = zero
                return
        elif self.zero and not self.minus and self.wid_present:
            prec = self.wid
            if negative or self.plus or self.space:
                prec -= 1
        if base == 10:
            digits = str(u)
        elif base == 16:
            digits = format(u, "X" if upper else "x")
        elif base == 8:
            digits = format(u, "o")
        else:
            digits = format(u, "b")
        if len(digits) < prec:
            digits = "0" * (prec - len(digits)) + digits
        if self.sharp:
            if base == 2:
                digits = "0b" + digits
            elif base == 8:
                if digits[0] != "0":
                    digits = "0" + digits
            elif base == 16:
                digits = ("0X" if upper else "0x") + digits
        if verb == "O":
            digits = "0o" + digits
        if negative:
            digits = "-" + digits
        elif self.plus:
            digits = "+" + digits
        elif self.space:
            digits = " " + digits
        self.pad_no_zero(digits)

    def fmt_unicode(self, u: int) -> None:
        prec = self.prec if self.prec_present and self.prec > 4 else 4
        s = format(u, "X")
        if len(s) < prec:
            s = "0" * (prec - len(s)) + s
        s = "U+" + s
        if self.sharp and u <= _MAX_RUNE and is_print(u):
            s += " '" + chr(u) + "'"
        self.pad_no_zero(s)

    def fmt_c(self, u: int) -> None:
        if u > _MAX_RUNE or 0xD800 <= u <= 0xDFFF:
            u = _RUNE_ERROR
        self.pad(chr(u))

    def fmt_qc(self, u: int) -> None:
        if u > _MAX_RUNE:
            u = _RUNE_ERROR
        self.pad(quote_rune(u, ascii_only=self.plus))

    def fmt_sbx(self, b: bytes, upper: bool) -> None:
        length = len(b)
        if self.prec_present and self.prec < length:
            length = self.prec
        width = 2 * length
        if width > 0:
            if self.space:
                if self.sharp:
                    width *= 2
                width += length - 1
            elif self.sharp:
                width += 2
        else:
            if self.wid_present:
                self.write_padding(self.wid)
            return
        if self.wid_present and self.wid > width and not self.minus:
            self.write_padding(self.wid - width)
        hexed = b[:length].hex()
        if upper:
            hexed = hexed.upper()
        prefix = ("0X" if upper else "0x") if self.sharp else ""
        if self.space:
            pairs = [hexed[i : i + 2] for i in range(0, len(hexed), 2)]
            self.buf.append(prefix + (" " + prefix).join(pairs))
        else:
            self.buf.append(prefix + hexed)
        if self.wid_present and self.wid > width and self.minus:
            self.write_padding(self.wid - width)

    def fmt_q(self, s: str) -> None:
        if self.prec_present:
            s = s[: self.prec]
        if self.sharp and _can_backquote(s):
            self.pad("`" + s + "`")
        elif self.plus:
            self.pad(quote_ascii(s))
        else:
            self.pad(quote(s))

    def fmt_float_num(self, v: float, verb: str, prec: int, bits: int) -> None:
        if self.prec_present:
            prec = self.prec
        num = format_float(v, verb, prec, bits)
        if num[0] != "-" and num[0] != "+":
            num = "+" + num
        if self.space and num[0] == "+" and not self.plus:
            num = " " + num[1:]
        if num[1] == "I" or num[1] == "N":
            if num[1] == "N" and not self.space and not self.plus:
                num = num[1:]
            self.pad_no_zero(num)
            return
        if self.sharp and verb != "b":
            num = self._sharp_float(num, verb, prec)
        if self.plus or num[0] != "+":
            if self.zero and not self.minus and self.wid_present and self.wid > len(num):
                self.buf.append(num[0])
                self.write_padding(self.wid - len(num))
                self.buf.append(num[1:])
                return
            self.pad(num)
            return
        self.pad(num[1:])

    @staticmethod
    def _sharp_float(num: str, verb: str, prec: int) -> str:
        """The ``#`` flag: always a decimal point, and %g keeps its trailing zeros."""
        digits = 0
        if verb in "vgGx":
            digits = 6 if prec == -1 else prec
        tail = ""
        has_point = False
        saw_nonzero = False
        i = 1
        while i < len(num):
            c = num[i]
            if c == ".":
                has_point = True
            elif c == "p" or c == "P" or ((c == "e" or c == "E") and verb != "x" and verb != "X"):
                tail = num[i:]
                num = num[:i]
                break
            else:
                if c != "0":
                    saw_nonzero = True
                if saw_nonzero:
                    digits -= 1
            i += 1
        if not has_point:
            if len(num) == 2 and num[1] == "0":
                digits -= 1
            num += "."
        if digits > 0:
            num += "0" * digits
        return num + tail

    # -- verbs by type (fmt/print.go) ----------------------------------------------------------------------

    def bad_verb(self, verb: str, value: Any) -> None:
        self.erroring = True
        self.buf.append("%!" + verb + "(")
        if value is None or value is MISSING:
            self.buf.append(_NIL)
        else:
            self.buf.append(type_name(value) + "=")
            self.print_value(value, "v", 0)
        self.buf.append(")")
        self.erroring = False

    def fmt_bool(self, v: bool, verb: str) -> None:
        if verb == "t" or verb == "v":
            self.pad("true" if v else "false")
        else:
            self.bad_verb(verb, v)

    def fmt_int(self, value: int, signed: bool, verb: str) -> None:
        v = int(value)
        if verb == "v":
            if self.sharp_v and not signed:
                sharp = self.sharp
                self.sharp = True
                self.fmt_integer(v, False, 16, "v")
                self.sharp = sharp
            else:
                self.fmt_integer(v, signed, 10, verb)
        elif verb == "d":
            self.fmt_integer(v, signed, 10, verb)
        elif verb == "x" or verb == "X":
            self.fmt_integer(v, signed, 16, verb, verb == "X")
        elif verb == "o" or verb == "O":
            self.fmt_integer(v, signed, 8, verb)
        elif verb == "b":
            self.fmt_integer(v, signed, 2, verb)
        elif verb == "c" or verb == "q" or verb == "U":
            u = v & _U64  # Go converts to uint64 first: negative values become huge
            if verb == "c":
                self.fmt_c(u)
            elif verb == "q":
                self.fmt_qc(u)
            else:
                self.fmt_unicode(u)
        else:
            self.bad_verb(verb, value)

    def fmt_float(self, v: float, verb: str, bits: int = 64) -> None:
        if verb == "v":
            self.fmt_float_num(v, "g", -1, bits)
        elif verb in "bgGxX":
            self.fmt_float_num(v, verb, -1, bits)
        elif verb in "feE":
            self.fmt_float_num(v, verb, 6, bits)
        elif verb == "F":
            self.fmt_float_num(v, "f", 6, bits)
        else:
            self.bad_verb(verb, v)

    def fmt_complex(self, v: complex, verb: str) -> None:
        if verb in "vbgGxXfFeE":
            plus = self.plus
            self.buf.append("(")
            self.fmt_float(v.real, verb)
            self.plus = True
            self.fmt_float(v.imag, verb)
            self.buf.append("i)")
            self.plus = plus
        else:
            self.bad_verb(verb, v)

    def fmt_string(self, s: str, verb: str) -> None:
        if verb == "v":
            if self.sharp_v:
                self.fmt_q(s)
            else:
                self.fmt_s(s)
        elif verb == "s":
            self.fmt_s(s)
        elif verb == "x" or verb == "X":
            self.fmt_sbx(go_bytes(s), verb == "X")
        elif verb == "q":
            self.fmt_q(s)
        else:
            self.bad_verb(verb, s)

    def fmt_bytes(self, b: bytes | bytearray, verb: str, type_string: str) -> None:
        if verb == "v" or verb == "d":
            if self.sharp_v:
                self.buf.append(type_string + "{")
                sharp = self.sharp
                self.sharp = True
                for i, c in enumerate(b):
                    if i:
                        self.buf.append(", ")
                    self.fmt_integer(c, False, 16, "v")
                self.sharp = sharp
                self.buf.append("}")
            else:
                self.buf.append("[")
                for i, c in enumerate(b):
                    if i:
                        self.buf.append(" ")
                    self.fmt_integer(c, False, 10, verb)
                self.buf.append("]")
        elif verb == "s":
            s = _from_utf8(b)
            if self.prec_present:
                s = s[: self.prec]
            self.pad(s)
        elif verb == "x" or verb == "X":
            self.fmt_sbx(bytes(b), verb == "X")
        elif verb == "q":
            self.fmt_q(_from_utf8(b))
        else:
            # Any other verb prints the slice element by element, as uint8 values.
            self.buf.append("[")
            for i, c in enumerate(b):
                if i:
                    self.buf.append(" ")
                self.fmt_int(TypedInt(c, "uint8"), False, verb)
            self.buf.append("]")

    def fmt_pointer(self, value: Any, verb: str) -> None:
        # Addresses are not reproducible; print something address-like for reference types.
        if isinstance(value, dict | list | tuple) or callable(value):
            if verb in "vp":
                digits = f"{id(value):x}"
                self.pad(digits if self.sharp else "0x" + digits)
                return
            if verb in "bodxX":
                self.fmt_int(id(value), False, verb)
                return
        self.bad_verb(verb, value)

    # -- dispatch ------------------------------------------------------------------------------------------

    def print_arg(self, arg: Any, verb: str) -> None:
        if arg is None or arg is MISSING:
            if verb == "T" or verb == "v":
                self.pad(_NIL)
            else:
                self.bad_verb(verb, None)
            return
        if verb == "T":
            self.fmt_s(type_name(arg))
            return
        if verb == "p":
            self.fmt_pointer(arg, verb)
            return
        self.print_value(arg, verb, 0)

    def print_value(self, value: Any, verb: str, depth: int) -> None:
        t = type(value)
        if t is str:
            self.fmt_string(value, verb)
        elif t is int:
            self.fmt_int(value, True, verb)
        elif t is bool:
            self.fmt_bool(value, verb)
        elif t is float:
            self.fmt_float(value, verb)
        elif t is dict:
            self.print_map(value, verb, depth)
        elif t is list or t is tuple:
            self.print_list(value, verb, depth)
        elif value is None or value is MISSING:
            # A nil inside a map or slice is a nil interface: printed whatever the verb.
            self.buf.append("interface {}(nil)" if self.sharp_v else _NIL)
        elif isinstance(value, TypedInt):
            self.fmt_int(value, not value.go_type.startswith("u"), verb)
        elif isinstance(value, GoObject):
            self.print_object(value, verb)
        elif isinstance(value, bool):
            self.fmt_bool(value, verb)
        elif isinstance(value, int):
            self.fmt_int(value, True, verb)
        elif isinstance(value, float):
            self.fmt_float(value, verb, getattr(value, "bits", 64))
        elif isinstance(value, str):
            self.fmt_string(value, verb)
        elif isinstance(value, list | tuple):
            if verb in "sqxX" and getattr(value, "go_type", "") in ("[]uint8", "[]byte"):
                self.fmt_bytes(bytes(value), verb, type_name(value))
            else:
                self.print_list(value, verb, depth)
        elif isinstance(value, complex):
            self.fmt_complex(value, verb)
        elif isinstance(value, bytes | bytearray):
            # printArg names a top-level []byte "[]byte"; reflection inside containers says "[]uint8".
            self.fmt_bytes(value, verb, "[]byte" if depth == 0 else "[]uint8")
        elif isinstance(value, Mapping):
            self.print_map(value, verb, depth)
        elif callable(value):
            self.fmt_pointer(value, verb)
        else:
            self.pad(str(value))

    def print_object(self, value: GoObject, verb: str) -> None:
        if verb == "w" and not self.erroring:
            self.bad_verb(verb, value)
            return
        if not self.erroring and not self.sharp_v and verb in "vsxXq":
            s = value.go_string()
            if s is not None:
                self.fmt_string(s, verb)
                return
        number = getattr(value, "go_number", None)
        if verb not in "vsq" and (isinstance(value, int) or callable(number)):
            # An int-backed Go type (enum, duration, time.Month) prints its number for numeric verbs.
            self.fmt_int(int(value) if isinstance(value, int) else int(number()), True, verb)  # type: ignore[misc]
            return
        self.pad(value.go_format())

    def print_map(self, m: Mapping[Any, Any], verb: str, depth: int) -> None:
        if verb == "w" and not self.erroring:
            self.bad_verb(verb, m)
            return
        buf = self.buf
        if self.sharp_v:
            if getattr(m, "is_nil", False):
                buf.append(type_name(m) + "(nil)")
                return
            buf.append(type_name(m) + "{")
            sep = ", "
        else:
            buf.append("map[")
            sep = " "
        for i, k in enumerate(_sorted_keys(m)):
            if i:
                buf.append(sep)
            self.print_value(k, verb, depth + 1)
            buf.append(":")
            self.print_value(m[k], verb, depth + 1)
        buf.append("}" if self.sharp_v else "]")

    def print_list(self, items: list[Any] | tuple[Any, ...], verb: str, depth: int) -> None:
        if verb == "w" and not self.erroring:
            self.bad_verb(verb, items)
            return
        buf = self.buf
        if self.sharp_v:
            if getattr(items, "is_nil", False):
                buf.append(type_name(items) + "(nil)")
                return
            buf.append(type_name(items) + "{")
            sep = ", "
        else:
            buf.append("[")
            sep = " "
        for i, v in enumerate(items):
            if i:
                buf.append(sep)
            self.print_value(v, verb, depth + 1)
        buf.append("}" if self.sharp_v else "]")

    # -- Printf --------------------------------------------------------------------------------------------

    def arg_number(self, argnum: int, fmt: str, i: int, nargs: int) -> tuple[int, int, bool]:
        """An explicit argument index ``[n]`` at ``fmt[i]``: (new argnum, new i, found)."""
        if i >= len(fmt) or fmt[i] != "[":
            return argnum, i, False
        self.reordered = True
        index, width, ok = _parse_arg_number(fmt, i)
        if ok and 0 <= index < nargs:
            return index, i + width, True
        self.good_argnum = False
        return argnum, i + width, ok

    def do_printf(self, fmt: str, args: tuple[Any, ...]) -> None:
        buf = self.buf
        end = len(fmt)
        nargs = len(args)
        argnum = 0
        after_index = False
        self.reordered = False
        i = 0
        while i < end:
            self.good_argnum = True
            j = fmt.find("%", i)
            if j < 0:
                buf.append(fmt[i:])
                break
            if j > i:
                buf.append(fmt[i:j])
            i = j + 1
            if i < end and argnum < nargs:
                # Shortcut for the commonest directives: %s / %v of a string, %d / %v of an int, no flags.
                c = fmt[i]
                arg = args[argnum]
                ta = type(arg)
                if ta is str and (c == "s" or c == "v"):
                    buf.append(arg)
                    argnum += 1
                    i += 1
                    continue
                if ta is int and (c == "d" or c == "v"):
                    buf.append(str(arg))
                    argnum += 1
                    i += 1
                    continue
            self.clear_flags()
            simple = False
            while i < end:
                c = fmt[i]
                if c == "#":
                    self.sharp = True
                elif c == "0":
                    self.zero = True
                elif c == "+":
                    self.plus = True
                elif c == "-":
                    self.minus = True
                elif c == " ":
                    self.space = True
                else:
                    if "a" <= c <= "z" and argnum < nargs:
                        # Fast path: flags and a lower-case verb, nothing else.
                        if c == "v" or c == "w":
                            self.sharp_v, self.sharp = self.sharp, False
                            self.plus_v, self.plus = self.plus, False
                        self.print_arg(args[argnum], c)
                        argnum += 1
                        i += 1
                        simple = True
                    break
                i += 1
            if simple:
                continue

            argnum, i, after_index = self.arg_number(argnum, fmt, i, nargs)

            if i < end and fmt[i] == "*":
                i += 1
                self.wid, self.wid_present, argnum = _int_from_arg(args, argnum)
                if not self.wid_present:
                    buf.append("%!(BADWIDTH)")
                if self.wid < 0:
                    self.wid = -self.wid
                    self.minus = True
                    self.zero = False
                after_index = False
            else:
                self.wid, self.wid_present, i = _parse_num(fmt, i, end)
                if after_index and self.wid_present:
                    self.good_argnum = False

            if i + 1 < end and fmt[i] == ".":
                i += 1
                if after_index:
                    self.good_argnum = False
                argnum, i, after_index = self.arg_number(argnum, fmt, i, nargs)
                if i < end and fmt[i] == "*":
                    i += 1
                    self.prec, self.prec_present, argnum = _int_from_arg(args, argnum)
                    if self.prec < 0:
                        self.prec = 0
                        self.prec_present = False
                    if not self.prec_present:
                        buf.append("%!(BADPREC)")
                    after_index = False
                else:
                    self.prec, self.prec_present, i = _parse_num(fmt, i, end)
                    if not self.prec_present:
                        self.prec = 0
                        self.prec_present = True

            if not after_index:
                argnum, i, after_index = self.arg_number(argnum, fmt, i, nargs)

            if i >= end:
                buf.append("%!(NOVERB)")
                break

            verb = fmt[i]
            i += 1
            if 0xD800 <= ord(verb) <= 0xDFFF:
                verb = "\ufffd"  # an invalid UTF-8 byte decodes to RuneError
            if verb == "%":
                buf.append("%")
            elif not self.good_argnum:
                buf.append("%!" + verb + "(BADINDEX)")
            elif argnum >= nargs:
                buf.append("%!" + verb + "(MISSING)")
            else:
                if verb == "v" or verb == "w":
                    self.sharp_v, self.sharp = self.sharp, False
                    self.plus_v, self.plus = self.plus, False
                self.print_arg(args[argnum], verb)
                argnum += 1

        if not self.reordered and argnum < nargs:
            self.clear_flags()
            buf.append("%!(EXTRA ")
            for n, arg in enumerate(args[argnum:]):
                if n:
                    buf.append(", ")
                if arg is None or arg is MISSING:
                    buf.append(_NIL)
                else:
                    buf.append(type_name(arg) + "=")
                    self.print_arg(arg, "v")
            buf.append(")")


def _parse_num(s: str, start: int, end: int) -> tuple[int, bool, int]:
    """fmt's parsenum: a decimal number at ``s[start:end]``; (0, False, end) when it overflows."""
    num = 0
    isnum = False
    i = start
    while i < end and "0" <= s[i] <= "9":
        if num > _TOO_LARGE:
            return 0, False, end
        num = num * 10 + ord(s[i]) - 48
        isnum = True
        i += 1
    return num, isnum, i


def _parse_arg_number(fmt: str, i: int) -> tuple[int, int, bool]:
    """fmt's parseArgNumber on ``fmt[i:]`` (which starts with ``[``): (index, consumed width, ok)."""
    if len(fmt) - i < 3:
        return 0, 1, False
    close = fmt.find("]", i + 1)
    if close < 0:
        return 0, 1, False
    width, ok, newi = _parse_num(fmt, i + 1, close)
    if not ok or newi != close:
        return 0, close - i + 1, False
    return width - 1, close - i + 1, True


def _int_from_arg(args: tuple[Any, ...], argnum: int) -> tuple[int, bool, int]:
    """fmt's intFromArg: the ``*`` width or precision argument."""
    if argnum >= len(args):
        return 0, False, argnum
    a = args[argnum]
    num = 0
    ok = False
    if isinstance(a, int) and not isinstance(a, bool):
        if isinstance(a, TypedInt) and a.go_type.startswith("u"):
            ok = 0 <= a < 1 << 63
        else:
            ok = -(1 << 63) <= a < 1 << 63
        if ok:
            num = int(a)
    if num > _TOO_LARGE or num < -_TOO_LARGE:
        return 0, False, argnum + 1
    return num, ok, argnum + 1


# ----------------------------------------------------------------------------------------------------------
# Public API


def format_value(value: Any) -> str:
    """What ``%v`` (and ``fmt.Sprint`` of one operand) prints for ``value``."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is int:
        return str(value)
    if t is bool:
        return "true" if value else "false"
    if t is float:
        return _plain_float(value)
    if value is None or value is MISSING:
        return _NIL
    if t is dict or t is list:
        return _plain_v(value)
    p = _Printer()
    p.print_arg(value, "v")
    return "".join(p.buf)


def _plain_float(x: float) -> str:
    if x != x:
        return "NaN"
    if x == math.inf:
        return "+Inf"
    if x == -math.inf:
        return "-Inf"
    return _float_v(x)


def _plain_v(value: Any) -> str:
    """%v without flags of a value inside a map or slice (or of a map or slice itself)."""
    t = type(value)
    if t is str:
        return value  # type: ignore[no-any-return]
    if t is dict:
        try:
            keys = sorted(value)
        except TypeError:
            keys = _sorted_keys(value)
        else:
            if keys and type(keys[0]) is not str:
                keys = _sorted_keys(value)
        return "map[" + " ".join([_plain_v(k) + ":" + _plain_v(value[k]) for k in keys]) + "]"
    if t is list or t is tuple:
        return "[" + " ".join([_plain_v(v) for v in value]) + "]"
    if t is int:
        return str(value)
    if t is float:
        return _plain_float(value)
    if t is bool:
        return "true" if value else "false"
    if value is None or value is MISSING:
        return _NIL
    p = _Printer()
    p.print_value(value, "v", 1)
    return "".join(p.buf)


def sprint(*args: Any) -> str:
    """fmt.Sprint: operands in their %v form, with a space between two operands when neither is a string."""
    if len(args) == 1:
        return format_value(args[0])
    out: list[str] = []
    prev_string = False
    for n, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if n and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(arg))
        prev_string = is_string
    return "".join(out)


def sprintln(*args: Any) -> str:
    """fmt.Sprintln: operands in their %v form separated by spaces, then a newline."""
    return " ".join([format_value(a) for a in args]) + "\n"


def sprintf(format: str, *args: Any) -> str:
    """fmt.Sprintf."""
    p = _Printer()
    p.do_printf(format, args)
    return "".join(p.buf)
