"""A Go ``text/template`` engine: parse once, execute many times, byte-identical to Go.

Public surface::

    Template(name, *, funcs=None, delims=None, missingkey="default")
        .parse(text) .new(name) .lookup(name) .funcs(map) .option("missingkey=zero")
        .execute(data) -> str .execute_template(name, data) -> str
    parse(text, *, name, funcs)  cached Template
    TemplateError > ParseError, ExecError; FuncError (raised by functions); go_func (Go signatures)
"""

from ._values import MISSING, GoObject, NoSuchField, TypedInt
from .errors import ExecError, FuncError, ParseError, TemplateError
from .funcs import FuncMap, go_func
from .template import Template, parse

__all__ = [
    "MISSING",
    "ExecError",
    "FuncError",
    "FuncMap",
    "GoObject",
    "NoSuchField",
    "ParseError",
    "Template",
    "TemplateError",
    "TypedInt",
    "go_func",
    "parse",
]
