"""Models as graphs: the XOR network's structure, its initialisation, and
its derived gradient against finite differences and a hand derivation."""

import numpy as np
import pytest

from symgrad_cli import models
from symgrad_cli.errors import InputError
from symgrad_cli.models import build_model, xor_dataset
from symgrad_cli.train import compile_outputs, compile_step


def _hand_gradient(x, y, w1, b1, w2, b2):
    """XOR's loss and gradients derived by hand, in numpy."""
    h_pre = x @ w1.T + b1
    h = np.maximum(h_pre, 0)
    z = h @ w2.T + b2
    p = 1 / (1 + np.exp(-z))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    dz = (p - y) / len(x)
    dh_pre = (dz @ w2) * (h_pre > 0)
    return loss, {"W1": dh_pre.T @ x, "b1": dh_pre.sum(0), "W2": dz.T @ h,
                  "b2": dz.sum(0)}


def _point(seed, hidden=2):
    model = build_model("xor", seed=seed, hidden=hidden)
    data = xor_dataset().train
    return model, [data["X"], data["Y"], *model.parameters.values()]


def test_xor_model_has_the_documented_interface():
    """build_model('xor') gives the loss, gradients and outputs as graph nodes."""
    model = build_model("xor")
    g = model.graph
    assert model.name == "xor" and model.data == ["X", "Y"]
    assert {k: v.shape for k, v in model.parameters.items()} == {
        "W1": (2, 2), "b1": (2,), "W2": (1, 2), "b2": (1,)}
    assert g[model.loss].shape == ()
    assert set(model.gradients) == set(model.parameters)
    for name, node in model.gradients.items():
        assert g[node].shape == model.parameters[name].shape
        assert g[node].role == "backward"
    assert g[model.outputs["probability"]].shape == (4, 1)


def test_initialisation_is_pytorchs_and_seeded():
    """Parameters lie within ±1/sqrt(fan_in) and repeat with their seed."""
    model = build_model("xor", seed=3, hidden=16)
    for name, fan_in in (("W1", 2), ("b1", 2), ("W2", 16), ("b2", 16)):
        bound = 1 / np.sqrt(fan_in)
        assert np.all(np.abs(model.parameters[name]) <= bound)
        assert np.abs(model.parameters[name]).max() > bound / 4
    again = build_model("xor", seed=3, hidden=16).parameters
    other = build_model("xor", seed=4, hidden=16).parameters
    assert all(np.array_equal(again[k], v) for k, v in model.parameters.items())
    assert not np.array_equal(other["W1"], model.parameters["W1"])


@pytest.mark.parametrize("seed", range(4))
def test_xor_gradient_equals_the_hand_derivation(seed):
    """The derived XOR gradient equals a hand-derived numpy gradient."""
    model, args = _point(seed)
    loss, *grads = compile_step(model)(*args)
    expected_loss, expected = _hand_gradient(*args)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for name, grad in zip(model.parameters, grads):
        np.testing.assert_allclose(grad, expected[name], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("seed", range(4))
def test_xor_gradient_equals_finite_differences(seed):
    """The derived gradient equals central finite differences of the loss."""
    model, args = _point(seed, hidden=3)
    step = compile_step(model)
    _, *grads = step(*args)
    for k, grad in enumerate(grads):
        index = 2 + k
        estimate = np.zeros_like(args[index])
        for position in np.ndindex(args[index].shape):
            for sign in (1, -1):
                moved = [a.copy() for a in args]
                moved[index][position] += sign * 1e-6
                estimate[position] += sign * step(*moved)[0] / 2e-6
        np.testing.assert_allclose(grad, estimate, rtol=1e-6, atol=1e-9)


def test_probability_is_the_sigmoid_of_the_logit():
    """The probability output is sigmoid(h @ W2.T + b2), applied once."""
    model, args = _point(1)
    x, _, w1, b1, w2, b2 = args
    _, probability = compile_outputs(model)(*args)
    logit = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-logit)))


def test_hidden_and_batch_options_shape_the_graph():
    """--hidden sets the hidden width and batch the data's rows."""
    model = build_model("xor", hidden=5, batch=3)
    assert model.parameters["W1"].shape == (5, 2)
    assert model.graph["X"].shape == (3, 2)
    assert model.options == {"hidden": 5}


def test_unknown_model_and_option_are_input_errors():
    """An unknown model or option names what exists."""
    with pytest.raises(InputError, match="unknown model 'mlp'; known models: "):
        build_model("mlp")
    with pytest.raises(InputError, match="model xor takes no option depth"):
        build_model("xor", depth=3)
    with pytest.raises(InputError, match="--hidden and --batch-size of 1"):
        build_model("xor", hidden=0)


def test_registry_holds_xor_with_its_defaults():
    """MODELS["xor"] carries DESIGN.md's training defaults."""
    spec = models.MODELS["xor"]
    assert spec.defaults["epochs"] == 10_000
    assert spec.defaults["optimizer"] == "sgd"
    assert spec.defaults["lr"]["sgd"] == 0.1
    assert spec.dataset().size == 4


def test_accuracy_thresholds_the_probability_once():
    """Accuracy thresholds the probability at 0.5, never a second sigmoid."""
    data = {"Y": np.array([[0.], [1.], [1.], [0.]])}
    probability = np.array([[0.1], [0.9], [0.6], [0.4]])
    assert models.binary_accuracy({"probability": probability}, data) == 1.0
    twice = 1 / (1 + np.exp(-probability))
    assert models.binary_accuracy({"probability": twice}, data) == 0.5
