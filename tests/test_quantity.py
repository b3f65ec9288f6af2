"""Kubernetes quantities as the Go types print them (meshinject.inject.quantity).

The expected strings follow apimachinery's ``ParseQuantity`` + ``MarshalJSON`` (resource/quantity.go); every
one was also checked against that code compiled from source.  The rules that decide them:

* The fast parser keeps the input text when it is already "canonical": decimal with an exponent that is a
  multiple of 3, no ``000`` at the end of the digits and no leading ``0`` digit; binary when the number is not
  a multiple of 8.  The text is then printed back verbatim (sign, ``E`` and trailing ``.`` included).
* Otherwise trailing zeros move into the exponent, the exponent is lowered to a multiple of 3, and the suffix
  of the remembered format is used; binary values use powers of 1024 unless within (-1024, 1024) or
  fractional, which print as decimal SI.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshinject.inject.quantity import (
    QuantityError,
    canonical_quantity,
    canonicalize_resources,
    parse_quantity,
)

CANONICAL = [
    # The harness examples (HARNESS.md §3.4).
    ("2000m", "2"),
    ("1024Mi", "1Gi"),  # 1024 is a multiple of 8, so recomputed: 2^30 = 1Gi
    ("4000m", "4"),
    ("1000m", "1"),
    ("3000m", "3"),
    ("100m", "100m"),
    ("128Mi", "128Mi"),
    ("500Mi", "500Mi"),
    # Decimal SI.
    ("0.5", "500m"),  # scale -1 is not a multiple of 3
    ("1.5", "1500m"),
    ("12.5m", "12500u"),
    ("0.001", "1m"),
    ("0.0001", "100u"),
    ("1.0001", "1000100u"),
    ("1200M", "1200M"),
    ("1k", "1k"),
    ("1000k", "1M"),
    ("1.5E", "1500P"),
    ("123456789012345678.5", "123456789012345678500m"),  # more than 18 digits: exact big decimal path
    ("9223372036854775808", "9223372036854775808"),  # decimal SI is not capped at int64
    # Sub-nano values round away from zero to whole nano units.
    ("0.1m", "100u"),
    ("0.0000000001", "1n"),
    ("0.1n", "1n"),
    ("-0.1n", "-1n"),
    # Decimal exponent keeps its format.
    ("1e3", "1e3"),  # already canonical, text kept
    ("1E3", "1E3"),
    ("1e+3", "1e+3"),
    ("10e3", "10e3"),
    ("1e10", "10e9"),  # exponent lowered to a multiple of 3
    ("1.5e3", "1500"),  # exponent 0 prints without a suffix
    ("1.2345678901e3", "1234567890100e-9"),
    ("1e21", "1e21"),
    # Binary SI.
    ("1.5Gi", "1536Mi"),
    ("1536Mi", "1536Mi"),
    ("1024Ki", "1Mi"),
    ("1000Ki", "1000Ki"),  # 1000 is a multiple of 8, but 1024000 has a single factor of 1024
    ("8Ki", "8Ki"),
    ("-8Ki", "-8Ki"),
    ("0.5Mi", "512Ki"),
    ("0.5Ki", "512"),  # 512 lies inside (-1024, 1024): decimal SI
    ("1.1Ki", "1126400m"),  # 1126.4 is not whole: decimal SI
    ("1Ei", "1Ei"),
    ("8Ei", "9223372036854775807"),  # 2^63 is capped at 2^63-1, which has no factor of 1024
    # Texts kept verbatim because the fast parser finds them canonical.
    ("+1", "+1"),
    ("01", "01"),
    ("5.", "5."),
    ("1.G", "1.G"),
    # Zero, in every spelling, is "0".
    ("0", "0"),
    ("00", "0"),
    ("-0", "0"),
    ("0m", "0"),
    ("0.000", "0"),
    ("m", "0"),
    (".", "0"),
    # apimachinery ignores a failed suffix lookup: 10^21 in decimal SI has no suffix letter.
    ("1000E", "1"),
]


@pytest.mark.parametrize(("text", "expected"), CANONICAL)
def test_canonical_quantity_of_strings(text: str, expected: str) -> None:
    assert canonical_quantity(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # A YAML number reaches the Go types as JSON text written by encoding/json.
        (2, "2"),
        (1000, "1k"),
        (0.5, "500m"),
        (1e3, "1k"),  # float 1000.0 is written "1000"
        (1.5e16, "15P"),  # "15000000000000000"
        (1e21, "1e+21"),  # encoding/json switches to exponent form at 1e21 and keeps "e+21"
        (1e-7, "100e-9"),  # written "1e-7"
        (-0.0, "0"),
        (None, "0"),  # JSON null decodes to the zero quantity
        (" 2000m ", "2"),  # UnmarshalJSON trims whitespace
    ],
)
def test_canonical_quantity_of_json_values(value: Any, expected: str) -> None:
    assert canonical_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "regular expression"),
        ("1x", "regular expression"),
        ("1Kix", "regular expression"),
        ("1.5.5", "regular expression"),
        ("1K", "suffix"),  # kilo is a lower-case k
        ("1e", "suffix"),
        ("1ee3", "suffix"),
        ("1Mi3", "suffix"),
        ("-.e-20", "numeric"),  # no digit at all, and too small for the fast path
        (True, "regular expression"),
        ([], "regular expression"),
    ],
)
def test_invalid_quantities_are_rejected(value: Any, message: str) -> None:
    with pytest.raises(QuantityError, match=message):
        canonical_quantity(value)


def test_parse_keeps_format_and_exact_value() -> None:
    q = parse_quantity("1.5Gi")
    assert (q.format, q.unscaled * 10**q.exponent) == ("BinarySI", 1610612736)
    assert q.text is None
    kept = parse_quantity("+1")
    assert (kept.text, kept.unscaled, kept.format) == ("+1", 1, "DecimalSI")
    small = parse_quantity("0.5Ki")
    assert small.format == "BinarySI"  # 512 >= 1, stays binary until printing
    assert parse_quantity("0.0005Ki").format == "DecimalSI"  # below 1: switched at parse time


def test_canonicalize_resources_touches_only_limits_and_requests() -> None:
    resources = {
        "limits": {"cpu": "2000m", "memory": "1024Mi", "nvidia.com/gpu": 1},
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "claims": [{"name": "gpu"}],
    }
    before = copy.deepcopy(resources)
    assert canonicalize_resources(resources) == {
        "limits": {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "claims": [{"name": "gpu"}],
    }
    assert resources == before
    assert canonicalize_resources({}) == {}


def test_canonicalize_resources_rejects_bad_values() -> None:
    with pytest.raises(QuantityError):
        canonicalize_resources({"limits": {"cpu": "two"}})


# Numbers below 1000 with at most three decimals keep every decimal SI exponent within the suffix table.
_quantity_texts = st.builds(
    lambda sign, whole, fraction, suffix: f"{sign}{whole}{'.' + fraction if fraction else ''}{suffix}",
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 999).map(str),
    st.sampled_from(["", "0", "5", "25", "125", "500"]),
    st.sampled_from(["", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"])
    | st.integers(-12, 12).map(lambda e: f"e{e}"),
)


def _value(text: str) -> Decimal:
    q = parse_quantity(text)
    return Decimal(q.unscaled).scaleb(q.exponent)


@settings(max_examples=500, derandomize=True)
@given(_quantity_texts)
def test_canonical_form_is_stable_and_keeps_the_value(text: str) -> None:
    printed = canonical_quantity(text)
    assert canonical_quantity(printed) == printed
    assert _value(printed) == _value(text)
