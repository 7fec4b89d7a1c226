"""Convolution, max-pooling, classification losses and sequence steps.

The operations of symgrad's convolutional and recurrent networks, each a
tensor node of the graph (``Graph.tensor``) with a vjp rule in
:data:`rules.TENSOR_VJPS` and a numpy lowering in
:data:`lower.TENSOR_LOWERINGS`.  Importing this module registers them; every
builder below lives here, so a graph holding one of these ops was built by
code that imported it.

Layouts follow PyTorch: images are ``(N, C, H, W)`` (batch, channels, rows,
columns) and convolution weights ``(O, C, kh, kw)`` (output channels, input
channels, kernel rows, kernel columns).  A convolution is a cross-correlation,
as in every deep-learning library.

A convolution is two nodes, im2col then a matrix product:
``conv2d(im2col(x), w)``.  ``im2col`` gathers each window of the images into
a row of a matrix; ``conv2d`` multiplies that matrix by the kernels.  The
gradient with respect to the kernels reads the same ``im2col`` node, so the
windows are gathered once per training step, as a hand-written im2col does.

The vjps emit graph nodes only.  ``conv2d`` and its derivative ops
(:func:`conv2d_grad_columns`, :func:`conv2d_grad_weight`) are bilinear forms
of each other's arguments, and ``im2col`` and ``col2im`` are each other's
transposes, so a convolution differentiates to any order.
:func:`maxpool2d_grad` is not differentiated again: its rule raises
:class:`SymgradError`.

Max-pooling at a tie: the whole cotangent of a window goes to the *first*
maximum of the window in row-major order (as ``numpy.argmax`` picks it, and
as PyTorch's CPU kernel does), never split between equal elements.

Lowering never loops in Python over pixels or batch items: windows are
strided views (``sliding_window_view``), each convolution one matrix
product; pooling and ``col2im`` loop over the few offsets inside a window.
"""

from __future__ import annotations

from math import prod

import numpy as np
import sympy

from symgrad_cli import lower, ops, rules
from symgrad_cli.errors import ShapeError, SymgradError
from symgrad_cli.graph import Graph, Node

Operand = str | sympy.Basic

__all__ = [
    "col2im",
    "conv2d",
    "conv2d_grad_bias",
    "conv2d_grad_columns",
    "conv2d_grad_weight",
    "flatten",
    "im2col",
    "log_softmax",
    "maxpool2d",
    "maxpool2d_grad",
    "one_hot",
    "put",
    "softmax",
    "softmax_cross_entropy",
    "take",
]


# Builders.


def conv2d(g: Graph, x: str, w: str, stride: int = 1, padding: int = 0,
           bias: str | None = None) -> str:
    """The 2-D cross-correlation of images ``x`` with kernels ``w``.

    Parameters
    ----------
    g : Graph
    x : str
        Images of shape ``(N, C, H, W)``.
    w : str
        Kernels of shape ``(O, C, kh, kw)``.
    stride : int
        The step between windows, along rows and columns.
    padding : int
        Zeros added on every side of each image.
    bias : str, optional
        One value of shape ``(O,)`` added to each output channel.

    Returns
    -------
    str
        A ``conv2d`` node of shape ``(N, O, Ho, Wo)``, with
        ``Ho = (H + 2 padding - kh) // stride + 1``, reading ``im2col(x)``.

    Raises
    ------
    ShapeError
        When a shape is not 4-D, the channels differ, the kernel does not
        fit the padded image, or the bias is not one value per channel.

    Examples
    --------
    >>> g = Graph()
    >>> x, w = g.variable("x", (2, 1, 8, 8)), g.variable("w", (4, 1, 3, 3))
    >>> y = conv2d(g, x, w, padding=1)
    >>> g[y].shape, g[g[y].inputs[0]].op
    ((2, 4, 8, 8), 'im2col')
    """
    sx, sw = g[x].shape, g[w].shape
    _check_conv(sx, sw, stride, padding)
    if bias is not None and g[bias].shape != sw[:1]:
        raise ShapeError(
            f"conv2d: a bias of shape {g[bias].shape} for {sw[0]} output "
            f"channels; expected shape {sw[:1]}"
        )
    rows, cols = _windows(sx[2:], sw[2:], stride, padding)
    columns = im2col(g, x, sw[2:], stride, padding)
    shape = (sx[0], sw[0], rows, cols)
    return _product(g, columns, w, bias, shape)


def _product(g: Graph, columns: str, w: str, bias: str | None,
             shape: tuple) -> str:
    """The ``conv2d`` node: windows as rows, times the kernels, as images."""
    inputs = [columns, w] if bias is None else [columns, w, bias]
    return g.tensor("conv2d", inputs, (), shape)


def im2col(g: Graph, x: str, kernel: tuple[int, int], stride: int,
           padding: int) -> str:
    """Every ``kernel``-sized window of images ``x`` as a row of a matrix.

    Rows run over images, then window rows, then window columns; each row
    holds the window's channels, then its rows, then its columns.  The
    result has shape ``(N * Ho * Wo, C * kh * kw)``.
    """
    n, c = g[x].shape[:2]
    rows, cols = _windows(g[x].shape[2:], kernel, stride, padding)
    shape = (n * rows * cols, c * kernel[0] * kernel[1])
    params = (tuple(kernel), stride, padding)
    return g.tensor("im2col", [x], params, shape)


def col2im(g: Graph, columns: str, image: tuple[int, ...],
           kernel: tuple[int, int], stride: int, padding: int) -> str:
    """The transpose of :func:`im2col`: each row added back into its window.

    ``image`` is the images' shape ``(N, C, H, W)``; an element inside
    several windows receives the sum of their values.
    """
    params = (tuple(kernel), stride, padding)
    return g.tensor("col2im", [columns], params, tuple(image))


def conv2d_grad_columns(g: Graph, cotangent: str, w: str) -> str:
    """The cotangent of a convolution's ``im2col`` rows: ``c @ W``.

    ``cotangent`` is the output's, ``(N, O, Ho, Wo)``.
    """
    n, _, rows, cols = g[cotangent].shape
    width = prod(g[w].shape[1:])
    return g.tensor("conv2d_grad_columns", [cotangent, w], (),
                    (n * rows * cols, width))


def conv2d_grad_weight(g: Graph, columns: str, cotangent: str,
                       kernels: tuple[int, ...]) -> str:
    """The cotangent of a convolution's kernels: ``c.T @ im2col(x)``.

    ``kernels`` is the kernels' shape ``(O, C, kh, kw)``.
    """
    return g.tensor("conv2d_grad_weight", [columns, cotangent], (),
                    tuple(kernels))


def conv2d_grad_bias(g: Graph, cotangent: str) -> str:
    """The cotangent of a convolution's bias: ``cotangent`` summed per channel."""
    return g.tensor("conv2d_grad_bias", [cotangent], (),
                    g[cotangent].shape[1:2])


def maxpool2d(g: Graph, x: str, kernel: int = 2, stride: int | None = None) -> str:
    """The maximum of each ``kernel`` x ``kernel`` window of images ``x``.

    Parameters
    ----------
    g : Graph
    x : str
        Images of shape ``(N, C, H, W)``.
    kernel : int
        The window's side.
    stride : int, optional
        The step between windows (default: ``kernel``, windows that tile).

    Returns
    -------
    str
        A node of shape ``(N, C, Ho, Wo)``, ``Ho = (H - kernel) // stride + 1``;
        rows and columns past the last whole window are ignored.

    Raises
    ------
    ShapeError
        When ``x`` is not 4-D or the window is larger than an image.
    """
    stride = kernel if stride is None else stride
    shape = g[x].shape
    if len(shape) != 4 or kernel < 1 or stride < 1:
        raise ShapeError(
            f"maxpool2d needs images (N, C, H, W) and a positive kernel and "
            f"stride, got shape {shape}, kernel {kernel}, stride {stride}"
        )
    rows, cols = _windows(shape[2:], (kernel, kernel), stride, 0)
    out = shape[:2] + (rows, cols)
    return g.tensor("maxpool2d", [x], (kernel, stride), out)


def maxpool2d_grad(g: Graph, x: str, pooled: str, cotangent: str, kernel: int,
                   stride: int) -> str:
    """The cotangent of images ``x``, max-pooled to ``pooled``.

    Each window's cotangent goes to the window's maximum; at a tie the first
    maximum in row-major order takes all of it.  Where windows overlap, an
    element's contributions add up.
    """
    return g.tensor("maxpool2d_grad", [x, pooled, cotangent], (kernel, stride),
                    g[x].shape)


def flatten(g: Graph, x: str) -> str:
    """``x`` reshaped to ``(N, everything else)``, keeping the first axis."""
    shape = g[x].shape
    return ops.reshape(g, x, (shape[0], prod(shape[1:])))


def softmax(g: Graph, z: str) -> str:
    """``exp(z)`` normalised to sum to 1 along the last axis."""
    return g.tensor("softmax", [z], (), g[z].shape)


def log_softmax(g: Graph, z: str) -> str:
    """``z - logsumexp(z)`` along the last axis, computed stably."""
    return g.tensor("log_softmax", [z], (), g[z].shape)


def one_hot(g: Graph, labels: str, classes: int) -> str:
    """Integer ``labels`` of shape ``(N,)`` as rows of ``(N, classes)``.

    The result holds exact 0s and 1s (float32 in numpy, which promotes to
    the other operand's precision).
    """
    shape = g[labels].shape + (classes,)
    return g.tensor("one_hot", [labels], (classes,), shape)


def softmax_cross_entropy(g: Graph, logits: str, targets: str) -> str:
    """The mean over the batch of the cross-entropy of softmax(``logits``).

    Parameters
    ----------
    g : Graph
    logits : str
        Unnormalised scores of shape ``(N, K)``.
    targets : str
        Integer class labels of shape ``(N,)``, or target probabilities
        (one-hot rows, say) of shape ``(N, K)``.

    Returns
    -------
    str
        A scalar node: ``-mean_n sum_k t[n, k] log softmax(logits)[n, k]``,
        with the log-sum-exp taken after subtracting each row's maximum, so
        no ``exp`` overflows.

    Raises
    ------
    ShapeError
        When ``logits`` is not 2-D or ``targets`` fits neither form.
    """
    sz, st = g[logits].shape, g[targets].shape
    if len(sz) != 2 or st not in (sz[:1], sz):
        raise ShapeError(
            f"softmax_cross_entropy needs logits (N, K) with labels (N,) or "
            f"targets (N, K), got shapes {sz} and {st}"
        )
    mode = "labels" if st == sz[:1] else "probabilities"
    return g.tensor("softmax_cross_entropy", [logits, targets], (mode,), ())


def take(g: Graph, x: str, index: int, axis: int = 1) -> str:
    """The slice ``index`` of ``x`` along ``axis``, that axis dropped.

    One time step of a batch of sequences: ``take(g, x, t)`` of ``x`` shaped
    ``(N, T)`` is ``x[:, t]``, of shape ``(N,)``.

    Raises
    ------
    ShapeError
        When ``x`` has no such axis or index.
    """
    shape = g[x].shape
    if not -len(shape) <= axis < len(shape) or not 0 <= index < shape[axis]:
        raise ShapeError(
            f"take: no index {index} along axis {axis} of shape {shape}"
        )
    axis %= len(shape)
    out = shape[:axis] + shape[axis + 1:]
    return g.tensor("take", [x], (index, axis), out)


def put(g: Graph, x: str, index: int, axis: int, size: int) -> str:
    """Zeros with ``x`` at ``index`` along a new ``axis`` of ``size``.

    The transpose of :func:`take`, and so its vjp.
    """
    shape = g[x].shape
    out = shape[:axis] + (size,) + shape[axis:]
    return g.tensor("put", [x], (index, axis, size), out)


def _check_conv(sx, sw, stride, padding) -> None:
    if len(sx) != 4 or len(sw) != 4 or sx[1] != sw[1]:
        raise ShapeError(
            f"conv2d needs images (N, C, H, W) and kernels (O, C, kh, kw) "
            f"with the same C, got shapes {sx} and {sw}"
        )
    if stride < 1 or padding < 0:
        raise ShapeError(
            f"conv2d needs stride >= 1 and padding >= 0, got stride {stride} "
            f"and padding {padding}"
        )


def _windows(image, kernel, stride, padding) -> tuple[int, int]:
    """How many windows fit along the rows and the columns."""
    counts = tuple((n + 2 * padding - k) // stride + 1
                   for n, k in zip(image, kernel))
    if min(counts) < 1:
        raise ShapeError(
            f"a {kernel} window does not fit images of {tuple(image)} "
            f"with padding {padding}"
        )
    return counts


# Vector-Jacobian rules.


def _conv2d_vjp(g: Graph, node: Node, cotangent: str):
    columns, w = node.inputs[:2]
    parts = [conv2d_grad_columns(g, cotangent, w),
             conv2d_grad_weight(g, columns, cotangent, g[w].shape)]
    if len(node.inputs) == 3:
        parts.append(conv2d_grad_bias(g, cotangent))
    return parts


def _conv2d_grad_columns_vjp(g: Graph, node: Node, cotangent: str):
    # <u, c W> = <c, conv2d(u, W)> = <W, c.T u>: bilinear in (c, W).
    c, w = node.inputs
    return [_product(g, cotangent, w, None, g[c].shape),
            conv2d_grad_weight(g, cotangent, c, g[w].shape)]


def _conv2d_grad_weight_vjp(g: Graph, node: Node, cotangent: str):
    # <v, c.T X> = <c, conv2d(X, v)> = <X, c v>: bilinear in (X, c).
    columns, c = node.inputs
    return [conv2d_grad_columns(g, c, cotangent),
            _product(g, columns, cotangent, None, g[c].shape)]


def _conv2d_grad_bias_vjp(g: Graph, node: Node, cotangent: str):
    shape = g[node.inputs[0]].shape
    per_channel = ops.reshape(g, cotangent, (shape[1], 1, 1))
    return [ops.broadcast_to(g, per_channel, shape)]


def _im2col_vjp(g: Graph, node: Node, cotangent: str):
    image = g[node.inputs[0]].shape
    return [col2im(g, cotangent, image, *node.params)]


def _col2im_vjp(g: Graph, node: Node, cotangent: str):
    return [im2col(g, cotangent, *node.params)]


def _maxpool2d_vjp(g: Graph, node: Node, cotangent: str):
    (x,) = node.inputs
    return [maxpool2d_grad(g, x, node.id, cotangent, *node.params)]


def _maxpool2d_grad_vjp(g: Graph, node: Node, cotangent: str):
    raise SymgradError(
        f"maxpool2d_grad (node {node.id}) has no derivative rule: symgrad "
        f"differentiates a max-pool once; ask for a first derivative, or use "
        f"a smooth pooling such as a mean"
    )


def _softmax_vjp(g: Graph, node: Node, cotangent: str):
    # s * (u - sum(u * s)) along the last axis.
    weighted = ops.reduce_sum(g, ops.mul(g, cotangent, node.id), -1, True)
    return [g.apply(lambda s, u, t: s * (u - t),
                    [node.id, cotangent, weighted], "mul")]


def _log_softmax_vjp(g: Graph, node: Node, cotangent: str):
    # u - softmax(z) * sum(u) along the last axis, softmax(z) being exp(y).
    total = ops.reduce_sum(g, cotangent, -1, True)
    return [g.apply(lambda y, u, t: u - sympy.exp(y) * t,
                    [node.id, cotangent, total], "sub")]


def _one_hot_vjp(g: Graph, node: Node, cotangent: str):
    return [None]  # Integer labels have no derivative.


def _softmax_cross_entropy_vjp(g: Graph, node: Node, cotangent: str):
    # softmax(z) - t, scaled by the cotangent and the mean's 1/N.
    logits, targets = node.inputs
    count, classes = g[logits].shape
    labels = node.params[0] == "labels"
    truth = one_hot(g, targets, classes) if labels else targets
    wrt_logits = g.apply(lambda s, t, c: (s - t) * c / count,
                         [softmax(g, logits), truth, cotangent], "mul")
    if labels:
        return [wrt_logits, None]
    wrt_targets = g.apply(lambda y, c: -y * c / count,
                          [log_softmax(g, logits), cotangent], "mul")
    return [wrt_logits, wrt_targets]


def _take_vjp(g: Graph, node: Node, cotangent: str):
    index, axis = node.params
    return [put(g, cotangent, index, axis, g[node.inputs[0]].shape[axis])]


def _put_vjp(g: Graph, node: Node, cotangent: str):
    index, axis, _ = node.params
    return [take(g, cotangent, index, axis)]


rules.TENSOR_VJPS.update({
    "conv2d": _conv2d_vjp,
    "conv2d_grad_columns": _conv2d_grad_columns_vjp,
    "conv2d_grad_weight": _conv2d_grad_weight_vjp,
    "conv2d_grad_bias": _conv2d_grad_bias_vjp,
    "im2col": _im2col_vjp,
    "col2im": _col2im_vjp,
    "maxpool2d": _maxpool2d_vjp,
    "maxpool2d_grad": _maxpool2d_grad_vjp,
    "softmax": _softmax_vjp,
    "log_softmax": _log_softmax_vjp,
    "one_hot": _one_hot_vjp,
    "softmax_cross_entropy": _softmax_cross_entropy_vjp,
    "take": _take_vjp,
    "put": _put_vjp,
})


# numpy helpers, called by the generated source.  Each is self-contained, so
# lower.standalone_source can copy the ones a function uses.
#
# Pooling loops over the kernel * kernel offsets inside a window (4 for a 2x2
# pool), each step one operation on every window at once: numpy's max and
# argmax along a short last axis pay a call per window and measured 50 times
# slower.  Nothing loops over pixels or batch items.


def _im2col(x, kh, kw, stride, padding):
    """The windows of images ``x`` as the rows of a matrix (a copy)."""
    n, c, h, w = x.shape
    if padding:
        padded = np.zeros((n, c, h + 2 * padding, w + 2 * padding), x.dtype)
        padded[:, :, padding:padding + h, padding:padding + w] = x
        x = padded
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, c * kh * kw)


def _col2im(columns, image, kh, kw, stride, padding):
    """Each row of ``columns`` added back into its window of the images."""
    n, c, h, w = image
    rows = (h + 2 * padding - kh) // stride + 1
    cols = (w + 2 * padding - kw) // stride + 1
    windows = columns.reshape(n, rows, cols, c, kh, kw).transpose(0, 3, 1, 2, 4, 5)
    out = np.zeros((n, c, h + 2 * padding, w + 2 * padding), columns.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + (rows - 1) * stride + 1:stride,
                j:j + (cols - 1) * stride + 1:stride] += windows[..., i, j]
    return out[:, :, padding:padding + h, padding:padding + w]


def _conv2d(columns, w, shape, bias=None):
    """Windows as rows times the kernels: images ``shape`` ``(N, O, Ho, Wo)``.

    The result is stored channels-last, as the matrix product leaves it.
    """
    rows = columns @ w.reshape(len(w), -1).T
    if bias is not None:
        rows += bias
    n, o, height, width = shape
    return rows.reshape(n, height, width, o).transpose(0, 3, 1, 2)


def _conv2d_grad_columns(cotangent, w):
    """An output cotangent ``(N, O, Ho, Wo)`` times the kernels, per window."""
    per_window = cotangent.transpose(0, 2, 3, 1).reshape(-1, len(w))
    return per_window @ w.reshape(len(w), -1)


def _conv2d_grad_weight(columns, cotangent, shape):
    """An output cotangent against the windows: kernels of ``shape``."""
    per_window = cotangent.transpose(0, 2, 3, 1).reshape(len(columns), -1)
    return (per_window.T @ columns).reshape(shape)


def _conv2d_grad_bias(cotangent):
    """An output cotangent ``(N, O, Ho, Wo)`` summed over all but channels."""
    per_window = cotangent.transpose(0, 2, 3, 1).reshape(-1, cotangent.shape[1])
    # A product with ones: BLAS sums the rows ten times faster than numpy's
    # reduction along the first axis does.
    return np.ones(len(per_window), per_window.dtype) @ per_window


def _maxpool2d(x, kernel, stride):
    """The maximum of each window of images ``x``."""
    rows = (x.shape[2] - kernel) // stride * stride + 1
    cols = (x.shape[3] - kernel) // stride * stride + 1
    out = x[:, :, :rows:stride, :cols:stride].copy(order="K")
    for offset in range(1, kernel * kernel):
        i, j = divmod(offset, kernel)
        window = x[:, :, i:i + rows:stride, j:j + cols:stride]
        np.maximum(out, window, out=out)
    return out


def _maxpool2d_grad(x, pooled, cotangent, kernel, stride):
    """Each window's cotangent sent to the window's first maximum.

    Offsets are visited in row-major order; an offset claims the windows
    whose maximum it holds and that no earlier offset claimed.  The
    cotangent is first copied into the pooled values' memory layout (the
    convolution's channels-last): operands of mixed layouts cost numpy a
    buffered loop, several times slower.
    """
    rows = (x.shape[2] - kernel) // stride * stride + 1
    cols = (x.shape[3] - kernel) // stride * stride + 1
    out = np.zeros_like(x, dtype=cotangent.dtype)
    matched = np.empty_like(pooled, dtype=cotangent.dtype)
    matched[...] = cotangent
    unclaimed = np.ones_like(pooled, dtype=bool)
    for offset in range(kernel * kernel):
        i, j = divmod(offset, kernel)
        where = (slice(None), slice(None), slice(i, i + rows, stride),
                 slice(j, j + cols, stride))
        first = np.equal(x[where], pooled)
        first &= unclaimed
        unclaimed ^= first
        if stride >= kernel:
            np.multiply(matched, first, out=out[where])
        else:
            out[where] += matched * first
    return out


def _softmax(z):
    """``softmax(z)`` along the last axis, each row shifted by its maximum."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z):
    """``log softmax(z)`` along the last axis, by a shifted log-sum-exp."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _one_hot(labels, classes):
    """Rows of float32 0s and a 1 at each label."""
    labels = np.asarray(labels).astype(np.intp, copy=False)
    return (labels[..., None] == np.arange(classes)).astype(np.float32)


def _softmax_cross_entropy(z, targets, mode):
    """The mean over rows of ``-sum(t * log softmax(z))``."""
    shifted = z - z.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    if mode == "labels":
        labels = np.asarray(targets).astype(np.intp, copy=False)
        picked = np.take_along_axis(log_probs, labels[:, None], axis=1)
        return -picked.mean()
    return -(targets * log_probs).sum() / z.shape[0]


def _put(x, index, axis, size):
    """Zeros of ``x``'s shape with a new ``axis`` of ``size``, ``x`` at ``index``."""
    x = np.asarray(x)
    out = np.zeros(x.shape[:axis] + (size,) + x.shape[axis:], dtype=x.dtype)
    out[(slice(None),) * axis + (index,)] = x
    return out


# Lowerings: one line of numpy source per node.


def _lower_conv2d(node: Node, args: list[str]) -> str:
    bias = f", {args[2]}" if len(args) == 3 else ""
    return f"_conv2d({args[0]}, {args[1]}, {node.shape}{bias})"


def _lower_im2col(node: Node, args: list[str]) -> str:
    (kh, kw), stride, padding = node.params
    return f"_im2col({args[0]}, {kh}, {kw}, {stride}, {padding})"


def _lower_col2im(node: Node, args: list[str]) -> str:
    (kh, kw), stride, padding = node.params
    return f"_col2im({args[0]}, {node.shape}, {kh}, {kw}, {stride}, {padding})"


def _lower_maxpool2d(node: Node, args: list[str]) -> str:
    return f"_maxpool2d({args[0]}, {node.params[0]}, {node.params[1]})"


def _lower_maxpool2d_grad(node: Node, args: list[str]) -> str:
    kernel, stride = node.params
    return f"_maxpool2d_grad({', '.join(args)}, {kernel}, {stride})"


def _lower_one_hot(node: Node, args: list[str]) -> str:
    return f"_one_hot({args[0]}, {node.params[0]})"


def _lower_softmax_cross_entropy(node: Node, args: list[str]) -> str:
    return f"_softmax_cross_entropy({args[0]}, {args[1]}, {node.params[0]!r})"


def _lower_take(node: Node, args: list[str]) -> str:
    index, axis = node.params
    return f"{args[0]}[{':, ' * axis}{index}]"


def _lower_put(node: Node, args: list[str]) -> str:
    return f"_put({args[0]}, {', '.join(map(str, node.params))})"


lower.TENSOR_LOWERINGS.update({
    "conv2d": _lower_conv2d,
    "conv2d_grad_columns":
        lambda node, args: f"_conv2d_grad_columns({args[0]}, {args[1]})",
    "conv2d_grad_weight": lambda node, args:
        f"_conv2d_grad_weight({args[0]}, {args[1]}, {node.shape})",
    "conv2d_grad_bias": lambda node, args: f"_conv2d_grad_bias({args[0]})",
    "im2col": _lower_im2col,
    "col2im": _lower_col2im,
    "maxpool2d": _lower_maxpool2d,
    "maxpool2d_grad": _lower_maxpool2d_grad,
    "softmax": lambda node, args: f"_softmax({args[0]})",
    "log_softmax": lambda node, args: f"_log_softmax({args[0]})",
    "one_hot": _lower_one_hot,
    "softmax_cross_entropy": _lower_softmax_cross_entropy,
    "take": _lower_take,
    "put": _lower_put,
})

lower.HELPERS.update({
    "_im2col": _im2col,
    "_col2im": _col2im,
    "_conv2d": _conv2d,
    "_conv2d_grad_columns": _conv2d_grad_columns,
    "_conv2d_grad_weight": _conv2d_grad_weight,
    "_conv2d_grad_bias": _conv2d_grad_bias,
    "_maxpool2d": _maxpool2d,
    "_maxpool2d_grad": _maxpool2d_grad,
    "_softmax": _softmax,
    "_log_softmax": _log_softmax,
    "_one_hot": _one_hot,
    "_softmax_cross_entropy": _softmax_cross_entropy,
    "_put": _put,
})
