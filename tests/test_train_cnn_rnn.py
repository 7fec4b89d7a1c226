"""The convolutional and recurrent models: their data, gradients, a few
training steps and ``symgrad train cnn|rnn`` on the command line.  Nothing
here trains a model to the end: each test takes a few batches."""

import json
import math

import numpy as np
import pytest

from symgrad_cli import networks
from symgrad_cli.cli import main
from symgrad_cli.models import MODELS, build_model
from symgrad_cli.optim import Adam
from symgrad_cli.train import compile_step


def _arguments(model, rows, dtype=np.float64):
    """The step function's data and parameter arguments for these rows."""
    data = [rows[k] if rows[k].dtype.kind == "i" else rows[k].astype(dtype)
            for k in model.data]
    return data, [np.array(v, dtype=dtype) for v in model.parameters.values()]


def _first_rows(arrays, count):
    return {k: v[:count] for k, v in arrays.items()}


def _losses_over_steps(model, rows, steps, lr):
    """The loss before each of ``steps`` Adam steps on the same rows."""
    step = compile_step(model)
    data, parameters = _arguments(model, rows, np.float32)
    optimizer = Adam(parameters, lr=lr)
    losses = []
    for _ in range(steps):
        loss, *grads = step(*data, *parameters)
        losses.append(float(loss))
        optimizer.step(grads)
    return losses


def _check_against_finite_differences(model, rows, samples=6, eps=1e-6):
    """Random coordinates of every parameter's gradient, by central
    differences in float64."""
    step = compile_step(model)
    data, parameters = _arguments(model, rows)
    _, *grads = step(*data, *parameters)
    rng = np.random.default_rng(0)
    for index, (value, grad) in enumerate(zip(parameters, grads)):
        for _ in range(samples):
            position = tuple(rng.integers(0, n) for n in value.shape)
            shifted = [p.copy() for p in parameters]
            shifted[index][position] += eps
            above = step(*data, *shifted)[0]
            shifted[index][position] -= 2 * eps
            below = step(*data, *shifted)[0]
            expected = (above - below) / (2 * eps)
            assert grad[position] == pytest.approx(expected, rel=1e-5, abs=1e-8)


# The convolutional network.


def test_digits_split_is_fixed_80_20():
    """The digits split 1,438 / 359, as (N, 1, 8, 8) images in [0, 1]."""
    dataset = networks.digits_dataset()
    assert dataset.train["X"].shape == (1438, 1, 8, 8)
    assert dataset.test["X"].shape == (359, 1, 8, 8)
    assert dataset.train["X"].max() <= 1.0 and dataset.train["Y"].max() == 9
    again = networks.digits_dataset()
    np.testing.assert_array_equal(dataset.test["Y"], again.test["Y"])


def test_cnn_has_the_issues_layers_and_pytorch_initialisation():
    """conv 1->32 3x3 with bias, linear 512->10; uniform within 1/sqrt(fan_in)."""
    model = build_model("cnn", seed=0, batch=4)
    shapes = {k: v.shape for k, v in model.parameters.items()}
    assert shapes == {"W1": (32, 1, 3, 3), "b1": (32,), "W2": (10, 512),
                      "b2": (10,)}
    assert np.abs(model.parameters["W1"]).max() <= 1 / 3
    assert np.abs(model.parameters["W2"]).max() <= 1 / math.sqrt(512)
    ops = [node.op for node in model.graph]
    assert {"im2col", "conv2d", "maxpool2d", "softmax_cross_entropy"} <= set(ops)


def test_cnn_gradient_matches_finite_differences():
    """The derived gradient of the whole CNN matches central differences."""
    model = build_model("cnn", seed=1, batch=3, channels=2)
    rows = _first_rows(networks.digits_dataset().train, 3)
    _check_against_finite_differences(model, rows)


def test_cnn_loss_decreases_over_a_few_steps():
    """Five Adam steps on one batch lower the cross-entropy from about ln 10."""
    model = build_model("cnn", seed=0, batch=16)
    rows = _first_rows(networks.digits_dataset().train, 16)
    losses = _losses_over_steps(model, rows, steps=5, lr=0.01)
    assert abs(losses[0] - math.log(10)) < 0.3
    assert losses[-1] < losses[0] - 0.3


def test_class_accuracy_takes_the_highest_logit():
    """A row counts as right when its largest logit is at its label."""
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0]])
    accuracy = networks.class_accuracy({"logits": logits}, {"Y": np.array([1, 2])})
    assert accuracy == 0.5


# The recurrent network.


def test_text_windows_are_shifted_by_one_character():
    """Y is X one character later, in windows of 25 characters."""
    dataset = networks.text_dataset()
    x, y = dataset.train["X"], dataset.train["Y"]
    assert x.shape[1] == 25 and x.shape == y.shape
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    np.testing.assert_array_equal(x[1:, 0], y[:-1, -1])


def test_rnn_gradient_through_time_matches_finite_differences():
    """The BPTT gradient of a 4-step unrolled RNN matches central differences."""
    model = build_model("rnn", seed=0, batch=2, hidden=5, steps=4)
    data = networks.text_dataset(steps=4).train
    _check_against_finite_differences(model, _first_rows(data, 2))


def test_rnn_starts_near_ln_v_and_its_loss_decreases():
    """The untrained loss is about ln V; a few steps lower it."""
    model = build_model("rnn", seed=0, batch=8, hidden=16, steps=10)
    rows = _first_rows(networks.text_dataset(steps=10).train, 8)
    losses = _losses_over_steps(model, rows, steps=8, lr=0.02)
    uniform = math.log(len(networks.vocabulary()))
    assert abs(losses[0] - uniform) < 0.2
    assert losses[-1] < losses[0] - 0.3


def test_rnn_graph_is_unrolled_once_per_step():
    """The unrolled graph holds one tanh per step and one shared Wh."""
    model = build_model("rnn", seed=0, batch=2, hidden=4, steps=7)
    tanh = [n for n in model.graph if n.op == "tanh" and n.role == "forward"]
    assert len(tanh) == 7
    assert list(model.parameters) == ["Wx", "Wh", "b", "Wy", "by"]


def test_sample_text_continues_the_prime_from_the_alphabet():
    """A sample is the prime and then characters of the text's alphabet,
    the same for the same seed."""
    parameters = build_model("rnn", seed=0, batch=1, hidden=8).parameters
    first = networks.sample_text(parameters, length=40, prime="The", seed=3)
    again = networks.sample_text(parameters, length=40, prime="The", seed=3)
    assert first == again and first.startswith("The") and len(first) == 43
    assert set(first) <= set(networks.vocabulary())


def test_sample_rejects_a_prime_outside_the_alphabet():
    """A prime with a character the text never uses is an input error."""
    parameters = build_model("rnn", seed=0, batch=1, hidden=8).parameters
    with pytest.raises(Exception, match="prime"):
        networks.sample_text(parameters, prime="\u00e9")


def test_registry_holds_cnn_and_rnn_with_the_issues_defaults():
    """cnn: Adam 0.001, batch 32, 10 epochs; rnn: Adam with clipping."""
    cnn, rnn = MODELS["cnn"].defaults, MODELS["rnn"].defaults
    assert (cnn["optimizer"], cnn["lr"]["adam"], cnn["batch_size"],
            cnn["epochs"]) == ("adam", 0.001, 32, 10)
    assert rnn["optimizer"] == "adam" and rnn["clip"] > 0


# The command line.


def _run(argv, capsys):
    """``symgrad ARGV`` in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def test_train_cnn_prints_test_accuracy_each_epoch_and_json(capsys):
    """Each epoch line has the test accuracy; --json's accuracy is the test
    accuracy."""
    status, out, _ = _run(["train", "cnn", "--epochs", "2", "--json"], capsys)
    lines = out.splitlines()
    assert status == 0 and len(lines) == 3
    assert lines[1].startswith("Epoch [2/2], Loss: ")
    last_accuracy = float(lines[1].rsplit("Test accuracy: ", 1)[1])
    metrics = json.loads(lines[-1])
    assert set(metrics) == {"loss", "accuracy", "epochs", "seconds"}
    assert metrics["accuracy"] == pytest.approx(last_accuracy, abs=1e-4)
    assert metrics["accuracy"] > 0.5


def test_train_rnn_json_has_the_issues_keys(capsys):
    """rnn's JSON: loss in nats per character, vocabulary, epochs, seconds,
    sample."""
    argv = ["train", "rnn", "--epochs", "1", "--hidden", "16", "--json"]
    status, out, _ = _run(argv, capsys)
    metrics = json.loads(out.splitlines()[-1])
    assert status == 0
    assert set(metrics) == {"loss", "vocabulary", "epochs", "seconds", "sample"}
    assert metrics["vocabulary"] == len(networks.vocabulary())
    assert metrics["loss"] < math.log(metrics["vocabulary"])
    assert metrics["sample"].startswith("Alice") and len(metrics["sample"]) > 100


def test_train_rnn_prints_the_loss_and_a_sample(capsys):
    """Without --json: a line per epoch, the final loss and the sample."""
    argv = ["train", "rnn", "--epochs", "2", "--hidden", "8"]
    status, out, _ = _run(argv, capsys)
    assert status == 0
    assert out.startswith("Epoch [1/2], Loss: ")
    assert "\nFinal loss: " in out and "\nSample:\nAlice" in out
    assert "Accuracy" not in out


def test_train_cnn_plot_draws_loss_and_accuracy(capsys, tmp_path):
    """--plot draws two panels for cnn: the loss and the test accuracy."""
    path = tmp_path / "curves.png"
    argv = ["train", "cnn", "--epochs", "2", "--quiet", "--plot", str(path)]
    status, _, _ = _run(argv, capsys)
    header = path.read_bytes()[:24]
    assert status == 0 and header[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(header[16:20], "big")
    assert width == 1200  # two 600-pixel panels


def test_cnn_refuses_an_option_it_does_not_take(capsys):
    """--hidden is xor's and rnn's: for cnn it is a usage error (exit 2)."""
    status, _, err = _run(["train", "cnn", "--hidden", "3"], capsys)
    assert status == 2 and "takes no option hidden" in err


def test_cnn_bar_counts_each_epochs_batches_on_a_terminal():
    """On a terminal, the bar runs over one epoch's 45 batches at a time."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "symgrad_cli", "train", "cnn", "--epochs", "2"],
        stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # Linux's end of a terminal whose writers are gone
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    out = process.stdout.read().decode()
    process.wait()
    assert process.returncode == 0 and out.startswith("Epoch [1/2], Loss: ")
    assert b"Epoch 2/2" in shown and b"/45 [" in shown
