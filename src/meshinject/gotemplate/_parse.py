"""Parser for Go templates: tokens to a tree of nodes, with Go's checks and error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ._lexer import T, Token, _go_quote, lex
from .errors import ParseError

# ------------------------------------------------------------------
# Nodes. ``pos`` is the offset in the source text (for error locations); ``String()`` of Go is ``__str__``.


class Node:
    __slots__ = ("pos",)
    pos: int


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos = pos
        self.text = text

    def __str__(self) -> str:
        return self.text


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        self.pos = pos
        self.text = text

    def __str__(self) -> str:
        return self.text


class DotNode(Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "nil"


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        self.pos = pos
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class StringNode(Node):
    __slots__ = ("quoted", "text")

    def __init__(self, pos: int, quoted: str, text: str) -> None:
        self.pos = pos
        self.quoted = quoted
        self.text = text

    def __str__(self) -> str:
        return self.quoted


@dataclass(slots=True)
class NumberNode(Node):
    pos: int
    text: str
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int64: int = 0
    uint64: int = 0
    float64: float = 0.0
    complex128: complex = 0j

    def __str__(self) -> str:
        return self.text


class IdentifierNode(Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        self.pos = pos
        self.name = name

    def __str__(self) -> str:
        return self.name


class VariableNode(Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        self.pos = pos
        self.idents = idents

    def __str__(self) -> str:
        return ".".join(self.idents)


class FieldNode(Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        self.pos = pos
        self.idents = idents

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


class ChainNode(Node):
    __slots__ = ("fields", "node")

    def __init__(self, pos: int, node: Node) -> None:
        self.pos = pos
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + f for f in self.fields)


class CommandNode(Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        self.pos = pos
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class PipeNode(Node):
    __slots__ = ("cmds", "decl", "is_assign", "line")

    def __init__(self, pos: int, line: int) -> None:
        self.pos = pos
        self.line = line
        self.is_assign = False
        self.decl: list[VariableNode] = []
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        out = ""
        if self.decl:
            out = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return out + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    __slots__ = ("line", "pipe")

    def __init__(self, pos: int, line: int, pipe: PipeNode) -> None:
        self.pos = pos
        self.line = line
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class BranchNode(Node):
    __slots__ = ("else_list", "keyword", "line", "list", "pipe")

    keyword: str

    def __init__(self, pos: int, line: int, pipe: PipeNode, lst: ListNode, else_list: ListNode | None) -> None:
        self.pos = pos
        self.line = line
        self.pipe = pipe
        self.list = lst
        self.else_list = else_list

    def __str__(self) -> str:
        out = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            out += "{{else}}" + str(self.else_list)
        return out + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class TemplateNode(Node):
    __slots__ = ("line", "name", "pipe")

    def __init__(self, pos: int, line: int, name: str, pipe: PipeNode | None) -> None:
        self.pos = pos
        self.line = line
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        if self.pipe is None:
            return "{{template " + _go_quote(self.name) + "}}"
        return "{{template " + _go_quote(self.name) + " " + str(self.pipe) + "}}"


class BreakNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        self.pos = pos
        self.line = line

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        self.pos = pos
        self.line = line

    def __str__(self) -> str:
        return "{{continue}}"


class _EndNode(Node):
    __slots__ = ()

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __str__(self) -> str:
        return "{{end}}"


class _ElseNode(Node):
    __slots__ = ("line",)

    def __init__(self, pos: int, line: int) -> None:
        self.pos = pos
        self.line = line

    def __str__(self) -> str:
        return "{{else}}"


# ------------------------------------------------------------------


@dataclass(slots=True)
class Tree:
    """One parsed template: its name, root list, and the source it came from (for error locations)."""

    name: str
    parse_name: str
    root: ListNode
    text: str


def is_empty_tree(node: Node) -> bool:
    if isinstance(node, ListNode):
        return all(is_empty_tree(n) for n in node.nodes)
    if isinstance(node, TextNode):
        return not node.text.strip(" \t\r\n")
    return isinstance(node, CommentNode)


class _Abort(Exception):
    pass


class Parser:
    def __init__(
        self,
        name: str,
        text: str,
        *,
        has_function: Callable[[str], bool],
        left: str = "",
        right: str = "",
        parse_name: str | None = None,
        skip_func_check: bool = False,
        emit_comments: bool = False,
        max_depth: int = 10000,
    ) -> None:
        self.name = name
        self.parse_name = parse_name or name
        self.text = text
        self.has_function = has_function
        self.skip_func_check = skip_func_check
        self.tokens = lex(
            name,
            text,
            left,
            right,
            emit_comments=emit_comments,
            break_ok=not has_function("break"),
            continue_ok=not has_function("continue"),
        )
        self.i = 0
        self.furthest = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.tree_set: dict[str, Tree] = {}
        self.depth = 0
        self.max_depth = max_depth

    # -- token stream ----------
    def next(self) -> Token:
        i = self.i
        tok = self.tokens[i]
        if i + 1 < len(self.tokens):
            self.i = i + 1
        else:
            # EOF and lexical errors repeat forever, as Go's lexer does once it has stopped.
            self.i = i + 1
            self.tokens.append(tok)
        if i > self.furthest:
            self.furthest = i
        return tok

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next_non_space(self) -> Token:
        tok = self.next()
        while tok.typ == T.SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    # -- errors ----------
    @property
    def last(self) -> Token:
        # Go reports the line of the furthest token read so far, peeked ones included.
        return self.tokens[self.furthest]

    def errorf(self, message: str) -> ParseError:
        line = self.last.line
        return ParseError(
            f"template: {self.parse_name}:{line}: {message}",
            name=self.parse_name,
            line=line,
            col=_column(self.text, self.last.pos),
        )

    def unexpected(self, tok: Token, context: str) -> ParseError:
        if tok.typ == T.ERROR:
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            return self.errorf(f"{tok}{extra}")
        return self.errorf(f"unexpected {tok} in {context}")

    def expect(self, typ: T, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ != typ:
            raise self.unexpected(tok, context)
        return tok

    def expect_one_of(self, a: T, b: T, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ != a and tok.typ != b:
            raise self.unexpected(tok, context)
        return tok

    # -- grammar ----------
    def parse(self) -> dict[str, Tree]:
        """Parse the whole text; returns the trees by name (the main one and every {{define}}/{{block}})."""
        root = ListNode(self.peek().pos)
        while self.peek().typ != T.EOF:
            if self.peek().typ == T.LEFT_DELIM:
                start = self.i
                self.next()
                if self.next_non_space().typ == T.DEFINE:
                    self._parse_definition()
                    continue
                self.i = start
            n = self.text_or_action()
            if isinstance(n, _EndNode | _ElseNode):
                raise self.errorf(f"unexpected {n}")
            root.nodes.append(n)
        self._add(Tree(self.name, self.parse_name, root, self.text))
        return self.tree_set

    def _add(self, tree: Tree) -> None:
        existing = self.tree_set.get(tree.name)
        if existing is None or is_empty_tree(existing.root):
            self.tree_set[tree.name] = tree
            return
        if not is_empty_tree(tree.root):
            raise self.errorf(f"template: multiple definition of template {_go_quote(tree.name)}")

    def _parse_definition(self) -> None:
        context = "define clause"
        name_tok = self.expect_one_of(T.STRING, T.RAW_STRING, context)
        name = self._unquote(name_tok)
        self.expect(T.RIGHT_DELIM, context)
        saved_vars = self.vars
        self.vars = ["$"]
        lst, end = self.item_list()
        if not isinstance(end, _EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.vars = saved_vars
        self._add(Tree(name, self.parse_name, lst, self.text))

    def item_list(self) -> tuple[ListNode, Node]:
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != T.EOF:
            n = self.text_or_action()
            if isinstance(n, _EndNode | _ElseNode):
                return lst, n
            lst.nodes.append(n)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == T.TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ == T.LEFT_DELIM:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if tok.typ == T.COMMENT:
            return CommentNode(tok.pos, tok.val)
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == T.BLOCK:
            return self._block_control()
        if typ == T.BREAK or typ == T.CONTINUE:
            word = "break" if typ == T.BREAK else "continue"
            nxt = self.next_non_space()
            if nxt.typ != T.RIGHT_DELIM:
                raise self.unexpected(nxt, "{{" + word + "}}")
            if self.range_depth == 0:
                raise self.errorf("{{" + word + "}} outside {{range}}")
            return BreakNode(tok.pos, tok.line) if typ == T.BREAK else ContinueNode(tok.pos, tok.line)
        if typ == T.ELSE:
            return self._else_control()
        if typ == T.END:
            return _EndNode(self.expect(T.RIGHT_DELIM, "end").pos)
        if typ == T.IF:
            return self._parse_control(IfNode, "if")
        if typ == T.RANGE:
            return self._parse_control(RangeNode, "range")
        if typ == T.TEMPLATE:
            return self._template_control()
        if typ == T.WITH:
            return self._parse_control(WithNode, "with")
        self.backup()
        tok = self.peek()
        return ActionNode(tok.pos, tok.line, self.pipeline("command", T.RIGHT_DELIM))

    def _else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ == T.IF or peek.typ == T.WITH:
            return _ElseNode(peek.pos, peek.line)
        tok = self.expect(T.RIGHT_DELIM, "else")
        return _ElseNode(tok.pos, tok.line)

    def _parse_control(self, cls: type[BranchNode], context: str) -> Node:
        nvars = len(self.vars)
        try:
            pipe = self.pipeline(context, T.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list()
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, _ElseNode):
                if context == "if" and self.peek().typ == T.IF:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(self._parse_control(IfNode, "if"))
                elif context == "with" and self.peek().typ == T.WITH:
                    self.next()
                    else_list = ListNode(nxt.pos)
                    else_list.nodes.append(self._parse_control(WithNode, "with"))
                else:
                    else_list, nxt = self.item_list()
                    if not isinstance(nxt, _EndNode):
                        raise self.errorf(f"expected end; found {nxt}")
            return cls(pipe.pos, pipe.line, pipe, lst, else_list)
        finally:
            del self.vars[nvars:]

    def _block_control(self) -> Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        pipe = self.pipeline(context, T.RIGHT_DELIM)
        saved_vars, saved_range = self.vars, self.range_depth
        self.vars, self.range_depth = ["$"], 0
        lst, end = self.item_list()
        if not isinstance(end, _EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.vars, self.range_depth = saved_vars, saved_range
        self._add(Tree(name, self.parse_name, lst, self.text))
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def _template_control(self) -> Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self._template_name(tok, context)
        pipe: PipeNode | None = None
        if self.next_non_space().typ != T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT_DELIM)
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def _template_name(self, tok: Token, context: str) -> str:
        if tok.typ in (T.STRING, T.RAW_STRING):
            return self._unquote(tok)
        raise self.unexpected(tok, context)

    def _unquote(self, tok: Token) -> str:
        try:
            return go_unquote(tok.val)
        except ValueError as err:
            raise self.errorf(str(err)) from None

    def pipeline(self, context: str, end: T) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != T.VARIABLE:
                break
            start = self.i
            self.next_non_space()
            after_var = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ == T.ASSIGN or nxt.typ == T.DECLARE:
                pipe.is_assign = nxt.typ == T.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                break
            if nxt.typ == T.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, [v.val]))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT_DELIM, T.RIGHT_PAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            del after_var
            self.i = start
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self._check_pipeline(pipe, context)
                return pipe
            if tok.typ in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
                continue
            raise self.unexpected(tok, context)

    def _check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                raise self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == T.SPACE:
                continue
            if tok.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self.backup()
            elif tok.typ != T.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == T.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == T.FIELD:
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, [*node.idents, *chain.fields])
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, [*node.idents, *chain.fields])
            if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                raise self.errorf(f"unexpected . after term {_go_quote(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == T.IDENTIFIER:
            if not self.skip_func_check and not self.has_function(tok.val):
                raise self.errorf(f"function {_go_quote(tok.val)} not defined")
            return IdentifierNode(tok.pos, tok.val)
        if typ == T.DOT:
            return DotNode(tok.pos)
        if typ == T.NIL:
            return NilNode(tok.pos)
        if typ == T.VARIABLE:
            idents = tok.val.split(".")
            if idents[0] not in self.vars:
                raise self.errorf(f"undefined variable {_go_quote(idents[0])}")
            return VariableNode(tok.pos, idents)
        if typ == T.FIELD:
            return FieldNode(tok.pos, tok.val[1:].split("."))
        if typ == T.BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if typ in (T.CHAR_CONSTANT, T.COMPLEX, T.NUMBER):
            try:
                return new_number(tok.pos, tok.val, typ)
            except ValueError as err:
                raise self.errorf(str(err)) from None
        if typ == T.LEFT_PAREN:
            self.depth += 1
            if self.depth >= self.max_depth:
                raise self.errorf("max expression depth exceeded")
            try:
                return self.pipeline("parenthesized pipeline", T.RIGHT_PAREN)
            finally:
                self.depth -= 1
        if typ in (T.STRING, T.RAW_STRING):
            return StringNode(tok.pos, tok.val, self._unquote(tok))
        self.backup()
        return None


_OPERAND_START = frozenset(
    {
        T.BOOL,
        T.CHAR_CONSTANT,
        T.COMPLEX,
        T.DOT,
        T.FIELD,
        T.IDENTIFIER,
        T.NUMBER,
        T.NIL,
        T.RAW_STRING,
        T.STRING,
        T.VARIABLE,
        T.LEFT_PAREN,
    }
)


def _column(text: str, pos: int) -> int:
    return pos - (text.rfind("\n", 0, pos) + 1) + 1


# ------------------------------------------------------------------
# Literals: Go's strconv rules for quoted strings and numbers.

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}


def _unquote_char(s: str, i: int, quote: str) -> tuple[str, int, bool]:
    """Decode one (possibly escaped) character at s[i]; returns (char-or-bytes, next index, is_byte)."""
    ch = s[i]
    if ch == quote and quote in "'\"":
        raise ValueError("invalid syntax")
    if ch != "\\":
        return ch, i + 1, False
    if i + 1 >= len(s):
        raise ValueError("invalid syntax")
    c = s[i + 1]
    if c in _SIMPLE_ESCAPES:
        if (c == "'" and quote != "'") or (c == '"' and quote != '"'):
            raise ValueError("invalid syntax")
        return _SIMPLE_ESCAPES[c], i + 2, False
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        digits = s[i + 2 : i + 2 + n]
        if len(digits) != n or not all(d in "0123456789abcdefABCDEF" for d in digits):
            raise ValueError("invalid syntax")
        value = int(digits, 16)
        if c == "x":
            return chr(value), i + 2 + n, True
        if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
            raise ValueError("invalid syntax")
        return chr(value), i + 2 + n, False
    if c in "01234567":
        digits = s[i + 1 : i + 4]
        if len(digits) != 3 or not all(d in "01234567" for d in digits):
            raise ValueError("invalid syntax")
        value = int(digits, 8)
        if value > 255:
            raise ValueError("invalid syntax")
        return chr(value), i + 4, True
    raise ValueError("invalid syntax")


def go_unquote(s: str) -> str:
    """strconv.Unquote for the literal forms the lexer produces ("...", `...`, '...')."""
    if len(s) < 2 or s[0] != s[-1]:
        raise ValueError("invalid syntax")
    quote = s[0]
    body = s[1:-1]
    if quote == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if quote not in "\"'":
        raise ValueError("invalid syntax")
    if "\\" not in body and quote not in body and "\n" not in body:
        if quote == "'" and len(body) != 1:
            raise ValueError("invalid syntax")
        return body
    out: list[str] = []
    raw_bytes = bytearray()
    i = 0
    while i < len(body):
        if body[i] == "\n":
            raise ValueError("invalid syntax")
        ch, i, is_byte = _unquote_char(body, i, quote)
        if is_byte:
            raw_bytes.append(ord(ch))
            continue
        if raw_bytes:
            out.append(raw_bytes.decode("utf-8", errors="surrogateescape"))
            raw_bytes.clear()
        out.append(ch)
    if raw_bytes:
        out.append(raw_bytes.decode("utf-8", errors="surrogateescape"))
    result = "".join(out)
    if quote == "'" and len(result) != 1:
        raise ValueError("invalid syntax")
    return result


_INT_RE = re.compile(
    r"""[+-]?(?:
        0[xX](?:_?[0-9a-fA-F])+ |
        0[oO](?:_?[0-7])+ |
        0[bB](?:_?[01])+ |
        0(?:_?[0-7])* |
        [1-9](?:_?[0-9])*
    )\Z""",
    re.VERBOSE,
)
_DEC_FLOAT_RE = re.compile(
    r"[+-]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?\Z"
)
_HEX_FLOAT_RE = re.compile(
    r"[+-]?0[xX](?:_?[0-9a-fA-F])*(?:\.(?:[0-9a-fA-F](?:_?[0-9a-fA-F])*)?)?[pP][+-]?[0-9](?:_?[0-9])*\Z"
)

_MAX_INT64 = (1 << 63) - 1
_MAX_UINT64 = (1 << 64) - 1


def _parse_go_int(text: str) -> int | None:
    if not _INT_RE.match(text):
        return None
    sign = -1 if text[0] == "-" else 1
    body = text.lstrip("+-").replace("_", "")
    if len(body) > 1 and body[0] == "0" and body[1] in "xXoObB":
        value = int(body, 0)
    elif len(body) > 1 and body[0] == "0":
        value = int(body, 8)
    else:
        value = int(body)
    return sign * value


def _parse_go_float(text: str) -> float | None:
    if _HEX_FLOAT_RE.match(text):
        clean = text.replace("_", "")
        sign = -1.0 if clean.startswith("-") else 1.0
        clean = clean.lstrip("+-")
        try:
            return sign * float.fromhex(clean)
        except (ValueError, OverflowError):
            return None
    if _DEC_FLOAT_RE.match(text):
        value = float(text.replace("_", ""))
        if value in (float("inf"), float("-inf")):
            return None
        return value
    return None


def new_number(pos: int, text: str, typ: T) -> NumberNode:
    """Classify a number literal as Go's parse.NumberNode does (int, uint, float and complex views)."""
    n = NumberNode(pos, text)
    if typ == T.CHAR_CONSTANT:
        # strconv.UnquoteChar on the first character: a bad escape is "invalid syntax"; more than one character
        # before the closing quote is a malformed constant.
        if len(text) < 3:
            raise ValueError(f"malformed character constant: {text}")
        try:
            ch, end, _ = _unquote_char(text, 1, "'")
        except ValueError:
            raise ValueError("invalid syntax") from None
        if text[end:] != "'":
            raise ValueError(f"malformed character constant: {text}")
        code = ord(ch)
        n.is_int = n.is_uint = n.is_float = True
        n.int64 = n.uint64 = code
        n.float64 = float(code)
        return n
    if typ == T.COMPLEX:
        value = _parse_complex(text)
        if value is None:
            raise ValueError(f"expected integer; found {text}")
        n.is_complex = True
        n.complex128 = value
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        f = _parse_go_float(text[:-1]) if not _INT_RE.match(text[:-1]) else float(_parse_go_int(text[:-1]) or 0)
        if f is not None:
            n.is_complex = True
            n.complex128 = complex(0, f)
            _simplify_complex(n)
            return n
    i = _parse_go_int(text)
    if i is not None:
        if 0 <= i <= _MAX_UINT64:
            n.is_uint = True
            n.uint64 = i
        if -_MAX_INT64 - 1 <= i <= _MAX_INT64:
            n.is_int = True
            n.int64 = i
    if n.is_int:
        n.is_float = True
        n.float64 = float(n.int64)
    elif n.is_uint:
        n.is_float = True
        n.float64 = float(n.uint64)
    else:
        f = _parse_go_float(text)
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {_go_quote(text)}")
            n.is_float = True
            n.float64 = f
            if f.is_integer() and -(2**63) <= f < 2**63:
                n.is_int = True
                n.int64 = int(f)
            if f.is_integer() and 0 <= f < 2**64:
                n.is_uint = True
                n.uint64 = int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise ValueError(f"illegal number syntax: {_go_quote(text)}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    if n.complex128.imag == 0:
        n.is_float = True
        n.float64 = n.complex128.real
        if n.float64.is_integer():
            n.is_int = True
            n.int64 = int(n.float64)
            if n.int64 >= 0:
                n.is_uint = True
                n.uint64 = n.int64


def _parse_complex(text: str) -> complex | None:
    m = re.match(r"([+-]?[^+-]+(?:[eE][+-][0-9]+)?)([+-].*)i\Z", text)
    if not m:
        return None
    real = _parse_go_float(m.group(1))
    if real is None:
        iv = _parse_go_int(m.group(1))
        real = float(iv) if iv is not None else None
    imag = _parse_go_float(m.group(2))
    if imag is None:
        iv = _parse_go_int(m.group(2))
        imag = float(iv) if iv is not None else None
    if real is None or imag is None:
        return None
    return complex(real, imag)


@dataclass(slots=True)
class ParseOptions:
    left: str = ""
    right: str = ""
    skip_func_check: bool = False
    funcs: frozenset[str] = field(default_factory=frozenset)
