"""The backward builder: derivatives as graph nodes, checked against oracles.

The oracle for smooth points is ``sympy.diff`` of the expression's native
form: the expression is written once more, here, in sympy with symgrad's
function classes, and ``functions.to_native`` turns those into sympy's
built-ins.  Stable forms at x = +-800 are checked against mpmath.  The
conventions at kinks are DESIGN.md's table.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import sympy
from strategies import close, oracle

from symgrad_cli import backward, lower
from symgrad_cli import functions as fn
from symgrad_cli.api import differentiate
from symgrad_cli.errors import InputError, SymgradWarning
from symgrad_cli.parse import parse

V = {name: sympy.Symbol(name, real=True)
     for name in ["x", "y", "z", "w", "b", "N", "E", "lambda", "gamma"]}
x, y, z, w, b = (V[n] for n in "xyzwb")

#: (text, the same expression in sympy, range of the random points)
SMOOTH = [
    ("sigmoid(w*x + b)", fn.sigmoid(w * x + b), (-2, 2)),
    ("x*y + sin(x*y)", x * y + sympy.sin(x * y), (-2, 2)),
    ("x^3 - 2*x", x**3 - 2 * x, (-2, 2)),
    ("x^y", x**y, (0.2, 2)),
    ("sin(x)*cos(y)/tan(x + y)", sympy.sin(x) * sympy.cos(y) / sympy.tan(x + y),
     (0.1, 0.7)),
    ("asin(x*y) + acos(x - y) + atan(x/y)",
     sympy.asin(x * y) + sympy.acos(x - y) + sympy.atan(x / y), (0.1, 0.6)),
    ("sinh(x)*cosh(y) - tanh(x*y)",
     sympy.sinh(x) * sympy.cosh(y) - sympy.tanh(x * y), (-2, 2)),
    ("exp(x*y)*log(x + 3)", sympy.exp(x * y) * sympy.log(x + 3), (-2, 2)),
    ("log1p(x^2) + expm1(y)", fn.log1p(x**2) + fn.expm1(y), (-2, 2)),
    ("sqrt(x^2 + y^2)", sympy.sqrt(x**2 + y**2), (0.5, 2)),
    ("abs(x - y)*relu(x + y)", fn.absolute(x - y) * fn.relu(x + y), (-2, 2)),
    ("softplus(x*y) + erf(x - y)", fn.softplus(x * y) + sympy.erf(x - y), (-2, 2)),
    ("max(x, y)*min(x*y, z)", fn.maximum(x, y) * fn.minimum(x * y, z), (-2, 2)),
    ("where(x < y, x*y, sin(y))", fn.where(x < y, x * y, sympy.sin(y)), (-2, 2)),
    ("where(x >= 0, sqrt(x), -x^2)",
     fn.where(x >= 0, sympy.sqrt(x), -(x**2)), (0.3, 2)),
    ("N*E + lambda^2*gamma",
     V["N"] * V["E"] + V["lambda"] ** 2 * V["gamma"], (-2, 2)),
    ("E*e^x + pi*x", V["E"] * sympy.E**x + sympy.pi * x, (-2, 2)),
    ("x/(1 + x^2)^(3/2)", x / (1 + x**2) ** sympy.Rational(3, 2), (-2, 2)),
    ("(x*y - 1)^2 + (x + y)^-1", (x * y - 1) ** 2 + (x + y) ** -1, (0.3, 2)),
    ("a = x*y; b = sin(a) + a; b*a + exp(-b)",
     (sympy.sin(x * y) + x * y) * x * y + sympy.exp(-(sympy.sin(x * y) + x * y)),
     (-1, 1)),
]


def random_points(variables, span, seed, count=3):
    rng = np.random.default_rng(seed)
    return [{v: float(rng.uniform(*span)) for v in variables} for _ in range(count)]


def native(expr):
    """The sympy expression with symgrad's functions in sympy's built-ins."""
    return fn.to_native(expr)


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.mark.parametrize("text, expr, span", SMOOTH, ids=[c[0] for c in SMOOTH])
def test_first_derivatives_match_sympy_diff(text, expr, span):
    """backward.derivatives of a parsed graph equals sympy.diff at random points."""
    program = parse(text)
    g, variables = program.graph, program.variables
    found = backward.derivatives(g, program.output, variables, 1)
    outputs = [program.output] + [found[(v,)] for v in variables]
    reference = native(expr)

    for point in random_points(variables, span, seed=len(text)):
        values = quietly(lower.evaluate, g, outputs, point)
        assert close(values[0], oracle(reference, point))
        for v, got in zip(variables, values[1:], strict=True):
            assert close(got, oracle(reference, point, v)), (v, point)


@pytest.mark.parametrize("text, expr, span", SMOOTH[:14] + SMOOTH[15:],
                         ids=[c[0] for c in SMOOTH[:14] + SMOOTH[15:]])
def test_second_derivatives_match_sympy_diff(text, expr, span):
    """Every second partial, mixed ones included, equals sympy.diff's."""
    derivation = differentiate(text, order=2)
    reference = native(expr)
    variables = derivation.program.variables

    for point in random_points(variables, span, seed=len(text), count=2):
        _, grads = quietly(derivation.evaluate, point)
        for first in variables:
            for second in variables:
                want = oracle(reference, point, first, second)
                got = grads[f"{first},{second}"]
                assert close(got, want, 1e-7), (first, second, got, want)


def test_third_order_derivative():
    """d^3/dx dx dy of sin(x)*y^2 is -2*y*sin(x), at random points."""
    derivation = differentiate("sin(x)*y^2", order=3)
    assert len(derivation.keys) == 8
    for point in random_points(["x", "y"], (-2, 2), seed=3):
        _, grads = derivation.evaluate(point)
        want = -2 * point["y"] * math.sin(point["x"])
        for key in ["x,x,y", "x,y,x", "y,x,x"]:
            assert close(grads[key], want, 1e-12)
        assert close(grads["y,y,y"], 0.0)


def test_power_with_the_same_node_as_base_and_exponent():
    """x^x has derivative x^x*(log(x) + 1): 4*(1 + log 2) at x = 2."""
    _, grads = quietly(differentiate("x^x").evaluate, {"x": 2.0})
    assert close(grads["x"], 4 * (1 + math.log(2)), 1e-12)


def test_power_with_the_same_node_as_base_and_exponent_second_order():
    """(x + 1)^(x + 1) matches sympy.diff to second order at x = 0.5."""
    u = x + 1
    derivation = differentiate("(x + 1)^(x + 1)", order=2)
    _, grads = quietly(derivation.evaluate, {"x": 0.5})
    assert close(grads["x,x"], oracle(u**u, {"x": 0.5}, "x", "x"), 1e-10)


# Accumulation and sharing.


def test_contributions_of_several_consumers_are_summed():
    """x*x + x has derivative 2x + 1: 7 at x = 3."""
    assert differentiate("x*x + x").evaluate({"x": 3.0})[1] == {"x": 7.0}


def test_a_shared_node_collects_every_path():
    """s = sin(x); s*s + s has derivative (2s + 1)cos(x), at x = 0.7."""
    _, grads = differentiate("s = sin(x); s*s + s").evaluate({"x": 0.7})
    assert close(grads["x"], (2 * math.sin(0.7) + 1) * math.cos(0.7), 1e-14)


def test_structurally_equal_nodes_are_one_node():
    """sin(x) written twice is one node, so are two equal products."""
    g = parse("sin(x)*y + sin(x)*z + x*y*2 + 2*x*y").graph
    assert sum(node.op == "sin" for node in g) == 1
    assert len({node.id for node in g}) == len(g)


def test_sigmoid_derivative_reuses_the_forward_node():
    """sigmoid' is s*(1 - s) of the existing sigmoid node, not a second sigmoid."""
    derivation = differentiate("sigmoid(x)")
    g = derivation.graph
    forward = g[derivation.output]
    derivative = g[derivation.derivatives["x"]]
    assert derivative.role == "backward"
    assert forward.symbol in derivative.expr.free_symbols
    assert not derivative.expr.has(fn.sigmoid)
    assert sympy.expand(derivative.expr - forward.symbol * (1 - forward.symbol)) == 0


def test_tanh_derivative_reuses_the_forward_node():
    """tanh' is 1 - t^2 of the existing tanh node."""
    derivation = differentiate("tanh(x)")
    g = derivation.graph
    t = g[derivation.output].symbol
    assert sympy.expand(g[derivation.derivatives["x"]].expr - (1 - t**2)) == 0


def test_exp_derivative_is_the_forward_node_itself():
    """The derivative of exp(x) is the exp node: no new node."""
    derivation = differentiate("exp(x)")
    assert derivation.derivatives["x"] == derivation.output
    assert [n for n in derivation.graph if n.role == "backward"] == []


def test_derivative_of_a_product_is_the_other_factor_itself():
    """d(x*y)/dx is the node y and d/dy is x: no backward node is created."""
    derivation = differentiate("x*y")
    assert derivation.derivatives == {"x": "y", "y": "x"}
    assert [n for n in derivation.graph if n.role == "backward"] == []


def test_backward_node_count_is_a_small_multiple_of_the_forward_count():
    """A 200-deep chain of sin and mul has at most 3 backward nodes per forward one."""
    text = "x"
    for _ in range(100):
        text = f"sin({text})*y"
    g = differentiate(text).graph
    forward = sum(n.role == "forward" for n in g)
    backward_count = sum(n.role == "backward" for n in g)
    assert backward_count <= 3 * forward


def test_unused_variable_has_derivative_zero():
    """A variable the output does not depend on has derivative exactly 0."""
    derivation = differentiate("a = x*2; y^2", wrt=["x", "y"])
    assert derivation.derivatives["x"] == 0
    assert derivation.evaluate({"x": 1.0, "y": 3.0})[1] == {"x": 0.0, "y": 6.0}


# Kinks.

KINK_TABLE = [
    # text, point, {convention: expected derivative with respect to x}
    ("relu(x)", {"x": 0.0}, {"pytorch": 0.0, "jax": 0.0, "sympy": 0.5}),
    ("abs(x)", {"x": 0.0}, {"pytorch": 0.0, "jax": 1.0, "sympy": 0.0}),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, {"pytorch": 0.5, "jax": 0.5, "sympy": 0.5}),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, {"pytorch": 0.5, "jax": 0.5, "sympy": 0.5}),
]


@pytest.mark.parametrize("text, point, expected", KINK_TABLE,
                         ids=[c[0] for c in KINK_TABLE])
@pytest.mark.parametrize("kinks", ["pytorch", "jax", "sympy"])
def test_kink_conventions(text, point, expected, kinks):
    """At a kink the derivative is the convention's value, with a warning."""
    derivation = differentiate(text, kinks=kinks)
    with pytest.warns(SymgradWarning, match="convention"):
        _, grads = derivation.evaluate(point)
    assert float(grads["x"]) == expected[kinks]


@pytest.mark.parametrize("kinks, value", [("pytorch", 0.0), ("jax", 0.0),
                                          ("sympy", 0.5)])
def test_step_at_zero_follows_the_convention(kinks, value):
    """step(0) is 0 for PyTorch and JAX and 1/2 for sympy; step(x)*y too."""
    derivation = differentiate("step(x)*y", kinks=kinks)
    with pytest.warns(SymgradWarning, match="step at 0"):
        result, grads = derivation.evaluate({"x": 0.0, "y": 1.0})
    assert float(result) == value
    assert float(grads["y"]) == value


def test_max_tie_splits_the_gradient_equally():
    """At a tie max(x, y)'s partials are 1/2 each and they sum to 1."""
    _, grads = quietly(differentiate("max(x, y)").evaluate, {"x": 2.0, "y": 2.0})
    assert grads == {"x": 0.5, "y": 0.5}


@pytest.mark.parametrize("text, point, share", [
    ("max(x, y, z)", {"x": 1.0, "y": 1.0, "z": 1.0}, {"x": 1 / 3, "y": 1 / 3,
                                                      "z": 1 / 3}),
    ("min(x, y, z)", {"x": 0.0, "y": 0.0, "z": 2.0}, {"x": 0.5, "y": 0.5, "z": 0}),
    ("max(x, x, y)", {"x": 1.0, "y": 1.0}, {"x": 2 / 3, "y": 1 / 3}),
    ("max(x, y, z)", {"x": 3.0, "y": 1.0, "z": 2.0}, {"x": 1, "y": 0, "z": 0}),
])
def test_a_tie_of_k_arguments_gives_each_1_over_k(text, point, share):
    """A tie among k of max's or min's arguments splits the gradient k ways,
    as PyTorch's amax does, however many arguments there are."""
    _, grads = quietly(differentiate(text).evaluate, point)
    assert {k: float(v) for k, v in grads.items()} == pytest.approx(share)


def test_max_of_a_variable_and_a_constant_is_no_tie_elsewhere():
    """max(x, 1) at x = 0 is not a kink: no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SymgradWarning)
        _, grads = differentiate("max(x, 1)").evaluate({"x": 0.0})
    assert float(grads["x"]) == 0.0


def test_no_kink_warning_away_from_kinks():
    """relu, abs and max away from their kinks raise no warning."""
    derivation = differentiate("relu(x) + abs(x) + max(x, y)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, grads = derivation.evaluate({"x": 1.5, "y": -1.0})
    assert grads == {"x": 3.0, "y": 0.0}


# where.


def test_where_does_not_leak_the_infinite_branch():
    """where(x < 1, x, sqrt(x)) at 0 has derivative exactly 1, not NaN."""
    value, grads = quietly(differentiate("where(x < 1, x, sqrt(x))").evaluate,
                           {"x": 0.0})
    assert float(value) == 0.0
    assert float(grads["x"]) == 1.0


def test_where_does_not_leak_the_nan_branch():
    """where(x > 0, log(x), 0) at -1 has value 0 and derivative 0."""
    value, grads = quietly(differentiate("where(x > 0, log(x), 0)").evaluate,
                           {"x": -1.0})
    assert float(value) == 0.0
    assert float(grads["x"]) == 0.0


def test_where_selected_branch_at_second_order():
    """where(x > 0, log(x), x^3) has second derivative -1/x^2 at 2 and 6x at -2."""
    derivation = differentiate("where(x > 0, log(x), x^3)", order=2)
    assert float(quietly(derivation.evaluate, {"x": 2.0})[1]["x,x"]) == -0.25
    assert float(quietly(derivation.evaluate, {"x": -2.0})[1]["x,x"]) == -12.0


def test_untaken_where_branch_raises_no_domain_warning():
    """A NaN in the branch where does not take is not reported as a NaN result."""
    for text, point in [("where(x > 0, log(x), 0)", -1.0),
                        ("where(x < 1, x, sqrt(x))", -1.0)]:
        derivation = differentiate(text)
        with warnings.catch_warnings():
            warnings.simplefilter("error", SymgradWarning)
            value, grads = derivation.evaluate({"x": point})
        assert np.isfinite(value) and np.isfinite(grads["x"])


def test_masks_of_two_selections_are_united():
    """sqrt(x) is read by two where()s, neither taking it at 0: the summed
    cotangent stays masked and the derivative is 2, not 0*inf = NaN."""
    text = "where(x < 1, x, sqrt(x)) + where(x < 2, x, sqrt(x))"
    _, grads = quietly(differentiate(text).evaluate, {"x": 0.0})
    assert float(grads["x"]) == 2.0
    _, grads = quietly(differentiate(text, order=2).evaluate, {"x": 0.0})
    assert float(grads["x,x"]) == 0.0


def test_a_scalar_selection_masks_through_a_reduction():
    """where(y < 1, y, sum(sqrt(x))) at y = 0 sends x nothing, not NaN at x = 0."""
    derivation = differentiate("where(y < 1, y, sum(sqrt(x)))", shapes={"x": (2,)})
    _, grads = quietly(derivation.evaluate, {"x": np.array([0.0, 1.0]), "y": 0.0})
    assert grads["x"].tolist() == [0.0, 0.0]
    assert float(grads["y"]) == 1.0


@pytest.mark.xfail(strict=True, reason="a vector condition cannot mask a scalar "
                   "cotangent after the sum over it; the selection's zero times "
                   "sqrt'(0) = inf is NaN")
def test_a_vector_selection_masks_a_scalar_input():
    """sum(where(x > 0, sqrt(w), 0)) takes sqrt(w) nowhere when every x < 0."""
    derivation = differentiate("sum(where(x > 0, sqrt(w), 0))", shapes={"x": (2,)})
    _, grads = quietly(derivation.evaluate, {"x": np.array([-1.0, -2.0]), "w": 0.0})
    assert float(grads["w"]) == 0.0


def test_relu_masks_under_every_convention():
    """relu(sqrt(x^2) - 1) at 0 is flat (its argument is -1): slope 0 under
    every --kinks, even where step(0) is 1/2."""
    for kinks in fn.KINKS:
        _, grads = quietly(differentiate("relu(sqrt(x^2) - 1)", kinks=kinks)
                           .evaluate, {"x": 0.0})
        assert float(grads["x"]) == 0.0, kinks


@pytest.mark.parametrize("text, point, key", [
    ("x^y", {"x": 0.0, "y": 2.0}, "x,x"), ("x^y", {"x": 0.0, "y": 3.0}, "x,x,x"),
    ("x^(y + 1)", {"x": 0.0, "y": 1.0}, "x,x"), ("x^y", {"x": 0.0, "y": 2.0}, "x,y"),
])
def test_higher_derivatives_of_a_power_at_a_zero_base(text, point, key):
    """Each derivative of x^y at x = 0 is the limit sympy.diff gives for the
    exponent fixed (d2/dx2 x^2 = 2), never 0*inf = NaN."""
    order = key.count(",") + 1
    expr = sympy.sympify(text.replace("^", "**"), locals={"x": x, "y": y})
    reference = expr
    for name in key.split(","):
        reference = sympy.diff(reference, V[name])
    want = sympy.limit(reference.subs(y, point["y"]), x, 0, "+")
    _, grads = quietly(differentiate(text, order=order).evaluate, point)
    assert float(grads[key]) == float(want)


def test_a_negative_constant_base_has_a_nan_slope_in_the_exponent():
    """(-2)^x at 3 is -8 (float64's power), and its slope, log(-2)*(-8), is
    not real: NaN, with no complex number in the derivative graph."""
    derivation = differentiate("(-2)^x")
    value, grads = quietly(derivation.evaluate, {"x": 3.0})
    assert float(value) == -8.0 and math.isnan(grads["x"])
    assert not any(node.expr is not None and node.expr.has(sympy.I)
                   for node in derivation.graph)


@pytest.mark.parametrize("text, scalar", [
    ("sum(x)^2", lambda v: (v[0] + v[1] + v[2]) ** 2),
    ("sum(x*x*x)", lambda v: sum(t**3 for t in v)),
    ("sum(sin(x))*sum(x^2)", lambda v: sum(map(sympy.sin, v)) * sum(t**2 for t in v)),
    ("dot(x, x)^2/2", lambda v: sum(t**2 for t in v) ** 2 / 2),
])
def test_second_derivative_of_a_vector_is_its_hessian(text, scalar):
    """d2/dx2 of f(x) with x of shape (3,) is the 3x3 Hessian sympy.hessian
    gives for f written over three scalars, not the gradient of a sum."""
    v = sympy.symbols("v0:3", real=True)
    point = [0.3, -1.2, 0.7]
    want = sympy.hessian(scalar(v), v).subs(dict(zip(v, point)))
    derivation = differentiate(text, order=2, shapes={"x": (3,)})
    _, grads = derivation.evaluate({"x": np.array(point)})
    assert grads["x,x"].shape == (3, 3)
    np.testing.assert_allclose(grads["x,x"], np.array(want, dtype=float), rtol=1e-12)


def test_mixed_second_derivative_of_a_vector_and_a_scalar():
    """sum(x)*z: d/dx then d/dz and d/dz then d/dx are both ones of x's shape."""
    derivation = differentiate("sum(x)*z", wrt=["x", "z"], order=2,
                               shapes={"x": (2,)})
    _, grads = derivation.evaluate({"x": np.array([1.0, 2.0]), "z": 3.0})
    assert grads["x,z"].tolist() == [1.0, 1.0]
    assert grads["z,x"].tolist() == [1.0, 1.0]
    assert grads["x,x"].tolist() == [[0.0, 0.0], [0.0, 0.0]]


def test_zero_to_a_variable_power_is_flat_for_positive_exponents():
    """0^z is 0 for every z > 0, so its derivative there is 0, not NaN."""
    derivation = differentiate("0^z + x")
    for z_value in (0.5, 2.0):
        value, grads = quietly(derivation.evaluate, {"x": 1.0, "z": z_value})
        assert float(value) == 1.0
        assert float(grads["z"]) == 0.0


# Numerically stable forms.

STABLE = [
    ("sigmoid(x)", lambda t: 1 / (1 + mpmath.exp(-t))),
    ("softplus(x)", lambda t: mpmath.log(1 + mpmath.exp(t))),
    ("log(sigmoid(x))", lambda t: mpmath.log(1 / (1 + mpmath.exp(-t)))),
    ("log(1 + exp(x))", lambda t: mpmath.log(1 + mpmath.exp(t))),
    ("tanh(x)", mpmath.tanh),
    # log(1 - sigmoid(t)) = -log(1 + exp(t)), which mpmath evaluates exactly.
    ("log(1 - sigmoid(x))", lambda t: -mpmath.log(1 + mpmath.exp(t))),
    ("log1p(exp(x))", lambda t: mpmath.log(1 + mpmath.exp(t))),
    ("log(exp(x) + exp(-x/2))",
     lambda t: mpmath.log(mpmath.exp(t) + mpmath.exp(-t / 2))),
    ("exp(x)/(exp(x) + exp(-x))",
     lambda t: mpmath.exp(t) / (mpmath.exp(t) + mpmath.exp(-t))),
]


@pytest.mark.parametrize("text, reference", STABLE, ids=[c[0] for c in STABLE])
@pytest.mark.parametrize("at", [800.0, -800.0, 30.0, -30.0])
def test_stable_forms_are_finite_and_correct_far_out(text, reference, at):
    """Value and derivative are finite and match mpmath at x = +-800 and +-30."""
    with mpmath.workdps(50):
        want_value = float(reference(mpmath.mpf(at)))
        want_slope = float(mpmath.diff(reference, mpmath.mpf(at)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grads = differentiate(text).evaluate({"x": at})
    assert np.isfinite(value) and np.isfinite(grads["x"])
    assert close(value, want_value, 1e-12), (value, want_value)
    assert close(grads["x"], want_slope, 1e-12), (grads["x"], want_slope)


# Named intermediates.


def test_wrt_a_named_intermediate_holds_its_inputs_fixed():
    """--wrt z of z = 2*x + 2; q = relu(z) + z*x; q*x treats z as independent."""
    zs, qs = sympy.symbols("z q", real=True)
    held = (sympy.Max(zs, 0) + zs * x) * x
    derivation = differentiate("z = 2*x + 2; q = relu(z) + z*x; q*x",
                               wrt=["z", "q", "x"])
    _, grads = derivation.evaluate({"x": 1.5})
    point = {x: 1.5, zs: 5.0}
    assert close(grads["z"], float(held.diff(zs).subs(point)), 1e-14)
    assert close(grads["q"], 1.5, 1e-14)
    full = (sympy.Max(2 * x + 2, 0) + (2 * x + 2) * x) * x
    assert close(grads["x"], float(full.diff(x).subs(x, 1.5)), 1e-14)


def test_wrt_an_unknown_name_is_an_input_error():
    """--wrt naming neither a variable nor a result raises InputError."""
    with pytest.raises(InputError, match="not a variable or named result"):
        differentiate("x*y", wrt=["q"])


# Functions of constants.

CONSTANT_ARGUMENTS = [
    ("sin", mpmath.sin), ("cos", mpmath.cos), ("tan", mpmath.tan),
    ("asin", mpmath.asin), ("acos", mpmath.acos), ("atan", mpmath.atan),
    ("sinh", mpmath.sinh), ("cosh", mpmath.cosh), ("tanh", mpmath.tanh),
    ("exp", mpmath.exp), ("log", mpmath.log), ("log1p", mpmath.log1p),
    ("expm1", mpmath.expm1), ("sqrt", mpmath.sqrt), ("abs", abs),
    ("sign", mpmath.sign), ("step", lambda t: 1), ("erf", mpmath.erf),
    ("sigmoid", lambda t: 1 / (1 + mpmath.exp(-t))),
    ("softplus", lambda t: mpmath.log(1 + mpmath.exp(t))),
    ("relu", lambda t: max(t, 0)),
]


@pytest.mark.parametrize("name, reference", CONSTANT_ARGUMENTS,
                         ids=[c[0] for c in CONSTANT_ARGUMENTS])
def test_function_of_a_constant_is_a_number(name, reference):
    """x*f(3/10) has derivative f(0.3), for every function of the vocabulary."""
    want = float(reference(mpmath.mpf(3) / 10))
    value, grads = differentiate(f"x*{name}(3/10)").evaluate({"x": 2.0})
    assert close(value, 2 * want, 1e-14)
    assert close(grads["x"], want, 1e-14)
