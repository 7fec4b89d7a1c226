"""Text to graph: the expression language of DESIGN.md.

The grammar is read by lark's LALR parser, whose callbacks run as each rule
is reduced, bottom up, so a 20,000-deep nesting builds its graph without any
recursion.  User text is data: nothing here calls ``eval``, ``exec`` or
``sympy.parse_expr``.
"""

from __future__ import annotations

import contextvars
import functools
from dataclasses import dataclass

import lark
import sympy

from symgrad_cli import ops
from symgrad_cli.errors import InputError, ParseError
from symgrad_cli.functions import CONSTANTS
from symgrad_cli.graph import Graph

GRAMMAR = r"""
start: _SEP* (statement (_SEP+ statement)* _SEP*)?

statement: NAME "=" expr      -> assign
         | expr               -> output

?expr: sum
     | sum COMPARE sum        -> compare

?sum: product
    | sum ADDOP product       -> binary

?product: unary
        | product MULOP unary -> binary

?unary: power
      | ADDOP unary           -> unary

?power: primary
      | primary POW unary     -> power

?primary: NUMBER              -> number
        | NAME                -> name
        | NAME "(" args ")"   -> call
        | "(" expr ")"

args: (expr ("," expr)*)?

COMPARE: "<=" | ">=" | "==" | "!=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*" | "/" | "@"
POW: "**" | "^"
NUMBER: /(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/
NAME: /[^\W\d]\w*/
_SEP: ";" | /\r?\n/
COMMENT: /#[^\n]*/
%ignore COMMENT
%ignore /[ \t\f\r]+/
"""

_READABLE = {
    "NAME": "a name", "NUMBER": "a number", "LPAR": "'('", "RPAR": "')'",
    "COMMA": "','", "ADDOP": "'+' or '-'", "MULOP": "'*', '/' or '@'",
    "POW": "'^'", "COMPARE": "a comparison", "_SEP": "';' or a new line",
    "EQUAL": "'='", "$END": "the end",
}


@dataclass(frozen=True)
class Comparison:
    """A comparison: a value only ``where``'s condition may hold."""

    node: str
    column: int


@dataclass
class Program:
    """A parsed program: its graph, output node and named results.

    Attributes
    ----------
    graph : Graph
        The forward graph.
    output : str or sympy.Basic
        The last statement's node id, or a number for a constant program.
    text : str
        The source text.
    """

    graph: Graph
    output: str | sympy.Basic
    text: str

    @property
    def variables(self) -> list[str]:
        """The variable names, sorted."""
        return self.graph.variables()


_current_builder = contextvars.ContextVar("builder")


class _Dispatch(lark.Transformer):
    """Forwards each reduction to the builder of the parse under way."""

    def __default__(self, data, children, meta):
        callback = getattr(_current_builder.get(), data, None)
        if callback is None:
            return lark.Tree(data, children, meta)
        return callback(children)


@functools.lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(GRAMMAR, parser="lalr", maybe_placeholders=False,
                     transformer=_Dispatch())


class _Builder:
    """The grammar's callbacks: each reduction adds nodes to the graph."""

    def __init__(self, text: str, shapes: dict):
        self.text = text
        self.shapes = shapes
        self.graph = Graph(reserved=_names_in(text))
        self.bound: dict[str, object] = {}
        self.used_as_variable: set[str] = set()
        self.outputs: list = []

    def fail(self, message: str, column: int, hint: str = ""):
        raise ParseError(message, self.text, column, hint)

    def value(self, item):
        """An operand, refusing a comparison outside ``where``."""
        if isinstance(item, Comparison):
            self.fail("a comparison can only be the condition of where(...)",
                      item.column)
        return item

    def guarded(self, column: int, build, *args):
        try:
            return build(*args)
        except InputError as err:
            self.fail(str(err), column)

    # Statements.

    def assign(self, children):
        name, value = children
        if name in CONSTANTS:
            self.fail(f"{name} is a constant and cannot be assigned",
                      name.start_pos)
        if name in self.used_as_variable:
            self.fail(f"{name} is used as a variable before this assignment",
                      name.start_pos)
        value = self.value(value)
        if isinstance(value, str):
            value = self.graph.name(str(name), value)
        self.bound[str(name)] = value
        self.outputs.append(value)

    def output(self, children):
        self.outputs.append(self.value(children[0]))

    # Expressions.

    def compare(self, children):
        left, op, right = children
        node = self.guarded(op.start_pos, ops.compare, self.graph, str(op),
                            self.value(left), self.value(right))
        return Comparison(node, op.start_pos)

    def binary(self, children):
        left, op, right = children
        build = {"+": ops.add, "-": ops.sub, "*": ops.mul, "/": ops.div,
                 "@": ops.matmul}[str(op)]
        left, right = self.value(left), self.value(right)
        if str(op) == "/" and isinstance(right, sympy.Basic) and right.is_zero:
            # sympy makes x/0 complex infinity; float64 makes it inf or NaN.
            right = self.graph.constant(right, opaque=True)
        return self.guarded(op.start_pos, build, self.graph, left, right)

    def unary(self, children):
        op, operand = children
        operand = self.value(operand)
        if str(op) == "+":
            return operand
        return self.guarded(op.start_pos, ops.neg, self.graph, operand)

    def power(self, children):
        base, op, exponent = children
        base, exponent = self.value(base), self.value(exponent)
        if (isinstance(base, sympy.Basic) and base.is_zero
                and isinstance(exponent, sympy.Basic) and exponent.is_negative):
            base = self.graph.constant(base, opaque=True)  # as for x/0
        return self.guarded(op.start_pos, ops.power, self.graph, base, exponent)

    def number(self, children):
        token = children[0]
        text = str(token)
        if any(c in text for c in ".eE"):
            return sympy.Float(text, 17)
        if len(text) > ops.MAX_EXACT_DIGITS:
            # Too long to keep exact (and to convert with int()): a float.
            digits = text.lstrip("0")
            return sympy.Float(f"{digits[0]}.{digits[1:20]}e{len(digits) - 1}", 17)
        return sympy.Integer(text)

    def name(self, children):
        token = children[0]
        name = str(token)
        if name in self.bound:
            return self.bound[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        self.used_as_variable.add(name)
        return self.graph.variable(name, self.shapes.get(name, ()))

    def call(self, children):
        token, args = children
        name = str(token)
        if name in CONSTANTS or name in self.bound:
            self.fail(f"{name} is not a function", token.start_pos)
        arity = ops.ARITY.get(name)
        if name == "where":
            args = [args[0], *map(self.value, args[1:])] if args else args
        else:
            args = [self.value(a) for a in args]
        if arity is not None and len(args) != arity:
            plural = "" if arity == 1 else "s"
            self.fail(f"{name} takes {arity} argument{plural}, got {len(args)}",
                      token.start_pos)
        if name in ("max", "min") and len(args) < 2:
            self.fail(f"{name} takes 2 or more arguments, got {len(args)}",
                      token.start_pos)
        if not args:
            self.fail(f"{name}() needs an argument", token.start_pos)
        if name == "where":
            if not isinstance(args[0], Comparison):
                self.fail("where's condition must be a comparison, "
                          "like x > 0", token.end_pos + 1)
            args[0] = args[0].node
        return self.guarded(token.start_pos, ops.call, self.graph, name, args)

    def args(self, children):
        return list(children)


def _names_in(text: str) -> set[str]:
    """Every name token in the text, to keep generated ids clear of them."""
    names = set()
    try:
        for token in _parser().lex(text):
            if token.type == "NAME":
                names.add(str(token))
    except lark.exceptions.LarkError:
        pass
    return names


def parse(text: str, shapes: dict | None = None) -> Program:
    """Parse a program of the expression language into a graph.

    Parameters
    ----------
    text : str
        One expression, or statements separated by ``;`` or new lines.
    shapes : dict, optional
        The shape of each tensor variable, by name (scalars need none).

    Returns
    -------
    Program

    Raises
    ------
    ParseError
        When the text is not in the language; it carries the column.

    Examples
    --------
    >>> program = parse("z = 2*x + 1; relu(z)*z")
    >>> program.variables
    ['x']
    """
    builder = _Builder(text, shapes or {})
    token = _current_builder.set(builder)
    try:
        _parser().parse(text)
    except lark.exceptions.UnexpectedCharacters as err:
        raise _unexpected_character(text, err) from None
    except lark.exceptions.UnexpectedToken as err:
        raise _unexpected_token(text, err) from None
    except lark.exceptions.UnexpectedEOF:
        raise ParseError("unexpected end of the expression", text,
                         len(text)) from None
    except lark.exceptions.VisitError as err:
        raise err.orig_exc from None
    finally:
        _current_builder.reset(token)
    if not builder.outputs:
        raise ParseError("the expression is empty", text, 0)
    graph, output = builder.graph, builder.outputs[-1]
    graph.prune([v for v in [output, *graph.names.values()] if isinstance(v, str)])
    return Program(graph, output, text)


def _unexpected_character(text: str, err) -> ParseError:
    column = err.pos_in_stream
    char = text[column] if column < len(text) else ""
    return ParseError(f"unexpected character {char!r}", text, column)


def _unexpected_token(text: str, err) -> ParseError:
    token = err.token
    column = len(text) if token.type == "$END" else token.start_pos
    expected = sorted({_READABLE.get(t, repr(t)) for t in err.expected})
    found = "end of input" if token.type == "$END" else repr(str(token))
    message = f"unexpected {found}; expected {', '.join(expected)}"
    hint = ""
    before = text[:column].rstrip()
    if token.type in ("NAME", "LPAR") and before[-1:].isdigit() and \
            column == len(before):
        number = before.split()[-1] if before.split() else before
        hint = f"write {number}*{token} for a product"
    return ParseError(message, text, column, hint)
