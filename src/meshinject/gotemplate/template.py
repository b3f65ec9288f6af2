"""The public template API: named templates sharing functions and options, like Go's ``*Template``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from . import _builtins
from ._exec import Compiler, NodeFn, State
from ._parse import (
    ActionNode,
    BranchNode,
    ChainNode,
    CommandNode,
    IdentifierNode,
    ListNode,
    Node,
    Parser,
    PipeNode,
    TemplateNode,
    Tree,
    is_empty_tree,
)
from ._values import MISSING
from .errors import ExecError, TemplateError

_MISSINGKEY_MODES = {"default": "invalid", "invalid": "invalid", "zero": "zero", "error": "error"}


class _Common:
    """What every template of one set shares (Go's ``common``)."""

    __slots__ = ("funcs", "lock", "missingkey", "templates")

    def __init__(self) -> None:
        self.templates: dict[str, Template] = {}
        self.funcs: dict[str, Callable[..., Any]] = {}
        self.missingkey = "invalid"
        self.lock = threading.Lock()


class Template:
    """A named template in a set. Parse once, execute many times from any number of threads."""

    __slots__ = ("_common", "_fn", "_functions", "_tree", "left_delim", "name", "right_delim")

    def __init__(
        self,
        name: str,
        *,
        funcs: Mapping[str, Callable[..., Any]] | None = None,
        delims: tuple[str, str] | None = None,
        missingkey: str = "default",
        _common: _Common | None = None,
    ) -> None:
        self.name = name
        self._common = _common or _Common()
        self._tree: Tree | None = None
        self._fn: NodeFn | None = None
        self._functions: frozenset[str] | None = None
        self.left_delim, self.right_delim = delims or ("", "")
        if funcs:
            self.funcs(funcs)
        if _common is None:
            self.option(f"missingkey={missingkey}")

    # -- building ----------
    def new(self, name: str) -> Template:
        """A new, empty template in the same set (shares functions, options and delimiters)."""
        return Template(name, delims=(self.left_delim, self.right_delim), _common=self._common)

    def funcs(self, funcs: Mapping[str, Callable[..., Any]]) -> Template:
        for name, fn in funcs.items():
            if not callable(fn):
                raise TemplateError(f"value for {name} not a function")
            if not name.isidentifier():
                raise TemplateError(f"function name {name!r} is not a valid identifier")
        self._common.funcs.update(funcs)
        return self

    def delims(self, left: str, right: str) -> Template:
        self.left_delim, self.right_delim = left, right
        return self

    def option(self, *options: str) -> Template:
        for opt in options:
            key, _, value = opt.partition("=")
            if key != "missingkey" or value not in _MISSINGKEY_MODES:
                raise TemplateError(f"unrecognized option: {opt}")
            self._common.missingkey = _MISSINGKEY_MODES[value]
        return self

    def _has_function(self, name: str) -> bool:
        return name in self._common.funcs or name in _builtins.BUILTINS

    def parse(self, text: str) -> Template:
        """Parse ``text`` as the body of this template; ``{{define}}``s join the set. Raises ParseError."""
        parser = Parser(
            self.name,
            text,
            has_function=self._has_function,
            left=self.left_delim,
            right=self.right_delim,
        )
        trees = parser.parse()
        with self._common.lock:
            for name, tree in trees.items():
                self._add_tree(name, tree)
        return self

    def _add_tree(self, name: str, tree: Tree) -> None:
        target = self if name == self.name else self._common.templates.get(name)
        if target is not None and target._tree is not None and is_empty_tree(tree.root):
            # Go's associate rule: an empty body never replaces a real one, so a text holding only
            # {{define}}s can be parsed into an existing template without wiping it.
            self._common.templates.setdefault(name, target)
            return
        if target is None:
            target = Template(name, delims=(self.left_delim, self.right_delim), _common=self._common)
        target._tree = tree
        target._fn = None
        for t in self._common.templates.values():
            t._functions = None
        self._functions = None
        self._common.templates[name] = target

    def lookup(self, name: str) -> Template | None:
        return self._common.templates.get(name)

    def templates(self) -> list[Template]:
        return list(self._common.templates.values())

    def defined_templates(self) -> str:
        names = [f'"{t.name}"' for t in self._common.templates.values() if t._tree is not None]
        return "; defined templates are: " + ", ".join(names) if names else ""

    def function_names(self) -> frozenset[str]:
        """Every function this template (and the templates it can call) names, e.g. to tell if it is pure."""
        if self._functions is None:
            names: set[str] = set()
            for t in self._common.templates.values():
                if t._tree is not None:
                    _collect_identifiers(t._tree.root, names)
            self._functions = frozenset(names)
        return self._functions

    def _compiled(self) -> NodeFn:
        fn = self._fn
        if fn is None:
            tree = self._tree
            assert tree is not None
            fn = Compiler(self, tree).compile_list(tree.root)
            self._fn = fn
        return fn

    # -- executing ----------
    def execute(self, data: Any = None) -> str:
        """Render this template with ``data`` as the dot. Raises ExecError."""
        if self._tree is None:
            raise ExecError(f'template: {self.name}: "{self.name}" is an incomplete or empty template', name=self.name)
        out: list[str] = []
        dot = MISSING if data is None else data
        state = State(self, out, [["$", dot]])
        try:
            self._compiled()(state, dot)
        except ExecError as err:
            err.output = "".join(out)
            raise
        except RecursionError:
            raise ExecError(
                f"template: {self.name}: exceeded maximum template depth", name=self.name, output="".join(out)
            ) from None
        return "".join(out)

    def execute_template(self, name: str, data: Any = None) -> str:
        t = self.lookup(name)
        if t is None:
            raise ExecError(f'template: no template "{name}" associated with template "{self.name}"', name=name)
        return t.execute(data)

    def __repr__(self) -> str:
        return f"Template({self.name!r})"


def _collect_identifiers(node: Node, names: set[str]) -> None:
    if isinstance(node, IdentifierNode):
        names.add(node.name)
        return
    for child in _children(node):
        _collect_identifiers(child, names)


def _children(node: Node) -> list[Node]:
    if isinstance(node, ListNode):
        return list(node.nodes)
    if isinstance(node, ActionNode):
        return [node.pipe]
    if isinstance(node, BranchNode):
        return [n for n in (node.pipe, node.list, node.else_list) if n is not None]
    if isinstance(node, TemplateNode):
        return [node.pipe] if node.pipe is not None else []
    if isinstance(node, PipeNode):
        return list(node.cmds)
    if isinstance(node, CommandNode):
        return list(node.args)
    if isinstance(node, ChainNode):
        return [node.node]
    return []


_cache: dict[tuple[str, str, int], Template] = {}
_cache_lock = threading.Lock()


def parse(text: str, *, name: str = "template", funcs: Mapping[str, Callable[..., Any]] | None = None) -> Template:
    """Parse ``text`` once and cache the result by (name, source, function map identity)."""
    key = (name, text, id(funcs))
    t = _cache.get(key)
    if t is None:
        t = Template(name, funcs=funcs).parse(text)
        with _cache_lock:
            if len(_cache) > 512:
                _cache.clear()
            _cache[key] = t
    return t
