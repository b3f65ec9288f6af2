"""The exception tree of the template engine.

``TemplateError``
 ├── ``ParseError``  the source does not parse (names template, line and column)
 └── ``ExecError``   execution failed (names template, line, column and the failing action)
``FuncError`` is what template functions raise to report a Go-style returned ``error``; the engine wraps it
into an ``ExecError`` reading ``error calling NAME: MESSAGE`` as Go does.
"""

from __future__ import annotations


class TemplateError(Exception):
    """Base class of every error the template engine raises."""


class ParseError(TemplateError):
    """The template source is not valid Go template syntax."""

    def __init__(self, message: str, *, name: str = "", line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.name = name
        self.line = line
        self.col = col


class ExecError(TemplateError):
    """Executing a parsed template failed."""

    def __init__(self, message: str, *, name: str = "", line: int = 0, col: int = 0, output: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.line = line
        self.col = col
        #: text written before the failure (Go writes straight to its writer)
        self.output = output


class FuncError(Exception):
    """Raised by a template function: the Go function returned a non-nil ``error``."""
