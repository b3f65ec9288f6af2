"""Declaring template functions with Go signatures.

A template function is any Python callable. Go checks the number and the types of arguments before it calls a
function; to get the same errors, decorate the callable with :func:`go_func` and name the Go parameter types.
Supported type names: ``any``, ``string``, ``int`` (also ``int64`` ...), ``float64``, ``bool``, ``[]any``
(a list), ``map`` (any dict), or an exact map type such as ``map[string]interface {}`` (a plain dict, or a typed
map whose ``go_type`` is that name). ``variadic`` is the element type of a trailing ``...`` parameter.

A function reports a Go ``error`` result by raising :class:`~meshinject.gotemplate.errors.FuncError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

FuncMap = Mapping[str, Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class GoSignature:
    params: tuple[str, ...]
    variadic: str | None = None


def go_func(*params: str, variadic: str | None = None) -> Callable[[F], F]:
    """Attach a Go signature to a template function so the engine checks arity and argument types."""

    def attach(fn: F) -> F:
        fn.__go_signature__ = GoSignature(tuple(params), variadic)  # type: ignore[attr-defined]
        return fn

    return attach


def signature_of(fn: Callable[..., Any]) -> GoSignature | None:
    sig: GoSignature | None = getattr(fn, "__go_signature__", None)
    return sig
