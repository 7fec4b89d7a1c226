"""Training: the library's results and ``symgrad train`` on the command line
(output, files, exit statuses, Ctrl-C)."""

import json
import os
import re
import signal
import subprocess
import sys

import numpy as np
import pytest

from symgrad_cli.cli import main
from symgrad_cli.errors import DivergedError
from symgrad_cli.models import build_model, xor_dataset
from symgrad_cli.train import Settings, compile_step, step_source, train

EPOCH_LINE = re.compile(r"^Epoch \[(\d+)/(\d+)\], Loss: (\d+\.\d{4})$")


def run(argv, capsys):
    """``symgrad ARGV`` in-process: (exit status, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def symgrad(*argv, **options):
    """``symgrad ARGV`` in a new process."""
    return subprocess.run([sys.executable, "-m", "symgrad_cli", *argv],
                          capture_output=True, text=True, check=False,
                          **options)


# The library.


def test_default_xor_training_solves_xor():
    """The default run from seed 0 reaches accuracy 1.0 and a loss under 0.1."""
    result = train(build_model("xor"), xor_dataset(),
                   Settings(epochs=10_000, lr=0.1))
    assert result.accuracy == 1.0 and result.loss < 0.1
    assert result.epochs == 10_000 and len(result.losses) == 10_000
    assert result.losses[-1] < result.losses[0]
    assert result.parameters["W1"].dtype == np.float32


def test_progress_reports_and_training_is_reproducible():
    """Progress comes every report_every epochs and at the end; runs repeat."""
    heard = []
    settings = Settings(epochs=250, lr=0.1, dtype="float64")
    first = train(build_model("xor", seed=2), xor_dataset(), settings,
                  lambda epoch, loss: heard.append(epoch), report_every=100)
    second = train(build_model("xor", seed=2), xor_dataset(), settings)
    assert heard == [100, 200, 250]
    np.testing.assert_array_equal(first.losses, second.losses)


def test_epoch_loss_is_the_loss_before_that_epochs_update():
    """Epoch 1's loss is the initial weights' loss."""
    model = build_model("xor", seed=5)
    data = xor_dataset().train
    initial = compile_step(model)(data["X"], data["Y"],
                                  *model.parameters.values())[0]
    result = train(model, xor_dataset(), Settings(epochs=1, lr=0.1,
                                                  dtype="float64"))
    assert result.losses[0] == pytest.approx(initial, rel=1e-12)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_minibatches_train_with_a_smaller_last_batch(batch_size):
    """Batches of 3 (and a last one of 1) or of 1 train, reproducibly."""
    settings = Settings(epochs=300, lr=0.1, batch_size=batch_size, seed=1)
    first = train(build_model("xor", seed=1), xor_dataset(), settings)
    second = train(build_model("xor", seed=1), xor_dataset(), settings)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert first.losses[-1] < first.losses[0]


def test_adam_solves_xor_with_four_hidden_units():
    """Adam at its default rate for xor reaches accuracy 1.0."""
    result = train(build_model("xor", hidden=4), xor_dataset(),
                   Settings(epochs=2000, lr=0.01, optimizer="adam"))
    assert result.accuracy == 1.0


def test_divergence_is_a_diverged_error():
    """A loss that stops being finite raises DivergedError."""
    with pytest.raises(DivergedError, match="training diverged: the loss is"):
        train(build_model("xor"), xor_dataset(),
              Settings(epochs=100, lr=1e300, dtype="float32"))


def test_gradient_clipping_scales_to_the_norm():
    """Clipping scales gradients to the norm limit, as clip_grad_norm_ does."""
    from symgrad_cli.train import _clipped

    received = []
    update = _clipped(received.append, 1.0)
    update([np.array([3.0]), np.array([[4.0]])])
    update([np.array([0.3]), 0.0])
    (first, second), (small, zero) = received
    assert np.hypot(first[0], second[0, 0]) == pytest.approx(1.0, rel=1e-5)
    assert small[0] == 0.3 and zero == 0.0


def test_step_source_runs_on_its_own():
    """--show-step's source, executed alone, computes what the step does."""
    model = build_model("xor", seed=3)
    namespace = {}
    exec(step_source(model), namespace)
    data = xor_dataset().train
    args = [data["X"], data["Y"], *model.parameters.values()]
    receivers = [np.empty_like(p) for p in model.parameters.values()]
    computed = namespace["step"](*args, *receivers)
    for ours, theirs in zip(computed, compile_step(model)(*args)):
        np.testing.assert_array_equal(ours, theirs)
    assert all(a is b for a, b in zip(computed[1:], receivers))


# The command line.


def test_train_xor_prints_epoch_lines_and_solves_it(capsys):
    """Ten epoch lines in PyTorch's form, then accuracy 1.0, loss < 0.1."""
    status, out, err = run(["train", "xor"], capsys)
    assert status == 0, err
    lines = out.splitlines()
    epochs = [EPOCH_LINE.match(line) for line in lines[:10]]
    assert [int(m.group(1)) for m in epochs] == list(range(1000, 10001, 1000))
    assert all(m.group(2) == "10000" for m in epochs)
    assert lines[-1] == "Accuracy: 1.0000 (4 of 4 correct)"
    assert float(lines[-2].removeprefix("Final loss: ")) < 0.1


def test_json_is_the_last_line(capsys):
    """--json ends the output with the metrics as one JSON object."""
    status, out, _ = run(["train", "xor", "--json", "--epochs", "2000"], capsys)
    metrics = json.loads(out.splitlines()[-1])
    assert status == 0
    assert set(metrics) == {"loss", "accuracy", "epochs", "seconds"}
    assert metrics["epochs"] == 2000 and metrics["seconds"] > 0
    assert EPOCH_LINE.match(out.splitlines()[0])


def test_quiet_prints_only_the_result(capsys):
    """--quiet drops the epoch lines and the timing."""
    status, out, _ = run(["train", "xor", "--quiet", "--epochs", "500"], capsys)
    assert status == 0
    assert out.splitlines()[0].startswith("Final loss: ")
    assert len(out.splitlines()) == 2


def test_save_then_load_evaluates_the_same_weights(capsys, tmp_path):
    """--save writes every parameter by name; --load --epochs 0 gives its loss."""
    weights = tmp_path / "weights.npz"
    status, out, _ = run(["train", "xor", "--json", "--dtype", "float64",
                          "--save", str(weights)], capsys)
    assert status == 0
    with np.load(weights) as stored:
        assert sorted(stored.files) == ["W1", "W2", "b1", "b2"]
        assert stored["W1"].shape == (2, 2)
    trained = json.loads(out.splitlines()[-1])
    status, out, _ = run(["train", "xor", "--json", "--dtype", "float64",
                          "--load", str(weights), "--epochs", "0"], capsys)
    loaded = json.loads(out.splitlines()[-1])
    assert status == 0 and loaded["epochs"] == 0
    assert loaded["loss"] == pytest.approx(trained["loss"], rel=1e-12)
    assert loaded["accuracy"] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["weights.npz"]
    mask = os.umask(0)
    os.umask(mask)
    assert weights.stat().st_mode & 0o777 == 0o666 & ~mask


def test_load_of_another_width_is_refused(capsys, tmp_path):
    """Weights of 4 hidden units do not load into 2: exit status 2."""
    weights = tmp_path / "wide.npz"
    run(["train", "xor", "--quiet", "--hidden", "4", "--epochs", "1",
         "--save", str(weights)], capsys)
    status, _, err = run(["train", "xor", "--load", str(weights)], capsys)
    assert status == 2
    assert "W1 has shape (4, 2), but the model's has shape (2, 2)" in err


def test_unwritable_save_fails_before_training(capsys, tmp_path):
    """--save into a missing folder exits 1 at once and writes nothing."""
    target = tmp_path / "missing" / "w.npz"
    status, out, err = run(["train", "xor", "--save", str(target)], capsys)
    assert status == 1 and out == ""
    assert "does not exist" in err and not target.parent.exists()


def test_plot_writes_a_png(capsys, tmp_path):
    """--plot loss.png draws the loss curve as a PNG file."""
    picture = tmp_path / "loss.png"
    status, _, err = run(["train", "xor", "--quiet", "--epochs", "300",
                          "--plot", str(picture)], capsys)
    assert status == 0, err
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, status, message", [
    (["train", "mlp"], 2, "unknown model 'mlp'"),
    (["train", "xor", "--optimizer", "adam", "--momentum", "0.9"], 2,
     "--momentum applies to --optimizer sgd only"),
    (["train", "xor", "--plot", "curve.gif"], 2, "unknown extension"),
    (["train", "xor", "--lr", "1e300"], 1, "training diverged"),
    (["train", "xor", "--load", "no-such-file.npz"], 2, "--load"),
])
def test_errors_exit_with_the_documented_status(argv, status, message, capsys):
    """Bad input exits 2, a diverged run 1, each with a one-line message."""
    got, _, err = run(argv, capsys)
    assert got == status
    assert message in err and "Traceback" not in err


def test_matplotlib_loads_only_for_plot():
    """Training without --plot never imports matplotlib."""
    code = ("import sys; from symgrad_cli.cli import main\n"
            "try: main(['train', 'xor', '--quiet', '--epochs', '10'])\n"
            "except SystemExit: pass\n"
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, check=False)
    assert done.stdout.splitlines()[-1] == "False"


def test_progress_bar_only_on_a_terminal(tmp_path):
    """A terminal on stderr gets a progress bar; a pipe gets none."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    size = struct.pack("HHHH", 24, 80, 0, 0)  # a new terminal has 0 columns
    fcntl.ioctl(follower, termios.TIOCSWINSZ, size)
    process = subprocess.Popen(
        [sys.executable, "-m", "symgrad_cli", "train", "xor", "--epochs",
         "3000"], stdout=subprocess.PIPE, stderr=follower, text=True)
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
    out = process.stdout.read()
    process.wait()
    piped = symgrad("train", "xor", "--epochs", "3000")
    assert process.returncode == 0 and b"epoch/s" in shown
    assert "epoch/s" not in piped.stderr and piped.returncode == 0
    assert out.splitlines()[:3] == piped.stdout.splitlines()[:3]


def test_ctrl_c_exits_130_cleanly(tmp_path):
    """SIGINT mid-training: status 130, no traceback, no weights file at all."""
    weights = tmp_path / "w.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "symgrad_cli", "train", "xor", "--epochs",
         "100000000", "--save", str(weights)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_show_step_prints_the_generated_function(capsys):
    """--show-step prints the numpy step: plain numpy, no sympy."""
    status, out, _ = run(["train", "xor", "--show-step"], capsys)
    assert status == 0
    assert "def step(" in out and "sympy" not in out
    assert "np.add.reduce" in out and "@" in out


def test_a_closed_pipe_is_not_an_error():
    """symgrad train xor | head -1: the reader leaves after one line, and
    training exits 0 without a message (DESIGN.md: a closed pipe is no error)."""
    process = subprocess.Popen([sys.executable, "-m", "symgrad_cli", "train", "xor"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"Epoch [1000/10000]")
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0
    assert err == b""


def test_save_through_a_symbolic_link_keeps_the_link(capsys, tmp_path):
    """--save link.npz writes the weights into the file the link names."""
    target = tmp_path / "w.npz"
    target.write_bytes(b"")
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    with pytest.raises(SystemExit, match="^0$"):
        main(["train", "xor", "--epochs", "5", "--quiet", "--save", str(link)])
    assert link.is_symlink()
    assert set(np.load(target)) == {"W1", "b1", "W2", "b2"}


@pytest.mark.parametrize("content", [b"garbage", b"PK\x03\x04truncated", None])
def test_load_of_a_file_that_is_no_weights_file_is_exit_2(capsys, tmp_path, content):
    """--load of garbage, a truncated zip or a bare .npy: one message, exit 2."""
    path = tmp_path / "w.npz"
    if content is None:
        with open(path, "wb") as stream:
            np.save(stream, np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(SystemExit, match="^2$"):
        main(["train", "xor", "--load", str(path), "--epochs", "0"])
    err = capsys.readouterr().err
    assert "not a weights file" in err and "Traceback" not in err


@pytest.mark.parametrize("args", [["--seed", "-1"], ["--momentum", "nan"]])
def test_invalid_training_numbers_are_exit_2(capsys, args):
    """A negative seed and a NaN momentum are refused before training."""
    with pytest.raises(SystemExit, match="^2$"):
        main(["train", "xor", *args])
    assert "Traceback" not in capsys.readouterr().err
