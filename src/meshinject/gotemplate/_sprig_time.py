"""Go's ``time`` package as Sprig's date functions need it: ``time.Time`` values, layouts, durations.

A :class:`GoTime` is an instant (Unix seconds + nanoseconds) with a location; it prints like Go's
``Time.String()`` and exposes the usual methods (``.Format``, ``.Unix``, ``.Year`` ...) to templates.
Layout formatting and parsing follow ``time/format.go`` token by token.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC as _PY_UTC
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from meshinject.gotemplate._sprig_base import FuncError, GoObject, TypedInt, bound_method, to_bytes
from meshinject.gotemplate._sprig_cast import INT64_MAX, INT64_MIN, StrconvError, parse_int, wrap_int64
from meshinject.gotemplate.funcs import go_func

NANOSECOND = 1
MICROSECOND = 1000
MILLISECOND = 1000 * MICROSECOND
SECOND = 1000 * MILLISECOND
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNIX_TO_ABSOLUTE_DAYS = 719468  # days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar
ZERO_TIME_UNIX = -62135596800  # 0001-01-01T00:00:00Z, Go's zero Time

LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December"]  # fmt: skip
LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


# --- calendar arithmetic (any year, no datetime range limits) -----------------------------------------------


def civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01."""
    z = days + _UNIX_TO_ABSOLUTE_DAYS
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - _UNIX_TO_ABSOLUTE_DAYS


def is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def date_to_unix(year: int, month: int, day: int, hour: int, minute: int, sec: int) -> int:
    """Unix seconds of a wall-clock date in UTC, normalising out-of-range fields as ``time.Date`` does."""
    month -= 1
    year += month // 12
    month = month % 12 + 1
    days = days_from_civil(year, month, 1) + day - 1
    return days * 86400 + hour * 3600 + minute * 60 + sec


# --- locations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoLocation:
    """A ``*time.Location``: UTC, a fixed zone, or a tz database zone."""

    name: str
    offset: int = 0
    zone: ZoneInfo | None = None

    def lookup(self, unix: int) -> tuple[str, int]:
        """The zone abbreviation and UTC offset in force at ``unix``."""
        if self.zone is None:
            return (self.name if self.name != "Local" else "UTC"), self.offset
        clamped = min(max(unix, -62135596800 + 86400 * 2), 253402300799 - 86400 * 2)
        dt = datetime.fromtimestamp(clamped, tz=_PY_UTC).astimezone(self.zone)
        off = dt.utcoffset()
        return (dt.tzname() or ""), int(off.total_seconds()) if off is not None else 0

    def lookup_name(self, abbrev: str, unix: int) -> int | None:
        """The offset of zone abbreviation ``abbrev`` around ``unix``, if this location uses it."""
        if self.zone is None:
            return self.offset if self.name == abbrev else None
        for probe in (unix, unix - 86400 * 180, unix + 86400 * 180):
            name, off = self.lookup(probe - 0)
            if name == abbrev:
                return off
        return None

    def __str__(self) -> str:
        return self.name


UTC = GoLocation("UTC")


def _load_local() -> GoLocation:
    tz = os.environ.get("TZ")
    key: str | None = None
    if tz is not None:
        if tz in ("", "UTC"):
            return GoLocation("Local")
        key = tz.removeprefix(":")
        if key.startswith("/"):
            key = key.split("zoneinfo/", 1)[-1]
    else:
        try:
            target = os.path.realpath("/etc/localtime")
            if "zoneinfo/" in target:
                key = target.split("zoneinfo/", 1)[1]
        except OSError:  # pragma: no cover - unusual systems
            key = None
    if key:
        try:
            return GoLocation("Local", zone=ZoneInfo(key))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return GoLocation("Local")


_LOCAL: GoLocation | None = None


def local() -> GoLocation:
    global _LOCAL
    if _LOCAL is None:
        _LOCAL = _load_local()
    return _LOCAL


class LocationError(ValueError):
    pass


def load_location(name: str) -> GoLocation:
    """``time.LoadLocation``."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return local()
    if ".." in name or name[0] in "/\\":
        raise LocationError("time: invalid location name")
    try:
        return GoLocation(name, zone=ZoneInfo(name))
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise LocationError(f"unknown time zone {name}") from None


def fixed_zone(name: str, offset: int) -> GoLocation:
    return GoLocation(name, offset)


# --- Time ---------------------------------------------------------------------------------------------------

_PROCESS_START = _time.monotonic()


class GoMonth(GoObject):
    __slots__ = ("value",)
    go_kind = "int"

    def __init__(self, value: int) -> None:
        self.value = value

    def go_type_name(self) -> str:
        return "time.Month"

    def go_string(self) -> str:
        if 1 <= self.value <= 12:
            return LONG_MONTHS[self.value - 1]
        return f"%!Month({self.value})"

    def go_number(self) -> int:
        return self.value

    def go_json(self) -> Any:
        return self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoMonth) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("month", self.value))


class GoWeekday(GoMonth):
    __slots__ = ()

    def go_type_name(self) -> str:
        return "time.Weekday"

    def go_string(self) -> str:
        if 0 <= self.value <= 6:
            return LONG_DAYS[self.value]
        return f"%!Weekday({self.value})"


class GoDuration(GoObject):
    """A ``time.Duration`` (int64 nanoseconds) that prints as ``1h2m3s``."""

    __slots__ = ("ns",)
    go_kind = "int64"

    def __init__(self, ns: int) -> None:
        self.ns = wrap_int64(ns)

    def go_type_name(self) -> str:
        return "time.Duration"

    def go_string(self) -> str:
        return format_duration(self.ns)

    def go_number(self) -> int:
        return self.ns

    def go_json(self) -> Any:
        return self.ns

    def go_method(self, name: str) -> Callable[..., Any] | None:
        entry = _DURATION_METHODS.get(name)
        if entry is None:
            return None
        params, fn = entry
        return bound_method(fn, self, *params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoDuration) and other.ns == self.ns

    def __hash__(self) -> int:
        return hash(("duration", self.ns))


_DURATION_METHODS: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "String": ((), lambda d: format_duration(d.ns)),
    "Hours": ((), lambda d: d.ns / HOUR),
    "Minutes": ((), lambda d: d.ns / MINUTE),
    "Seconds": ((), lambda d: d.ns / SECOND),
    "Milliseconds": ((), lambda d: TypedInt(_trunc_div(d.ns, MILLISECOND), "int64")),
    "Nanoseconds": ((), lambda d: TypedInt(d.ns, "int64")),
    "Round": (("any",), lambda d, m: GoDuration(duration_round(d.ns, _dur_arg(m)))),
    "Truncate": (("any",), lambda d, m: GoDuration(d.ns if _dur_arg(m) <= 0 else d.ns - _go_rem(d.ns, _dur_arg(m)))),
    "Abs": ((), lambda d: GoDuration(abs(d.ns) if d.ns != INT64_MIN else INT64_MAX)),
}


def _go_rem(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return -q if a < 0 else q


def _dur_arg(value: Any) -> int:
    if isinstance(value, GoDuration):
        return value.ns
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    from meshinject.gotemplate._sprig_base import go_type_of

    got = "nil" if value is None else go_type_of(value)
    raise FuncError(f"wrong type for value; expected time.Duration; got {got}")


class GoTime(GoObject):
    """A Go ``time.Time``."""

    __slots__ = ("loc", "mono", "nsec", "sec")
    go_kind = "struct"

    def __init__(self, sec: int, nsec: int = 0, loc: GoLocation = UTC, mono: float | None = None) -> None:
        sec += nsec // SECOND
        self.sec = sec
        self.nsec = nsec % SECOND
        self.loc = loc
        self.mono = mono

    @classmethod
    def now(cls) -> GoTime:
        ns = _time.time_ns()
        return cls(ns // SECOND, ns % SECOND, local(), _time.monotonic() - _PROCESS_START)

    @classmethod
    def zero(cls) -> GoTime:
        return cls(ZERO_TIME_UNIX, 0, UTC)

    # --- GoObject ---

    def go_type_name(self) -> str:
        return "time.Time"

    def go_string(self) -> str:
        s = self.format("2006-01-02 15:04:05.999999999 -0700 MST")
        if self.mono is not None:
            ns = round(self.mono * 1e9)
            sign = "-" if ns < 0 else "+"
            s += f" m={sign}{abs(ns) // SECOND}.{abs(ns) % SECOND:09d}"
        return s

    def go_json(self) -> Any:
        year = self.date()[0]
        if not 0 <= year <= 9999:
            raise FuncError("Time.MarshalJSON: year outside of range [0,9999]")
        return self.format("2006-01-02T15:04:05.999999999Z07:00")

    def go_method(self, name: str) -> Callable[..., Any] | None:
        entry = _TIME_METHODS.get(name)
        if entry is None:
            return None
        params, fn = entry
        return bound_method(fn, self, *params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoTime) and (other.sec, other.nsec, other.loc, other.mono) == (
            self.sec,
            self.nsec,
            self.loc,
            self.mono,
        )

    def __hash__(self) -> int:
        return hash((self.sec, self.nsec))

    def __repr__(self) -> str:
        return f"GoTime({self.go_string()!r})"

    # --- calendar ---

    def zone(self) -> tuple[str, int]:
        return self.loc.lookup(self.sec)

    def _local_seconds(self) -> int:
        return self.sec + self.zone()[1]

    def date(self) -> tuple[int, int, int]:
        return civil_from_days(self._local_seconds() // 86400)

    def clock(self) -> tuple[int, int, int]:
        s = self._local_seconds() % 86400
        return s // 3600, s % 3600 // 60, s % 60

    def weekday(self) -> int:
        return (self._local_seconds() // 86400 + 4) % 7

    def yday(self) -> int:
        y, m, d = self.date()
        return days_from_civil(y, m, d) - days_from_civil(y, 1, 1) + 1

    def in_loc(self, loc: GoLocation) -> GoTime:
        return GoTime(self.sec, self.nsec, loc, self.mono)

    def add(self, ns: int) -> GoTime:
        total = self.sec * SECOND + self.nsec + ns
        return GoTime(total // SECOND, total % SECOND, self.loc, None if self.mono is None else self.mono + ns / 1e9)

    def unix_nano(self) -> int:
        return self.sec * SECOND + self.nsec

    def format(self, layout: str) -> str:
        return format_time(self, layout)


def _add_date(t: GoTime, years: int, months: int, days: int) -> GoTime:
    y, m, d = t.date()
    hh, mm, ss = t.clock()
    wall = date_to_unix(y + years, m + months, d + days, hh, mm, ss)
    return _from_wall(wall, t.nsec, t.loc)


def _from_wall(wall: int, nsec: int, loc: GoLocation) -> GoTime:
    """The instant whose wall clock in ``loc`` reads ``wall`` (seconds since 1970 on that clock)."""
    _, off = loc.lookup(wall)
    unix = wall - off
    _, off2 = loc.lookup(unix)
    if off2 != off:
        unix = wall - off2
    return GoTime(unix, nsec, loc)


def _since(t: GoTime) -> int:
    now = GoTime.now()
    return now.unix_nano() - t.unix_nano()


def _cmp(a: GoTime, b: Any) -> int:
    x, y = a.unix_nano(), _need_time(b).unix_nano()
    return (x > y) - (x < y)


_TIME_METHODS: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "Format": (("string",), lambda t, layout: t.format(layout)),
    "String": ((), lambda t: t.go_string()),
    "Unix": ((), lambda t: TypedInt(t.sec, "int64")),
    "UnixMilli": ((), lambda t: TypedInt(t.unix_nano() // MILLISECOND, "int64")),
    "UnixMicro": ((), lambda t: TypedInt(t.unix_nano() // MICROSECOND, "int64")),
    "UnixNano": ((), lambda t: TypedInt(t.unix_nano(), "int64")),
    "Year": ((), lambda t: t.date()[0]),
    "Month": ((), lambda t: GoMonth(t.date()[1])),
    "Day": ((), lambda t: t.date()[2]),
    "Hour": ((), lambda t: t.clock()[0]),
    "Minute": ((), lambda t: t.clock()[1]),
    "Second": ((), lambda t: t.clock()[2]),
    "Nanosecond": ((), lambda t: t.nsec),
    "YearDay": ((), lambda t: t.yday()),
    "Weekday": ((), lambda t: GoWeekday(t.weekday())),
    "UTC": ((), lambda t: GoTime(t.sec, t.nsec, UTC, t.mono)),
    "Local": ((), lambda t: GoTime(t.sec, t.nsec, local(), t.mono)),
    "Location": ((), lambda t: _LocationValue(t.loc)),
    "Add": (("any",), lambda t, d: t.add(_dur_arg(d))),
    "AddDate": (("int", "int", "int"), lambda t, y, m, d: _add_date(t, y, m, d)),
    "Sub": (("any",), lambda t, u: GoDuration(t.unix_nano() - _need_time(u).unix_nano())),
    "Before": (("any",), lambda t, u: _cmp(t, u) < 0),
    "After": (("any",), lambda t, u: _cmp(t, u) > 0),
    "Equal": (("any",), lambda t, u: _cmp(t, u) == 0),
    "Compare": (("any",), lambda t, u: _cmp(t, u)),
    "IsZero": ((), lambda t: t.sec == ZERO_TIME_UNIX and t.nsec == 0),
    "Round": (("any",), lambda t, d: _round_time(t, _dur_arg(d))),
    "Truncate": (("any",), lambda t, d: _truncate_time(t, _dur_arg(d))),
}


class _LocationValue(GoObject):
    """A ``*time.Location`` in a template: it prints its name."""

    __slots__ = ("loc",)

    def __init__(self, loc: GoLocation) -> None:
        self.loc = loc

    def go_type_name(self) -> str:
        return "*time.Location"

    def go_string(self) -> str:
        return self.loc.name


def _truncate_time(t: GoTime, d: int) -> GoTime:
    if d <= 0:
        return GoTime(t.sec, t.nsec, t.loc)
    since_zero = (t.sec - ZERO_TIME_UNIX) * SECOND + t.nsec
    return GoTime(t.sec, t.nsec, t.loc).add(-(since_zero % d))


def _round_time(t: GoTime, d: int) -> GoTime:
    if d <= 0:
        return GoTime(t.sec, t.nsec, t.loc)
    since_zero = (t.sec - ZERO_TIME_UNIX) * SECOND + t.nsec
    r = since_zero % d
    base = GoTime(t.sec, t.nsec, t.loc)
    if r + r < d:
        return base.add(-r)
    return base.add(d - r)


# --- durations ----------------------------------------------------------------------------------------------


def time_quote(s: str) -> str:
    """The ``time`` package's own quoting in error messages: non-ASCII and control bytes as ``\\xNN``."""
    out = ['"']
    for c in s:
        if c >= "\x80" or c < " ":
            out.append("".join(f"\\x{b:02x}" for b in to_bytes(c)))
        else:
            if c in '"\\':
                out.append("\\")
            out.append(c)
    out.append('"')
    return "".join(out)


def format_duration(ns: int) -> str:
    """``Duration.String``."""
    neg = ns < 0
    u = -ns if neg else ns
    if u < SECOND:
        if u == 0:
            return "0s"
        if u < MICROSECOND:
            text = f"{u}ns"
        elif u < MILLISECOND:
            text = _frac(u, 3) + "µs"
        else:
            text = _frac(u, 6) + "ms"
    else:
        whole_s, frac = divmod(u, SECOND)
        frac_txt = f".{frac:09d}".rstrip("0") if frac else ""
        hours, rem = divmod(whole_s, 3600)
        minutes, secs = divmod(rem, 60)
        text = f"{secs}{frac_txt}s"
        if hours or minutes:
            text = f"{minutes}m{text}"
        if hours:
            text = f"{hours}h{text}"
    return "-" + text if neg else text


def _frac(v: int, prec: int) -> str:
    whole, frac = divmod(v, 10**prec)
    frac_txt = f".{frac:0{prec}d}".rstrip("0") if frac else ""
    return f"{whole}{frac_txt}"


_UNITS = {"ns": NANOSECOND, "us": MICROSECOND, "µs": MICROSECOND, "μs": MICROSECOND, "ms": MILLISECOND,
          "s": SECOND, "m": MINUTE, "h": HOUR}  # fmt: skip


class DurationError(ValueError):
    pass


def parse_duration(s: str) -> int:
    """``time.ParseDuration``: nanoseconds, or DurationError with Go's message."""
    orig = s
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise DurationError(f"time: invalid duration {time_quote(orig)}")
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise DurationError(f"time: invalid duration {time_quote(orig)}")
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        pre = i > 0
        v = int(s[:i]) if pre else 0
        if v > 1 << 63:
            raise DurationError(f"time: invalid duration {time_quote(orig)}")
        s = s[i:]
        f, scale, post = 0, 1.0, False
        if s.startswith("."):
            s = s[1:]
            j = 0
            overflow = False
            while j < len(s) and "0" <= s[j] <= "9":
                if not overflow:
                    y = f * 10 + ord(s[j]) - 48
                    if f > ((1 << 63) - 1) // 10 or y > 1 << 63:
                        overflow = True
                    else:
                        f = y
                        scale *= 10
                j += 1
            post = j > 0
            s = s[j:]
        if not pre and not post:
            raise DurationError(f"time: invalid duration {time_quote(orig)}")
        k = 0
        while k < len(s) and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise DurationError(f"time: missing unit in duration {time_quote(orig)}")
        unit_txt, s = s[:k], s[k:]
        unit = _UNITS.get(unit_txt)
        if unit is None:
            raise DurationError(f"time: unknown unit {time_quote(unit_txt)} in duration {time_quote(orig)}")
        if v > (1 << 63) // unit:
            raise DurationError(f"time: invalid duration {time_quote(orig)}")
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise DurationError(f"time: invalid duration {time_quote(orig)}")
        total += v
        if total > 1 << 63:
            raise DurationError(f"time: invalid duration {time_quote(orig)}")
    if neg:
        return -total
    if total > (1 << 63) - 1:
        raise DurationError(f"time: invalid duration {time_quote(orig)}")
    return total


def duration_round(d: int, m: int) -> int:
    """``Duration.Round``: halfway values round away from zero; saturates instead of overflowing."""
    if m <= 0:
        return d
    r = abs(d) % m
    if d < 0:
        if r + r < m:
            return d + r
        d1 = d - m + r
        return d1 if d1 < d else INT64_MIN
    if r + r < m:
        return d - r
    d1 = d + m - r
    return d1 if d1 > d else INT64_MAX


# --- layouts ------------------------------------------------------------------------------------------------

# std chunk codes
(LONG_MONTH, MONTH, NUM_MONTH, ZERO_MONTH, LONG_WEEKDAY, WEEKDAY, DAY, UNDER_DAY, ZERO_DAY, UNDER_YDAY,
 ZERO_YDAY, HOUR24, HOUR12, ZERO_HOUR12, MINUTE_, ZERO_MINUTE, SECOND_, ZERO_SECOND, LONG_YEAR, YEAR, PM_UP,
 PM_LOW, TZ_NAME, ISO_TZ, ISO_SEC_TZ, ISO_SHORT_TZ, ISO_COLON_TZ, ISO_COLON_SEC_TZ, NUM_TZ, NUM_SEC_TZ,
 NUM_SHORT_TZ, NUM_COLON_TZ, NUM_COLON_SEC_TZ, FRAC0, FRAC9) = range(1, 36)  # fmt: skip

_STD0X = {"1": ZERO_MONTH, "2": ZERO_DAY, "3": ZERO_HOUR12, "4": ZERO_MINUTE, "5": ZERO_SECOND, "6": YEAR}
_ISO = (ISO_TZ, ISO_COLON_TZ, ISO_SEC_TZ, ISO_SHORT_TZ, ISO_COLON_SEC_TZ)


@dataclass(frozen=True)
class _Chunk:
    prefix: str
    std: int  # 0 = no more
    text: str  # the layout text of the std element
    suffix: str
    digits: int = 0  # fractional seconds: number of digits
    sep: str = "."


def next_std_chunk(layout: str) -> _Chunk:
    """Go's ``nextStdChunk``: the text before the first layout element, the element, and the rest."""
    n = len(layout)
    for i, c in enumerate(layout):
        rest = layout[i:]

        def hit(std: int, length: int, *, pre: int = 0, i: int = i) -> _Chunk:
            return _Chunk(layout[: i + pre], std, layout[i + pre : i + length], layout[i + length :])

        if c == "J":
            if rest.startswith("Jan"):
                if rest.startswith("January"):
                    return hit(LONG_MONTH, 7)
                if not ("a" <= rest[3:4] <= "z"):
                    return hit(MONTH, 3)
        elif c == "M":
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    return hit(LONG_WEEKDAY, 6)
                if not ("a" <= rest[3:4] <= "z"):
                    return hit(WEEKDAY, 3)
            if rest.startswith("MST"):
                return hit(TZ_NAME, 3)
        elif c == "0":
            if len(rest) >= 2 and "1" <= rest[1] <= "6":
                return hit(_STD0X[rest[1]], 2)
            if rest.startswith("002"):
                return hit(ZERO_YDAY, 3)
        elif c == "1":
            if rest.startswith("15"):
                return hit(HOUR24, 2)
            return hit(NUM_MONTH, 1)
        elif c == "2":
            if rest.startswith("2006"):
                return hit(LONG_YEAR, 4)
            return hit(DAY, 1)
        elif c == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    return hit(LONG_YEAR, 5, pre=1)
                return hit(UNDER_DAY, 2)
            if rest.startswith("__2"):
                return hit(UNDER_YDAY, 3)
        elif c == "3":
            return hit(HOUR12, 1)
        elif c == "4":
            return hit(MINUTE_, 1)
        elif c == "5":
            return hit(SECOND_, 1)
        elif c == "P":
            if rest.startswith("PM"):
                return hit(PM_UP, 2)
        elif c == "p":
            if rest.startswith("pm"):
                return hit(PM_LOW, 2)
        elif c == "-":
            for text, std in (("-070000", NUM_SEC_TZ), ("-07:00:00", NUM_COLON_SEC_TZ), ("-0700", NUM_TZ),
                              ("-07:00", NUM_COLON_TZ), ("-07", NUM_SHORT_TZ)):  # fmt: skip
                if rest.startswith(text):
                    return hit(std, len(text))
        elif c == "Z":
            for text, std in (("Z070000", ISO_SEC_TZ), ("Z07:00:00", ISO_COLON_SEC_TZ), ("Z0700", ISO_TZ),
                              ("Z07:00", ISO_COLON_TZ), ("Z07", ISO_SHORT_TZ)):  # fmt: skip
                if rest.startswith(text):
                    return hit(std, len(text))
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and "0" <= layout[j] <= "9"):
                std = FRAC0 if ch == "0" else FRAC9
                return _Chunk(layout[:i], std, layout[i:j], layout[j:], j - (i + 1), c)
    return _Chunk(layout, 0, "", "")


def _pad(x: int, width: int) -> str:
    if x < 0:
        return "-" + str(-x).rjust(width, "0")
    return str(x).rjust(width, "0")


def format_time(t: GoTime, layout: str) -> str:
    """``Time.Format``."""
    name, offset = t.zone()
    out: list[str] = []
    dates: list[tuple[int, int, int]] = []
    clocks: list[tuple[int, int, int]] = []

    def date() -> tuple[int, int, int]:
        if not dates:
            dates.append(t.date())
        return dates[0]

    def clock() -> tuple[int, int, int]:
        if not clocks:
            clocks.append(t.clock())
        return clocks[0]

    while layout:
        ch = next_std_chunk(layout)
        out.append(ch.prefix)
        if ch.std == 0:
            break
        layout = ch.suffix
        std = ch.std
        if std == YEAR:
            out.append(_pad(abs(date()[0]) % 100, 2))
        elif std == LONG_YEAR:
            out.append(_pad(date()[0], 4))
        elif std == MONTH:
            out.append(LONG_MONTHS[date()[1] - 1][:3])
        elif std == LONG_MONTH:
            out.append(LONG_MONTHS[date()[1] - 1])
        elif std == NUM_MONTH:
            out.append(str(date()[1]))
        elif std == ZERO_MONTH:
            out.append(_pad(date()[1], 2))
        elif std == WEEKDAY:
            out.append(LONG_DAYS[t.weekday()][:3])
        elif std == LONG_WEEKDAY:
            out.append(LONG_DAYS[t.weekday()])
        elif std == DAY:
            out.append(str(date()[2]))
        elif std == UNDER_DAY:
            out.append(str(date()[2]).rjust(2))
        elif std == ZERO_DAY:
            out.append(_pad(date()[2], 2))
        elif std == UNDER_YDAY:
            out.append(str(t.yday()).rjust(3))
        elif std == ZERO_YDAY:
            out.append(_pad(t.yday(), 3))
        elif std == HOUR24:
            out.append(_pad(clock()[0], 2))
        elif std in (HOUR12, ZERO_HOUR12):
            hr = clock()[0] % 12 or 12
            out.append(str(hr) if std == HOUR12 else _pad(hr, 2))
        elif std == MINUTE_:
            out.append(str(clock()[1]))
        elif std == ZERO_MINUTE:
            out.append(_pad(clock()[1], 2))
        elif std == SECOND_:
            out.append(str(clock()[2]))
        elif std == ZERO_SECOND:
            out.append(_pad(clock()[2], 2))
        elif std in (PM_UP, PM_LOW):
            text = "PM" if clock()[0] >= 12 else "AM"
            out.append(text if std == PM_UP else text.lower())
        elif ISO_TZ <= std <= NUM_COLON_SEC_TZ:
            out.append(_format_offset(std, offset))
        elif std == TZ_NAME:
            if name:
                out.append(name)
            else:
                zone = offset // 60
                out.append(("-" if zone < 0 else "+") + _pad(abs(zone) // 60, 2) + _pad(abs(zone) % 60, 2))
        elif std in (FRAC0, FRAC9):
            out.append(_format_nano(t.nsec, std, ch.digits, ch.sep))
    return "".join(out)


def _format_offset(std: int, offset: int) -> str:
    if offset == 0 and std in _ISO:
        return "Z"
    zone = offset // 60 if offset >= 0 else -((-offset) // 60)
    absoffset = abs(offset)
    text = "-" if zone < 0 else "+"
    zone = abs(zone)
    text += _pad(zone // 60, 2)
    if std in (ISO_COLON_TZ, NUM_COLON_TZ, ISO_COLON_SEC_TZ, NUM_COLON_SEC_TZ):
        text += ":"
    if std not in (NUM_SHORT_TZ, ISO_SHORT_TZ):
        text += _pad(zone % 60, 2)
    if std in (ISO_SEC_TZ, NUM_SEC_TZ, NUM_COLON_SEC_TZ, ISO_COLON_SEC_TZ):
        if std in (NUM_COLON_SEC_TZ, ISO_COLON_SEC_TZ):
            text += ":"
        text += _pad(absoffset % 60, 2)
    return text


def _format_nano(nsec: int, std: int, digits: int, sep: str) -> str:
    trim = std == FRAC9
    if trim and (digits == 0 or nsec == 0):
        return ""
    text = f"{nsec:09d}"[:digits] if digits < 9 else f"{nsec:09d}"
    if trim:
        text = text.rstrip("0")
        return sep + text if text else ""
    return sep + text


# --- parsing ------------------------------------------------------------------------------------------------


class TimeParseError(ValueError):
    pass


def _parse_error(layout: str, value: str, layout_elem: str, value_elem: str, message: str = "") -> TimeParseError:
    if message:
        return TimeParseError(f"parsing time {time_quote(value)}{message}")
    return TimeParseError(
        f"parsing time {time_quote(value)} as {time_quote(layout)}: cannot parse {time_quote(value_elem)} as "
        f"{time_quote(layout_elem)}"
    )


class _Bad(Exception):
    pass


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not s[:1].isdigit() or not s[:1].isascii():
        raise _Bad
    if not (len(s) > 1 and "0" <= s[1] <= "9"):
        if fixed:
            raise _Bad
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _getnum3(s: str, fixed: bool) -> tuple[int, str]:
    i = 0
    while i < 3 and i < len(s) and "0" <= s[i] <= "9":
        i += 1
    if i == 0 or (fixed and i != 3):
        raise _Bad
    return int(s[:i]), s[i:]


def _skip(value: str, prefix: str) -> str:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                raise _Bad
            prefix = prefix.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            raise _Bad
        prefix, value = prefix[1:], value[1:]
    return value


def _lookup(names: list[str], value: str) -> tuple[int, str]:
    for i, name in enumerate(names):
        head = value[: len(name)]
        if len(head) == len(name) and head.isascii() and head.lower() == name.lower():
            return i, value[len(name) :]
    raise _Bad


def _atoi(s: str) -> int:
    body = s[1:] if s[:1] in "+-" else s
    if not body or not body.isascii() or not body.isdigit():
        raise _Bad
    return int(s)


def _parse_nanoseconds(value: str, nbytes: int) -> tuple[int, str]:
    if value[0] not in ".,":
        raise _Bad
    if nbytes > 10:
        value = value[:10]
        nbytes = 10
    ns = _atoi(value[1:nbytes])
    if ns < 0:
        return 0, "fractional second"
    return ns * 10 ** (10 - nbytes), ""


def _parse_tz_name(value: str) -> int | None:
    if len(value) < 3:
        return None
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + _parse_signed_offset(value[3:]) if len(value) > 3 else 3
    if value[0] in "+-":
        n = _parse_signed_offset(value)
        return n if n > 0 else None
    n_upper = 0
    while n_upper < 6 and n_upper < len(value) and "A" <= value[n_upper] <= "Z":
        n_upper += 1
    if n_upper == 3:
        return 3
    if n_upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if n_upper == 5 and value[4] == "T":
        return 5
    return None


def _parse_signed_offset(value: str) -> int:
    if not value or value[0] not in "+-":
        return 0
    i = 1
    while i < len(value) and "0" <= value[i] <= "9":
        i += 1
    if i == 1 or int(value[1:i]) > 23:
        return 0
    return i


def parse_time(layout: str, value: str, default_loc: GoLocation, local_loc: GoLocation) -> GoTime:
    """``time.Parse`` / ``time.ParseInLocation``."""
    alayout, avalue = layout, value
    range_err = ""
    am_set = pm_set = False
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = sec = nsec = 0
    z: GoLocation | None = None
    zone_offset = -1
    zone_name = ""
    while True:
        ch = next_std_chunk(layout)
        try:
            value = _skip(value, ch.prefix)
        except _Bad:
            raise _parse_error(alayout, avalue, ch.prefix, value) from None
        if ch.std == 0:
            if value:
                raise _parse_error(alayout, avalue, "", value, f": extra text: {time_quote(value)}")
            break
        layout = ch.suffix
        std = ch.std
        hold = value
        try:
            if std == YEAR:
                if len(value) < 2:
                    raise _Bad
                year = _atoi(value[:2])
                value = value[2:]
                year += 1900 if year >= 69 else 2000
            elif std == LONG_YEAR:
                if len(value) < 4 or not "0" <= value[0] <= "9":
                    raise _Bad
                year = _atoi(value[:4])
                value = value[4:]
            elif std in (MONTH, LONG_MONTH):
                names = [m[:3] for m in LONG_MONTHS] if std == MONTH else LONG_MONTHS
                month, value = _lookup(names, value)
                month += 1
            elif std in (NUM_MONTH, ZERO_MONTH):
                month, value = _getnum(value, std == ZERO_MONTH)
                if not 0 < month <= 12:
                    range_err = "month"
            elif std in (WEEKDAY, LONG_WEEKDAY):
                names = [d[:3] for d in LONG_DAYS] if std == WEEKDAY else LONG_DAYS
                _, value = _lookup(names, value)
            elif std in (DAY, UNDER_DAY, ZERO_DAY):
                if std == UNDER_DAY and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, std == ZERO_DAY)
            elif std in (UNDER_YDAY, ZERO_YDAY):
                for _ in range(2):
                    if std == UNDER_YDAY and value[:1] == " ":
                        value = value[1:]
                yday, value = _getnum3(value, std == ZERO_YDAY)
            elif std == HOUR24:
                hour, value = _getnum(value, False)
                if not 0 <= hour < 24:
                    range_err = "hour"
            elif std in (HOUR12, ZERO_HOUR12):
                hour, value = _getnum(value, std == ZERO_HOUR12)
                if not 0 <= hour <= 12:
                    range_err = "hour"
            elif std in (MINUTE_, ZERO_MINUTE):
                minute, value = _getnum(value, std == ZERO_MINUTE)
                if not 0 <= minute < 60:
                    range_err = "minute"
            elif std in (SECOND_, ZERO_SECOND):
                sec, value = _getnum(value, std == ZERO_SECOND)
                if not 0 <= sec < 60:
                    range_err = "second"
                elif len(value) >= 2 and value[0] in ".," and "0" <= value[1] <= "9":
                    nxt = next_std_chunk(layout).std
                    if nxt not in (FRAC0, FRAC9):
                        k = 2
                        while k < len(value) and "0" <= value[k] <= "9":
                            k += 1
                        nsec, range_err = _parse_nanoseconds(value, k)
                        value = value[k:]
            elif std in (PM_UP, PM_LOW):
                if len(value) < 2:
                    raise _Bad
                p, value = value[:2], value[2:]
                want = ("PM", "AM") if std == PM_UP else ("pm", "am")
                if p == want[0]:
                    pm_set = True
                elif p == want[1]:
                    am_set = True
                else:
                    raise _Bad
            elif ISO_TZ <= std <= NUM_COLON_SEC_TZ:
                if std in _ISO and value[:1] == "Z":
                    value = value[1:]
                    z = UTC
                else:
                    zone_offset, range_err, value = _parse_offset(std, value)
            elif std == TZ_NAME:
                if value[:3] == "UTC":
                    z = UTC
                    value = value[3:]
                else:
                    length = _parse_tz_name(value)
                    if length is None:
                        raise _Bad
                    zone_name, value = value[:length], value[length:]
            elif std == FRAC0:
                ndigit = 1 + ch.digits
                if len(value) < ndigit:
                    raise _Bad
                nsec, range_err = _parse_nanoseconds(value, ndigit)
                value = value[ndigit:]
            elif std == FRAC9 and len(value) >= 2 and value[0] in ".," and "0" <= value[1] <= "9":
                i = 0
                while i + 1 < len(value) and "0" <= value[i + 1] <= "9":
                    i += 1
                nsec, range_err = _parse_nanoseconds(value, 1 + i)
                value = value[1 + i :]
        except _Bad:
            if range_err:
                raise _parse_error(alayout, avalue, ch.text, value, f": {range_err} out of range") from None
            raise _parse_error(alayout, avalue, ch.text, hold) from None
        if range_err:
            raise _parse_error(alayout, avalue, ch.text, value, f": {range_err} out of range")
    if pm_set and hour < 12:
        hour += 12
    elif am_set and hour == 12:
        hour = 0
    if yday >= 0:
        m = d = 0
        if is_leap(year):
            if yday == 31 + 29:
                m, d = 2, 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year out of range")
        if m == 0:
            m = (yday - 1) // 31 + 1
            before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]
            if before[m] < yday:
                m += 1
            d = yday - before[m - 1]
        if month >= 0 and month != m:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if day < 1 or day > days_in(month, year):
        raise _parse_error(alayout, avalue, "", value, ": day out of range")
    wall = date_to_unix(year, month, day, hour, minute, sec)
    if z is not None:
        return _from_wall(wall, nsec, z)
    if zone_offset != -1:
        unix = wall - zone_offset
        name, offset = local_loc.lookup(unix)
        if offset == zone_offset and (zone_name == "" or name == zone_name):
            return GoTime(unix, nsec, local_loc)
        return GoTime(unix, nsec, fixed_zone(zone_name, zone_offset))
    if zone_name:
        off = local_loc.lookup_name(zone_name, wall)
        if off is not None:
            return GoTime(wall - off, nsec, local_loc)
        offset = 0
        if len(zone_name) > 3 and zone_name[:3] == "GMT":
            offset = int(zone_name[3:]) * 3600
        return GoTime(wall, nsec, fixed_zone(zone_name, offset))
    return _from_wall(wall, nsec, default_loc)


def _parse_offset(std: int, value: str) -> tuple[int, str, str]:
    if std in (ISO_COLON_TZ, NUM_COLON_TZ):
        if len(value) < 6 or value[3] != ":":
            raise _Bad
        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], "00", value[6:]
    elif std in (NUM_SHORT_TZ, ISO_SHORT_TZ):
        if len(value) < 3:
            raise _Bad
        sign, hh, mm, ss, value = value[0], value[1:3], "00", "00", value[3:]
    elif std in (ISO_COLON_SEC_TZ, NUM_COLON_SEC_TZ):
        if len(value) < 9 or value[3] != ":" or value[6] != ":":
            raise _Bad
        sign, hh, mm, ss, value = value[0], value[1:3], value[4:6], value[7:9], value[9:]
    elif std in (ISO_SEC_TZ, NUM_SEC_TZ):
        if len(value) < 7:
            raise _Bad
        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], value[5:7], value[7:]
    else:
        if len(value) < 5:
            raise _Bad
        sign, hh, mm, ss, value = value[0], value[1:3], value[3:5], "00", value[5:]
    hr = _getnum(hh, True)[0]
    mi = _getnum(mm, True)[0]
    se = _getnum(ss, True)[0]
    range_err = ""
    if hr > 24:
        range_err = "time zone offset hour"
    if mi > 60:
        range_err = "time zone offset minute"
    if se > 60:
        range_err = "time zone offset second"
    offset = (hr * 60 + mi) * 60 + se
    if sign == "-":
        offset = -offset
    elif sign != "+":
        raise _Bad
    return offset, range_err, value


# --- Sprig date functions -----------------------------------------------------------------------------------


def _time_of(date: Any, *, int32_ok: bool = True, pointer_ok: bool = True) -> GoTime:
    if isinstance(date, GoTime):
        return date
    if isinstance(date, int) and not isinstance(date, bool):
        go_type = date.go_type if isinstance(date, TypedInt) else "int"
        if go_type in ("int", "int64") or (int32_ok and go_type == "int32"):
            return GoTime(int(date), 0, local())
    return GoTime.now()


def _date_in_zone(fmt: str, date: Any, zone: str) -> str:
    t = _time_of(date)
    try:
        loc = load_location(zone)
    except LocationError:
        loc = UTC
    return t.in_loc(loc).format(fmt)


@go_func("string", "any")
def date(fmt: str, date: Any) -> str:
    return _date_in_zone(fmt, date, "Local")


@go_func("any")
def html_date(date: Any) -> str:
    return _date_in_zone("2006-01-02", date, "Local")


@go_func("any", "string")
def html_date_in_zone(date: Any, zone: str) -> str:
    return _date_in_zone("2006-01-02", date, zone)


@go_func("string", "any", "string")
def date_in_zone(fmt: str, date: Any, zone: str) -> str:
    return _date_in_zone(fmt, date, zone)


def _need_time(value: Any) -> GoTime:
    if not isinstance(value, GoTime):
        from meshinject.gotemplate._sprig_base import go_type_of

        got = "nil" if value is None else go_type_of(value)
        raise FuncError(f"wrong type for value; expected time.Time; got {got}")
    return value


@go_func("string", "any")
def date_modify(fmt: str, date: Any) -> GoTime:
    t = _need_time(date)
    try:
        return t.add(parse_duration(fmt))
    except DurationError:
        return t


@go_func("string", "any")
def must_date_modify(fmt: str, date: Any) -> GoTime:
    t = _need_time(date)
    try:
        return t.add(parse_duration(fmt))
    except DurationError as exc:
        raise FuncError(str(exc)) from None


@go_func("any")
def ago(date: Any) -> str:
    t = _time_of(date, int32_ok=False)
    return format_duration(duration_round(_since(t), SECOND))


@go_func("any")
def duration(sec: Any) -> str:
    n = 0
    if isinstance(sec, str):
        try:
            n = parse_int(sec, 10, 64)
        except StrconvError as exc:
            if "out of range" in str(exc):
                n = INT64_MIN if sec.startswith("-") else INT64_MAX
    elif isinstance(sec, TypedInt) and sec.go_type == "int64":
        n = int(sec)
    return format_duration(wrap_int64(n * SECOND))


@go_func("any")
def duration_round_(value: Any) -> str:
    d = 0
    if isinstance(value, str):
        try:
            d = parse_duration(value)
        except DurationError:
            d = 0
    elif isinstance(value, TypedInt) and value.go_type == "int64":
        d = int(value)
    elif isinstance(value, GoTime):
        d = _since(value)
    u = abs(d)
    year, month, day = HOUR * 24 * 365, HOUR * 24 * 30, HOUR * 24
    for size, suffix in ((year, "y"), (month, "mo"), (day, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s")):
        if u > size:
            return f"{u // size}{suffix}"
    return "0s"


@go_func("string", "string")
def to_date(fmt: str, s: str) -> GoTime:
    try:
        return _parse_in_local(fmt, s)
    except TimeParseError:
        return GoTime.zero()


@go_func("string", "string")
def must_to_date(fmt: str, s: str) -> GoTime:
    try:
        return _parse_in_local(fmt, s)
    except TimeParseError as exc:
        raise FuncError(str(exc)) from None


def _parse_in_local(fmt: str, s: str) -> GoTime:
    loc = local()
    return parse_time(fmt, s, loc, loc)


@go_func("any")
def unix_epoch(date: Any) -> str:
    return str(_need_time(date).sec)


@go_func()
def now() -> GoTime:
    return GoTime.now()


def time_from_data(value: Any) -> Any:
    """A GoTime from the conformance data's ``{"$time": RFC 3339, "zone": name, "zoneOffsetSeconds": n}``."""
    if isinstance(value, dict) and "$time" in value:
        t = parse_time("2006-01-02T15:04:05.999999999Z07:00", str(value["$time"]), UTC, UTC)
        zone = value.get("zone")
        if isinstance(zone, str):
            offset = int(value.get("zoneOffsetSeconds") or 0)
            loc = UTC if zone == "UTC" and offset == 0 else fixed_zone(zone, offset)
            return t.in_loc(loc)
        return t
    return value
