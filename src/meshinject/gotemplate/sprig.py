"""Sprig v3's text function map (``sprig.TxtFuncMap()``), plus the YAML helpers and ``required`` from Helm.

Every function reproduces Sprig's observable behaviour in Go, including its conversions (``spf13/cast``:
``add "1" 2`` is 3, ``int "abc"`` is 0), its silent failures (``b64dec`` returns the error text) and its
panics, which surface as ``error calling NAME: ...`` like Go's ``text/template`` reports them.

Not provided: the x509 certificate generators (``genCA``, ``genSelfSignedCert``, ``genSignedCert``,
``buildCustomCert`` and their ``WithKey`` forms) and Helm's ``include``/``tpl``/``lookup``, which need the
template engine itself or a cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from meshinject.gotemplate import (
    _sprig_collections as col,
)
from meshinject.gotemplate import (
    _sprig_crypto as cry,
)
from meshinject.gotemplate import (
    _sprig_encoding as enc,
)
from meshinject.gotemplate import (
    _sprig_numeric as num,
)
from meshinject.gotemplate import (
    _sprig_regex as rx,
)
from meshinject.gotemplate import (
    _sprig_semver as sv,
)
from meshinject.gotemplate import (
    _sprig_strings as st,
)
from meshinject.gotemplate import (
    _sprig_time as tm,
)
from meshinject.gotemplate import (
    _sprig_url_os as uo,
)
from meshinject.gotemplate._sprig_base import GoMap, GoSlice
from meshinject.gotemplate._sprig_time import GoDuration, GoTime, time_from_data
from meshinject.gotemplate.funcs import go_func


@go_func()
def _hello() -> str:
    return "Hello!"


SPRIG_FUNCS: Final[dict[str, Callable[..., Any]]] = {
    "hello": _hello,
    # dates
    "ago": tm.ago,
    "date": tm.date,
    "date_in_zone": tm.date_in_zone,
    "date_modify": tm.date_modify,
    "dateInZone": tm.date_in_zone,
    "dateModify": tm.date_modify,
    "duration": tm.duration,
    "durationRound": tm.duration_round_,
    "htmlDate": tm.html_date,
    "htmlDateInZone": tm.html_date_in_zone,
    "must_date_modify": tm.must_date_modify,
    "mustDateModify": tm.must_date_modify,
    "mustToDate": tm.must_to_date,
    "now": tm.now,
    "toDate": tm.to_date,
    "unixEpoch": tm.unix_epoch,
    # strings
    "abbrev": st.abbrev,
    "abbrevboth": st.abbrevboth,
    "trunc": st.trunc,
    "trim": st.trim,
    "upper": st.upper,
    "lower": st.lower,
    "title": st.title,
    "untitle": st.untitle,
    "substr": st.substr,
    "repeat": st.repeat,
    "trimall": st.trim_all,
    "trimAll": st.trim_all,
    "trimSuffix": st.trim_suffix,
    "trimPrefix": st.trim_prefix,
    "nospace": st.nospace,
    "initials": st.initials,
    "randAlphaNum": st.rand_alpha_num,
    "randAlpha": st.rand_alpha,
    "randAscii": st.rand_ascii,
    "randNumeric": st.rand_numeric,
    "swapcase": st.swapcase,
    "shuffle": st.shuffle,
    "snakecase": st.snakecase,
    "camelcase": st.camelcase,
    "kebabcase": st.kebabcase,
    "wrap": st.wrap,
    "wrapWith": st.wrap_with,
    "contains": st.contains,
    "hasPrefix": st.has_prefix,
    "hasSuffix": st.has_suffix,
    "quote": st.quote,
    "squote": st.squote,
    "cat": st.cat,
    "indent": st.indent,
    "nindent": st.nindent,
    "replace": st.replace,
    "plural": st.plural,
    "sha1sum": cry.sha1sum,
    "sha256sum": cry.sha256sum,
    "sha512sum": cry.sha512sum,
    "adler32sum": cry.adler32sum,
    "toString": st.to_string,
    # numbers
    "atoi": num.atoi,
    "int64": num.int64_,
    "int": num.int_,
    "float64": num.float64_,
    "seq": num.seq,
    "toDecimal": num.to_decimal,
    "split": st.split,
    "splitList": st.split_list,
    "splitn": st.splitn,
    "toStrings": st.to_strings,
    "until": num.until,
    "untilStep": num.until_step_,
    "add1": num.add1,
    "add": num.add,
    "sub": num.sub,
    "div": num.div,
    "mod": num.mod,
    "mul": num.mul,
    "randInt": num.rand_int,
    "add1f": num.add1f,
    "addf": num.addf,
    "subf": num.subf,
    "divf": num.divf,
    "mulf": num.mulf,
    "biggest": num.max_,
    "max": num.max_,
    "min": num.min_,
    "maxf": num.maxf,
    "minf": num.minf,
    "ceil": num.ceil,
    "floor": num.floor,
    "round": num.round_,
    "join": st.join,
    "sortAlpha": st.sort_alpha,
    # defaults
    "default": col.default,
    "empty": col.empty,
    "coalesce": col.coalesce,
    "all": col.all_,
    "any": col.any_,
    "compact": col.compact,
    "mustCompact": col.compact,
    "fromJson": enc.from_json,
    "toJson": enc.to_json,
    "toPrettyJson": enc.to_pretty_json,
    "toRawJson": enc.to_raw_json,
    "mustFromJson": enc.must_from_json,
    "mustToJson": enc.must_to_json,
    "mustToPrettyJson": enc.must_to_pretty_json,
    "mustToRawJson": enc.must_to_raw_json,
    "ternary": col.ternary,
    "deepCopy": col.deep_copy,
    "mustDeepCopy": col.deep_copy,
    # reflection
    "typeOf": col.type_of,
    "typeIs": col.type_is,
    "typeIsLike": col.type_is_like,
    "kindOf": col.kind_of,
    "kindIs": col.kind_is,
    "deepEqual": col.deep_equal_,
    # OS
    "env": uo.env,
    "expandenv": uo.expandenv,
    # network
    "getHostByName": uo.get_host_by_name,
    # paths
    "base": uo.base,
    "dir": uo.dir_,
    "clean": uo.clean,
    "ext": uo.ext,
    "isAbs": uo.is_abs,
    "osBase": uo.base,
    "osClean": uo.clean,
    "osDir": uo.dir_,
    "osExt": uo.ext,
    "osIsAbs": uo.is_abs,
    # encoding
    "b64enc": st.b64enc,
    "b64dec": st.b64dec,
    "b32enc": st.b32enc,
    "b32dec": st.b32dec,
    # data structures
    "tuple": col.list_,
    "list": col.list_,
    "dict": col.dict_,
    "get": col.get,
    "set": col.set_,
    "unset": col.unset,
    "hasKey": col.has_key,
    "pluck": col.pluck,
    "keys": col.keys,
    "pick": col.pick,
    "omit": col.omit,
    "merge": col.merge,
    "mergeOverwrite": col.merge_overwrite,
    "mustMerge": col.merge,
    "mustMergeOverwrite": col.merge_overwrite,
    "values": col.values,
    "append": col.push,
    "push": col.push,
    "mustAppend": col.push,
    "mustPush": col.push,
    "prepend": col.prepend,
    "mustPrepend": col.prepend,
    "first": col.first,
    "mustFirst": col.first,
    "rest": col.rest,
    "mustRest": col.rest,
    "last": col.last,
    "mustLast": col.last,
    "initial": col.initial,
    "mustInitial": col.initial,
    "reverse": col.reverse,
    "mustReverse": col.reverse,
    "uniq": col.uniq,
    "mustUniq": col.uniq,
    "without": col.without,
    "mustWithout": col.without,
    "has": col.has,
    "mustHas": col.has,
    "slice": col.slice_,
    "mustSlice": col.slice_,
    "concat": col.concat,
    "dig": col.dig,
    "chunk": col.chunk,
    "mustChunk": col.chunk,
    # crypto
    "bcrypt": cry.bcrypt,
    "htpasswd": cry.htpasswd,
    "genPrivateKey": cry.gen_private_key,
    "derivePassword": cry.derive_password,
    "encryptAES": cry.encrypt_aes,
    "decryptAES": cry.decrypt_aes,
    "randBytes": cry.rand_bytes,
    # UUIDs
    "uuidv4": cry.uuidv4,
    # semver
    "semver": sv.semver,
    "semverCompare": sv.semver_compare,
    # flow control
    "fail": enc.fail,
    # regular expressions
    "regexMatch": rx.regex_match,
    "mustRegexMatch": rx.must_regex_match,
    "regexFindAll": rx.regex_find_all,
    "mustRegexFindAll": rx.must_regex_find_all,
    "regexFind": rx.regex_find,
    "mustRegexFind": rx.must_regex_find,
    "regexReplaceAll": rx.regex_replace_all,
    "mustRegexReplaceAll": rx.must_regex_replace_all,
    "regexReplaceAllLiteral": rx.regex_replace_all_literal,
    "mustRegexReplaceAllLiteral": rx.must_regex_replace_all_literal,
    "regexSplit": rx.regex_split,
    "mustRegexSplit": rx.must_regex_split,
    "regexQuoteMeta": rx.regex_quote_meta,
    # URLs
    "urlParse": uo.url_parse,
    "urlJoin": uo.url_join,
    # Helm additions
    "toYaml": enc.to_yaml,
    "mustToYaml": enc.must_to_yaml,
    "fromYaml": enc.from_yaml,
    "fromYamlArray": enc.from_yaml_array,
    "fromJsonArray": enc.from_json_array,
    "required": enc.required,
}

__all__ = ["SPRIG_FUNCS", "GoDuration", "GoMap", "GoSlice", "GoTime", "time_from_data"]
