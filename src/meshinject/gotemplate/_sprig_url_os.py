"""``urlParse``/``urlJoin`` (Go's net/url), path functions (Go's path and path/filepath), env access."""

from __future__ import annotations

import ipaddress
import os
import random
import socket
from dataclasses import dataclass
from typing import Any

from meshinject.gotemplate._sprig_base import FuncError, from_bytes, go_kind, go_quote, to_bytes
from meshinject.gotemplate.funcs import go_func

_PATH, _PATH_SEGMENT, _HOST, _ZONE, _USER_PASSWORD, _QUERY_COMPONENT, _FRAGMENT = range(7)


def _should_escape(c: int, mode: int) -> bool:
    ch = chr(c)
    if ch.isascii() and ch.isalnum():
        return False
    if mode in (_HOST, _ZONE) and ch in "!$&'()*+,;=:[]<>\"":
        return False
    if ch in "-_.~":
        return False
    if ch in "$&+,/:;=?@":
        if mode == _PATH:
            return ch == "?"
        if mode == _PATH_SEGMENT:
            return ch in "/;,?"
        if mode == _USER_PASSWORD:
            return ch in "@/?:"
        if mode == _QUERY_COMPONENT:
            return True
        if mode == _FRAGMENT:
            return False
    return not (mode == _FRAGMENT and ch in "!()*")


def _escape(s: str, mode: int) -> str:
    out = []
    for b in to_bytes(s):
        if b == 0x20 and mode == _QUERY_COMPONENT:
            out.append("+")
        elif _should_escape(b, mode):
            out.append(f"%{b:02X}")
        else:
            out.append(chr(b))
    return "".join(out)


class _URLError(ValueError):
    pass


def _is_hex(c: str) -> bool:
    return c in "0123456789abcdefABCDEF"


def _unescape(s: str, mode: int) -> str:
    raw = to_bytes(s)
    n = 0
    has_plus = False
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            n += 1
            if i + 2 >= len(raw) or not _is_hex(chr(raw[i + 1])) or not _is_hex(chr(raw[i + 2])):
                bad = from_bytes(raw[i : i + 3])
                raise _URLError(f"invalid URL escape {go_quote(bad)}")
            if mode == _HOST and int(chr(raw[i + 1]), 16) < 8 and raw[i : i + 3] != b"%25":
                raise _URLError(f"invalid URL escape {go_quote(from_bytes(raw[i : i + 3]))}")
            if mode == _ZONE:
                v = int(raw[i + 1 : i + 3].decode(), 16)
                if raw[i : i + 3] != b"%25" and v != 0x20 and _should_escape(v, _HOST):
                    raise _URLError(f"invalid URL escape {go_quote(from_bytes(raw[i : i + 3]))}")
            i += 3
            continue
        if c == 0x2B:
            has_plus = mode == _QUERY_COMPONENT
        elif mode in (_HOST, _ZONE) and c < 0x80 and _should_escape(c, mode):
            raise _URLError(f"invalid character {go_quote(chr(c))} in host name")
        i += 1
    if n == 0 and not has_plus:
        return s
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            out.append(int(raw[i + 1 : i + 3].decode(), 16))
            i += 3
            continue
        out.append(0x20 if c == 0x2B and mode == _QUERY_COMPONENT else c)
        i += 1
    return from_bytes(bytes(out))


@dataclass
class _URL:
    scheme: str = ""
    opaque: str = ""
    user: tuple[str, str | None] | None = None
    host: str = ""
    path: str = ""
    raw_path: str = ""
    omit_host: bool = False
    force_query: bool = False
    raw_query: str = ""
    fragment: str = ""
    raw_fragment: str = ""

    def set_path(self, p: str) -> None:
        self.path = _unescape(p, _PATH)
        self.raw_path = "" if _escape(self.path, _PATH) == p else p

    def set_fragment(self, f: str) -> None:
        self.fragment = _unescape(f, _FRAGMENT)
        self.raw_fragment = "" if _escape(self.fragment, _FRAGMENT) == f else f

    def userinfo(self) -> str:
        if self.user is None:
            return ""
        name, password = self.user
        s = _escape(name, _USER_PASSWORD)
        if password is not None:
            s += ":" + _escape(password, _USER_PASSWORD)
        return s

    def escaped_path(self) -> str:
        if self.raw_path and _valid_encoded(self.raw_path, _PATH):
            try:
                if _unescape(self.raw_path, _PATH) == self.path:
                    return self.raw_path
            except _URLError:
                pass
        if self.path == "*":
            return "*"
        return _escape(self.path, _PATH)

    def escaped_fragment(self) -> str:
        if self.raw_fragment and _valid_encoded(self.raw_fragment, _FRAGMENT):
            try:
                if _unescape(self.raw_fragment, _FRAGMENT) == self.fragment:
                    return self.raw_fragment
            except _URLError:
                pass
        return _escape(self.fragment, _FRAGMENT)

    def hostname(self) -> str:
        host = self.host
        colon = host.rfind(":")
        if colon != -1 and _valid_port(host[colon:]):
            host = host[:colon]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return host

    def string(self) -> str:
        buf = []
        if self.scheme:
            buf.append(self.scheme + ":")
        if self.opaque:
            buf.append(self.opaque)
        else:
            if (self.scheme or self.host or self.user is not None) and not (
                self.omit_host and not self.host and self.user is None
            ):
                if self.host or self.path or self.user is not None:
                    buf.append("//")
                if self.user is not None:
                    buf.append(self.userinfo() + "@")
                if self.host:
                    buf.append(_escape(self.host, _HOST))
            path = self.escaped_path()
            if path and path[0] != "/" and self.host:
                buf.append("/")
            if not "".join(buf) and ":" in path.split("/", 1)[0]:
                buf.append("./")
            buf.append(path)
        if self.force_query or self.raw_query:
            buf.append("?" + self.raw_query)
        if self.fragment:
            buf.append("#" + self.escaped_fragment())
        return "".join(buf)


def _valid_encoded(s: str, mode: int) -> bool:
    for b in to_bytes(s):
        if chr(b) in "!$&'()*+,;=:@[]%":
            continue
        if _should_escape(b, mode):
            return False
    return True


def _valid_port(port: str) -> bool:
    if port == "":
        return True
    return port[0] == ":" and all("0" <= c <= "9" for c in port[1:])


def _get_scheme(raw: str) -> tuple[str, str]:
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if (c.isascii() and c.isdigit()) or c in "+-.":
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise _URLError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _valid_userinfo(s: str) -> bool:
    return all((c.isascii() and c.isalnum()) or c in "-._:~!$&'()*+,;=%@" for c in s)


def _parse_host(scheme: str, host: str) -> str:
    open_idx = host.rfind("[")
    if open_idx != -1:
        close_idx = host.rfind("]")
        if close_idx < 0:
            raise _URLError("missing ']' in host")
        colon_port = host[close_idx + 1 :]
        if not _valid_port(colon_port):
            raise _URLError(f"invalid port {go_quote(colon_port)} after host")
        port = _unescape(colon_port, _HOST)
        hostname = host[open_idx + 1 : close_idx]
        zone_idx = hostname.find("%25")
        if zone_idx >= 0:
            name = _unescape(hostname[:zone_idx], _HOST) + _unescape(hostname[zone_idx:], _ZONE)
        else:
            name = _unescape(hostname, _HOST)
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            raise _URLError(f"invalid host: ParseAddr({go_quote(name)}): unable to parse IP") from None
        if addr.version == 4:
            raise _URLError("invalid IP-literal")
        return "[" + name + "]" + port
    i = host.find(":")
    if i != -1:
        # Go 1.26 rejects a second colon only under GODEBUG urlstrictcolons=1, the default for modules that
        # declare go 1.26; programs built from older go.mod files (Sprig's, Istio's) split at the last one
        i = host.rfind(":")
        colon_port = host[i:]
        if not _valid_port(colon_port):
            raise _URLError(f"invalid port {go_quote(colon_port)} after host")
    return _unescape(host, _HOST)


def _parse_authority(scheme: str, authority: str) -> tuple[tuple[str, str | None] | None, str]:
    i = authority.rfind("@")
    host = _parse_host(scheme, authority if i < 0 else authority[i + 1 :])
    if i < 0:
        return None, host
    userinfo = authority[:i]
    if not _valid_userinfo(userinfo):
        raise _URLError("net/url: invalid userinfo")
    if ":" not in userinfo:
        return (_unescape(userinfo, _USER_PASSWORD), None), host
    name, _, password = userinfo.partition(":")
    return (_unescape(name, _USER_PASSWORD), _unescape(password, _USER_PASSWORD)), host


def parse_url(raw: str) -> _URL:
    """``url.Parse``; raises _URLError with Go's message (``parse "...": ...``)."""
    u_text, has_frag, frag = raw.partition("#")
    try:
        url = _parse(u_text)
    except _URLError as exc:
        raise _URLError(f"parse {go_quote(u_text)}: {exc}") from None
    if has_frag and frag:
        try:
            url.set_fragment(frag)
        except _URLError as exc:
            raise _URLError(f"parse {go_quote(raw)}: {exc}") from None
    return url


def _parse(raw: str) -> _URL:
    if any(c < " " or c == "\x7f" for c in raw):
        raise _URLError("net/url: invalid control character in URL")
    url = _URL()
    if raw == "*":
        url.path = "*"
        return url
    scheme, rest = _get_scheme(raw)
    url.scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        url.force_query = True
        rest = rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if url.scheme:
            url.opaque = rest
            return url
        if ":" in rest.split("/", 1)[0]:
            raise _URLError("first path segment in URL cannot contain colon")
    if (url.scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, rest = rest[2:], ""
        slash = authority.find("/")
        if slash >= 0:
            authority, rest = authority[:slash], authority[slash:]
        url.user, url.host = _parse_authority(url.scheme, authority)
    elif url.scheme and rest.startswith("/"):
        url.omit_host = True
    url.set_path(rest)
    return url


@go_func("string")
def url_parse(v: str) -> dict[str, Any]:
    try:
        u = parse_url(v)
    except _URLError as exc:
        raise FuncError(f"unable to parse url: {exc}") from None
    return {
        "scheme": u.scheme,
        "host": u.host,
        "hostname": u.hostname(),
        "path": u.path,
        "query": u.raw_query,
        "opaque": u.opaque,
        "fragment": u.fragment,
        "userinfo": u.userinfo() if u.user is not None else "",
    }


def _dict_get_or_empty(d: dict[str, Any], key: str) -> str:
    if key not in d:
        return ""
    value = d[key]
    if value is None:
        raise FuncError("runtime error: invalid memory address or nil pointer dereference")
    if not isinstance(value, str):
        raise FuncError(f"unable to parse {key} key, must be of type string, but {go_kind(value)} found")
    return value


@go_func("map[string]interface {}")
def url_join(d: dict[str, Any] | None) -> str:
    d = d or {}
    u = _URL(
        scheme=_dict_get_or_empty(d, "scheme"),
        host=_dict_get_or_empty(d, "host"),
        path=_dict_get_or_empty(d, "path"),
        raw_query=_dict_get_or_empty(d, "query"),
        opaque=_dict_get_or_empty(d, "opaque"),
        fragment=_dict_get_or_empty(d, "fragment"),
    )
    userinfo = _dict_get_or_empty(d, "userinfo")
    if userinfo:
        try:
            u.user = parse_url(f"proto://{userinfo}@host").user
        except _URLError as exc:
            raise FuncError(f"unable to parse userinfo in dict: {exc}") from None
    return u.string()


# --- path and path/filepath ---------------------------------------------------------------------------------


def path_clean(p: str) -> str:
    """``path.Clean``: lexical processing of slash-separated paths."""
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for elem in p.split("/"):
        if elem in ("", "."):
            continue
        if elem == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(elem)
    out = "/".join(parts)
    if rooted:
        return "/" + out
    return out or "."


@go_func("string")
def base(p: str) -> str:
    if p == "":
        return "."
    p = p.rstrip("/")
    if p == "":
        return "/"
    return p[p.rfind("/") + 1 :]


@go_func("string")
def dir_(p: str) -> str:
    return path_clean(p[: p.rfind("/") + 1])


@go_func("string")
def clean(p: str) -> str:
    return path_clean(p)


@go_func("string")
def ext(p: str) -> str:
    i = len(p) - 1
    while i >= 0 and p[i] != "/":
        if p[i] == ".":
            return p[i:]
        i -= 1
    return ""


@go_func("string")
def is_abs(p: str) -> bool:
    return p.startswith("/")


# --- environment --------------------------------------------------------------------------------------------


@go_func("string")
def env(name: str) -> str:
    return os.environ.get(name, "")


def _is_shell_special(c: str) -> bool:
    return c in "*#$@!?-" or "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return c == "_" or (c.isascii() and c.isalnum())


def _get_shell_name(s: str) -> tuple[str, int]:
    """``os.getShellName``: the variable name after a ``$`` and how many bytes it used."""
    if s[0] == "{":
        if len(s) > 2 and _is_shell_special(s[1]) and s[2] == "}":
            return s[1:2], 3
        for i in range(1, len(s)):
            if s[i] == "}":
                if i == 1:
                    return "", 2  # bad syntax: "${}"
                return s[1:i], i + 1
        return "", 1  # bad syntax: no closing brace
    if _is_shell_special(s[0]):
        return s[0:1], 1
    i = 0
    while i < len(s) and _is_alnum(s[i]):
        i += 1
    return s[:i], i


@go_func("string")
def expandenv(s: str) -> str:
    """``os.ExpandEnv``."""
    buf: list[str] = []
    i = 0
    j = 0
    while j < len(s):
        if s[j] == "$" and j + 1 < len(s):
            buf.append(s[i:j])
            name, w = _get_shell_name(s[j + 1 :])
            if name == "" and w > 0:
                pass  # invalid syntax: eat the characters
            elif name == "":
                buf.append(s[j])  # a lone "$" stays
            else:
                buf.append(os.environ.get(name, ""))
            j += w
            i = j + 1
        j += 1
    if not buf:
        return s
    return "".join(buf) + s[i:]


@go_func("string")
def get_host_by_name(name: str) -> str:
    try:
        infos = socket.getaddrinfo(name, None)
    except (OSError, UnicodeError):
        infos = []
    addrs = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addrs:
        raise FuncError("invalid argument to Intn")
    return random.choice(addrs)
