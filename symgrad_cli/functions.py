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


class _Extremum(sympy.Function):
    """``max`` or ``min`` of two or more numbers.

    The partial for one argument is 1 where it alone is chosen, 0 where
    another is, and a tie of k arguments splits it equally, 1/k each, as
    PyTorch's ``amax``, JAX and sympy do.
    """

    #: True for max, False for min.
    larger = True

    @classmethod
    def eval(cls, *args):
        if len(args) < 2:
            raise TypeError(f"{cls.__name__} takes two or more arguments")
        if all(a == args[0] for a in args[1:]):
            return args[0]
        if all(a.is_number and a.is_comparable for a in args):
            return (max if cls.larger else min)(args, key=float)

    def fdiff(self, argindex=1):
        chosen = self.args[argindex - 1]
        others = self.args[: argindex - 1] + self.args[argindex:]
        if len(others) == 1:
            (other,) = others
            strict, loose = self._ahead(chosen, other)
            return where(loose, where(strict, 1, sympy.Rational(1, 2)), 0)
        ahead = sympy.And(*(self._ahead(chosen, o)[1] for o in others))
        ties = sympy.Add(1, *(where(sympy.Eq(o, chosen), 1, 0) for o in others))
        return where(ahead, 1 / ties, 0)

    @classmethod
    def _ahead(cls, a, b):
        """(a strictly ahead of b, a ahead of or level with b)."""
        return (a > b, a >= b) if cls.larger else (a < b, a <= b)


class maximum(_Extremum):
    """The largest of two or more numbers."""

    larger = True

    def native(self):
        return sympy.Max(*self.args)


class minimum(_Extremum):
    """The smallest of two or more numbers."""

    larger = False

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

#: Functions of two or more arguments, elementwise.
VARIADIC = {"max": maximum, "min": minimum}

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
