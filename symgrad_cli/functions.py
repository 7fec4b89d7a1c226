"""The function vocabulary as sympy functions, and the conventions at kinks.

sympy is symgrad's scalar algebra: every elementwise operation means a sympy
expression, and its derivative is ``sympy.diff`` of that expression.  sympy
already knows ``sin``, ``exp``, ``log`` and the rest; this module adds the
functions of machine learning (``sigmoid``, ``softplus``, ``relu``, ``step``),
a real-valued ``abs`` and ``sign``, ``max``/``min`` and ``where``, each with its
derivative written once in ``fdiff``.

Where a derivative does not exist (``relu`` at 0, ``abs`` at 0, a tie in
``max``) the value is a convention.  Systems disagree, so the convention is a
parameter: ``KINKS`` lists them and :func:`using_kinks` selects one while
derivatives are built.  ``step(0)`` itself is part of the convention.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass

import sympy
from sympy.codegen.cfunctions import expm1, log1p


@dataclass(frozen=True)
class Kinks:
    """One convention for the points where a derivative does not exist.

    Attributes
    ----------
    name : str
        ``"pytorch"``, ``"jax"`` or ``"sympy"``.
    step_at_zero : sympy.Rational
        The value of ``step(0)``, and so of ``relu'(0)``.
    abs_slope_at_zero : int
        ``abs'(0)``.
    """

    name: str
    step_at_zero: sympy.Rational
    abs_slope_at_zero: int


KINKS = {
    "pytorch": Kinks("pytorch", sympy.Integer(0), 0),
    "jax": Kinks("jax", sympy.Integer(0), 1),
    "sympy": Kinks("sympy", sympy.Rational(1, 2), 0),
}

_current_kinks = contextvars.ContextVar("kinks", default=KINKS["pytorch"])


def current_kinks() -> Kinks:
    """The convention in force (PyTorch's unless :func:`using_kinks` says)."""
    return _current_kinks.get()


@contextlib.contextmanager
def using_kinks(name: str):
    """Build derivatives under the convention ``name`` inside the block."""
    token = _current_kinks.set(KINKS[name])
    try:
        yield KINKS[name]
    finally:
        _current_kinks.reset(token)


class sigmoid(sympy.Function):
    """The logistic function ``1/(1 + exp(-x))``."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.Rational(1, 2)

    def native(self):
        return 1 / (1 + sympy.exp(-self.args[0]))


class softplus(sympy.Function):
    """``log(1 + exp(x))``, computed without overflow."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_zero:
            return sympy.log(2)

    def native(self):
        return sympy.log(1 + sympy.exp(self.args[0]))


class step(sympy.Function):
    """1 above 0, 0 below; ``step(0)`` follows the kink convention."""

    def fdiff(self, argindex=1):
        # Zero everywhere but at 0, where no derivative exists.
        return sympy.Integer(0)

    @classmethod
    def eval(cls, x):
        if x.is_positive:
            return sympy.Integer(1)
        if x.is_negative:
            return sympy.Integer(0)

    def native(self):
        return sympy.Heaviside(self.args[0], current_kinks().step_at_zero)


class relu(sympy.Function):
    """``max(x, 0)``; ``relu'(x)`` is ``step(x)``."""

    def fdiff(self, argindex=1):
        return step(self.args[0])

    @classmethod
    def eval(cls, x):
        if x.is_nonnegative:
            return x
        if x.is_negative:
            return sympy.Integer(0)

    def native(self):
        return sympy.Max(self.args[0], 0)


class sign(sympy.Function):
    """-1, 0 or 1."""

    def fdiff(self, argindex=1):
        return sympy.Integer(0)

    @classmethod
    def eval(cls, x):
        if x.is_positive:
            return sympy.Integer(1)
        if x.is_negative:
            return sympy.Integer(-1)
        if x.is_zero:
            return sympy.Integer(0)

    def native(self):
        return sympy.sign(self.args[0])


class absolute(sympy.Function):
    """``abs(x)`` of a real number; ``abs'(0)`` follows the convention."""

    def fdiff(self, argindex=1):
        x = self.args[0]
        if current_kinks().abs_slope_at_zero == 1:
            return where(x >= 0, 1, -1)
        return sign(x)

    @classmethod
    def eval(cls, x):
        if x.is_nonnegative:
            return x
        if x.is_negative:
            return -x

    def native(self):
        return sympy.Abs(self.args[0])


def _tie_split(a, b, ahead):
    """The partial of ``max`` (``ahead`` is ``a > b``) or ``min`` for ``a``.

    1 where ``a`` is chosen, 0 where ``b`` is, and a tie splits it equally, as
    PyTorch, JAX and sympy all do.
    """
    strict, loose = (a > b, a >= b) if ahead else (a < b, a <= b)
    return where(loose, where(strict, 1, sympy.Rational(1, 2)), 0)


class maximum(sympy.Function):
    """The larger of two numbers."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else self.args[::-1]
        return _tie_split(a, b, ahead=True)

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if (a - b).is_number and (a - b).is_comparable:
            return a if a > b else b

    def native(self):
        return sympy.Max(*self.args)


class minimum(sympy.Function):
    """The smaller of two numbers."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args if argindex == 1 else self.args[::-1]
        return _tie_split(a, b, ahead=False)

    @classmethod
    def eval(cls, a, b):
        if a == b:
            return a
        if (a - b).is_number and (a - b).is_comparable:
            return a if a < b else b

    def native(self):
        return sympy.Min(*self.args)


class where(sympy.Function):
    """``where(c, a, b)``: ``a`` where the condition ``c`` holds, else ``b``.

    Its derivative is the derivative of the selected branch; the branch not
    selected contributes nothing, not even an infinity or a NaN.
    """

    nargs = 3

    @classmethod
    def eval(cls, c, a, b):
        if c is sympy.true:
            return a
        if c is sympy.false:
            return b
        if a == b:
            return a

    def _eval_derivative(self, s):
        c, a, b = self.args
        return where(c, a.diff(s), b.diff(s))

    def native(self):
        c, a, b = self.args
        return sympy.Piecewise((a, c), (b, True))


#: Function names of the language and the sympy function each one builds.
ELEMENTWISE = {
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "asin": sympy.asin,
    "acos": sympy.acos,
    "atan": sympy.atan,
    "sinh": sympy.sinh,
    "cosh": sympy.cosh,
    "tanh": sympy.tanh,
    "exp": sympy.exp,
    "log": sympy.log,
    "log1p": log1p,
    "expm1": expm1,
    "sqrt": sympy.sqrt,
    "abs": absolute,
    "sign": sign,
    "step": step,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "relu": relu,
    "erf": sympy.erf,
}

#: Functions of two arguments, elementwise.
BINARY = {"max": maximum, "min": minimum}

#: The name each sympy function class prints as in symgrad's language.
PRINTED_NAME = {cls: name for name, cls in ELEMENTWISE.items()}
PRINTED_NAME.update({maximum: "max", minimum: "min", where: "where"})

#: Functions with a kink: an evaluation landing there gets a warning.
KINKED = (relu, absolute, step, sign, maximum, minimum)

#: The only constants of the language.
CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


def to_native(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with symgrad's own functions written in sympy's built-ins.

    The result is what ``sympy.diff`` and ``evalf`` understand without
    symgrad, which makes it an independent oracle for tests and ``check``.
    """
    own = (sigmoid, softplus, step, relu, sign, absolute, maximum, minimum, where)
    return expr.replace(
        lambda e: isinstance(e, own),
        lambda e: e.native(),
    )
