"""XOR for 10,000 epochs three ways: symgrad, hand-written numpy, PyTorch.

All three start from the same initial weights (symgrad's seeded PyTorch-style
draw), train full-batch with SGD at learning rate 0.1 in float32, and compute
the loss every epoch.  Each is timed several times, interleaved, and the
fastest run counts (the machine's other load only ever adds time).  Then the
whole ``symgrad train xor`` process is timed, start-up included.

Hand-written numpy comes in two styles: the idiomatic one (``np.mean``,
``.sum(axis=0)``, as a tutorial writes it) and a tuned one making the same
ufunc calls the generated code makes.  PyTorch runs when it is installed
(``pip install torch``; it is never a dependency of symgrad).

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


def run_symgrad(parameters: dict, epochs: int) -> tuple[float, float]:
    """symgrad's training loop: (seconds, final epoch loss)."""
    model = build_model("xor", seed=0)
    settings = Settings(epochs=epochs, lr=LR, dtype="float32")
    result = train(model, xor_dataset(), settings, report_every=epochs,
                   parameters=parameters)
    return result.seconds, float(result.losses[-1])


def run_numpy(parameters: dict, epochs: int) -> tuple[float, float]:
    """Hand-written numpy, written as a tutorial writes it."""
    data = xor_dataset().train
    x, y = data["X"].astype(np.float32), data["Y"].astype(np.float32)
    w1, b1, w2, b2 = (np.array(parameters[k], dtype=np.float32)
                      for k in ("W1", "b1", "W2", "b2"))
    n = len(x)
    start = time.perf_counter()
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
    return time.perf_counter() - start, float(loss)


def run_numpy_tuned(parameters: dict, epochs: int) -> tuple[float, float]:
    """Hand-written numpy avoiding numpy's Python-level wrappers."""
    data = xor_dataset().train
    x, y = data["X"].astype(np.float32), data["Y"].astype(np.float32)
    w1, b1, w2, b2 = (np.array(parameters[k], dtype=np.float32)
                      for k in ("W1", "b1", "W2", "b2"))
    add_reduce, scale = np.add.reduce, 1 / len(x)
    start = time.perf_counter()
    for _ in range(epochs):
        h_pre = x @ w1.T + b1
        h = np.maximum(h_pre, 0)
        z = h @ w2.T + b2
        loss = add_reduce(np.logaddexp(0, z) - y * z, axis=None) * scale
        dz = scale * (np.exp(-np.logaddexp(0, -z)) - y)
        dw2 = dz.T @ h
        db2 = add_reduce(dz, axis=0)
        dh_pre = np.where(h_pre > 0, dz @ w2, 0)
        dw1 = dh_pre.T @ x
        db1 = add_reduce(dh_pre, axis=0)
        w1 -= LR * dw1
        b1 -= LR * db1
        w2 -= LR * dw2
        b2 -= LR * db2
    return time.perf_counter() - start, float(loss)


def run_torch(parameters: dict, epochs: int) -> tuple[float, float] | None:
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
    start = time.perf_counter()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(net(x), y)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, float(loss.item())


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
    best: dict[str, float] = {}
    losses: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, runner in runners.items():
            measured = runner(parameters, args.epochs)
            if measured is None:
                continue
            seconds, losses[name] = measured
            best[name] = min(best.get(name, float("inf")), seconds)

    print(f"XOR, {args.epochs} full-batch SGD epochs, float32, best of "
          f"{args.repeats}:")
    for name, seconds in best.items():
        per_epoch = seconds / args.epochs * 1e6
        print(f"  {name:<18} {seconds:7.3f} s  {per_epoch:7.1f} µs/epoch  "
              f"final loss {losses[name]:.6f}")
    if "pytorch eager" not in best:
        print("  pytorch eager      not installed (pip install torch)")
    symgrad = best["symgrad"]
    print("ratios (symgrad time / other time):")
    for name, seconds in best.items():
        if name != "symgrad":
            print(f"  symgrad / {name:<18} {symgrad / seconds:6.2f}x")
    if "pytorch eager" in best:
        print(f"  symgrad is {best['pytorch eager'] / symgrad:.1f}x faster "
              f"than pytorch eager")
    print(f"whole process `symgrad train xor --quiet`: "
          f"{process_seconds(args.repeats):.2f} s (best of {args.repeats})")


if __name__ == "__main__":
    main()
