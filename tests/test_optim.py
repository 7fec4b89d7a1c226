"""Optimizers: steps against PyTorch's update formulas, written out."""

import numpy as np
import pytest

from symgrad_cli.errors import InputError
from symgrad_cli.optim import SGD, Adam, make_optimizer


def _arrays(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(3, 2)).astype(dtype)


def test_sgd_step_is_p_minus_lr_g():
    """Plain SGD: p <- p - lr*g, in place."""
    p, g = _arrays()
    start = p.copy()
    optimizer = SGD([p], lr=0.1)
    optimizer.step([g])
    np.testing.assert_allclose(p, start - 0.1 * g)
    assert optimizer.parameters[0] is p


def test_sgd_momentum_two_steps():
    """Momentum: b1 = g1; b2 = mu*b1 + (1 - dampening)*g2; p -= lr*b."""
    p, g1 = _arrays(1)
    _, g2 = _arrays(2)
    start = p.copy()
    optimizer = SGD([p], lr=0.05, momentum=0.9, dampening=0.1)
    optimizer.step([g1])
    optimizer.step([g2])
    b1 = g1
    b2 = 0.9 * b1 + 0.9 * g2
    np.testing.assert_allclose(p, start - 0.05 * b1 - 0.05 * b2)


def test_sgd_nesterov_and_weight_decay():
    """Nesterov steps along g + mu*b, with g including weight_decay*p."""
    p, g = _arrays(3)
    start = p.copy()
    SGD([p], lr=0.1, momentum=0.5, nesterov=True, weight_decay=0.01).step([g])
    decayed = g + 0.01 * start
    np.testing.assert_allclose(p, start - 0.1 * (decayed + 0.5 * decayed))


def test_adam_two_steps_against_the_formulas():
    """Adam's moments and bias corrections, step by step."""
    p, g1 = _arrays(4)
    _, g2 = _arrays(5)
    expected = p.copy()
    optimizer = Adam([p], lr=0.01, betas=(0.8, 0.9), eps=1e-6)
    m = v = np.zeros_like(p)
    for t, g in enumerate((g1, g2), start=1):
        optimizer.step([g])
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        m_hat, v_hat = m / (1 - 0.8 ** t), v / (1 - 0.9 ** t)
        expected = expected - 0.01 * m_hat / (np.sqrt(v_hat) + 1e-6)
        np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_adam_first_step_moves_each_weight_by_about_lr():
    """On the first step m_hat/sqrt(v_hat) is sign(g), so |dp| is lr."""
    p, g = _arrays(6)
    start = p.copy()
    Adam([p], lr=0.001).step([g])
    np.testing.assert_allclose(start - p, 0.001 * np.sign(g), rtol=1e-4)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_float32_parameters_stay_float32(name):
    """Python-float hyperparameters keep float32 arrays float32."""
    p, g = _arrays(7, np.float32)
    make_optimizer(name, [p], lr=0.1, **({"momentum": 0.9} if name == "sgd"
                                         else {})).step([g])
    assert p.dtype == np.float32


def test_a_symbolic_zero_gradient_leaves_the_parameter():
    """A gradient given as the number 0 changes nothing."""
    p, _ = _arrays(8)
    start = p.copy()
    SGD([p], lr=0.1, momentum=0.9).step([0.0])
    Adam([p], lr=0.1).step([0.0])
    np.testing.assert_array_equal(p, start)


def test_bad_settings_are_input_errors():
    """Unknown optimizers and negative learning rates are refused."""
    with pytest.raises(InputError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", [], lr=0.1)
    with pytest.raises(InputError, match="--lr must be a number of 0 or more"):
        make_optimizer("sgd", [], lr=-1)
    with pytest.raises(InputError, match="Nesterov momentum needs"):
        SGD([], lr=0.1, nesterov=True)
