"""Shared hypothesis strategies: random expressions of the language, and garbage.

An :class:`Expression` is drawn as a small tree and rendered twice, with no
help from symgrad: as fully parenthesised *text* of the expression language,
and as a *native* sympy expression written in sympy's own built-ins
(``Max``, ``Abs``, ``Piecewise``, ``1/(1 + exp(-u))`` for a sigmoid).  The
native form is the oracle: ``sympy.diff`` of it gives the derivatives symgrad
must agree with.  ``Expression.value_at`` evaluates the tree with mpmath and
refuses a point that leaves a function's domain, overflows, or lands near a
kink or a ``where`` boundary, where the oracle and a convention may differ.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy
from hypothesis import strategies as st

#: Variable names: ordinary ones and ones sympy or Python give a meaning to.
VARIABLES = ["x", "y", "z", "N", "E", "lambda", "gamma"]

UNARY = ["sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
         "exp", "log", "log1p", "expm1", "sqrt", "abs", "sigmoid", "softplus",
         "relu", "erf"]
BINARY_FUNCTIONS = ["max", "min"]
OPERATORS = ["+", "-", "*", "/", "^", "**"]
COMPARISONS = ["<", "<=", ">", ">=", "==", "!="]

#: How close to a kink or a domain edge a point may come, and how large any
#: intermediate value may grow, before the point is refused.
MARGIN = 1e-6
LIMIT = 1e6

mpmath.mp.dps = 40


def symbol(name: str) -> sympy.Symbol:
    """The real sympy symbol of a variable, as the oracle names it."""
    return sympy.Symbol(name, real=True)


def _sigmoid(u):
    return 1 / (1 + sympy.exp(-u))


_NATIVE_UNARY = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "asin": sympy.asin,
    "acos": sympy.acos, "atan": sympy.atan, "sinh": sympy.sinh,
    "cosh": sympy.cosh, "tanh": sympy.tanh, "exp": sympy.exp,
    "log": sympy.log, "log1p": lambda u: sympy.log(1 + u),
    "expm1": lambda u: sympy.exp(u) - 1, "sqrt": sympy.sqrt,
    "abs": sympy.Abs, "sigmoid": _sigmoid,
    "softplus": lambda u: sympy.log(1 + sympy.exp(u)),
    "relu": lambda u: sympy.Max(u, 0), "erf": sympy.erf,
}

_MP_UNARY = {
    "sin": mpmath.sin, "cos": mpmath.cos, "tan": mpmath.tan,
    "asin": mpmath.asin, "acos": mpmath.acos, "atan": mpmath.atan,
    "sinh": mpmath.sinh, "cosh": mpmath.cosh, "tanh": mpmath.tanh,
    "exp": mpmath.exp, "log": mpmath.log, "log1p": mpmath.log1p,
    "expm1": mpmath.expm1, "sqrt": mpmath.sqrt, "abs": abs,
    "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)),
    "softplus": lambda u: mpmath.log(1 + mpmath.exp(u)),
    "relu": lambda u: max(u, mpmath.mpf(0)), "erf": mpmath.erf,
}

_RELATIONS = {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge,
              "==": sympy.Eq, "!=": sympy.Ne}
_MP_RELATIONS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
                 ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
                 "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


class OutOfBounds(Exception):
    """A point outside a domain, near a kink, or with an overflowing value."""


@dataclass(frozen=True)
class Expression:
    """One random expression: its tree, its text and its native sympy form."""

    tree: tuple

    @property
    def text(self) -> str:
        return to_text(self.tree)

    @property
    def native(self) -> sympy.Expr:
        return to_native(self.tree)

    @property
    def variables(self) -> list[str]:
        return sorted(_variables(self.tree))

    def value_at(self, point: dict) -> mpmath.mpf | None:
        """The value at ``point`` by mpmath, or None where it is refused."""
        try:
            return _evaluate(self.tree, point)
        except (OutOfBounds, ZeroDivisionError, ValueError, OverflowError):
            return None

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def to_text(tree: tuple) -> str:
    """The tree as fully parenthesised text of the expression language."""
    kind = tree[0]
    if kind in ("var", "int", "const"):
        return str(tree[1])
    if kind == "frac":
        return f"({tree[1]}/{tree[2]})"
    if kind == "neg":
        return f"(-{to_text(tree[1])})"
    if kind == "op":
        return f"({to_text(tree[2])} {tree[1]} {to_text(tree[3])})"
    if kind == "call":
        return f"{tree[1]}({', '.join(to_text(a) for a in tree[2:])})"
    if kind == "where":
        _, cmp, a, b, then, other = tree
        return (f"where({to_text(a)} {cmp} {to_text(b)}, {to_text(then)}, "
                f"{to_text(other)})")
    raise ValueError(kind)


def to_native(tree: tuple) -> sympy.Expr:
    """The tree as a sympy expression in sympy's built-in functions only."""
    kind = tree[0]
    if kind == "var":
        return symbol(tree[1])
    if kind == "int":
        return sympy.Integer(tree[1])
    if kind == "frac":
        return sympy.Rational(tree[1], tree[2])
    if kind == "const":
        return {"pi": sympy.pi, "e": sympy.E}[tree[1]]
    if kind == "neg":
        return -to_native(tree[1])
    if kind == "op":
        a, b = to_native(tree[2]), to_native(tree[3])
        op = tree[1]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return a**b
    if kind == "call":
        name, args = tree[1], [to_native(a) for a in tree[2:]]
        if name == "max":
            return sympy.Max(*args)
        if name == "min":
            return sympy.Min(*args)
        return _NATIVE_UNARY[name](*args)
    if kind == "where":
        _, cmp, a, b, then, other = tree
        condition = _RELATIONS[cmp](to_native(a), to_native(b))
        return sympy.Piecewise((to_native(then), condition),
                               (to_native(other), True))
    raise ValueError(kind)


def _variables(tree: tuple) -> set[str]:
    if tree[0] == "var":
        return {tree[1]}
    found = set()
    for part in tree[1:]:
        if isinstance(part, tuple):
            found |= _variables(part)
    return found


def _near(a, b) -> bool:
    return abs(a - b) <= MARGIN * max(1, abs(a), abs(b))


def _checked(value):
    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
        raise OutOfBounds(value)
    if abs(value) > LIMIT:
        raise OutOfBounds(value)
    return value


def _evaluate(tree: tuple, point: dict):
    kind = tree[0]
    if kind == "var":
        return _checked(mpmath.mpf(point[tree[1]]))
    if kind == "int":
        return mpmath.mpf(tree[1])
    if kind == "frac":
        return mpmath.mpf(tree[1]) / tree[2]
    if kind == "const":
        return +mpmath.pi if tree[1] == "pi" else +mpmath.e
    if kind == "neg":
        return -_evaluate(tree[1], point)
    if kind == "op":
        return _checked(_operator(tree[1], _evaluate(tree[2], point),
                                  _evaluate(tree[3], point)))
    if kind == "call":
        args = [_evaluate(a, point) for a in tree[2:]]
        return _checked(_function(tree[1], args))
    if kind == "where":
        _, cmp, a, b, then, other = tree
        left, right = _evaluate(a, point), _evaluate(b, point)
        if _near(left, right):
            raise OutOfBounds("on a where boundary")
        chosen = then if _MP_RELATIONS[cmp](left, right) else other
        return _evaluate(chosen, point)
    raise ValueError(kind)


def _operator(op: str, a, b):
    if op == "/" and abs(b) < MARGIN:
        raise OutOfBounds("division by nearly 0")
    if op in ("^", "**"):
        if a < MARGIN and b != int(b):
            # A negative base with a fractional power is NaN in float64, and
            # near 0 a fractional power's derivative blows up.
            raise OutOfBounds("power out of domain")
        if abs(a) < MARGIN and b < 2:
            raise OutOfBounds("power near a pole")
        return mpmath.power(a, b)
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]


def _function(name: str, args: list):
    u = args[0]
    if name in ("max", "min"):
        if _near(args[0], args[1]):
            raise OutOfBounds("a tie")
        return max(args) if name == "max" else min(args)
    if name in ("abs", "relu") and abs(u) < MARGIN:
        raise OutOfBounds("a kink")
    if name in ("asin", "acos") and abs(u) > 1 - MARGIN:
        raise OutOfBounds("outside [-1, 1]")
    if name in ("log", "sqrt") and u < MARGIN:
        raise OutOfBounds("not positive")
    if name == "log1p" and u < -1 + MARGIN:
        raise OutOfBounds("below -1")
    if name == "tan" and abs(mpmath.cos(u)) < MARGIN:
        raise OutOfBounds("a pole of tan")
    if name in ("exp", "sinh", "cosh", "expm1", "softplus", "sigmoid") \
            and abs(u) > 50:
        raise OutOfBounds("overflow")
    return _MP_UNARY[name](u)


# Strategies.

def leaves(variables=VARIABLES) -> st.SearchStrategy:
    """A variable, an exact integer, an exact fraction, or pi or e."""
    return st.one_of(
        st.sampled_from(variables).map(lambda v: ("var", v)),
        st.sampled_from(variables).map(lambda v: ("var", v)),
        st.integers(0, 9).map(lambda n: ("int", n)),
        st.tuples(st.integers(1, 9), st.integers(2, 9))
        .filter(lambda pq: sympy.gcd(*pq) == 1)
        .map(lambda pq: ("frac", *pq)),
        st.sampled_from(["pi", "e"]).map(lambda c: ("const", c)),
    )


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.tuples(st.just("op"), st.sampled_from(OPERATORS), children, children),
        st.tuples(st.just("call"), st.sampled_from(UNARY), children),
        st.tuples(st.just("call"), st.sampled_from(UNARY), children),
        st.tuples(st.just("neg"), children),
        st.tuples(st.just("call"), st.sampled_from(BINARY_FUNCTIONS), children,
                  children),
        st.tuples(st.just("where"), st.sampled_from(COMPARISONS), children,
                  children, children, children),
    )


def expressions(max_leaves: int = 8, variables=VARIABLES) -> st.SearchStrategy:
    """Random expressions over the whole scalar vocabulary, as Expression."""
    trees = st.recursive(leaves(variables), _extend, max_leaves=max_leaves)
    return trees.filter(_usable).map(Expression)


def _usable(tree: tuple) -> bool:
    """A tree with a variable whose constant parts are modest real numbers.

    A constant part such as ``9^(9^9)`` is refused: it would make sympy
    compute a number of hundreds of millions of digits.
    """
    return (bool(_variables(tree)) and _constants_modest(tree)
            and _calls_have_variables(tree))


def _calls_have_variables(tree: tuple) -> bool:
    """Every function call has a variable in an argument.

    A function of constants only (``softplus(1)``) is a separate concern,
    tested one function at a time in test_backward.py; so are the shapes
    sympy folds to a constant before symgrad sees them (``x - x``, and
    ``where(c, a, a)``).
    """
    if tree[0] == "call" and not _variables(tree):
        return False
    if tree[0] == "op" and tree[1] in ("-", "/") and tree[2] == tree[3]:
        return False
    if tree[0] == "where" and tree[4] == tree[5]:
        return False
    if tree[0] == "op" and tree[1] == "/" and not _variables(tree[3]) \
            and abs(_evaluate(tree[3], {})) < MARGIN:
        # An exact division by an exact zero is a parse error by design.
        return False
    return all(_calls_have_variables(part) for part in tree[1:]
               if isinstance(part, tuple))


def _constants_modest(tree: tuple) -> bool:
    if not _variables(tree):
        try:
            _evaluate(tree, {})
        except (OutOfBounds, ZeroDivisionError, ValueError, OverflowError):
            return False
        return True
    return all(_constants_modest(part) for part in tree[1:]
               if isinstance(part, tuple))


def points(expression: Expression, seed: int, tries: int = 30) -> dict | None:
    """A random point where ``expression`` is safely defined, or None.

    Coordinates are drawn uniformly from [-2.5, 2.5] by a generator seeded
    with ``seed``, so hypothesis can replay and shrink a failure.
    """
    rng = random.Random(seed)
    for _ in range(tries):
        point = {v: rng.uniform(-2.5, 2.5) for v in expression.variables}
        if expression.value_at(point) is not None:
            return point
    return None


#: Characters random garbage is made of: the language's own and some others.
_ALPHABET = (
    "xyzNE0123456789.eE+-*/^()<>=!,;#_ \t\n"
    "abcdefghijklmnopqrstuvwxyz"
    "αβγλ∑√'\"`$%&|~?:[]{}\\@\x00\u200b\ufeff"
)


def garbage() -> st.SearchStrategy:
    """Random strings: mostly from the language's characters, some arbitrary."""
    return st.one_of(
        st.text(alphabet=_ALPHABET, max_size=40),
        st.text(max_size=30),
        st.lists(st.sampled_from(
            ["sin", "(", ")", "x", "y", "2", "^", "**", "+", "-", "*", "/",
             ",", "where", "<", "max", "=", ";", "\n", "# c", "f", "1/2",
             "pi", "e", "lambda", " "]), max_size=20).map("".join),
    )


def oracle(native: sympy.Expr, point: dict, *wrt: str) -> float | None:
    """``sympy.diff(native, *wrt)`` at ``point``, at 30 digits, or None.

    None where sympy's value is not a finite real number (a point where the
    oracle itself is undefined).
    """
    derivative = sympy.diff(native, *[symbol(v) for v in wrt]) if wrt else native
    exact = {symbol(k): sympy.Float(v, 30) for k, v in point.items()}
    try:
        value = complex(derivative.xreplace(exact).evalf(30))
    except (TypeError, ValueError):
        return None
    if value.imag != 0 or value.real != value.real or abs(value.real) == float("inf"):
        return None
    return value.real


def close(got, want: float, rel: float = 1e-8) -> bool:
    """``got`` within ``rel`` of ``want``, relative to ``max(1, |want|)``."""
    return abs(float(got) - want) <= rel * max(1.0, abs(want))
