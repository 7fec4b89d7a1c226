"""XOR for 10,000 epochs three ways: symgrad, hand-written numpy, PyTorch.

All start from the same initial weights (symgrad's seeded PyTorch-style
draw), train full-batch with SGD at learning rate 0.1 in float32, and compute
the loss every epoch.  Each is timed several times, interleaved, and the
fastest run counts (the machine's other load only ever adds time), in
wall-clock time and in the process's CPU time, which a busy machine disturbs
less.  Then the whole ``symgrad train xor`` process is timed, start-up
included.

Hand-written numpy comes in two styles: the idiomatic one (``np.mean``,
``.sum(axis=0)``, Python floats, as a tutorial writes it) and a tuned one
making the calls symgrad's generated step and optimizer make (0-d float32
constants, ``np.add.reduce``, gradients written into one flat array that a
single update applies).  PyTorch runs when it is installed (``pip install
torch``; it is never a dependency of symgrad).

Run:  python benchmarks/bench_xor.py [--epochs N] [--repeats N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from symgrad_cli.models import build_model, xor_dataset
from symgrad_cli.train import Settings, train

LR = 0.1


class Timer:
    """Wall-clock and CPU seconds of a block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def run_symgrad(parameters: dict, epochs: int, timer: Timer) -> float:
    """symgrad's training loop (compiling excluded); the last epoch's loss.

    ``train()`` compiles before its loop and evaluates after it, so the CPU
    time of a run less that of the same run with no epochs is the loop's.
    """
    model = build_model("xor", seed=0)
    runs = {}
    for count in (0, epochs):
        settings = Settings(epochs=count, lr=LR, dtype="float32")
        with Timer() as runs[count]:
            result = train(model, xor_dataset(), settings,
                           report_every=max(1, count), parameters=parameters)
    timer.wall = result.seconds
    timer.cpu = runs[epochs].cpu - runs[0].cpu
    return float(result.losses[-1])


def _start(parameters: dict):
    data = xor_dataset().train
    x, y = data["X"].astype(np.float32), data["Y"].astype(np.float32)
    weights = [np.array(parameters[k], dtype=np.float32)
               for k in ("W1", "b1", "W2", "b2")]
    return x, y, weights


def run_numpy(parameters: dict, epochs: int, timer: Timer) -> float:
    """Hand-written numpy, as a tutorial writes it."""
    x, y, (w1, b1, w2, b2) = _start(parameters)
    n = len(x)
    with timer:
        for _ in range(epochs):
            h_pre = x @ w1.T + b1
            h = np.maximum(h_pre, 0)
            z = h @ w2.T + b2
            loss = np.mean(np.logaddexp(0, z) - y * z)
            p = 1 / (1 + np.exp(-z))
            dz = (p - y) / n
            dw2 = dz.T @ h
            db2 = dz.sum(axis=0)
            dh = dz @ w2
            dh_pre = dh * (h_pre > 0)
            dw1 = dh_pre.T @ x
            db1 = dh_pre.sum(axis=0)
            w1 -= LR * dw1
            b1 -= LR * db1
            w2 -= LR * dw2
            b2 -= LR * db2
    return float(loss)


def run_numpy_tuned(parameters: dict, epochs: int, timer: Timer) -> float:
    """Hand-written numpy making the calls symgrad's generated code makes."""
    x, y, weights = _start(parameters)
    flat = np.concatenate([w.ravel() for w in weights])
    grads = np.zeros_like(flat)
    w1, b1, w2, b2 = _views(flat, weights)
    g1, c1, g2, c2 = _views(grads, weights)
    zero, quarter = np.float32(0).reshape(()), np.asarray(0.25, np.float32)
    rate = np.asarray(LR, np.float32)
    add_reduce = np.add.reduce
    with timer:
        for _ in range(epochs):
            h_pre = x @ w1.T + b1
            h = np.maximum(h_pre, zero)
            z = h @ w2.T + b2
            loss = quarter * add_reduce(np.logaddexp(zero, z) - y * z, axis=None)
            dz = quarter * (np.exp(-np.logaddexp(zero, -z)) - y)
            add_reduce(dz, axis=0, out=c2)
            np.matmul(dz.T, h, out=g2)
            dh_pre = np.where(h_pre > zero, dz @ w2, zero)
            add_reduce(dh_pre, axis=0, out=c1)
            np.matmul(dh_pre.T, x, out=g1)
            flat -= rate * grads
    return float(loss)


def _views(flat: np.ndarray, like: list) -> list:
    views, start = [], 0
    for array in like:
        views.append(flat[start:start + array.size].reshape(array.shape))
        start += array.size
    return views


def run_torch(parameters: dict, epochs: int, timer: Timer) -> float | None:
    """PyTorch eager autograd, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    data = xor_dataset().train
    x = torch.tensor(data["X"], dtype=torch.float32)
    y = torch.tensor(data["Y"], dtype=torch.float32)
    hidden = parameters["W1"].shape[0]
    net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(),
                              torch.nn.Linear(hidden, 1))
    with torch.no_grad():
        for layer, (w, b) in zip((net[0], net[2]), (("W1", "b1"), ("W2", "b2"))):
            layer.weight.copy_(torch.tensor(parameters[w]))
            layer.bias.copy_(torch.tensor(parameters[b]))
    criterion = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR)
    with timer:
        for _ in range(epochs):
            optimizer.zero_grad()
            loss = criterion(net(x), y)
            loss.backward()
            optimizer.step()
    return float(loss.item())


def process_seconds(repeats: int) -> float:
    """The fastest wall time of a whole ``symgrad train xor --quiet``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "symgrad_cli", "train", "xor",
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    parameters = build_model("xor", seed=0).parameters
    runners = {"symgrad": run_symgrad, "numpy (idiomatic)": run_numpy,
               "numpy (tuned)": run_numpy_tuned, "pytorch eager": run_torch}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, runner in runners.items():
            timer = Timer()
            loss = runner(parameters, args.epochs, timer)
            if loss is None:
                continue
            losses[name] = loss
            wall[name] = min(wall.get(name, float("inf")), timer.wall)
            cpu[name] = min(cpu.get(name, float("inf")), timer.cpu)

    print(f"XOR, {args.epochs} full-batch SGD epochs, float32, best of "
          f"{args.repeats} (µs an epoch):")
    print(f"  {'':<18} {'wall':>8} {'cpu':>8}  final loss")
    for name, seconds in wall.items():
        print(f"  {name:<18} {seconds / args.epochs * 1e6:8.1f} "
              f"{cpu[name] / args.epochs * 1e6:8.1f}  {losses[name]:.6f}")
    if "pytorch eager" not in wall:
        print("  pytorch eager      not installed (pip install torch)")
    print("symgrad's time as a multiple of the others' (wall, cpu):")
    for name, seconds in wall.items():
        if name != "symgrad":
            print(f"  / {name:<18} {wall['symgrad'] / seconds:6.2f}x "
                  f"{cpu['symgrad'] / cpu[name]:6.2f}x")
    if "pytorch eager" in wall:
        print(f"symgrad is {wall['pytorch eager'] / wall['symgrad']:.1f}x "
              f"(wall) and {cpu['pytorch eager'] / cpu['symgrad']:.1f}x (cpu) "
              f"faster than pytorch eager")
    print(f"whole process `symgrad train xor --quiet`: "
          f"{process_seconds(args.repeats):.2f} s (best of {args.repeats})")


if __name__ == "__main__":
    main()
