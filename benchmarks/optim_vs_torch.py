"""symgrad's optimizers against torch.optim, step for step (needs PyTorch).

Ten steps of SGD with momentum and of Adam from the same parameters and
gradients; prints the largest difference from torch's parameters.  The
test suite checks one step of each against the formulas; this is the
optional comparison with the reference implementation.

Run:  python benchmarks/optim_vs_torch.py
"""

import sys

import numpy as np

from symgrad_cli.optim import SGD, Adam


def main() -> int:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: pip install torch==2.13.0")
        return 1
    rng = np.random.default_rng(9)
    grads = [rng.normal(size=(3, 2)) for _ in range(10)]
    pairs = {
        "sgd, momentum 0.9": (lambda p: SGD(p, lr=0.1, momentum=0.9),
                              lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        "adam": (lambda p: Adam(p, lr=0.01),
                 lambda p: torch.optim.Adam(p, lr=0.01)),
    }
    worst = 0.0
    for name, (ours, theirs) in pairs.items():
        p = rng.normal(size=(3, 2))
        tensor = torch.tensor(p.copy(), requires_grad=True)
        optimizer, reference = ours([p]), theirs([tensor])
        for g in grads:
            optimizer.step([g])
            tensor.grad = torch.tensor(g)
            reference.step()
        gap = float(np.max(np.abs(p - tensor.detach().numpy())))
        worst = max(worst, gap)
        print(f"{name:18} largest difference after 10 steps: {gap:.3g}")
    return 0 if worst < 1e-10 else 1


if __name__ == "__main__":
    sys.exit(main())
