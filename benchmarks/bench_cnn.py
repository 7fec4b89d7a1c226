"""One CNN epoch three ways: symgrad, hand-written numpy, PyTorch CPU.

The network is ``symgrad train cnn``'s: conv 3x3 (1 to 32 channels, padding
1), ReLU, 2x2 max-pool, linear 512 to 10, softmax cross-entropy, Adam at
learning rate 0.001, batches of 32, float32, on the 1,438 training digits.
All three start from the same initial weights (symgrad's seeded draw) and
visit the batches in the same order, so their losses agree; the table shows
each one's mean loss over its last epoch as a check.

* symgrad: :func:`symgrad_cli.train.train`, whose step function is the
  lowered derivative graph (and a second one for the last, short batch).
* numpy: the same im2col math written by hand (windows as a strided view,
  one matrix product per convolution, pooling over the offsets of a
  window, the ReLU's mask as a product, the bias gradient as a product with
  ones, as symgrad's helpers do), with Adam as ``optim.Adam`` does it.
* PyTorch: ``nn.Sequential`` with ``torch.optim.Adam``, eager, on the CPU,
  when ``torch`` is installed (``pip install torch``; never a dependency).

Each way runs in a process of its own, so that its peak memory is its own:
the peak resident set size of that process (``resource.getrusage``'s
``ru_maxrss``), imports and data included.  Processes run several times,
interleaved, and the fastest epoch counts (other load on the machine only
ever adds time).

Run:  python benchmarks/bench_cnn.py [--epochs N] [--repeats N] [--threads N]

``--threads`` sets the BLAS and PyTorch thread counts of every process: 1 by
default, as ``symgrad train`` runs (its matrices are small, and two threads
on a busy machine spin against each other); 0 lets each library choose.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

BATCH = 32
LR = 0.001


# The common setup.


def setup() -> tuple[dict, dict, dict]:
    """The training data, symgrad's initial parameters, the epochs' orders."""
    from symgrad_cli import networks
    from symgrad_cli.models import build_model

    dataset = networks.digits_dataset()
    parameters = build_model("cnn", seed=0).parameters
    train = {"X": dataset.train["X"].astype(np.float32), "Y": dataset.train["Y"]}
    return dataset, parameters, train


def clocks() -> tuple[float, float]:
    """Wall-clock and CPU time now: the CPU time of this process alone is
    steadier on a busy machine."""
    return time.perf_counter(), time.process_time()


def batches(rows: int, epoch_seed):
    """The batches of one epoch, in the order symgrad's loop takes them."""
    order = epoch_seed.permutation(rows)
    return [order[i:i + BATCH] for i in range(0, rows, BATCH)]


# symgrad.


def run_symgrad(epochs: int) -> tuple[list[tuple], float]:
    """Epoch times (wall, CPU) and the last epoch's mean loss, from symgrad's
    loop."""
    from symgrad_cli.models import build_model
    from symgrad_cli.train import Settings, train

    dataset = setup()[0]
    model = build_model("cnn", seed=0)
    marks = []
    settings = Settings(epochs=epochs, lr=LR, optimizer="adam",
                        batch_size=BATCH, seed=0)

    def progress(epoch, loss, *_):
        marks.append(clocks())

    start = clocks()
    result = train(model, dataset, settings, progress=progress, report_every=1)
    times = np.diff([start] + marks, axis=0).tolist()
    return times, float(result.losses[-1])


# Hand-written numpy.


class NumpyCNN:
    """The network's forward and backward pass, written out by hand."""

    def __init__(self, parameters: dict):
        self.params = {k: np.array(v, dtype=np.float32)
                       for k, v in parameters.items()}
        self.first = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.second = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.steps = 0

    def gradients(self, x, y):
        p = self.params
        n = len(x)
        padded = np.zeros((n, 1, 10, 10), np.float32)
        padded[:, :, 1:9, 1:9] = x
        windows = np.lib.stride_tricks.sliding_window_view(
            padded, (3, 3), axis=(2, 3))
        columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * 64, 9)
        conv = (columns @ p["W1"].reshape(32, 9).T + p["b1"])
        conv = conv.reshape(n, 8, 8, 32).transpose(0, 3, 1, 2)
        active = conv > 0
        relu = conv * active
        offsets = [(slice(None), slice(None), slice(i, 8, 2), slice(j, 8, 2))
                   for i in range(2) for j in range(2)]
        pooled = relu[offsets[0]].copy(order="K")
        for where in offsets[1:]:
            np.maximum(pooled, relu[where], out=pooled)
        flat = pooled.reshape(n, 512)
        logits = flat @ p["W2"].T + p["b2"]

        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = np.log(total).mean() - shifted[rows, y].mean()

        dlogits = exp / total
        dlogits[rows, y] -= 1
        dlogits /= n
        dflat = (dlogits @ p["W2"]).reshape(n, 32, 4, 4)
        dpooled = np.empty_like(pooled)
        dpooled[...] = dflat
        drelu = np.zeros_like(relu)
        unclaimed = np.ones_like(pooled, dtype=bool)
        for where in offsets:
            first = (relu[where] == pooled) & unclaimed
            unclaimed ^= first
            np.multiply(dpooled, first, out=drelu[where])
        dconv = drelu * active
        dconv_rows = dconv.transpose(0, 2, 3, 1).reshape(n * 64, 32)
        grads = {
            "W1": (dconv_rows.T @ columns).reshape(32, 1, 3, 3),
            "b1": np.ones(n * 64, np.float32) @ dconv_rows,
            "W2": dlogits.T @ flat,
            "b2": dlogits.sum(axis=0),
        }
        return loss, grads

    def adam(self, grads, beta1=0.9, beta2=0.999, eps=1e-8):
        self.steps += 1
        step_size = LR / (1 - beta1 ** self.steps)
        root_correction = (1 - beta2 ** self.steps) ** 0.5
        for k, parameter in self.params.items():
            g, m, v = grads[k], self.first[k], self.second[k]
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * (g * g)
            denominator = np.sqrt(v)
            denominator /= root_correction
            denominator += eps
            parameter -= step_size * (m / denominator)


def run_numpy(epochs: int) -> tuple[list[tuple], float]:
    """Epoch times (wall, CPU) and the last epoch's mean loss, hand-written
    numpy."""
    _, parameters, train = setup()
    net = NumpyCNN(parameters)
    shuffle = np.random.default_rng([0, 1])
    rows = len(train["Y"])
    times = []
    for _ in range(epochs):
        start = clocks()
        total = 0.0
        for chosen in batches(rows, shuffle):
            loss, grads = net.gradients(train["X"][chosen], train["Y"][chosen])
            net.adam(grads)
            total += float(loss) * len(chosen)
        times.append(np.subtract(clocks(), start).tolist())
    return times, total / rows


# PyTorch.


def run_torch(epochs: int) -> tuple[list[tuple], float]:
    """Epoch times (wall, CPU) and the last epoch's mean loss, PyTorch eager
    on the CPU."""
    import torch

    if os.environ.get("BENCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_THREADS"]))
    _, parameters, train = setup()
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(512, 10))
    names = {"0.weight": "W1", "0.bias": "b1", "4.weight": "W2", "4.bias": "b2"}
    with torch.no_grad():
        for name, tensor in net.named_parameters():
            tensor.copy_(torch.from_numpy(
                np.asarray(parameters[names[name]], dtype=np.float32)))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    criterion = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(train["X"]), torch.from_numpy(train["Y"])
    shuffle = np.random.default_rng([0, 1])
    rows = len(y)
    times = []
    for _ in range(epochs):
        start = clocks()
        total = 0.0
        for chosen in batches(rows, shuffle):
            index = torch.from_numpy(chosen)
            optimizer.zero_grad()
            loss = criterion(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(chosen)
        times.append(np.subtract(clocks(), start).tolist())
    return times, total / rows


WAYS = {"symgrad": run_symgrad, "numpy": run_numpy, "pytorch": run_torch}


# The driver.


def child(way: str, epochs: int) -> None:
    """Run one way in this process and print its result as JSON."""
    times, loss = WAYS[way](epochs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "loss": loss, "peak_mb": peak}))


def spawn(way: str, epochs: int, threads: int | None) -> dict | None:
    """One way's result from a fresh process, or None when it cannot run."""
    env = dict(os.environ)
    if threads:
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                     "MKL_NUM_THREADS", "BENCH_THREADS"):
            env[name] = str(threads)
    command = [sys.executable, __file__, "--child", way, "--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, env=env,
                          check=False)
    if done.returncode != 0:
        if way == "pytorch" and "No module named 'torch'" in done.stderr:
            return None
        raise RuntimeError(f"{way} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6,
                        help="epochs per process (the first warms up)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="processes per way, interleaved")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads (0: each library's "
                             "default); symgrad train uses 1")
    parser.add_argument("--child", choices=sorted(WAYS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.epochs)
        return

    results: dict[str, dict] = {}
    for _ in range(args.repeats):
        for way in WAYS:
            if way in results and results[way] is None:
                continue
            found = spawn(way, args.epochs, args.threads)
            if found is None:
                results[way] = None
                continue
            best = results.setdefault(way, {"epoch": float("inf"),
                                            "cpu": float("inf"), "peak_mb": 0})
            timed = found["times"][1:] or found["times"]
            best["epoch"] = min(best["epoch"], *(wall for wall, _ in timed))
            best["cpu"] = min(best["cpu"], *(cpu for _, cpu in timed))
            best["peak_mb"] = max(best["peak_mb"], found["peak_mb"])
            best["loss"] = found["loss"]
    report(results, args)


def report(results: dict, args) -> None:
    threads = args.threads or "each library's default"
    print(f"CNN, one epoch of 1,438 digits (batch {BATCH}, Adam, float32); "
          f"fastest of {args.repeats} processes x {max(args.epochs - 1, 1)} "
          f"timed epochs; threads: {threads}")
    print("peak memory: the process's peak resident set size "
          "(resource.getrusage ru_maxrss), imports included")
    print("epoch: wall-clock time; cpu: this process's CPU time (steadier "
          "when other programs load the machine)")
    print(f"{'':10}{'epoch':>12}{'cpu':>12}{'peak memory':>14}"
          f"{'last epoch loss':>18}")
    for way, found in results.items():
        if found is None:
            print(f"{way:10}{'not installed':>12}")
            continue
        print(f"{way:10}{found['epoch'] * 1e3:>9.1f} ms{found['cpu'] * 1e3:>9.1f} ms"
              f"{found['peak_mb']:>11.0f} MB{found['loss']:>18.5f}")
    mine = results["symgrad"]
    print(f"symgrad / hand-written numpy: {_ratio(mine, results['numpy'])} "
          f"(goal: at most 1.2x)")
    if results.get("pytorch"):
        print(f"PyTorch / symgrad: {_ratio(results['pytorch'], mine)} "
              f"(goal: at least 2x)")
    print(f"symgrad peak memory: {mine['peak_mb']:.0f} MB (goal: under 250 MB)")


def _ratio(slow: dict, fast: dict) -> str:
    return (f"{slow['epoch'] / fast['epoch']:.2f}x wall-clock, "
            f"{slow['cpu'] / fast['cpu']:.2f}x CPU time")


if __name__ == "__main__":
    main()
