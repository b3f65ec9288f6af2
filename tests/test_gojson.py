"""Go's encoding/json for template values, checked against Go 1.26's real output.

Every expected string below was produced by a Go 1.26.0 program calling json.Marshal, json.MarshalIndent and
json.Unmarshal (into ``any``) on the equivalent Go values (``map[string]interface {}``, ``[]interface {}``,
``float64``, ``int``, ``string``, ``[]byte``, ``uint8``, ``map[int]interface {}``, ``complex128``).
"""

from __future__ import annotations

import math
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshinject.gotemplate._values import MISSING, GoObject, TypedInt
from meshinject.gotemplate.datamodel import StructFields
from meshinject.gotemplate.errors import FuncError
from meshinject.gotemplate.gojson import marshal, marshal_indent, syntax_error, unmarshal

MARSHAL_CASES = [
    (None, "null"),
    (True, "true"),
    (False, "false"),
    (0, "0"),
    (-1, "-1"),
    (9007199254740993, "9007199254740993"),
    (9223372036854775807, "9223372036854775807"),
    (0.0, "0"),
    (-0.0, "-0"),
    (1.0, "1"),
    (3.5, "3.5"),
    (0.1, "0.1"),
    (1000000.0, "1000000"),
    (1e20, "100000000000000000000"),
    (1e21, "1e+21"),
    (1.5e21, "1.5e+21"),
    (1e-06, "0.000001"),
    (1e-07, "1e-7"),
    (1.5e-07, "1.5e-7"),
    (1e-100, "1e-100"),
    (123456789.125, "123456789.125"),
    (1e16, "10000000000000000"),
    (1.2345678901234567e19, "12345678901234567000"),
    (5e-324, "5e-324"),
    (1.7976931348623157e308, "1.7976931348623157e+308"),
    ("", '""'),
    ("plain", '"plain"'),
    ("<b>&amp;</b>", '"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e"'),
    ("\u2028\u2029", '"\\u2028\\u2029"'),
    ("\x00\x01\x1f\x7f", '"\\u0000\\u0001\\u001f\x7f"'),
    ('\x08\x0c\n\r\t"\\/', '"\\b\\f\\n\\r\\t\\"\\\\/"'),
    ("日本😀", '"日本😀"'),
    ("\udcff", '"\\ufffd"'),
    ("a\ud800b", '"a\\ufffd\\ufffd\\ufffdb"'),
    (TypedInt(200, "uint8"), "200"),
    (b"\x00\xffhi", '"AP9oaQ=="'),
    (b"", '""'),
    ([], "[]"),
    ({}, "{}"),
    ([1, [2, [3, {}]], []], "[1,[2,[3,{}]],[]]"),
    ({"b": 1, "a": [1.5, None], "<": {"&": ">"}}, '{"\\u003c":{"\\u0026":"\\u003e"},"a":[1.5,null],"b":1}'),
    ({"é": 1, "e": 2, "Z": 3, "": 0, "10": 4, "9": 5}, '{"":0,"10":4,"9":5,"Z":3,"e":2,"é":1}'),
    ({10: "a", 9: "b", -1: "c"}, '{"-1":"c","10":"a","9":"b"}'),
    (("tuple", 1), '["tuple",1]'),
]

MARSHAL_ERRORS = [
    (math.nan, "json: unsupported value: NaN"),
    (math.inf, "json: unsupported value: +Inf"),
    (-math.inf, "json: unsupported value: -Inf"),
    ([1, math.nan], "json: unsupported value: NaN"),
    (complex(1.0, 2.0), "json: unsupported type: complex128"),
    ({"a": complex(1.0, 1.0)}, "json: unsupported type: complex128"),
]

INDENT_CASES = [
    (
        {"b": [1, 2], "a": {}, "c": [], "d": {"x": None}},
        "",
        "  ",
        '{\n  "a": {},\n  "b": [\n    1,\n    2\n  ],\n  "c": [],\n  "d": {\n    "x": null\n  }\n}',
    ),
    ([1, [2, {"k": "v"}]], ">", "\t", '[\n>\t1,\n>\t[\n>\t\t2,\n>\t\t{\n>\t\t\t"k": "v"\n>\t\t}\n>\t]\n>]'),
    ({"a": 1}, "", "", '{\n"a": 1\n}'),
    ("<x>", "  ", "  ", '"\\u003cx\\u003e"'),
    ([], "pre", "ind", "[]"),
    ({"k": "<v>"}, "<", "&", '{\n<&"k": "\\u003cv\\u003e"\n<}'),
    ({"k": [True]}, "é", "→", '{\né→"k": [\né→→true\né→]\né}'),
]

UNMARSHAL_CASES = [
    ('{"a":1,"b":[true,null,"x"],"c":{"d":-2.5}}', {"a": 1.0, "b": [True, None, "x"], "c": {"d": -2.5}}),
    ("1", 1.0),
    ("-0", -0.0),
    ("1.5e3", 1500.0),
    ("1E-2", 0.01),
    ("12345678901234567890123", 1.2345678901234568e22),
    ("9007199254740993", 9007199254740992.0),
    ('"\\u00e9\\ud83d\\ude00"', "é😀"),
    ('"\\ud800"', "�"),
    ('"\\ud800\\u0041"', "�A"),
    ('"\\udc00x"', "�x"),
    ('"\\/\\b\\f"', "/\x08\x0c"),
    ("  [1, 2]  ", [1.0, 2.0]),
    ('{"a":1,"a":2}', {"a": 2.0}),
    ("[]", []),
    ("{}", {}),
    ("null", None),
    ('"\u2028"', "\u2028"),
    ('"\udcff"', "�"),
    ("4.9406564584124654e-324", 5e-324),
    ("1.7976931348623159e307", 1.797693134862316e307),
    ("0.1", 0.1),
    ("[-0, 0, 1e-400]", [-0.0, 0.0, 0.0]),
]

UNMARSHAL_ERRORS = [
    ("", "unexpected end of JSON input"),
    ("   ", "unexpected end of JSON input"),
    ("1e400", "json: cannot unmarshal number 1e400 into Go value of type float64"),
    ("[1e400, x]", "invalid character 'x' looking for beginning of value"),
    ("-1e999", "json: cannot unmarshal number -1e999 into Go value of type float64"),
    ("nul", "invalid character ' ' in literal null (expecting 'l')"),
    ("tru", "invalid character ' ' in literal true (expecting 'e')"),
    ("fals", "invalid character ' ' in literal false (expecting 'e')"),
    ("trUe", "invalid character 'U' in literal true (expecting 'u')"),
    ("nulL", "invalid character 'L' in literal null (expecting 'l')"),
    ('"abc', "unexpected end of JSON input"),
    ('"\\x"', "invalid character 'x' in string escape code"),
    ('"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    ('"a\nb"', "invalid character '\\n' in string literal"),
    ("é", "invalid character 'Ã' looking for beginning of value"),
    ("\ufeff{}", "invalid character 'ï' looking for beginning of value"),
    ('{"a":1,}', "invalid character '}' looking for beginning of object key string"),
    ('{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
    ('{"a" 1}', "invalid character '1' after object key"),
    ("{1:2}", "invalid character '1' looking for beginning of object key string"),
    ('{"a":}', "invalid character '}' looking for beginning of value"),
    ("[1,]", "invalid character ']' looking for beginning of value"),
    ("[1 2]", "invalid character '2' after array element"),
    ("[", "unexpected end of JSON input"),
    ("]", "invalid character ']' looking for beginning of value"),
    ("{", "unexpected end of JSON input"),
    ("01", "invalid character '1' after top-level value"),
    ("-", "invalid character ' ' in numeric literal"),
    ("-a", "invalid character 'a' in numeric literal"),
    ("1.", "invalid character ' ' after decimal point in numeric literal"),
    ("1.e3", "invalid character 'e' after decimal point in numeric literal"),
    ("1e", "invalid character ' ' in exponent of numeric literal"),
    ("1e+", "invalid character ' ' in exponent of numeric literal"),
    (".5", "invalid character '.' looking for beginning of value"),
    ("+1", "invalid character '+' looking for beginning of value"),
    ("NaN", "invalid character 'N' looking for beginning of value"),
    ("Infinity", "invalid character 'I' looking for beginning of value"),
    ("1 2", "invalid character '2' after top-level value"),
    ("{} {}", "invalid character '{' after top-level value"),
    ("'a'", "invalid character '\\'' looking for beginning of value"),
    ("123abc", "invalid character 'a' after top-level value"),
    ("1.5.5", "invalid character '.' after top-level value"),
    ('"\\', "invalid character ' ' in string escape code"),
    ("\udcff", "invalid character 'ÿ' looking for beginning of value"),
]

FLOAT_TABLE = [
    ("4a6f188a424e617b", "3.6357319851742104e+50"),
    ("e8d79f49af6d114c", "-1.1036156654363892e+197"),
    ("cd502d42af1ffe0d", "-2.661899609617116e+64"),
    ("e3d6e4b9d96e182d", "-8.847263843174408e+172"),
    ("a6ea1c0d2f8b9e9d", "-3.1597416776634037e-121"),
    ("aa8b230f3b05e392", "-9.465696106615338e-104"),
    ("de85eb9025ac45a0", "-2.189736111737394e+147"),
    ("a415c4c839a44721", "-7.487451984146348e-135"),
    ("2ff7c0fcbbe8f88d", "1.2821394239674426e-77"),
    ("1221b5a22155a41c", "2.449625091998882e-221"),
    ("d885bbac88043e5f", "-2.7402489433785077e+118"),
    ("bea4256e36c2a4c7", "-6.004039341439814e-7"),
    ("07ac5fed4b6ea010", "1.0490240035836884e-271"),
    ("2054fa816e7c0c6a", "6.258603219496475e-153"),
    ("af2529cad670a838", "-1.3944199025055022e-81"),
    ("ff7d5ec09bc03e20", "-1.2890252618876609e+306"),
    ("fe339eca03b1d74b", "-8.212221943600028e+299"),
    ("d59a0625469d3e78", "-2.331485249811442e+104"),
    ("15bf54df258ececb", "6.245749342273539e-204"),
    ("cb4ac8b4df0c841f", "-5.130796962834383e+54"),
    ("e36b0753cf4b1858", "-8.160400482479523e+170"),
    ("432ff218ce5915e6", "4495956316556019"),
    ("73790dfbd38cadcd", "1.7517992289122629e+248"),
    ("6fcfd73dbea7f239", "3.8619840767974244e+230"),
    ("23b6bd8ff306dc01", "1.2221416968005824e-136"),
    ("e08409f0cb348bfb", "-8.597657283218367e+156"),
    ("5b1196f741b79d35", "4.877045678240126e+130"),
    ("3be93fb8d9959a62", "4.277332465037243e-20"),
    ("e5f31bed7c9df940", "-1.268695630089696e+183"),
    ("8cb950a5c147eea8", "-2.2628825107734373e-247"),
    ("fb3e7196906b630c", "-4.527030212354042e+285"),
    ("abb4da1c6df8ccf6", "-3.8133710168041355e-98"),
    ("e37d37395d3c6201", "-1.764144415040706e+171"),
    ("a37e37286e08d514", "-1.0149186062390985e-137"),
    ("a7be99ae5052aa32", "-3.033664936769795e-117"),
    ("589218431e0b4ee5", "4.563010575221831e+118"),
    ("983ca1bed1d42a63", "-6.275548621082834e-192"),
    ("a23fb787cc5aad8f", "-1.0159984174181199e-143"),
    ("434cbf26fc559a25", "16182947022058570"),
    ("72c8dd98b0e04e90", "8.489177799052937e+244"),
    ("9c76df528de1c743", "-1.4796306991003446e-171"),
    ("fcb627afbf97e520", "-5.527236608465298e+292"),
    ("70bcb8e32285c6af", "1.1415490479320815e+235"),
    ("ba9c678aad442d8b", "-2.2944939891244638e-26"),
    ("8935b8267182a8d0", "-2.6943274244011207e-264"),
    ("4b1634e12d37de81", "5.317414936264135e+53"),
    ("2dedf12233df56d4", "1.8814428643040473e-87"),
    ("5b33199985cf3a6b", "2.1183195154819228e+131"),
    ("5f013c8240d90a1e", "4.407917745887082e+149"),
    ("4302da54759f1b43", "663325733282664.4"),
    ("47b7097b9b01f7cc", "3.062148159213537e+37"),
    ("e3a707d665505ac4", "-1.1125334562654325e+172"),
    ("93c38b33217adc6b", "-1.8141824360766864e-213"),
    ("8cce89147da8d02e", "-5.459063702062902e-247"),
    ("90bb34803c464110", "-4.48593865298792e-228"),
    ("e2f99b2a3c556a25", "-6.039781820018304e+168"),
    ("b3988b5231c8b788", "-3.818476858170018e-60"),
    ("218fdc135dcf019d", "4.983258417423e-147"),
    ("6e2d704512c2339b", "5.3206327902912224e+222"),
    ("a10bc6cca6b72014", "-1.6971124779898715e-149"),
    ("76b1fd3df4237526", "5.66459299669228e+263"),
    ("008eef6a63c2a48f", "5.5066514350683906e-306"),
    ("6c9fee24b808a677", "1.719884213481105e+215"),
    ("de14bff2eed7a24a", "-1.619391499579521e+145"),
    ("39935c590b0fb71c", "2.386394672757585e-31"),
    ("7f7eb68924496fe3", "1.3479639500022323e+306"),
    ("b2b8af9ace5c4299", "-2.344071666510307e-64"),
    ("71f33313d690b21c", "8.00141788584373e+240"),
    ("40f27005a3992461", "75520.35244096957"),
    ("bbafd28528e5d0e0", "-3.369321766118179e-21"),
    ("bc7b3b1669da8a2e", "-2.3618963341321053e-17"),
    ("4053bcf1de451397", "78.95226246591334"),
    ("c28cb594e2dd81ad", "-3945776569264.2095"),
    ("59c05bb9cd9cb03a", "2.1627508840182335e+124"),
    ("b494a73d33fba0d0", "-2.1057644504310183e-55"),
    ("a16854c6da891524", "-9.514258330584788e-148"),
    ("8535dcf45ff0066f", "-1.4702659894592824e-283"),
    ("a827f5a3b76d454d", "-3.040394598981256e-115"),
    ("e6c4b8fb2312ec6b", "-1.1270707849445616e+187"),
    ("b432d4f7f8a75516", "-3.0000961487762736e-57"),
    ("3cd73b439a7ef9e4", "1.2896073263461104e-15"),
    ("7f1071ecb903ce23", "1.1277426374057956e+304"),
    ("dc8fe9e63632ffcd", "-7.422748948804079e+137"),
    ("0ae56cc49e03793f", "3.5672372819059707e-256"),
    ("b3a8d61294b431de", "-7.727809143101776e-60"),
    ("09e4d1f4975a8550", "5.2895336031997795e-261"),
    ("9541240e5bfe6fb3", "-2.6694708567806993e-206"),
    ("91e42acbba4a204d", "-1.7434849253867255e-222"),
    ("2ea173325761a866", "4.491240624593103e-84"),
    ("316039ee4b9a6c80", "7.347004807180681e-71"),
    ("c99324582a1b9619", "-2.732033292062249e+46"),
    ("8e27ab7baf1cac66", "-1.7748803828189063e-240"),
    ("e68ee5641cbd1529", "-1.0502445234697304e+186"),
    ("2ad6072539be2172", "2.4587524810427258e-102"),
    ("6ddc74e611b36a90", "1.6072387217202636e+221"),
    ("9859476ba4be2c35", "-2.2162687367134738e-191"),
    ("ce98225d8e600acf", "-4.164210078063188e+70"),
    ("b1f5d8538b16bb0d", "-5.06423126488583e-68"),
    ("f89a724009f0992a", "-8.941715323869011e+272"),
    ("d34a8fb870890268", "-1.7314094025755075e+93"),
    ("3f726b06df17522c", "0.0044966"),
    ("42434ced51c00000", "165790000000"),
    ("c25f21bcaf800000", "-534840000000"),
    ("bf4844c556e1b918", "-0.00074062"),
    ("43384f091cf25800", "6842300000000000"),
    ("c23176592e000000", "-75000000000"),
    ("c4c5851a2f9bac80", "-2.0325e+23"),
    ("c111d82000000000", "-292360"),
    ("432d90d09dd22000", "4161000000000000"),
    ("c05831fbe76c8b44", "-96.781"),
    ("c12103b400000000", "-557530"),
    ("461c1d604556668c", "5.5687e+29"),
    ("c186391640000000", "-46605000"),
    ("c1211da400000000", "-560850"),
    ("bed7634ab268b8f5", "-0.0000055761"),
    ("4471a89a46c2b9a6", "5.2119e+21"),
    ("3eae297e01216308", "8.989e-7"),
    ("4268ec4e00700000", "856350000000"),
    ("c4a8f3e7010e1d62", "-5.8918e+22"),
    ("bf06dfeb628f165e", "-0.00004363"),
    ("440e044c324edf18", "69214000000000000000"),
    ("3ef46443aa01795a", "0.000019447"),
    ("407e3147ae147ae1", "483.08"),
    ("c2577eda8d200000", "-403650000000"),
    ("becffcffd8586a51", "-0.0000038133"),
    ("bf9137b07075b3e1", "-0.016814"),
    ("c44170c30b7452ac", "-643440000000000000000"),
    ("c2c9f9a4a7a00000", "-57120000000000"),
    ("bef1c752ba621117", "-0.000016955"),
    ("456695877d9f7360", "2.1842e+26"),
    ("4123c68000000000", "648000"),
    ("c483ea5a30105722", "-1.1756e+22"),
    ("c2d4f9131bc80000", "-92240000000000"),
    ("3efd61064c97aaa3", "0.000028018"),
    ("c194d4b3e0000000", "-87371000"),
    ("c5d4a6ecc545a567", "-2.5566e+28"),
    ("3f1552e7476634d7", "0.000081344"),
    ("bff831f8a0902de0", "-1.5122"),
    ("c3a369893057d100", "-699400000000000000"),
    ("c56431d00a17d0d4", "-1.9531e+26"),
    ("bf6c0010c6f7a0b6", "-0.003418"),
    ("3e72537a8a8f826b", "6.827e-8"),
    ("3e7993a9141871eb", "9.5281e-8"),
    ("41f99774da000000", "6869700000"),
    ("4402f73a32622b10", "43732000000000000000"),
    ("4232fc75f4400000", "81545000000"),
    ("bf8d5f56a7ac81d4", "-0.014342"),
    ("c3679e521e778000", "-53184000000000000"),
    ("41f30c3b6e000000", "5113100000"),
    ("c4253eb47d9ff396", "-195950000000000000000"),
    ("44d984516e4ba34a", "4.82e+23"),
    ("c1c4ca1cf0000000", "-697580000"),
    ("4150990600000000", "4351000"),
    ("43d10d659d63c2e0", "4915000000000000000"),
    ("c4b5254241d2f076", "-9.9857e+22"),
    ("c041228f5c28f5c3", "-34.27"),
    ("c5839729b82f4449", "-7.5787e+26"),
    ("c35692ede8e72000", "-25416000000000000"),
    ("3e90c69faab667a8", "2.4998e-7"),
    ("4514e69f573675a4", "6.3169e+24"),
    ("3f90d0aaa7ded6bb", "0.016421"),
    ("c01edfbe76c8b439", "-7.7185"),
    ("44b6642d4865782d", "1.0574e+23"),
    ("43f85d02cad97f28", "28089000000000000000"),
    ("3ea761b9600ae60e", "6.9683e-7"),
    ("40438a3d70a3d70a", "39.08"),
    ("c51fbe9a7f249750", "-9.5942e+24"),
    ("41cd5477f8000000", "984150000"),
    ("3ea5655f2dcc91cb", "6.3765e-7"),
    ("42873d1a33180000", "3193900000000"),
    ("c4444c1f0e3ce1c2", "-748840000000000000000"),
    ("416052e800000000", "8558400"),
    ("440dd23a016c917c", "68763000000000000000"),
    ("3e71f1e5a316f7bd", "6.685e-8"),
    ("c0482e978d4fdf3b", "-48.364"),
    ("c0127ac710cb295f", "-4.6199"),
    ("c162056100000000", "-9448200"),
    ("bf7fb6b45c937ecd", "-0.0077426"),
    ("4022afdf3b645a1d", "9.3435"),
    ("40c2974000000000", "9518.5"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("3eb0c6f6873c557a", "9.99999e-7"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("444b1ae4d6e2ef48", "999999999999999000000"),
    ("3ee4f8b588e368f1", "0.00001"),
    ("3e7ad7f29abcaf48", "1e-7"),
    ("3ddb7cdfd9d7bdbb", "1e-10"),
    ("2b2bff2ee48e0530", "1e-100"),
    ("54b249ad2594c37d", "1e+100"),
    ("441aabdf2145b430", "123000000000000000000"),
    ("3eb4b3fd5942cd96", "0.000001234"),
]


def _same(a: Any, b: Any) -> bool:
    """Equal, with floats compared bit for bit (so -0.0 differs from 0.0) and bools distinct from numbers."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize(("value", "expected"), MARSHAL_CASES)
def test_marshal_writes_compact_sorted_html_safe_json(value: Any, expected: str) -> None:
    assert marshal(value) == expected


@pytest.mark.parametrize(("value", "message"), MARSHAL_ERRORS)
def test_marshal_rejects_nan_infinities_and_complex_numbers_with_go_errors(value: Any, message: str) -> None:
    with pytest.raises(FuncError) as exc:
        marshal(value)
    assert str(exc.value) == message


@pytest.mark.parametrize(("value", "prefix", "indent", "expected"), INDENT_CASES)
def test_marshal_indent_lays_out_like_go(value: Any, prefix: str, indent: str, expected: str) -> None:
    assert marshal_indent(value, prefix, indent) == expected


@pytest.mark.parametrize(("text", "expected"), UNMARSHAL_CASES)
def test_unmarshal_decodes_every_number_as_float64(text: str, expected: Any) -> None:
    assert _same(unmarshal(text), expected)


@pytest.mark.parametrize(("text", "message"), UNMARSHAL_ERRORS)
def test_unmarshal_reports_syntax_errors_in_go_words(text: str, message: str) -> None:
    with pytest.raises(FuncError) as exc:
        unmarshal(text)
    assert str(exc.value) == message


def test_unmarshal_accepts_nesting_up_to_go_limit() -> None:
    # Deeper than Python's recursive decoder goes, within Go's limit of 10000.
    value = unmarshal("[" * 5000 + '{"a":[1,"x",{}]}' + "]" * 5000)
    depth = 0
    while isinstance(value, list):
        (value,) = value
        depth += 1
    assert depth == 5000
    assert _same(value, {"a": [1.0, "x", {}]})


def test_unmarshal_rejects_nesting_beyond_go_limit() -> None:
    with pytest.raises(FuncError) as exc:
        unmarshal("[" * 10001 + "]" * 10001)
    assert str(exc.value) == "invalid character '[' exceeded max depth"


def test_syntax_error_is_none_for_valid_json() -> None:
    assert syntax_error('{"a": [1, 2.5e-3, "x", true, null]}') is None
    assert syntax_error("[1,") == "unexpected end of JSON input"


# -- floats --------------------------------------------------------------------------------------------------


def _from_hex(bits: str) -> float:
    value: float = struct.unpack(">d", bytes.fromhex(bits))[0]
    return value


@given(st.sampled_from(FLOAT_TABLE))
def test_marshal_formats_sampled_doubles_like_go(row: tuple[str, str]) -> None:
    bits, expected = row
    assert marshal(_from_hex(bits)) == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_marshalled_floats_read_back_and_use_exponents_only_at_the_extremes(x: float) -> None:
    text = marshal(x)
    assert float(text) == x
    assert _same(unmarshal(text), x)
    # encoding/json: decimal notation unless |x| < 1e-6 or |x| >= 1e21; exponents lose their leading zero.
    assert ("e" in text) == (x != 0 and (abs(x) < 1e-6 or abs(x) >= 1e21))
    assert "e-0" not in text


class _Float32(float):
    bits = 32


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (_Float32(0.1), "0.1"),
        (_Float32(16777216.0), "16777216"),
        (_Float32(1e-7), "1e-7"),
        (_Float32(1e21), "1e+21"),
    ],
)
def test_float32_values_marshal_with_32_bit_shortest_digits(value: float, expected: str) -> None:
    assert marshal(value) == expected


# -- the data model ------------------------------------------------------------------------------------------


class _Slice(list[Any]):
    def __init__(self, items: list[Any], go_type: str, is_nil: bool = False) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.is_nil = is_nil


class _Map(dict[Any, Any]):
    def __init__(self, items: dict[Any, Any], go_type: str, is_nil: bool = False) -> None:
        super().__init__(items)
        self.go_type = go_type
        self.is_nil = is_nil


def test_nil_typed_maps_and_slices_marshal_as_null() -> None:
    value = {
        "nilSlice": _Slice([], "[]string", is_nil=True),
        "emptySlice": _Slice([], "[]string"),
        "nilMap": _Map({}, "map[string]string", is_nil=True),
        "map": _Map({"b": "1", "a": "<2>"}, "map[string]string"),
    }
    assert marshal(value) == '{"emptySlice":[],"map":{"a":"\\u003c2\\u003e","b":"1"},"nilMap":null,"nilSlice":null}'
    assert marshal_indent(value["nilSlice"], "", "  ") == "null"


class _Proxy(GoObject):
    """A struct-like object: encoding/json writes struct fields in declaration order, maps sorted."""

    def go_json(self) -> Any:
        return StructFields(
            [
                ("image", "proxyv2"),
                ("concurrency", 2.0),
                ("env", {"Z": "1", "A": "<2>"}),
                ("args", ["a", "&"]),
            ]
        )


def test_objects_marshal_through_go_json_keeping_struct_field_order() -> None:
    proxy = _Proxy()
    assert (
        marshal(proxy)
        == '{"image":"proxyv2","concurrency":2,"env":{"A":"\\u003c2\\u003e","Z":"1"},"args":["a","\\u0026"]}'
    )
    assert marshal_indent({"proxy": proxy}, "", " ") == (
        '{\n "proxy": {\n  "image": "proxyv2",\n  "concurrency": 2,\n  "env": {\n   "A": "\\u003c2\\u003e",\n'
        '   "Z": "1"\n  },\n  "args": [\n   "a",\n   "\\u0026"\n  ]\n }\n}'
    )


def test_missing_values_and_typed_ints_marshal_as_plain_values() -> None:
    assert marshal([MISSING, TypedInt(255, "uint8"), TypedInt(-1, "int64")]) == "[null,255,-1]"


def test_marshal_rejects_unsupported_key_types() -> None:
    with pytest.raises(FuncError) as exc:
        marshal({1.5: "x"})
    assert str(exc.value).startswith("json: unsupported type: map[")
