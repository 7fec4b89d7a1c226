"""``symgrad check``: derivatives against two independent oracles.

The first oracle is ``sympy.diff`` of the closed form, with symgrad's own
functions written in sympy's built-ins (``to_native``) and evaluated by
mpmath at 30 digits.  The second is a central finite difference of the
function's own numpy code.  Neither shares the backward builder.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import sympy

from symgrad_cli import functions as fn
from symgrad_cli import lower
from symgrad_cli.api import Derivation

RELATIVE_SYMPY = 1e-8
RELATIVE_FINITE = 1e-5


@dataclass
class Row:
    """One derivative at one point, by the three methods."""

    point: dict
    key: str
    symgrad: float
    sympy: float | None
    finite: float
    agrees: bool
    #: True where the point sits on a kink: no derivative exists there, and
    #: symgrad's value is the convention of ``--kinks``, which no oracle has.
    at_kink: bool = False


@dataclass
class CheckResult:
    rows: list[Row] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return all(row.agrees for row in self.rows)


def check(derivation: Derivation, values: dict | None, points: int = 5,
          seed: int = 0) -> CheckResult:
    """Compare every first derivative at ``values``, or at random points."""
    rng = np.random.default_rng(seed)
    variables = derivation.program.variables
    if values is not None:
        trial_points = [values]
    else:
        shapes = {v: derivation.graph[v].shape for v in variables}
        trial_points = _random_points(derivation, shapes, rng, points)
    function, _ = derivation.closed_forms(simplify=False)
    result = CheckResult()
    for point in trial_points:
        grads, at_kink = _evaluate(derivation, point)
        for key, value in grads.items():
            reference = _sympy_value(derivation, function, key, point)
            finite = _finite_difference(derivation, key, point)
            agrees = at_kink or _agrees(value, reference, finite)
            result.rows.append(Row(point, key, value, reference, finite,
                                   agrees, at_kink))
    return result


def _evaluate(derivation, point) -> tuple[dict, bool]:
    """The derivatives at ``point``, and whether it sits on a kink.

    The evaluation's warnings are passed on as they came.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, grads = derivation.evaluate(point)
    for warning in caught:
        warnings.warn(warning.message, stacklevel=3)
    at_kink = any(KINK_WARNING in str(w.message) for w in caught)
    return grads, at_kink


#: The words of lower's warning when an argument sits on a kink.
KINK_WARNING = "no derivative exists there"


def _random_points(derivation, shapes, rng, count) -> list[dict]:
    points = []
    for _ in range(count * 20):
        point = {v: rng.uniform(-2, 2, size=shape) for v, shape in shapes.items()}
        with warnings.catch_warnings():
            # A point outside the domain is discarded, not reported.
            warnings.simplefilter("ignore")
            value, _ = derivation.evaluate(point)
        if np.all(np.isfinite(value)):
            points.append(point)
        if len(points) == count:
            break
    return points


def _sympy_value(derivation, function, key, point):
    if function is None or any(np.shape(v) for v in point.values()):
        return None
    with fn.using_kinks(derivation.kinks):
        native = fn.to_native(function)
    symbol = sympy.Symbol(key, real=True)
    derivative = sympy.diff(native, symbol)
    # The point's floats exactly, so that sqrt(0) is 0 and 1/(2*sqrt(0)) is
    # sympy's complex infinity, not an error.
    subs = {sympy.Symbol(k, real=True): sympy.Rational(float(v))
            for k, v in point.items()}
    try:
        exact = derivative.xreplace(subs)
        if exact.has(sympy.zoo):
            return math.inf  # infinite, of no sign: compared by magnitude
        return float(exact.evalf(30))
    except (TypeError, ValueError, ArithmeticError):
        return None  # not real (log(-1)): finite differences decide


def _finite_difference(derivation, key, point):
    g = derivation.graph
    forward = lower.lower(g, [derivation.output], derivation.program.variables,
                          kinks=derivation.kinks)
    base = {k: np.asarray(v, dtype=float) for k, v in point.items()}
    x = base[key]
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape or (1,)):
        index = index if x.shape else ()
        step = 1e-6 * max(1.0, abs(float(x[index])))
        values = []
        for sign in (1, -1):
            shifted = dict(base)
            moved = x.copy()
            moved[index] = moved[index] + sign * step
            shifted[key] = moved
            args = [shifted[n] for n in forward.inputs]
            with np.errstate(all="ignore"):
                values.append(float(forward(*args)[0]))
        grad[index] = (values[0] - values[1]) / (2 * step)
    return grad if x.shape else float(grad)


def _close(a, b, rel):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all(np.isclose(a, b, rtol=rel, atol=rel, equal_nan=True)))


def _agrees(value, reference, finite) -> bool:
    if reference is None or math.isnan(reference):
        # No real value from the textbook formula (log(-1), or 0*inf where
        # symgrad's rule gives the limit, as x^y at x = 0): finite
        # differences decide.
        return _close(value, finite, RELATIVE_FINITE)
    if np.all(np.isnan(finite)):
        # Outside the function's domain: nothing to difference.
        return _close(value, reference, RELATIVE_SYMPY)
    if not math.isfinite(reference):
        # An infinite slope (sqrt at 0) no finite difference can measure.
        value = abs(float(value)) if math.isinf(reference) else value
        return _close(value, abs(reference), RELATIVE_SYMPY)
    return (_close(value, reference, RELATIVE_SYMPY)
            and _close(value, finite, RELATIVE_FINITE))


def table(result: CheckResult) -> str:
    """The rows as an aligned text table, ending with a verdict."""
    header = f"{'point':<32} {'d/d':<8} {'symgrad':>22} {'sympy.diff':>22} " \
             f"{'finite diff':>22}  ok"
    lines = [header, "-" * len(header)]
    for row in result.rows:
        point = ", ".join(f"{k}={_short(v)}" for k, v in row.point.items())
        lines.append(
            f"{point[:32]:<32} {row.key:<8} {_short(row.symgrad):>22} "
            f"{_short(row.sympy):>22} {_short(row.finite):>22}  "
            f"{'kink' if row.at_kink else 'yes' if row.agrees else 'NO'}"
        )
    verdict = "all derivatives agree" if result.agrees else "DISAGREEMENT"
    lines.append(f"{verdict}: {sum(r.agrees for r in result.rows)} of "
                 f"{len(result.rows)} checks agree")
    kinks = sum(r.at_kink for r in result.rows)
    if kinks:
        lines.append(
            f"{kinks} at a kink, where no derivative exists: symgrad's value "
            f"there is the --kinks convention, which the oracles do not know")
    return "\n".join(lines) + "\n"


def _short(value) -> str:
    if value is None:
        return "-"
    array = np.asarray(value, dtype=float)
    if array.shape:
        return np.array2string(array, precision=4, threshold=4)
    return f"{float(array):.12g}"
