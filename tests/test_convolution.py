"""Convolution, pooling, softmax cross-entropy and a recurrent step, checked
against central finite differences in float64 on random shapes."""

import numpy as np
import pytest

from symgrad_cli import convolution as cv
from symgrad_cli import ops
from symgrad_cli.backward import gradients
from symgrad_cli.errors import ShapeError, SymgradError
from symgrad_cli.graph import Graph
from symgrad_cli.lower import lower

SEEDS = range(4)


def _compiled_gradient(g, loss, variables):
    """A function of the variables' values returning (loss, gradients)."""
    grads = gradients(g, loss, variables)
    outputs = [loss] + [grads[v] for v in variables]
    return lower(g, outputs, inputs=variables)


def _finite_differences(function, values, index, eps=1e-6):
    """The central difference of ``function``'s first output along one input."""
    result = np.zeros_like(values[index])
    for position in np.ndindex(values[index].shape):
        shifted = [v.copy() for v in values]
        shifted[index][position] += eps
        above = function(*shifted)[0]
        shifted[index][position] -= 2 * eps
        below = function(*shifted)[0]
        result[position] = (above - below) / (2 * eps)
    return result


def _check_gradients(g, loss, variables, values, differentiable=None):
    """Assert every symbolic gradient equals its finite-difference estimate."""
    function = _compiled_gradient(g, loss, variables)
    computed = function(*values)
    for i in differentiable if differentiable is not None else range(len(values)):
        expected = _finite_differences(function, values, i)
        np.testing.assert_allclose(computed[1 + i], expected, rtol=1e-5,
                                   atol=1e-6, err_msg=variables[i])


def _weighted_sum(g, node, rng):
    """``sum(node * r)`` for a random constant r, so no gradient is uniform."""
    weights = g.constant(rng.normal(size=g[node].shape))
    return ops.reduce_sum(g, ops.mul(g, node, weights))


def _conv_case(seed):
    rng = np.random.default_rng(seed)
    n, c, o = rng.integers(1, 4, size=3)
    kernel = tuple(int(k) for k in rng.integers(2, 4, size=2))
    stride, padding = int(rng.integers(1, 4)), int(rng.integers(0, 3))
    image = tuple(int(k) + int(rng.integers(1, 6)) for k in kernel)
    return rng, (int(n), int(c)) + image, (int(o), int(c)) + kernel, stride, padding


@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_gradients_match_finite_differences(seed):
    """conv2d's image, kernel and bias gradients match finite differences."""
    rng, image, kernel, stride, padding = _conv_case(seed)
    g = Graph()
    x, w = g.variable("x", image), g.variable("w", kernel)
    b = g.variable("b", kernel[:1])
    loss = _weighted_sum(g, cv.conv2d(g, x, w, stride, padding, bias=b), rng)
    values = [rng.normal(size=image), rng.normal(size=kernel),
              rng.normal(size=kernel[:1])]
    _check_gradients(g, loss, [x, w, b], values)


def test_conv2d_with_stride_and_padding_matches_a_direct_sum():
    """conv2d with stride 2, padding 1 and a bias equals the textbook sum."""
    rng = np.random.default_rng(7)
    g = Graph()
    x, w = g.variable("x", (2, 3, 7, 6)), g.variable("w", (4, 3, 3, 2))
    b = g.variable("b", (4,))
    y = cv.conv2d(g, x, w, stride=2, padding=1, bias=b)
    xv, wv = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 3, 2))
    bv = rng.normal(size=4)
    (computed,) = lower(g, [y], inputs=[x, w, b])(xv, wv, bv)

    padded = np.pad(xv, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros(g[y].shape)
    for i, j in np.ndindex(*g[y].shape[2:]):
        window = padded[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2]
        expected[:, :, i, j] = np.einsum("nchw,ochw->no", window, wv) + bv
    np.testing.assert_allclose(computed, expected, rtol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_conv2d_second_derivatives_match_finite_differences(seed):
    """The gradient ops of conv2d are differentiated again correctly."""
    rng, image, kernel, stride, padding = _conv_case(seed)
    g = Graph()
    x, w = g.variable("x", image), g.variable("w", kernel)
    b = g.variable("b", kernel[:1])
    y = cv.conv2d(g, x, w, stride, padding, bias=b)
    first = gradients(g, _weighted_sum(g, ops.mul(g, y, y), rng), [x, w, b])
    loss = _total([_weighted_sum(g, first[v], rng) for v in (x, w, b)], g)
    values = [rng.normal(size=image), rng.normal(size=kernel),
              rng.normal(size=kernel[:1])]
    _check_gradients(g, loss, [x, w, b], values)


def _total(terms, g):
    total = terms[0]
    for term in terms[1:]:
        total = ops.add(g, total, term)
    return total


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (2, 1), (3, 3)])
def test_maxpool2d_gradient_matches_finite_differences(kernel, stride):
    """max-pool's gradient matches finite differences, windows overlapping or not."""
    rng = np.random.default_rng(kernel * 10 + stride)
    shape = (2, 3) + tuple(int(k) for k in rng.integers(kernel, kernel + 4, 2))
    g = Graph()
    x = g.variable("x", shape)
    loss = _weighted_sum(g, cv.maxpool2d(g, x, kernel, stride), rng)
    # Distinct values a shuffled grid apart: no tie within 1e-6 moves a max.
    values = [rng.permutation(np.prod(shape)).reshape(shape) * 0.1]
    _check_gradients(g, loss, [x], values)


def test_maxpool2d_tie_sends_gradient_to_first_maximum():
    """At a tie, a window's whole cotangent goes to its first maximum."""
    g = Graph()
    x = g.variable("x", (1, 1, 2, 4))
    grad = gradients(g, ops.reduce_sum(g, cv.maxpool2d(g, x)), [x])[x]
    image = np.array([[[[1.0, 5.0, 3.0, 3.0], [5.0, 5.0, 3.0, 3.0]]]])
    (computed,) = lower(g, [grad], inputs=[x])(image)
    expected = [[[[0, 1, 1, 0], [0, 0, 0, 0]]]]
    np.testing.assert_array_equal(computed, expected)


def test_maxpool2d_tie_in_overlapping_windows_goes_to_each_first_maximum():
    """Overlapping windows of equal values each pick their own first element."""
    g = Graph()
    x = g.variable("x", (1, 1, 2, 3))
    grad = gradients(g, ops.reduce_sum(g, cv.maxpool2d(g, x, 2, 1)), [x])[x]
    (computed,) = lower(g, [grad], inputs=[x])(np.ones((1, 1, 2, 3)))
    np.testing.assert_array_equal(computed, [[[[1, 1, 0], [0, 0, 0]]]])


def test_maxpool2d_ignores_rows_past_the_last_window():
    """An odd row or column outside every window gets gradient 0."""
    g = Graph()
    x = g.variable("x", (1, 1, 3, 3))
    y = cv.maxpool2d(g, x)
    grad = gradients(g, ops.reduce_sum(g, y), [x])[x]
    image = np.arange(9.0).reshape(1, 1, 3, 3)
    value, computed = lower(g, [y, grad], inputs=[x])(image)
    assert value.shape == (1, 1, 1, 1) and value.item() == 4.0
    assert computed.sum() == 1.0 and computed[0, 0, 1, 1] == 1.0


def test_maxpool2d_second_derivative_is_a_clear_error():
    """Differentiating max-pool's gradient raises an error naming the op."""
    g = Graph()
    x = g.variable("x", (1, 1, 4, 4))
    y = cv.maxpool2d(g, x)
    first = gradients(g, ops.reduce_sum(g, ops.mul(g, y, y)), [x])[x]
    with pytest.raises(SymgradError, match="maxpool2d_grad.*no derivative rule"):
        gradients(g, ops.reduce_sum(g, first), [x])


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_cross_entropy_from_labels_matches_finite_differences(seed):
    """Cross-entropy from integer labels: value and logits gradient."""
    rng = np.random.default_rng(seed)
    n, k = (int(s) for s in rng.integers(1, 6, size=2) + (0, 1))
    g = Graph()
    z, labels = g.variable("z", (n, k)), g.variable("labels", (n,))
    loss = cv.softmax_cross_entropy(g, z, labels)
    logits, classes = rng.normal(size=(n, k)), rng.integers(0, k, size=n)

    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = -np.log(probabilities[np.arange(n), classes]).mean()
    (value,) = lower(g, [loss], inputs=[z, labels])(logits, classes)
    assert value == pytest.approx(expected, rel=1e-12)
    _check_gradients(g, loss, [z, labels], [logits, classes.astype(float)],
                     differentiable=[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_cross_entropy_from_targets_matches_finite_differences(seed):
    """Cross-entropy from target probabilities: both gradients."""
    rng = np.random.default_rng(seed)
    n, k = (int(s) for s in rng.integers(1, 6, size=2) + (0, 1))
    g = Graph()
    z, t = g.variable("z", (n, k)), g.variable("t", (n, k))
    loss = cv.softmax_cross_entropy(g, z, t)
    targets = rng.dirichlet(np.ones(k), size=n)
    _check_gradients(g, loss, [z, t], [rng.normal(size=(n, k)), targets])


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    """Logits of 1e4 give a finite loss and gradient (log-sum-exp is shifted)."""
    g = Graph()
    z, labels = g.variable("z", (2, 3)), g.variable("labels", (2,))
    loss = cv.softmax_cross_entropy(g, z, labels)
    grad = gradients(g, loss, [z])[z]
    function = lower(g, [loss, grad], inputs=[z, labels])
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = function(logits, np.array([0, 0]))
    assert value == pytest.approx((0 + 1e4 + np.log(2)) / 2)
    np.testing.assert_allclose(grad, [[0, 0, 0], [-0.5, 0.25, 0.25]], atol=1e-12)


def test_softmax_cross_entropy_rejects_mismatched_shapes():
    """Targets that are neither (N,) labels nor (N, K) rows are a ShapeError."""
    g = Graph()
    z, t = g.variable("z", (4, 3)), g.variable("t", (3,))
    with pytest.raises(ShapeError, match=r"\(4, 3\) and \(3,\)"):
        cv.softmax_cross_entropy(g, z, t)


def test_conv2d_rejects_a_bias_of_the_wrong_shape():
    """A bias that is not one value per output channel is a ShapeError."""
    g = Graph()
    x, w = g.variable("x", (1, 2, 5, 5)), g.variable("w", (4, 2, 3, 3))
    with pytest.raises(ShapeError, match=r"bias of shape \(3,\).*\(4,\)"):
        cv.conv2d(g, x, w, bias=g.variable("b", (3,)))


def test_conv2d_gathers_windows_once_for_value_and_gradient():
    """The kernel gradient reads the forward pass's im2col node."""
    g = Graph()
    x, w = g.variable("x", (2, 1, 6, 6)), g.variable("w", (3, 1, 3, 3))
    y = cv.conv2d(g, x, w, padding=1)
    grad = gradients(g, ops.reduce_sum(g, ops.mul(g, y, y)), [w])[w]
    source = lower(g, [y, grad], inputs=[x, w]).source
    assert source.count("_im2col(") == 1


def test_conv2d_rejects_mismatched_channels():
    """Kernels with the wrong number of input channels are a ShapeError."""
    g = Graph()
    x, w = g.variable("x", (1, 2, 5, 5)), g.variable("w", (4, 3, 3, 3))
    with pytest.raises(ShapeError, match=r"conv2d.*\(1, 2, 5, 5\) and \(4, 3, 3, 3\)"):
        cv.conv2d(g, x, w)


@pytest.mark.parametrize("seed", SEEDS)
def test_rnn_step_gradients_match_finite_differences(seed):
    """One Elman step tanh(x @ Wx + h @ Wh + b) matches finite differences."""
    rng = np.random.default_rng(seed)
    n, d, h = (int(s) for s in rng.integers(1, 5, size=3))
    g = Graph()
    names = {"x": (n, d), "h": (n, h), "Wx": (d, h), "Wh": (h, h), "b": (h,)}
    x, state, wx, wh, b = (g.variable(k, s) for k, s in names.items())
    total = ops.add(g, ops.add(g, ops.matmul(g, x, wx), ops.matmul(g, state, wh)), b)
    step = ops.call(g, "tanh", [total])
    loss = _weighted_sum(g, step, rng)
    values = [rng.normal(size=s) for s in names.values()]
    _check_gradients(g, loss, [x, state, wx, wh, b], values)


def test_flatten_keeps_the_batch_axis():
    """flatten maps (N, C, H, W) to (N, C*H*W) in row-major order."""
    g = Graph()
    x = g.variable("x", (2, 3, 4, 5))
    y = cv.flatten(g, x)
    assert g[y].shape == (2, 60)
    image = np.arange(120.0).reshape(2, 3, 4, 5)
    (value,) = lower(g, [y], inputs=[x])(image)
    np.testing.assert_array_equal(value, image.reshape(2, 60))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_take_gradient_matches_finite_differences(axis):
    """take's slice and its vjp (put) match finite differences."""
    rng = np.random.default_rng(axis)
    g = Graph()
    x = g.variable("x", (3, 4, 2))
    loss = _weighted_sum(g, cv.take(g, x, 1, axis), rng)
    values = [rng.normal(size=(3, 4, 2))]
    (taken,) = lower(g, [cv.take(g, x, 1, axis)], inputs=[x])(values[0])
    np.testing.assert_array_equal(taken, np.take(values[0], 1, axis=axis))
    _check_gradients(g, loss, [x], values)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_mask_is_exact_where_without_leaking_nan(dtype):
    """The lowered where(c, a, 0) of a ReLU's backward pass equals np.where:
    same dtype, exact zeros, and no NaN or inf from the unselected side."""
    from symgrad_cli.lower import HELPERS

    rng = np.random.default_rng(0)
    value = rng.normal(size=(4, 5)).astype(dtype)
    value[0, :2] = [np.nan, np.inf]
    condition = rng.normal(size=(4, 5)) > 0
    condition[0, :2] = False
    masked = HELPERS["_masked"](condition, value)
    assert masked.dtype == dtype and np.all(np.isfinite(masked[0, :2]))
    np.testing.assert_array_equal(masked, np.where(condition, value, 0))
