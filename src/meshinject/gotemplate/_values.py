"""How Go values are represented in Python, shared by the engine, fmt, JSON/YAML and function sets.

Representation (the contract every module of this package follows):

* Go ``nil`` (an untyped nil / nil interface) is ``None``.
* ``bool``, ``int`` and ``float`` are Python's; a Go ``string`` is ``str``.
  Sized or unsigned Go integers, where the distinction matters, are :class:`TypedInt`.
* A Go map is a ``dict`` (keys are ``str`` unless the data says otherwise); a slice is a ``list``
  (``tuple`` is accepted as a read-only slice).
* Typed Go values with fields and methods (structs, protos, enums, durations) are :class:`GoObject`.
* :data:`MISSING` is Go's *invalid* ``reflect.Value``: what a missing map key yields. The engine prints it as
  ``<no value>`` and passes it to functions as ``None``; functions never see it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final


class _Missing:
    """Go's invalid reflect.Value: the result of reading a missing map key."""

    __slots__ = ()
    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class NoSuchField(LookupError):
    """Raised by :meth:`GoObject.go_field` when the Go type has no such field."""


class NilPointerEvaluation(NoSuchField):
    """Raised by :meth:`GoObject.go_field` when the field is read through a nil pointer.

    Its message is Go's, e.g. ``nil pointer evaluating *v1alpha1.Tracing.Sampling``.
    """


class GoObject:
    """A data-model value that templates read the way Go code exposes it.

    Subclasses describe a Go type: its name (for error messages and ``%T``), its fields, its methods
    (including generated proto getters such as ``GetTracing``), how ``fmt`` prints it and how it
    marshals to JSON.
    """

    __slots__ = ()

    def go_type_name(self) -> str:
        """The Go type name as ``%T`` prints it, e.g. ``*v1alpha1.ProxyConfig``."""
        return type(self).__name__

    def go_method(self, name: str) -> Callable[..., Any] | None:
        """The bound method ``name``, or ``None`` when the type has none (Go looks methods up first)."""
        return None

    def go_field(self, name: str) -> Any:
        """The value of field ``name``; raise :class:`NoSuchField` when the type has no such field."""
        raise NoSuchField(name)

    def go_truth(self) -> bool:
        """Go truthiness (``if``/``and``/``or``): structs are always true; nil pointers false."""
        return True

    def go_string(self) -> str | None:
        """The ``String()`` result when the type is a ``fmt.Stringer``, else ``None``."""
        return None

    def go_format(self) -> str:
        """How ``fmt`` prints the value with ``%v`` when it is not a Stringer."""
        return "{}"

    def go_json(self) -> Any:
        """The value as plain JSON-ready data (what ``encoding/json`` or protojson would produce)."""
        return None


class _NilInterface(GoObject):
    """A nil value of a Go interface type that has methods (a proto oneof, an ``error``).

    Go does not turn such a value into an invalid one in pipelines, so it prints ``<nil>``, not ``<no value>``.
    """

    __slots__ = ()

    def go_type_name(self) -> str:
        return "<nil>"

    def go_truth(self) -> bool:
        return False

    def go_format(self) -> str:
        return "<nil>"

    def go_field(self, name: str) -> Any:
        raise NilPointerEvaluation(f"nil pointer evaluating interface.{name}")


NIL_INTERFACE: Final = _NilInterface()


class TypedInt(int):
    """An integer with an explicit Go type (``int8``, ``uint16``, ``int32``...), when the type matters."""

    go_type: str

    def __new__(cls, value: int, go_type: str) -> TypedInt:
        obj = super().__new__(cls, value)
        obj.go_type = go_type
        return obj

    def __repr__(self) -> str:
        return f"{self.go_type}({int(self)})"


def is_true(value: Any) -> bool:
    """Go template truthiness: false, 0, nil, and empty strings, slices and maps are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | str | list | dict | tuple):
        return bool(value)
    if isinstance(value, GoObject):
        return value.go_truth()
    if isinstance(value, complex):
        return value != 0
    return True


def go_type_name(value: Any) -> str:
    """The Go type name of a value as ``fmt``'s ``%T`` would print it for decoded JSON data."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, GoObject):
        return value.go_type_name()
    go_type = getattr(value, "go_type", None)
    if isinstance(go_type, str) and go_type:
        return go_type
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, TypedInt):
        return value.go_type
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    if isinstance(value, bytes | bytearray):
        return "[]uint8"
    if isinstance(value, complex):
        return "complex128"
    if callable(value):
        return "func()"
    return type(value).__name__


def is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def to_plain(value: Any) -> Any:
    """Plain JSON-ready data for a value (GoObjects converted through ``go_json``)."""
    if isinstance(value, GoObject):
        return to_plain(value.go_json())
    if isinstance(value, Mapping):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if value is MISSING:
        return None
    return value


def is_empty(value: Any) -> bool:
    """Sprig's ``empty``: the Go zero value of the value's type (nil, 0, "", false, empty collections)."""
    if value is None or value is MISSING:
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, float):
        return value == 0.0
    if isinstance(value, int | str | list | dict | tuple):
        return not value
    if isinstance(value, GoObject):
        return not value.go_truth()
    return False


SequenceLike = Sequence[Any]
