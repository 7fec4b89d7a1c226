"""How many seeds solve XOR: ``symgrad train xor`` for seeds 0 to 99.

Each run is the default one (SGD at 0.1, 10,000 full-batch epochs,
float32, PyTorch's initialisation drawn from the seed), with 2 and with 4
hidden units; a seed counts when the final accuracy is 1.0.  With two
hidden units many seeds end in a local minimum (a dead ReLU unit, or both
units on the same side of the data).

Run:  python benchmarks/xor_seeds.py [--seeds N] [--hidden 2 4]
"""

from __future__ import annotations

import argparse
import time

from symgrad_cli.models import build_model, xor_dataset
from symgrad_cli.train import Settings, train


def solved(seeds: range, hidden: int) -> list[int]:
    """The seeds whose trained network classifies all four points."""
    settings = Settings(epochs=10_000, lr=0.1)
    found = []
    for seed in seeds:
        model = build_model("xor", seed=seed, hidden=hidden)
        result = train(model, xor_dataset(), settings, report_every=10_000)
        if result.accuracy == 1.0:
            found.append(seed)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--hidden", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()
    for hidden in args.hidden:
        start = time.perf_counter()
        found = solved(range(args.seeds), hidden)
        print(f"hidden {hidden}: {len(found)} of {args.seeds} seeds reach "
              f"accuracy 1.0 ({time.perf_counter() - start:.0f} s)")
        print(f"  solved: {found}")


if __name__ == "__main__":
    main()
