"""Optimizers in numpy, with PyTorch's update rules.

Each optimizer holds the parameter arrays and updates them in place, so the
arrays a compiled step function was given stay the ones it reads.  Scalars
are Python floats, which keep a float32 array float32.

SGD (``torch.optim.SGD``), for gradient ``g`` and parameter ``p``::

    g = g + weight_decay * p
    b = g                      on the first step, with momentum
    b = momentum * b + (1 - dampening) * g    afterwards
    g = g + momentum * b  (nesterov)  or  g = b
    p = p - lr * g

Adam (``torch.optim.Adam``), at step ``t`` counted from 1::

    g = g + weight_decay * p
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from symgrad_cli.errors import InputError


class SGD:
    """Stochastic gradient descent, with optional momentum.

    Parameters
    ----------
    parameters : list of numpy.ndarray
        Updated in place by :meth:`step`.
    lr : float
    momentum, dampening, weight_decay : float
    nesterov : bool
    """

    def __init__(self, parameters: Sequence[np.ndarray], lr: float,
                 momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        _check_learning_rate(lr)
        if not (momentum >= 0 and math.isfinite(momentum)):
            raise InputError(f"--momentum must be a number of 0 or more, "
                             f"got {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise InputError("Nesterov momentum needs momentum > 0 and no "
                             "dampening")
        self.parameters = list(parameters)
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.dampening = float(dampening)
        self.weight_decay = float(weight_decay)
        self.nesterov = nesterov
        self.buffers: list[np.ndarray | None] = [None] * len(self.parameters)
        self.plain = not momentum and not weight_decay
        # The rate as a 0-d array of each parameter's type: numpy multiplies
        # two arrays faster than an array and a Python float.
        with np.errstate(over="ignore"):  # a rate beyond float32 diverges
            self.rates = [np.asarray(self.lr, dtype=p.dtype)
                          for p in self.parameters]

    def step(self, gradients: Sequence) -> None:
        """Update every parameter from its gradient (an array or a number)."""
        if self.plain:
            for parameter, gradient, rate in zip(self.parameters, gradients,
                                                 self.rates):
                parameter -= rate * gradient
            return
        for i, (parameter, gradient) in enumerate(zip(self.parameters, gradients)):
            parameter -= self.lr * self._direction(i, parameter, gradient)

    def _direction(self, i: int, parameter, gradient):
        if self.weight_decay:
            gradient = gradient + self.weight_decay * parameter
        if not self.momentum:
            return gradient
        buffer = self.buffers[i]
        if buffer is None:
            buffer = np.array(np.broadcast_to(gradient, parameter.shape),
                              dtype=parameter.dtype)
            self.buffers[i] = buffer
        else:
            buffer *= self.momentum
            buffer += (1 - self.dampening) * gradient
        if self.nesterov:
            return gradient + self.momentum * buffer
        return buffer


class Adam:
    """Adam: per-parameter steps from running moments of the gradient.

    Parameters
    ----------
    parameters : list of numpy.ndarray
        Updated in place by :meth:`step`.
    lr : float
    betas : tuple of float
    eps, weight_decay : float
    """

    def __init__(self, parameters: Sequence[np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        _check_learning_rate(lr)
        if not all(0 <= b < 1 for b in betas):
            raise InputError(f"Adam's betas must lie in [0, 1), got {betas}")
        self.parameters = list(parameters)
        self.lr = float(lr)
        self.beta1, self.beta2 = map(float, betas)
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)
        self.first = [np.zeros_like(p) for p in self.parameters]
        self.second = [np.zeros_like(p) for p in self.parameters]
        self.steps = 0

    def step(self, gradients: Sequence) -> None:
        """Update every parameter from its gradient (an array or a number)."""
        self.steps += 1
        step_size = self.lr / (1 - self.beta1 ** self.steps)
        root_correction = math.sqrt(1 - self.beta2 ** self.steps)
        moments = zip(self.parameters, gradients, self.first, self.second)
        for parameter, gradient, first, second in moments:
            if self.weight_decay:
                gradient = gradient + self.weight_decay * parameter
            first *= self.beta1
            first += (1 - self.beta1) * gradient
            second *= self.beta2
            second += (1 - self.beta2) * (gradient * gradient)
            denominator = np.sqrt(second)
            denominator /= root_correction
            denominator += self.eps
            parameter -= step_size * (first / denominator)


#: Optimizers by the name ``--optimizer`` takes.
OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, parameters: Sequence[np.ndarray], lr: float,
                   **options):
    """The optimizer ``name`` over ``parameters``.

    Returns
    -------
    SGD or Adam

    Raises
    ------
    InputError
        For an unknown name or a negative learning rate.
    """
    if name not in OPTIMIZERS:
        raise InputError(
            f"unknown optimizer {name!r}; use {' or '.join(OPTIMIZERS)}"
        )
    return OPTIMIZERS[name](parameters, lr=lr, **options)


def _check_learning_rate(value: float) -> None:
    # As PyTorch: 0 is allowed (the parameters then stay put), below is not.
    if not (value >= 0 and math.isfinite(value)):
        raise InputError(f"--lr must be a number of 0 or more, got {value}")
