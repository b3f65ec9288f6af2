"""Execution of parsed templates: the tree is compiled once into Python closures, then run many times.

The semantics follow Go's ``text/template/exec.go``: missing map keys are *invalid* values (:data:`MISSING`),
a pipeline turns a nil interface into an invalid value, functions receive ``None`` for invalid arguments
(except the builtins that take ``reflect.Value``), ``and``/``or`` short-circuit and return an operand, and
errors name the template, line, column and the failing node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import _builtins
from ._parse import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
)
from ._values import MISSING, GoObject, NilPointerEvaluation, NoSuchField, TypedInt, go_type_name, is_true
from .errors import ExecError, FuncError, TemplateError
from .funcs import GoSignature, signature_of

if TYPE_CHECKING:
    from .template import Template

MAX_EXEC_DEPTH = 100000

NodeFn = Callable[["State", Any], None]
ValueFn = Callable[["State", Any], Any]
CmdFn = Callable[["State", Any, Any], Any]

_NO_FINAL: Any = object()  # Go's missingVal: no value piped in from a previous command.


class Fail(Exception):
    """An execution failure before its location is known; the nearest compiled node adds the location."""


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    __slots__ = ("depth", "missingkey", "out", "tmpl", "vars")

    def __init__(self, tmpl: Template, out: list[str], vars_: list[list[Any]], depth: int = 0) -> None:
        self.tmpl = tmpl
        self.out = out
        self.vars = vars_
        self.depth = depth
        self.missingkey = tmpl._common.missingkey

    def var_value(self, name: str) -> Any:
        vars_ = self.vars
        for i in range(len(vars_) - 1, -1, -1):
            if vars_[i][0] == name:
                return vars_[i][1]
        raise Fail(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        vars_ = self.vars
        for i in range(len(vars_) - 1, -1, -1):
            if vars_[i][0] == name:
                vars_[i][1] = value
                return
        raise Fail(f"undefined variable: {name}")


# ------------------------------------------------------------------
# Error locations


def _byte_len(s: str) -> int:
    return len(s.encode("utf-8", errors="surrogateescape")) if not s.isascii() else len(s)


def error_context(tree: Tree, node: Node) -> tuple[str, str]:
    """Go's ErrorContext: ``name:line:col`` (col in bytes, from 0) and the node's text (whole, as Go 1.26)."""
    text = tree.text[: node.pos]
    nl = text.rfind("\n")
    col = _byte_len(text) if nl < 0 else _byte_len(text[nl + 1 :])
    line = 1 + text.count("\n")
    context = str(node)
    return f"{tree.parse_name}:{line}:{col}", context


def _located(st: State, tree: Tree, node: Node, message: str) -> ExecError:
    location, context = error_context(tree, node)
    name = st.tmpl.name
    text = f'template: {location}: executing "{name}" at <{context}>: {message}'
    line, col = (int(x) for x in location.rsplit(":", 2)[1:])
    return ExecError(text, name=name, line=line, col=col)


# ------------------------------------------------------------------
# Field access


def field_of(st: State, receiver: Any, name: str, has_args: bool, via_map: bool = False) -> Any:
    """Value of ``receiver.name`` for a non-method access (Go's evalField without the method branch)."""
    if type(receiver) is dict or (isinstance(receiver, Mapping) and not isinstance(receiver, GoObject)):
        if has_args:
            raise Fail(f"{name} is not a method but has arguments")
        value = receiver.get(name, MISSING)
        if value is MISSING:
            return _missing_key(st, receiver, name)
        return value
    if receiver is MISSING:
        if st.missingkey == "error":
            raise Fail(f'nil data; no entry for key "{name}"')
        return MISSING
    if receiver is None:
        raise Fail(f"nil pointer evaluating interface {{}}.{name}")
    if isinstance(receiver, GoObject):
        try:
            value = receiver.go_field(name)
        except NilPointerEvaluation as err:
            raise Fail(str(err)) from None
        except NoSuchField:
            raise Fail(f"can't evaluate field {name} in type {receiver.go_type_name()}") from None
        if has_args:
            raise Fail(f"{name} has arguments but cannot be invoked as function")
        return value
    # A value read out of a map[string]interface{} has the static type interface {} in Go's messages.
    typ = "interface {}" if via_map else go_type_name(receiver)
    raise Fail(f"can't evaluate field {name} in type {typ}")


# ------------------------------------------------------------------
def _missing_key(st: State, mapping: Mapping[str, Any], name: str) -> Any:
    """A missing map key per the missingkey option: invalid value, the element's zero value, or an error."""
    mode = st.missingkey
    if mode == "invalid":
        return MISSING
    if mode == "zero":
        # map[string]interface{} has nil as its zero element; typed maps know theirs.
        return getattr(mapping, "elem_zero", None)
    raise Fail(f'map has no entry for key "{name}"')


# Calling functions


def _convert_arg(value: Any, typ: str, node_text: str) -> Any:
    """Check a value against a declared Go parameter type, as Go's validateType does."""
    if typ == "reflect":
        return value
    if value is MISSING:
        # An invalid value (missing key) becomes the nil of a nilable parameter type.
        if typ in ("any", "[]any", "func") or typ.startswith("map"):
            return None
        raise Fail(f"invalid value; expected {_go_param_type(typ)}")
    if value is None:
        # A nil read from data is an interface holding nil: only an interface parameter takes it.
        if typ == "any":
            return None
        raise Fail(f"wrong type for value; expected {_go_param_type(typ)}; got interface {{}}")
    if typ == "any":
        return value
    ok: bool
    if typ == "string":
        ok = isinstance(value, str)
    elif typ == "bool":
        ok = isinstance(value, bool)
    elif typ in ("int", "int64", "int32", "int8", "int16", "uint", "uint64", "uint32", "uint8", "uint16"):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif typ in ("float64", "float32"):
        ok = isinstance(value, float)
    elif typ == "[]any":
        ok = isinstance(value, list | tuple)
    elif typ == "map":
        ok = isinstance(value, Mapping)  # any map type (a function that takes what it is given)
    elif typ.startswith("map["):
        # An exact Go map type: map[string]string is not a map[string]interface {}.
        ok = isinstance(value, Mapping) and getattr(value, "go_type", "map[string]interface {}") == typ
    else:
        ok = True
    if not ok:
        raise Fail(f"wrong type for value; expected {_go_param_type(typ)}; got {go_type_name(value)}")
    return value


def _go_param_type(typ: str) -> str:
    return {"any": "interface {}", "[]any": "[]interface {}", "map": "map[string]interface {}"}.get(typ, typ)


def _literal_for_param(node: Node, typ: str) -> tuple[bool, Any]:
    """Go evaluates literal arguments against the parameter type (evalBool/evalString/evalInteger...)."""
    if typ in ("any", "reflect"):
        return False, None
    if typ == "string":
        if isinstance(node, StringNode):
            return True, node.text
        if isinstance(node, BoolNode | NumberNode):
            raise Fail(f"expected string; found {node}")
    elif typ == "bool":
        if isinstance(node, BoolNode):
            return True, node.value
        if isinstance(node, StringNode | NumberNode):
            raise Fail(f"expected bool; found {node}")
    elif typ.startswith(("int", "uint")):
        if isinstance(node, NumberNode):
            if node.is_int and (not typ.startswith("uint") or node.int64 >= 0):
                return True, node.int64
            if typ.startswith("uint") and node.is_uint:
                return True, node.uint64
            raise Fail(f"expected integer; found {node}")
        if isinstance(node, StringNode | BoolNode):
            raise Fail(f"expected integer; found {node}")
    elif typ.startswith("float"):
        if isinstance(node, NumberNode):
            if node.is_float:
                return True, node.float64
            raise Fail(f"expected float; found {node}")
        if isinstance(node, StringNode | BoolNode):
            raise Fail(f"expected float; found {node}")
    elif (typ == "[]any" or typ.startswith("map")) and isinstance(node, StringNode | BoolNode | NumberNode):
        raise Fail(f"can't handle {node} for arg of type {_go_param_type(typ)}")
    return False, None


def ideal_constant(n: NumberNode) -> Any:
    """The value of a number literal passed where no type is known (Go's idealConstant)."""
    text = n.text
    if n.is_complex:
        return n.complex128
    is_hex_int = len(text) > 2 and text[0] == "0" and text[1] in "xX" and not any(c in text for c in "pP")
    if n.is_float and not is_hex_int and text[0] != "'" and any(c in text for c in ".eEpP"):
        return n.float64
    if n.is_int:
        if not (-(2**63) <= n.int64 < 2**63):
            raise Fail(f"{text} overflows int")
        return n.int64
    if n.is_uint:
        raise Fail(f"{text} overflows int")
    return MISSING


class Compiler:
    """Compiles the trees of one template set into closures."""

    def __init__(self, tmpl: Template, tree: Tree) -> None:
        self.tmpl = tmpl
        self.tree = tree

    # -- statements ----------
    def compile_list(self, lst: ListNode) -> NodeFn:
        fns = [self.compile_node(n) for n in lst.nodes]
        texts = [n.text for n in lst.nodes if isinstance(n, TextNode)]
        if len(fns) == len(texts):
            joined = "".join(texts)

            def run_text(st: State, dot: Any) -> None:
                st.out.append(joined)

            return run_text
        if len(fns) == 1:
            return fns[0]

        def run_list(st: State, dot: Any) -> None:
            for fn in fns:
                fn(st, dot)

        return run_list

    def compile_node(self, node: Node) -> NodeFn:
        if isinstance(node, TextNode):
            text = node.text

            def run_text(st: State, dot: Any) -> None:
                st.out.append(text)

            return run_text
        if isinstance(node, ActionNode):
            return self._compile_action(node)
        if isinstance(node, IfNode | WithNode):
            return self._compile_if_with(node)
        if isinstance(node, RangeNode):
            return self._compile_range(node)
        if isinstance(node, TemplateNode):
            return self._compile_template(node)
        if isinstance(node, BreakNode):

            def run_break(st: State, dot: Any) -> None:
                raise _Break

            return run_break
        if isinstance(node, ContinueNode):

            def run_continue(st: State, dot: Any) -> None:
                raise _Continue

            return run_continue
        if isinstance(node, CommentNode):
            return _noop
        if isinstance(node, ListNode):
            return self.compile_list(node)
        raise TemplateError(f"unknown node: {node}")

    def _compile_action(self, node: ActionNode) -> NodeFn:
        pipe = self.compile_pipeline(node.pipe)
        if node.pipe.decl:

            def run_decl(st: State, dot: Any) -> None:
                pipe(st, dot)

            return run_decl
        tree = self.tree
        printer = _builtins.print_value

        def run_action(st: State, dot: Any) -> None:
            value = pipe(st, dot)
            if type(value) is str:
                st.out.append(value)
                return
            try:
                st.out.append(printer(value))
            except Fail as err:
                raise _located(st, tree, node, str(err)) from None

        return run_action

    def _compile_if_with(self, node: BranchNode) -> NodeFn:
        pipe = self.compile_pipeline(node.pipe)
        body = self.compile_list(node.list)
        else_body = self.compile_list(node.else_list) if node.else_list is not None else None
        is_with = isinstance(node, WithNode)
        tree = self.tree
        where = _last_operand(node.pipe)

        def run_branch(st: State, dot: Any) -> None:
            mark = len(st.vars)
            value = pipe(st, dot)
            try:
                truth = is_true(value)
            except Fail as err:
                raise _located(st, tree, where, str(err)) from None
            if truth:
                body(st, value if is_with else dot)
            elif else_body is not None:
                else_body(st, dot)
            del st.vars[mark:]

        return run_branch

    def _compile_range(self, node: RangeNode) -> NodeFn:
        pipe = self.compile_pipeline(node.pipe)
        body = self.compile_list(node.list)
        else_body = self.compile_list(node.else_list) if node.else_list is not None else None
        decl = [v.idents[0] for v in node.pipe.decl]
        is_assign = node.pipe.is_assign
        tree = self.tree
        where = _last_operand(node.pipe)

        def iteration(st: State, mark: int, index: Any, elem: Any) -> bool:
            """Runs the body once; returns False on {{break}}."""
            if decl:
                if is_assign:
                    if len(decl) > 1:
                        st.set_var(decl[0], index)
                        st.set_var(decl[1], elem)
                    else:
                        st.set_var(decl[0], elem)
                else:
                    st.vars[mark - 1][1] = elem
                    if len(decl) > 1:
                        st.vars[mark - 2][1] = index
            try:
                body(st, elem)
            except _Continue:
                pass
            except _Break:
                return False
            finally:
                del st.vars[mark:]
            return True

        def run_range(st: State, dot: Any) -> None:
            outer = len(st.vars)
            value = pipe(st, dot)
            mark = len(st.vars)
            ran = False
            try:
                if type(value) is list or isinstance(value, list | tuple):
                    for i, elem in enumerate(value):
                        ran = True
                        if not iteration(st, mark, i, elem):
                            break
                elif isinstance(value, Mapping):
                    for key in _builtins.sorted_keys(value):
                        ran = True
                        if not iteration(st, mark, key, value[key]):
                            break
                elif isinstance(value, int) and not isinstance(value, bool):
                    if len(decl) > 1:
                        raise Fail(f"can't use {value} to iterate over more than one variable")
                    for i in range(int(value)):
                        ran = True
                        elem = TypedInt(i, value.go_type) if isinstance(value, TypedInt) else i
                        if not iteration(st, mark, elem, elem):
                            break
                elif isinstance(value, Iterator):
                    # A channel: with two variables the first one counts the elements.
                    for i, elem in enumerate(value):
                        ran = True
                        if not iteration(st, mark, i if len(decl) > 1 else elem, elem):
                            break
                elif value is MISSING or value is None:
                    pass
                else:
                    raise Fail(f"range can't iterate over {_builtins.print_value(value)}")
            except Fail as err:
                raise _located(st, tree, where, str(err)) from None
            if not ran and else_body is not None:
                else_body(st, dot)
            del st.vars[outer:]

        return run_range

    def _compile_template(self, node: TemplateNode) -> NodeFn:
        pipe = self.compile_pipeline(node.pipe) if node.pipe is not None else None
        name = node.name
        tree = self.tree
        common = self.tmpl._common

        def run_template(st: State, dot: Any) -> None:
            target = common.templates.get(name)
            if target is None or target._tree is None:
                raise _located(st, tree, node, f'template "{name}" not defined')
            if st.depth >= MAX_EXEC_DEPTH:
                raise _located(st, tree, node, f"exceeded maximum template depth ({MAX_EXEC_DEPTH})")
            new_dot = pipe(st, dot) if pipe is not None else MISSING
            fn = target._compiled()
            sub = State(target, st.out, [["$", new_dot]], st.depth + 1)
            sub.missingkey = st.missingkey
            try:
                fn(sub, new_dot)
            except RecursionError:
                raise _located(st, tree, node, f"exceeded maximum template depth ({MAX_EXEC_DEPTH})") from None

        return run_template

    # -- pipelines ----------
    def compile_pipeline(self, pipe: PipeNode) -> ValueFn:
        cmds = [self.compile_command(c) for c in pipe.cmds]
        decl = [v.idents[0] for v in pipe.decl]
        is_assign = pipe.is_assign
        tree = self.tree

        if len(cmds) == 1 and not decl:
            only = cmds[0]

            def run_single(st: State, dot: Any) -> Any:
                value = only(st, dot, _NO_FINAL)
                return MISSING if value is None else value

            return run_single

        def run_pipeline(st: State, dot: Any) -> Any:
            value = _NO_FINAL
            for cmd in cmds:
                value = cmd(st, dot, value)
                if value is None:
                    value = MISSING  # Go: a nil interface result becomes an invalid value
            for name in decl:
                if is_assign:
                    try:
                        st.set_var(name, value)
                    except Fail as err:
                        raise _located(st, tree, pipe, str(err)) from None
                else:
                    st.vars.append([name, value])
            return value

        return run_pipeline

    def compile_command(self, cmd: CommandNode) -> CmdFn:
        first = cmd.args[0]
        args = cmd.args
        tree = self.tree
        if isinstance(first, FieldNode):
            return self._compile_field_chain(first, None, first.idents, args)
        if isinstance(first, ChainNode):
            if isinstance(first.node, NilNode):
                return self._fail_cmd(first, f"indirection through explicit nil in {first}")
            return self._compile_field_chain(first, self.compile_arg(first.node), first.fields, args)
        if isinstance(first, VariableNode):
            if len(first.idents) == 1:
                name = first.idents[0]
                has_more = len(args) > 1

                def run_var(st: State, dot: Any, final: Any) -> Any:
                    try:
                        if has_more or final is not _NO_FINAL:
                            raise Fail(f"can't give argument to non-function {first}")
                        return st.var_value(name)
                    except Fail as err:
                        raise _located(st, tree, first, str(err)) from None

                return run_var
            var_name = first.idents[0]

            def receiver_of_var(st: State, dot: Any) -> Any:
                try:
                    return st.var_value(var_name)
                except Fail as err:
                    raise _located(st, tree, first, str(err)) from None

            return self._compile_field_chain(first, receiver_of_var, first.idents[1:], args)
        if isinstance(first, IdentifierNode):
            return self._compile_call(first, first.name, args, cmd)
        if isinstance(first, PipeNode):
            inner = self.compile_pipeline(first)
            has_more = len(args) > 1

            def run_paren(st: State, dot: Any, final: Any) -> Any:
                if has_more or final is not _NO_FINAL:
                    raise _located(st, tree, cmd, f"can't give argument to non-function {args[0]}")
                return inner(st, dot)

            return run_paren
        # Literals and dot.
        has_more = len(args) > 1
        if isinstance(first, NilNode):
            if has_more:
                return self._fail_cmd(first, "can't give argument to non-function nil")
            return self._fail_cmd(first, "nil is not a command")
        if isinstance(first, DotNode):

            def run_dot(st: State, dot: Any, final: Any) -> Any:
                if has_more or final is not _NO_FINAL:
                    raise _located(st, tree, first, f"can't give argument to non-function {first}")
                return dot

            return run_dot
        if isinstance(first, BoolNode):
            const: Any = first.value
        elif isinstance(first, StringNode):
            const = first.text
        elif isinstance(first, NumberNode):
            number = first

            def run_number(st: State, dot: Any, final: Any) -> Any:
                try:
                    if has_more or final is not _NO_FINAL:
                        raise Fail(f"can't give argument to non-function {number}")
                    return ideal_constant(number)
                except Fail as err:
                    raise _located(st, tree, number, str(err)) from None

            return run_number
        else:
            return self._fail_cmd(first, f'can\'t evaluate command "{first}"')

        def run_const(st: State, dot: Any, final: Any) -> Any:
            if has_more or final is not _NO_FINAL:
                raise _located(st, tree, first, f"can't give argument to non-function {first}")
            return const

        return run_const

    def _fail_cmd(self, node: Node, message: str) -> CmdFn:
        tree = self.tree

        def run_fail(st: State, dot: Any, final: Any) -> Any:
            raise _located(st, tree, node, message)

        return run_fail

    # -- arguments ----------
    def compile_arg(self, node: Node) -> ValueFn:
        """An argument evaluated with no type context (Go's evalEmptyInterface), returning raw values."""
        tree = self.tree
        if isinstance(node, DotNode):
            return _dot
        if isinstance(node, StringNode):
            text = node.text
            return lambda st, dot: text
        if isinstance(node, BoolNode):
            b = node.value
            return lambda st, dot: b
        if isinstance(node, NumberNode):
            number = node

            def run_number(st: State, dot: Any) -> Any:
                try:
                    return ideal_constant(number)
                except Fail as err:
                    raise _located(st, tree, number, str(err)) from None

            return run_number
        if isinstance(node, NilNode):
            return lambda st, dot: None
        if isinstance(node, IdentifierNode):
            call = self._compile_call(node, node.name, [node], node)
            return lambda st, dot: call(st, dot, _NO_FINAL)
        if isinstance(node, FieldNode | ChainNode | VariableNode):
            cmd = CommandNode(node.pos)
            cmd.args = [node]
            fn = self.compile_command(cmd)
            return lambda st, dot: fn(st, dot, _NO_FINAL)
        if isinstance(node, PipeNode):
            return self.compile_pipeline(node)
        message = f"can't handle assignment of {node} to empty interface argument"

        def run_fail(st: State, dot: Any) -> Any:
            raise _located(st, tree, node, message)

        return run_fail

    # -- fields and methods ----------
    def _compile_field_chain(
        self, node: Node, receiver_fn: ValueFn | None, idents: list[str], args: list[Node]
    ) -> CmdFn:
        tree = self.tree
        head = idents[:-1]
        last = idents[-1]
        arg_nodes = args[1:]
        arg_fns = [self.compile_arg(a) for a in arg_nodes]
        has_args = bool(arg_nodes)

        def run_fields(st: State, dot: Any, final: Any) -> Any:
            receiver = dot if receiver_fn is None else receiver_fn(st, dot)
            via_map = False
            try:
                for name in head:
                    if type(receiver) is dict:
                        value = receiver.get(name, MISSING)
                        receiver = _missing_key(st, receiver, name) if value is MISSING else value
                        via_map = True
                        continue
                    if isinstance(receiver, GoObject):
                        method = receiver.go_method(name)
                        if method is not None:
                            receiver = self._call_method(st, dot, method, name, [], [], _NO_FINAL, node)
                            via_map = False
                            continue
                    receiver = field_of(st, receiver, name, False, via_map)
                    via_map = isinstance(receiver, dict)
                if isinstance(receiver, GoObject):
                    method = receiver.go_method(last)
                    if method is not None:
                        return self._call_method(st, dot, method, last, arg_nodes, arg_fns, final, node)
                return field_of(st, receiver, last, has_args or final is not _NO_FINAL, via_map)
            except Fail as err:
                raise _located(st, tree, node, str(err)) from None

        return run_fields

    def _call_method(
        self,
        st: State,
        dot: Any,
        method: Callable[..., Any],
        name: str,
        arg_nodes: list[Node],
        arg_fns: list[ValueFn],
        final: Any,
        node: Node,
    ) -> Any:
        values = self._eval_call_args(st, dot, method, name, arg_nodes, arg_fns, final)
        return _invoke(method, name, values)

    def _eval_call_args(
        self,
        st: State,
        dot: Any,
        fn: Callable[..., Any],
        name: str,
        arg_nodes: list[Node],
        arg_fns: list[ValueFn],
        final: Any,
    ) -> list[Any]:
        sig = signature_of(fn)
        n_in = len(arg_nodes) + (0 if final is _NO_FINAL else 1)
        if sig is not None:
            n_params = len(sig.params)
            if sig.variadic is not None:
                if n_in < n_params:
                    raise Fail(f"wrong number of args for {name}: want at least {n_params} got {len(arg_nodes)}")
            elif n_in != n_params:
                raise Fail(f"wrong number of args for {name}: want {n_params} got {n_in}")
        values: list[Any] = []
        tree = self.tree
        for i, (arg_node, arg_fn) in enumerate(zip(arg_nodes, arg_fns, strict=True)):
            typ = _param_type(sig, i)
            try:
                if isinstance(arg_node, NilNode):
                    if typ in ("any", "[]any", "func", "reflect") or typ.startswith("map"):
                        values.append(None)
                        continue
                    raise Fail(f"cannot assign nil to {_go_param_type(typ)}")
                is_literal, literal = _literal_for_param(arg_node, typ)
                if is_literal:
                    values.append(literal)
                    continue
                values.append(_convert_arg(arg_fn(st, dot), typ, str(arg_node)))
            except Fail as err:
                raise _located(st, tree, arg_node, str(err)) from None
        if final is not _NO_FINAL:
            try:
                values.append(_convert_arg(final, _param_type(sig, len(arg_nodes)), ""))
            except Fail as err:
                # Go's current node is still the last argument it evaluated.
                if arg_nodes:
                    raise _located(st, tree, arg_nodes[-1], str(err)) from None
                raise
        return values

    def _compile_call(self, ident: IdentifierNode, name: str, args: list[Node], cmd: Node) -> CmdFn:
        tree = self.tree
        common = self.tmpl._common
        arg_nodes = args[1:]
        arg_fns = [self.compile_arg(a) for a in arg_nodes]

        if name in ("and", "or") and name not in common.funcs:
            want = name == "or"

            def run_and_or(st: State, dot: Any, final: Any) -> Any:
                try:
                    if not arg_fns and final is _NO_FINAL:
                        raise Fail(f"wrong number of args for {name}: want at least 1 got 0")
                    value: Any = MISSING
                    for fn in arg_fns:
                        value = fn(st, dot)
                        if is_true(value) == want:
                            return value
                    if final is not _NO_FINAL:
                        value = final
                    return value
                except Fail as err:
                    raise _located(st, tree, ident, str(err)) from None

            return run_and_or

        builtin = name not in common.funcs
        raw = builtin and name in _builtins.REFLECT_ARG_BUILTINS
        callee = str(arg_nodes[0]) if arg_nodes else ""

        def run_call(st: State, dot: Any, final: Any) -> Any:
            fn = common.funcs.get(name) or _builtins.BUILTINS.get(name)
            try:
                if fn is None:
                    raise Fail(f'"{name}" is not a defined function')
                if raw:
                    values = [f(st, dot) for f in arg_fns]
                    if final is not _NO_FINAL:
                        values.append(final)
                    _builtins.check_arity(name, len(arg_fns), len(values))
                    if name == "call":
                        values.insert(0, callee or f"<{go_type_name(final)} Value>")
                elif signature_of(fn) is None:
                    # Every parameter is interface{}: arguments pass as they are, invalid values as nil.
                    values = [f(st, dot) for f in arg_fns]
                    if final is not _NO_FINAL:
                        values.append(final)
                    if MISSING in values:
                        values = [None if v is MISSING else v for v in values]
                else:
                    values = self._eval_call_args(st, dot, fn, name, arg_nodes, arg_fns, final)
            except Fail as err:
                raise _located(st, tree, ident, str(err)) from None
            try:
                return _invoke(fn, name, values)
            except Fail as err:
                raise _located(st, tree, cmd, str(err)) from None

        return run_call


def _last_operand(pipe: PipeNode) -> Node:
    """The node Go's state points at after evaluating a pipeline (used to locate range/if errors)."""
    last = pipe.cmds[-1]
    return last.args[-1] if len(last.args) == 1 else last


def _param_type(sig: GoSignature | None, i: int) -> str:
    if sig is None:
        return "any"
    if i < len(sig.params):
        return sig.params[i]
    return sig.variadic or "any"


def _invoke(fn: Callable[..., Any], name: str, values: list[Any]) -> Any:
    try:
        return fn(*values)
    except Fail:
        raise
    except ExecError:
        raise
    except FuncError as err:
        raise Fail(f"error calling {name}: {err}") from None
    except RecursionError:
        raise
    except Exception as err:  # Go recovers a panicking function into an execution error too.
        raise Fail(f"error calling {name}: {_panic_text(err)}") from None


def _panic_text(err: Exception) -> str:
    text = str(err)
    return text if text else type(err).__name__


def _dot(st: State, dot: Any) -> Any:
    return dot


def _noop(st: State, dot: Any) -> None:
    return None
