"""Tensor operations: each vjp rule against central finite differences on
random shapes (broadcasting included), the simplified graph against the
original, and shape errors caught while the graph is built."""

import json

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from symgrad_cli import functions as fn
from symgrad_cli import ops, rewrite
from symgrad_cli.backward import gradients
from symgrad_cli.cli import cli
from symgrad_cli.errors import ShapeError
from symgrad_cli.graph import Graph
from symgrad_cli.lower import lower

SEEDS = range(3)


def _dims(rng, count):
    return tuple(int(n) for n in rng.integers(1, 5, size=count))


def _finite_differences(function, values, index, eps=1e-6):
    """Central differences of ``function``'s first output along one input."""
    result = np.zeros_like(values[index])
    for position in np.ndindex(values[index].shape):
        shifted = [v.copy() for v in values]
        shifted[index][position] += eps
        above = function(*shifted)[0]
        shifted[index][position] -= 2 * eps
        below = function(*shifted)[0]
        result[position] = (above - below) / (2 * eps)
    return result


def _check(g, result, variables, rng, positive=False):
    """Assert the gradient of ``sum(result * r)`` matches finite differences,
    both as built and after :func:`rewrite.simplify`."""
    weights = g.constant(rng.normal(size=g[result].shape)) if g[result].shape \
        else sympy.Float(rng.normal())
    loss = ops.reduce_sum(g, ops.mul(g, result, weights))
    grads = gradients(g, loss, variables)
    outputs = [loss] + [grads[v] for v in variables]
    function = lower(g, outputs, inputs=variables)
    small, small_outputs = rewrite.simplify(g, outputs)
    simplified = lower(small, small_outputs, inputs=variables)
    values = [rng.normal(size=g[v].shape) for v in variables]
    if positive:
        values = [np.abs(v) + 0.5 for v in values]
    computed = function(*values)
    again = simplified(*values)
    for i, variable in enumerate(variables):
        expected = _finite_differences(function, values, i)
        np.testing.assert_allclose(computed[1 + i], expected, rtol=1e-6,
                                   atol=1e-7, err_msg=variable)
        np.testing.assert_allclose(np.broadcast_to(again[1 + i], expected.shape),
                                   expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"{variable}, simplified")


def _matmul_case(rng, kind):
    m, k, n = _dims(rng, 3)
    shapes = {"mm": ((m, k), (k, n)), "vm": ((k,), (k, n)),
              "mv": ((m, k), (k,)), "vv": ((k,), (k,))}[kind]
    g = Graph()
    a, b = g.variable("a", shapes[0]), g.variable("b", shapes[1])
    return g, ops.matmul(g, a, b), [a, b]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["mm", "vm", "mv", "vv"])
def test_matmul_vjp(seed, kind):
    """matmul's vjp, for every pairing of vectors and matrices."""
    rng = np.random.default_rng(seed)
    g, result, variables = _matmul_case(rng, kind)
    _check(g, result, variables, rng)


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_layer_with_broadcast_bias(seed):
    """x @ W.T + b: the bias's cotangent is summed back over the rows."""
    rng = np.random.default_rng(seed)
    rows, inputs, features = _dims(rng, 3)
    g = Graph()
    x = g.variable("x", (rows, inputs))
    w, b = g.variable("w", (features, inputs)), g.variable("b", (features,))
    out = ops.add(g, ops.matmul(g, x, ops.transpose(g, w)), b)
    _check(g, ops.call(g, "tanh", [out]), [x, w, b], rng)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((2, 3), ()),
                                    ((4, 1, 2), (3, 1)), ((1,), (5,))])
def test_broadcasting_elementwise(seed, shapes):
    """Broadcast arithmetic sends each cotangent back summed to its input's shape."""
    rng = np.random.default_rng(seed)
    g = Graph()
    a, b = g.variable("a", shapes[0]), g.variable("b", shapes[1])
    product = ops.mul(g, ops.sub(g, a, b), ops.call(g, "sin", [b]))
    result = ops.div(g, product, ops.add(g, ops.mul(g, a, a), 1))
    _check(g, result, [a, b], rng)


@pytest.mark.parametrize("name", ["sin", "exp", "tanh", "sigmoid", "softplus",
                                  "relu", "log", "sqrt", "abs"])
def test_elementwise_vocabulary_on_tensors(name):
    """Each function of the vocabulary differentiates elementwise on a matrix."""
    rng = np.random.default_rng(1)
    g = Graph()
    x = g.variable("x", _dims(rng, 2))
    _check(g, ops.call(g, name, [x]), [x], rng, positive=True)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_and_mean_over_axes(seed, axis, keepdims):
    """sum and mean over one axis or all, with and without kept axes."""
    rng = np.random.default_rng(seed)
    g = Graph()
    x = g.variable("x", _dims(rng, 3))
    total = ops.reduce_sum(g, ops.mul(g, x, x), axis, keepdims)
    average = ops.mean(g, ops.call(g, "sin", [x]), axis, keepdims)
    _check(g, ops.add(g, total, average), [x], rng)


@pytest.mark.parametrize("seed", SEEDS)
def test_reshape_and_transpose(seed):
    """reshape, the default transpose and a permutation of three axes."""
    rng = np.random.default_rng(seed)
    a, b, c = _dims(rng, 3)
    g = Graph()
    x = g.variable("x", (a, b, c))
    permuted = ops.transpose(g, x, (1, 2, 0))
    flat = ops.reshape(g, permuted, (b * c, a))
    result = ops.mul(g, flat, ops.transpose(g, ops.reshape(g, x, (a, b * c))))
    _check(g, result, [x], rng)


@pytest.mark.parametrize("seed", SEEDS)
def test_broadcast_to_sum_to_dot_and_outer(seed):
    """broadcast_to, sum_to, dot and outer."""
    rng = np.random.default_rng(seed)
    m, n = _dims(rng, 2)
    g = Graph()
    u, v = g.variable("u", (m,)), g.variable("v", (n,))
    spread = ops.broadcast_to(g, v, (m, n))
    folded = ops.sum_to(g, ops.mul(g, spread, ops.outer(g, u, v)), (1, n))
    result = ops.add(g, folded, ops.dot(g, u, ops.call(g, "cos", [u])))
    _check(g, result, [u, v], rng)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_cross_entropy_with_logits(seed):
    """BCE from logits equals the textbook formula and passes finite differences."""
    rng = np.random.default_rng(seed)
    shape = _dims(rng, 2)
    g = Graph()
    z, y = g.variable("z", shape), g.variable("y", shape)
    loss = ops.binary_cross_entropy_with_logits(g, z, y)
    logits, targets = rng.normal(size=shape) * 3, rng.uniform(size=shape)
    (value,) = lower(g, [loss], inputs=[z, y])(logits, targets)
    p = 1 / (1 + np.exp(-logits))
    expected = -np.mean(targets * np.log(p) + (1 - targets) * np.log(1 - p))
    assert value == pytest.approx(expected, rel=1e-12)
    _check(g, loss, [z, y], rng)


def test_binary_cross_entropy_is_p_minus_y():
    """d loss / d logits is (sigmoid(z) - y)/N, one elementwise node."""
    g = Graph()
    z, y = g.variable("z", (4, 1)), g.variable("y", (4, 1))
    loss = ops.binary_cross_entropy_with_logits(g, z, y)
    grad = gradients(g, loss, [z])[z]
    small, (new_grad,) = rewrite.simplify(g, [grad])
    expected = (fn.sigmoid(small["z"].symbol) - small["y"].symbol) / 4
    assert small[new_grad].expr == expected


def test_binary_cross_entropy_stays_finite_for_large_logits():
    """Logits of ±1000 give a finite loss and gradient in float32."""
    g = Graph()
    z, y = g.variable("z", (2,)), g.variable("y", (2,))
    loss = ops.binary_cross_entropy_with_logits(g, z, y)
    function = lower(g, [loss, gradients(g, loss, [z])[z]], inputs=[z, y])
    value, grad = function(np.array([1000, -1000], dtype=np.float32),
                           np.array([0, 1], dtype=np.float32))
    assert value == pytest.approx(1000) and np.allclose(grad, [0.5, -0.5])


@pytest.mark.parametrize("build, match", [
    (lambda g: ops.add(g, g.variable("a", (3,)), g.variable("b", (4,))),
     r"add: shapes \(3,\) and \(4,\) do not broadcast"),
    (lambda g: ops.matmul(g, g.variable("a", (2, 3)), g.variable("b", (2, 3))),
     r"matmul \(@\): inner dimensions differ: shapes \(2, 3\) and \(2, 3\)"),
    (lambda g: ops.reshape(g, g.variable("a", (2, 3)), (4,)),
     r"reshape: cannot reshape shape \(2, 3\) to shape \(4,\)"),
    (lambda g: ops.broadcast_to(g, g.variable("a", (3,)), (2, 4)),
     r"broadcast_to: shape \(3,\) does not broadcast to shape \(2, 4\)"),
    (lambda g: ops.reduce_sum(g, g.variable("a", (2, 3)), 2),
     r"sum: axis 2 is out of range for shape \(2, 3\)"),
    (lambda g: ops.transpose(g, g.variable("a", (2, 3)), (0, 0)),
     r"transpose: axes \(0, 0\) are not a permutation"),
    (lambda g: ops.binary_cross_entropy_with_logits(
        g, g.variable("z", (4, 1)), g.variable("y", (4,))),
     (r"binary_cross_entropy: logits of shape \(4, 1\) and targets of shape "
      r"\(4,\) differ")),
])
def test_shape_errors_name_the_op_and_both_shapes(build, match):
    """A shape mismatch raises ShapeError while the graph is built."""
    with pytest.raises(ShapeError, match=match):
        build(Graph())


def test_transpose_of_transpose_is_the_input():
    """Transposing twice builds no node."""
    g = Graph()
    x = g.variable("x", (2, 3))
    assert ops.transpose(g, ops.transpose(g, x)) == x
    assert ops.transpose(g, ops.transpose(g, g.variable("y", (2, 3, 4)),
                                          (1, 2, 0)), (2, 0, 1)) == "y"


def test_diff_of_a_tensor_expression_at_lists():
    """diff of sum((w*x + b - y)^2) at lists gives the hand-derived gradients."""
    result = CliRunner().invoke(cli, [
        "diff", "sum((w*x + b - y)^2)", "--at",
        "x=[1,2,3],y=[2,4,7],w=1.5,b=0.5", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    x, y, w, b = np.array([1, 2, 3.]), np.array([2, 4, 7.]), 1.5, 0.5
    residual = w * x + b - y
    values = report["derivative_values"]
    assert report["value"] == pytest.approx(np.sum(residual ** 2))
    assert values["w"] == pytest.approx(2 * np.sum(residual * x))
    assert values["b"] == pytest.approx(2 * np.sum(residual))
    assert values["x"] == pytest.approx(list(2 * w * residual))
    assert values["y"] == pytest.approx(list(-2 * residual))
    assert (values["w"], values["b"]) == (pytest.approx(-14), pytest.approx(-5))


def test_diff_of_a_tensor_expression_matches_finite_differences():
    """The same gradients by central differences of the numpy loss."""
    result = CliRunner().invoke(cli, [
        "diff", "sum((w*x + b - y)^2)", "--at",
        "x=[1,2,3],y=[2,4,7],w=1.5,b=0.5", "--format", "json"])
    values = json.loads(result.output)["derivative_values"]
    point = {"x": np.array([1, 2, 3.]), "y": np.array([2, 4, 7.]),
             "w": np.array(1.5), "b": np.array(0.5)}

    def loss(p):
        return np.sum((p["w"] * p["x"] + p["b"] - p["y"]) ** 2)

    for name, value in point.items():
        estimate = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            for sign in (1, -1):
                moved = {**point, name: value.copy()}
                moved[name][index] += sign * 1e-6
                estimate[index] += sign * loss(moved) / 2e-6
        np.testing.assert_allclose(values[name], estimate, atol=1e-6)


def test_diff_rejects_mismatched_list_shapes():
    """Lists of different lengths in --at are a shape error, exit status 2."""
    from symgrad_cli.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["diff", "sum(x*y)", "--at", "x=[1,2,3],y=[1,2]"])
    assert exit_.value.code == 2


def test_lowering_with_a_dtype_keeps_float32():
    """With dtype float32, numbers are float32 constants and results stay float32."""
    g = Graph()
    x = g.variable("x", (3,))
    picked = g.from_expr(fn.where(g["x"].symbol > 0, 1, 0) * 3, "where")
    outputs = [picked, ops.mean(g, x)]
    function = lower(g, outputs, inputs=[x], dtype="float32")
    values = function(np.array([-1, 0, 2], dtype=np.float32))
    assert [np.asarray(v).dtype for v in values] == [np.float32, np.float32]
    np.testing.assert_array_equal(values[0], [0, 0, 3])
    assert "k0 = np.asarray(" in function.source


def test_lowering_into_given_arrays():
    """Outputs named by into are written into arrays passed after the inputs."""
    g = Graph()
    a, b = g.variable("a", (2, 3)), g.variable("b", (3, 2))
    outputs = [ops.matmul(g, a, b), ops.reduce_sum(g, a, 0), ops.mul(g, a, 2), a]
    function = lower(g, outputs, inputs=[a, b], into=[0, 1, 2, 3])
    receivers = [np.empty((2, 2)), np.empty(3), np.empty((2, 3)), np.empty((2, 3))]
    values = [np.arange(6.).reshape(2, 3), np.ones((3, 2))]
    returned = function(*values, *receivers)
    assert all(r is o for r, o in zip(returned, receivers))
    np.testing.assert_array_equal(receivers[0], values[0] @ values[1])
    np.testing.assert_array_equal(receivers[1], values[0].sum(0))
    np.testing.assert_array_equal(receivers[2], 2 * values[0])
    np.testing.assert_array_equal(receivers[3], values[0])
    assert "out=o0" in function.source and "out=o1" in function.source


def test_every_tensor_op_has_a_vjp_rule_and_a_lowering():
    """The two registries name the same ops, the convolution module's too."""
    from symgrad_cli import convolution  # noqa: F401  (registers its ops)
    from symgrad_cli import lower as lowering
    from symgrad_cli import rules

    assert set(rules.TENSOR_VJPS) == set(lowering.TENSOR_LOWERINGS)
    assert {"sum", "sum_to", "broadcast_to", "matmul", "reshape",
            "transpose"} <= set(rules.TENSOR_VJPS)
