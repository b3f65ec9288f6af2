"""Tests of meshinject.gotemplate.goyaml against outputs recorded from Go.

Every expected value below was produced by the real Go libraries (sigs.k8s.io/yaml 1.3.0 over gopkg.in/yaml.v2
2.4.0, Go 1.26): ``yaml.Marshal`` of the JSON form of each input, and ``yaml.Unmarshal`` into ``interface{}``.
Go is not needed to run them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from meshinject.gotemplate._values import GoObject, TypedInt
from meshinject.gotemplate.goyaml import (
    GoYAMLError,
    format_float,
    load_preserving_types,
    marshal,
    marshal_documents,
    unmarshal,
)

# (test id, value, exact output of Go's sigs.k8s.io/yaml.Marshal)
MARSHAL_CASES: list[tuple[str, Any, str]] = [
    ("plain_string", {"name": "hello"}, "name: hello\n"),
    (
        "nested_map_and_sorted_keys",
        {"zeta": 1, "alpha": {"b": 2, "a": 1}, "Mid": True},
        "Mid: true\nalpha:\n  a: 1\n  b: 2\nzeta: 1\n",
    ),
    (
        "sequence_not_indented_under_key",
        {"containers": [{"name": "app", "image": "x"}, {"name": "sidecar"}]},
        "containers:\n- image: x\n  name: app\n- name: sidecar\n",
    ),
    ("sequence_of_sequences", [[1, 2], [], [[3]]], "- - 1\n  - 2\n- []\n- - - 3\n"),
    ("empty_collections_flow_style", {"a": {}, "b": [], "c": [{}, []]}, "a: {}\nb: []\nc:\n- {}\n- []\n"),
    ("null_and_bools", {"n": None, "t": True, "f": False}, 'f: false\n"n": null\nt: true\n'),
    ("root_scalar", "hello", "hello\n"),
    ("root_empty_map", {}, "{}\n"),
    ("root_null", None, "null\n"),
    (
        "numeric_strings_double_quoted",
        [
            "15001",
            "1.5",
            "-1",
            "+1",
            "1e3",
            "0x1F",
            "0o17",
            "017",
            "08",
            ".5",
            "1_000",
            "1_",
            "9223372036854775808",
        ],
        (
            '- "15001"\n- "1.5"\n- "-1"\n'
            '- "+1"\n- "1e3"\n- "0x1F"\n'
            '- "0o17"\n- "017"\n- "08"\n'
            '- ".5"\n- "1_000"\n- "1_"\n'
            '- "9223372036854775808"\n'
        ),
    ),
    (
        "yaml11_words_double_quoted",
        [
            "true",
            "True",
            "TRUE",
            "false",
            "yes",
            "Yes",
            "no",
            "on",
            "OFF",
            "y",
            "Y",
            "n",
            "N",
            "null",
            "Null",
            "~",
            "",
        ],
        (
            '- "true"\n- "True"\n- "TRUE"\n'
            '- "false"\n- "yes"\n- "Yes"\n'
            '- "no"\n- "on"\n- "OFF"\n'
            '- "y"\n- "Y"\n- "n"\n- "N"\n'
            '- "null"\n- "Null"\n- "~"\n'
            '- ""\n'
        ),
    ),
    (
        "not_quoted_lookalikes",
        [
            "tRUE",
            "nan",
            "inf",
            "1e",
            "3.14e",
            "0x",
            "1e400",
            ".5e999",
            "._1",
            "<<",
            "=",
            "+",
            ".",
            "oN",
            "1:60",
        ],
        ("- tRUE\n- nan\n- inf\n- 1e\n- 3.14e\n- 0x\n- 1e400\n- .5e999\n- ._1\n- <<\n- =\n- +\n- .\n- oN\n- 1:60\n"),
    ),
    (
        "special_floats_and_base60_quoted",
        [".inf", "-.inf", "+.inf", ".NaN", "1:30", "-1:30:00.5", "1e-400"],
        '- ".inf"\n- "-.inf"\n- "+.inf"\n- ".NaN"\n- "1:30"\n- "-1:30:00.5"\n- "1e-400"\n',
    ),
    (
        "timestamps_quoted",
        [
            "2001-12-14",
            "2000-02-29",
            "2001-12-14t21:59:43.10Z",
            "2001-12-14 21:59:43.10",
            "2001-1-1T1:2:3+24:00",
        ],
        (
            '- "2001-12-14"\n- "2000-02-29"\n'
            '- "2001-12-14t21:59:43.10Z"\n'
            '- "2001-12-14 21:59:43.10"\n'
            '- "2001-1-1T1:2:3+24:00"\n'
        ),
    ),
    (
        "timestamp_lookalikes_plain",
        [
            "2001-02-29",
            "2001-1-1T24:2:3Z",
            "2001-1-1T1:2:3+25:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-001-1",
        ],
        ("- 2001-02-29\n- 2001-1-1T24:2:3Z\n- 2001-1-1T1:2:3+25:00\n- 2001-12-14 21:59:43.10 -5\n- 2001-001-1\n"),
    ),
    (
        "indicators_single_quoted",
        [
            "*",
            "&a",
            "!a",
            "|",
            ">",
            "'",
            "%",
            "@",
            "`",
            "{",
            "}",
            "[",
            "]",
            ",",
            "#",
            "-",
            "- a",
            "? a",
            ": a",
            "---",
            "...",
            "a: b",
            "a #b",
            " a",
            "a ",
            '{"a":1}',
        ],
        (
            "- '*'\n- '&a'\n- '!a'\n- '|'\n"
            "- '>'\n- ''''\n- '%'\n- '@'\n"
            "- '`'\n- '{'\n- '}'\n- '['\n"
            "- ']'\n- ','\n- '#'\n- '-'\n"
            "- '- a'\n- '? a'\n- ': a'\n"
            "- '---'\n- '...'\n- 'a: b'\n"
            "- 'a #b'\n- ' a'\n- 'a '\n"
            "- '{\"a\":1}'\n"
        ),
    ),
    (
        "indicators_allowed_inside",
        [
            "a-b",
            "-a",
            "?a",
            ":a",
            "a:b",
            "a#b",
            "a,b",
            "a*b",
            "http://x.y/z?a=b&c=d#f",
            "a'b",
            'a"b',
            "C:\\path",
            "--",
            "..a",
        ],
        (
            "- a-b\n- -a\n- ?a\n- :a\n"
            "- a:b\n- a#b\n- a,b\n- a*b\n"
            "- http://x.y/z?a=b&c=d#f\n"
            "- a'b\n- a\"b\n- C:\\path\n"
            "- --\n- ..a\n"
        ),
    ),
    ("quote_doubling", ["'quoted'", "it's", "a: 'b'"], "- '''quoted'''\n- it's\n- 'a: ''b'''\n"),
    (
        "non_printable_double_quoted",
        ["a\tb", "\x00", "\x1b", "a\rb", "x", "\ufeff", "\ufeffab c", "😀", "a😀b", "x\u2028y "],
        (
            '- "a\\tb"\n- "\\0"\n- "\\e"\n'
            '- "a\\rb"\n- x\n- "\\uFEFF"\n'
            '- "\\uFEFF\\x61\\x62\\x20\\x63"\n'
            '- "\\U0001F600"\n- "a\\U0001F600b"\n'
            "- 'x\u2028  y '\n"
        ),
    ),
    ("unicode_printable_plain", ["é", "日本語", "a\xa0b", "�"], "- é\n- 日本語\n- a\xa0b\n- �\n"),
    (
        "literal_blocks",
        ["a\nb", "a\nb\n", "a\n\n", "a\nb\n\n\n", "\n", "\n\n", " indented\nx\n", "\nleading", "a\n\nb\n"],
        (
            "- |-\n  a\n  b\n- |\n  a\n"
            "  b\n- |+\n  a\n\n- |+\n  a\n"
            "  b\n\n\n- |2+\n\n- |2+\n\n\n"
            "- |2\n   indented\n  x\n"
            "- |2-\n\n  leading\n- |\n"
            "  a\n\n  b\n"
        ),
    ),
    (
        "literal_fallback_to_double",
        ["a \nb", "a\nb ", "tab\tand\nnewline", "😀\n"],
        '- "a \\nb"\n- "a\\nb "\n- "tab\\tand\\nnewline"\n- "\\U0001F600\\n"\n',
    ),
    (
        "literal_nested_indent",
        {"spec": {"script": ["echo a\necho b\n", {"run": "x\ny"}]}},
        "spec:\n  script:\n  - |\n    echo a\n    echo b\n  - run: |-\n      x\n      y\n",
    ),
    (
        "nel_is_folded_by_the_json_round_trip",
        ["a\x85b", "a \x85 b", "a\x85\x85b"],
        "- a b\n- a b\n- |-\n  a\n  b\n",
    ),
    ("line_separator_in_single_quotes", ["a\u2028b"], "- 'a\u2028  b'\n"),
    (
        "fold_plain_at_80",
        {
            "description": (
                "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut"
                " labore lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incid"
                "idunt ut labore"
            ),
        },
        (
            "description: lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod\n"
            "  tempor incididunt ut labore lorem ipsum dolor sit amet consectetur adipiscing elit\n"
            "  sed do eiusmod tempor incididunt ut labore\n"
        ),
    ),
    (
        "fold_plain_in_sequence",
        {
            "args": [
                (
                    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididun"
                    "t ut laborelorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempo"
                    "r incididunt ut labore"
                ),
            ],
        },
        (
            "args:\n- lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididu"
            "nt\n  ut laborelorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
            "  incididunt ut labore\n"
        ),
    ),
    (
        "fold_single_quoted",
        {
            "k": (
                "- lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
                "ut labore lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor inc"
                "ididunt ut labore"
            ),
        },
        (
            "k: '- lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
            "  incididunt ut labore lorem ipsum dolor sit amet consectetur adipiscing elit sed\n"
            "  do eiusmod tempor incididunt ut labore'\n"
        ),
    ),
    (
        "fold_double_quoted",
        {
            "k": (
                "\tlorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt "
                "ut labore lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor inc"
                "ididunt ut labore"
            ),
        },
        (
            'k: "\\tlorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n'
            "  incididunt ut labore lorem ipsum dolor sit amet consectetur adipiscing elit sed\n"
            '  do eiusmod tempor incididunt ut labore"\n'
        ),
    ),
    (
        "fold_double_quoted_keeps_double_space",
        {"k": "\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  bb  cc"},
        ('k: "\\taaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n  \\ bb  cc"\n'),
    ),
    (
        "fold_keeps_runs_of_spaces",
        {"k": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa   b c"},
        "k: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa   b\n  c\n",
    ),
    (
        "no_fold_without_spaces",
        {
            "k": (
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                "xxxxxxxxxxxxxxxxxxxx"
            ),
        },
        (
            "k: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
            "xxxxxxxxxxxxxxx\n"
        ),
    ),
    (
        "keys_never_fold",
        {
            (
                "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut"
                " labore lorem ipsum dolor si"
            ): 1,
        },
        (
            "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut lab"
            "ore lorem ipsum dolor si: 1\n"
        ),
    ),
    (
        "ints",
        [
            0,
            1,
            -1,
            9007199254740993,
            9223372036854775807,
            -9223372036854775808,
            9223372036854775808,
            18446744073709551615,
            18446744073709551616,
            -9223372036854775809,
            10000000000000000000000000,
        ],
        (
            "- 0\n- 1\n- -1\n- 9007199254740993\n"
            "- 9223372036854775807\n"
            "- -9223372036854775808\n"
            "- 9223372036854775808\n"
            "- 18446744073709551615\n"
            "- 1.8446744073709552e+19\n"
            "- -9.223372036854776e+18\n"
            "- 1e+25\n"
        ),
    ),
    (
        "floats",
        [1.5, -0.25, 0.1, 1e-07, 1e-05, 0.0001, 123456.5, 1234567.5, 1e21, 1.5e300, 5e-324],
        (
            "- 1.5\n- -0.25\n- 0.1\n- 1e-07\n"
            "- 1e-05\n- 0.0001\n- 123456.5\n"
            "- 1.2345675e+06\n- 1e+21\n"
            "- 1.5e+300\n- 5e-324\n"
        ),
    ),
    (
        "integral_floats_become_ints",
        [
            0.0,
            -0.0,
            1.0,
            100.0,
            1000000.0,
            1e20,
            9.223372036854776e18,
            1.8446744073709552e19,
            9.223372036854778e18,
            1e19,
        ],
        (
            "- 0\n- 0\n- 1\n- 100\n- 1000000\n"
            "- 1e+20\n- 9223372036854776000\n"
            "- 1.8446744073709552e+19\n"
            "- 9223372036854778000\n"
            "- 10000000000000000000\n"
        ),
    ),
    (
        "natural_key_order",
        {
            "a10": 1,
            "a9": 2,
            "a_b": 3,
            "aB": 4,
            "a-b": 5,
            "A": 6,
            "_x": 7,
            "b": 8,
            "a": 9,
            "a0": 10,
            "a01": 11,
            "a1": 12,
        },
        "_x: 7\nA: 6\na: 9\na-b: 5\na_b: 3\na0: 10\na1: 12\na01: 11\na9: 2\na10: 1\naB: 4\nb: 8\n",
    ),
    (
        "key_order_digits_before_letters",
        {"z": 1, "10": 2, "9": 3, "x1": 4, "x01": 5, "x001": 6, "é": 7, "日": 8},
        '"9": 3\n"10": 2\nx1: 4\nx01: 5\nx001: 6\nz: 1\né: 7\n日: 8\n',
    ),
    (
        "quoted_keys",
        {"yes": 1, "1": 2, "": 3, "*": 4, "a b": 5, "a: b": 6, "null": 7},
        '"": 3\n\'*\': 4\n"1": 2\na b: 5\n\'a: b\': 6\n"null": 7\n"yes": 1\n',
    ),
    (
        "multiline_key_uses_explicit_key",
        {"a\nb": "v", "c": {"d\ne\n": [1]}},
        "? |-\n  a\n  b\n: v\nc:\n  ? |\n    d\n    e\n  : - 1\n",
    ),
    (
        "long_key_uses_explicit_key",
        {
            (
                "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
            ): "v",
            (
                "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
                "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
            ): "w",
        },
        (
            "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
            "jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj: w\n"
            "? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
            "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n"
            ": v\n"
        ),
    ),
    (
        "long_multibyte_key",
        {
            ("ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé"): {"x": 1},
        },
        "? ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\n: x: 1\n",
    ),
    (
        "sequence_item_maps",
        [{"a": 1, "b": [1, 2]}, {"c": {"d": None}}],
        "- a: 1\n  b:\n  - 1\n  - 2\n- c:\n    d: null\n",
    ),
    (
        "seq_under_key_inside_seq",
        [{"key": ["a", "b"], "other": [[1]]}],
        "- key:\n  - a\n  - b\n  other:\n  - - 1\n",
    ),
]

# (test id, value, Go's error message)
MARSHAL_ERRORS: list[tuple[str, Any, str]] = [
    ("nan", [float("nan")], "json: unsupported value: NaN"),
    ("inf", {"a": float("inf")}, "json: unsupported value: +Inf"),
    ("del_char", "a\x7fb", "error converting JSON to YAML: yaml: control characters are not allowed"),
    ("c1_control", "a\x81b", "error converting JSON to YAML: yaml: control characters are not allowed"),
    ("noncharacter", "\uffff", "error converting JSON to YAML: yaml: control characters are not allowed"),
    (
        "nel_in_key",
        {"a\x85b": 1},
        "error converting JSON to YAML: yaml: line 1: did not find expected ',' or '}'",
    ),
    (
        "key_over_1024_json_chars",
        {
            (
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            ): 1,
        },
        "error converting JSON to YAML: yaml: did not find expected ',' or '}'",
    ),
    (
        "escaped_key_over_1024",
        {
            (
                "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<"
                "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<"
            ): 1,
        },
        "error converting JSON to YAML: yaml: did not find expected ',' or '}'",
    ),
    (
        "document_marker_after_nel",
        "a\x85--- b",
        "error converting JSON to YAML: yaml: line 2: found unexpected document indicator",
    ),
]

# (test id, YAML text, Go's result of sigs.k8s.io/yaml.Unmarshal into interface{})
UNMARSHAL_CASES: list[tuple[str, str, Any]] = [
    (
        "numbers_become_floats",
        "a: 1\nb: -2\nc: 1.5\nd: 0x1F\ne: 0o17\nf: 1e3\ng: 18446744073709551615\nh: 1_000\n",
        {
            "a": 1.0,
            "b": -2.0,
            "c": 1.5,
            "d": 31.0,
            "e": 15.0,
            "f": 1000.0,
            "g": 1.8446744073709552e19,
            "h": 1000.0,
        },
    ),
    (
        "yaml11_booleans",
        "[y, Y, yes, NO, on, Off, true, False, tRUE, yES]\n",
        [True, True, True, False, True, False, True, False, "tRUE", "yES"],
    ),
    ("nulls", "a: [~, null, Null, NULL, nulL]\nb:\n", {"a": [None, None, None, None, "nulL"], "b": None}),
    (
        "strings_stay_strings",
        "[1:30, 2001-12-14, 08, '1', \"2\", 1_, 0x, 1e400, <<, =, .5e999]\n",
        ["1:30", "2001-12-14", 8.0, "1", "2", 1.0, "0x", "1e400", "<<", "=", ".5e999"],
    ),
    (
        "keys_become_strings",
        "1: a\n1.5: b\ntrue: c\n0x10: d\n123456789.0: e\n-0.0: f\n.inf: g\n2001-01-01: h\n",
        {
            "-0": "f",
            ".inf": "g",
            "1": "a",
            "1.2345679e+08": "e",
            "1.5": "b",
            "16": "d",
            "2001-01-01": "h",
            "true": "c",
        },
    ),
    (
        "explicit_tags",
        ('a: !!str 12\nb: !!int "12"\nc: !!float 3\nd: !!binary aGVsbG8=\ne: !custom val\nf: !!timestamp 2001-01-01\n'),
        {"a": "12", "b": 12.0, "c": 3.0, "d": "hello", "e": "val", "f": "2001-01-01"},
    ),
    ("first_document_only", "a: 1\n---\nb: 2\n", {"a": 1.0}),
    ("empty_input", "", None),
    ("empty_document", "---\n", None),
    (
        "merge_later_keys_win",
        "base: &b {a: 1, b: 2}\nd:\n  <<: *b\n  b: 3\n",
        {"base": {"a": 1.0, "b": 2.0}, "d": {"a": 1.0, "b": 3.0}},
    ),
    (
        "merge_overrides_earlier_keys",
        "base: &b {a: 1, b: 2}\nd:\n  b: 3\n  <<: *b\n",
        {"base": {"a": 1.0, "b": 2.0}, "d": {"a": 1.0, "b": 2.0}},
    ),
    (
        "merge_sequence_first_wins",
        "p: &p {a: 1}\nq: &q {a: 2, c: 3}\nd:\n  <<: [*p, *q]\n",
        {"d": {"a": 1.0, "c": 3.0}, "p": {"a": 1.0}, "q": {"a": 2.0, "c": 3.0}},
    ),
    ("yaml11_bool_key", "y: 1\nno: 2\n", {"false": 2.0, "true": 1.0}),
    ("quoted_merge_key_is_plain_key", "d:\n  '<<': {a: 1}\n", {"d": {"<<": {"a": 1.0}}}),
    ("aliases", "a: &a [1, {b: c}]\nb: *a\n", {"a": [1.0, {"b": "c"}], "b": [1.0, {"b": "c"}]}),
    (
        "block_scalars",
        "a: |\n  x\n  y\nb: >\n  folded\n  text\nc: |-\n  z\n",
        {"a": "x\ny\n", "b": "folded text\n", "c": "z"},
    ),
    (
        "flow_and_block",
        "a: [1, {b: [x, 'y']}]\nc:\n- d: e\n",
        {"a": [1.0, {"b": ["x", "y"]}], "c": [{"d": "e"}]},
    ),
]

# (test id, YAML text, Go's error message)
UNMARSHAL_ERRORS: list[tuple[str, str, str]] = [
    ("nan_value", "a: .nan\n", "error converting YAML to JSON: json: unsupported value: NaN"),
    ("inf_value", "a: -.inf\n", "error converting YAML to JSON: json: unsupported value: -Inf"),
    (
        "null_key",
        "~: 1\n",
        "error converting YAML to JSON: Unsupported map key of type: %!s(<nil>), key: <nil>, value: 1",
    ),
    (
        "uint64_key",
        "18446744073709551615: a\n",
        ('error converting YAML to JSON: Unsupported map key of type: uint64, key: 0xffffffffffffffff, value: "a"'),
    ),
    (
        "syntax_error",
        "a: [1, 2\n",
        "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'",
    ),
    (
        "bad_indent",
        "a:\n  - 1\n - 2\n",
        "error converting YAML to JSON: yaml: line 2: did not find expected key",
    ),
]

# Where our message is shorter than Go's (Go adds a line number or the offending value): the part we share.
_ERROR_CORE = re.compile(
    r"control characters are not allowed|did not find expected [^ ]+ or '.'"
    r"|found unexpected document indicator"
    r"|json: unsupported value: \S+|Unsupported map key of type|did not find expected key"
)


def _core(message: str) -> str:
    m = _ERROR_CORE.search(message)
    assert m is not None, message
    return m.group()


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in MARSHAL_CASES], ids=[c[0] for c in MARSHAL_CASES])
def test_marshal_matches_go_output(value: Any, expected: str) -> None:
    assert marshal(value) == expected


@pytest.mark.parametrize(("value", "message"), [c[1:] for c in MARSHAL_ERRORS], ids=[c[0] for c in MARSHAL_ERRORS])
def test_marshal_fails_where_go_fails(value: Any, message: str) -> None:
    with pytest.raises(GoYAMLError) as info:
        marshal(value)
    assert _core(message) in str(info.value)


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in UNMARSHAL_CASES], ids=[c[0] for c in UNMARSHAL_CASES])
def test_unmarshal_matches_go_result(text: str, expected: Any) -> None:
    result = unmarshal(text)
    assert result == expected
    assert _types(result) == _types(expected)


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in UNMARSHAL_ERRORS], ids=[c[0] for c in UNMARSHAL_ERRORS])
def test_unmarshal_fails_where_go_fails(text: str, message: str) -> None:
    with pytest.raises(GoYAMLError) as info:
        unmarshal(text)
    assert _core(message) in str(info.value)


def _types(v: Any) -> Any:
    """The value with every leaf replaced by its type, so that 1 and 1.0 compare different."""
    if isinstance(v, dict):
        return {k: _types(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_types(x) for x in v]
    return type(v)


def test_unmarshal_gives_each_alias_its_own_copy() -> None:
    data = unmarshal("a: &x {k: [1]}\nb: *x\nc: [*x]\n")
    data["a"]["k"].append(2)
    assert data["b"] == {"k": [1.0]}
    assert data["c"] == [{"k": [1.0]}]


def test_unmarshal_reports_bad_explicit_int_as_go_yaml_error() -> None:
    with pytest.raises(GoYAMLError):
        unmarshal("a: !!int zz\n")


def test_unmarshal_accepts_bytes() -> None:
    assert unmarshal(b"a: [x]\n") == {"a": ["x"]}


def test_load_preserving_types_keeps_go_yaml_types() -> None:
    # go-yaml v2 (resolve.go): decimal/hex ints are int, uint64-range ints stay integers, anything matching
    # its float pattern is float64 (so "08" and "1e3" are floats), timestamps stay strings.
    got = load_preserving_types(
        "[1, 1.0, 0x1F, 1e3, 08, 9223372036854775808, 2001-01-01, -0, '7', yes, ~, 1:30, 1.5: x]\n"
    )
    assert got == [
        1,
        1.0,
        31,
        1000.0,
        8.0,
        9223372036854775808,
        "2001-01-01",
        0,
        "7",
        True,
        None,
        "1:30",
        {"1.5": "x"},
    ]
    assert [type(x) for x in got[:8]] == [int, float, int, float, float, int, str, int]
    assert math.isinf(load_preserving_types("a: .inf\n")["a"])


def test_marshal_of_loaded_go_output_is_identical() -> None:
    text = 'a:\n  b:\n  - 1\n  - 1.5\n  - "2"\n  - x y\nc: |\n  line\n'
    assert marshal(load_preserving_types(text)) == text


class _Duration(GoObject):
    def go_json(self) -> Any:
        return {"seconds": 5, "nanos": TypedInt(0, "int32")}


def test_marshal_uses_go_json_of_objects_and_accepts_tuples_and_int_keys() -> None:
    assert marshal({"d": _Duration(), "t": ("a", 1), 3: "x"}) == '"3": x\nd:\n  nanos: 0\n  seconds: 5\nt:\n- a\n- 1\n'


def test_marshal_rejects_values_json_cannot_encode() -> None:
    with pytest.raises(GoYAMLError):
        marshal({"a": object()})


def test_marshal_documents_writes_each_value_then_separator() -> None:
    assert marshal_documents([{"a": 1}, None]) == "a: 1\n---\nnull\n---\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.5, "1.5"),
        (1e21, "1e+21"),
        (1234567.0, "1.234567e+06"),
        (1e-5, "1e-05"),
        (0.0001, "0.0001"),
        (100000.0, "100000"),
        (-0.0, "-0"),
        (float("nan"), ".nan"),
        (float("-inf"), "-.inf"),
    ],
)
def test_format_float_follows_strconv_g(value: float, expected: str) -> None:
    assert format_float(value) == expected


# ------------------------------------------------------------------------------------------------------------
# Round trip over Istio's golden files: they are byte copies of go-yaml v2 output.

_ISTIO_EXPECTED = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "istio" / "expected"
# kube-inject re-serialises these kinds; any other document is a copy of the input (not Go output).
_SERIALISED_KINDS = {
    "Pod",
    "ReplicationController",
    "Deployment",
    "DaemonSet",
    "ReplicaSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "DeploymentConfig",
    "List",
}


def _documents(text: str) -> list[str]:
    docs: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---"):
            docs.append("".join(current))
            current = []
        else:
            current.append(line)
    docs.append("".join(current))
    return [d for d in docs if d]


def test_istio_golden_documents_round_trip_byte_for_byte() -> None:
    if not _ISTIO_EXPECTED.is_dir():
        pytest.skip(f"Istio conformance data not found at {_ISTIO_EXPECTED}")
    checked = 0
    failures: list[str] = []
    for path in sorted(_ISTIO_EXPECTED.glob("*.injected")):
        for index, doc in enumerate(_documents(path.read_text(encoding="utf-8"))):
            data = load_preserving_types(doc)
            if not isinstance(data, dict) or data.get("kind") not in _SERIALISED_KINDS:
                continue
            checked += 1
            if marshal(data) != doc:
                failures.append(f"{path.name}#{index}")
    assert not failures
    assert checked >= 90
