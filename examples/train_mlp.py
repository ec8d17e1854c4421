"""Train the same small MLP with LeakyReLU, PAU, HP-1 and HP-2 activations (CPU, < 1 minute).

A demonstration, not a benchmark: one synthetic regression task made here (no
downloads), one architecture, one optimiser setting (not tuned for any
variant), 3 seeds. It prints the final train and test mean squared error of
each variant as mean ± std over the seeds, whatever they turn out to be.

Variants (every rational activation is safe, degrees (5, 4), one coefficient
set per layer, trained together with the weights):

* ``LeakyReLU``            : ``nn.LeakyReLU()`` (negative_slope 0.01)
* ``PAU (table)``          : ``OPAU(basis="monomial", init="leaky_relu")``
* ``HP-1 (table)``         : ``OPAU(basis="hermite1", init="leaky_relu")``
* ``HP-2 (table)``         : ``OPAU(basis="hermite2", init="leaky_relu")``
* ``HP-1 (random init)``   : ``OPAU(basis="hermite1", init="random")``

The "table" variants start from the shipped init-table entry for Leaky ReLU
(negative_slope 0.01; least squares on [-3, 3], uniform weight), read by
``opade_fit.get_init``.

Run: ``python examples/train_mlp.py`` (needs ``pip install 'opade-fit[torch]'``).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from opade_fit.torch import OPAU

SEEDS = (0, 1, 2)
DATA_SEED = 1234
IN_FEATURES, HIDDEN = 8, 64
N_TRAIN, N_TEST = 4096, 2048
EPOCHS, BATCH, LR = 20, 256, 3e-3


def make_data(generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """y = sin(1.5 a.x) cos(b.x) + 0.5 |c.x| + 0.05 noise, x ~ N(0, I_8)."""
    a, b, c = torch.randn(3, IN_FEATURES, generator=generator) / IN_FEATURES**0.5
    x = torch.randn(N_TRAIN + N_TEST, IN_FEATURES, generator=generator)
    y = torch.sin(1.5 * x @ a) * torch.cos(x @ b) + 0.5 * (x @ c).abs()
    y = y + 0.05 * torch.randn(y.shape, generator=generator)
    y = y.unsqueeze(1)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def variants() -> dict[str, Callable[[int], nn.Module]]:
    """name -> factory of one activation module (called once per hidden layer)."""
    return {
        "LeakyReLU": lambda _seed: nn.LeakyReLU(),
        "PAU (table)": lambda _seed: OPAU(basis="monomial", init="leaky_relu"),
        "HP-1 (table)": lambda _seed: OPAU(basis="hermite1", init="leaky_relu"),
        "HP-2 (table)": lambda _seed: OPAU(basis="hermite2", init="leaky_relu"),
        "HP-1 (random init)": lambda seed: OPAU(
            basis="hermite1", init="random", generator=torch.Generator().manual_seed(seed)
        ),
    }


def train(make_activation, seed: int, data) -> tuple[float, float]:
    """Train one MLP; returns (final train MSE, test MSE)."""
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(IN_FEATURES, HIDDEN),
        make_activation(2 * seed),
        nn.Linear(HIDDEN, HIDDEN),
        make_activation(2 * seed + 1),
        nn.Linear(HIDDEN, 1),
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    shuffle = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        for idx in torch.randperm(N_TRAIN, generator=shuffle).split(BATCH):
            loss = nn.functional.mse_loss(model(x_train[idx]), y_train[idx])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    with torch.no_grad():
        train_mse = nn.functional.mse_loss(model(x_train), y_train).item()
        test_mse = nn.functional.mse_loss(model(x_test), y_test).item()
    return train_mse, test_mse


def main() -> None:
    torch.set_num_threads(1)  # tiny matrices: threads cost more than they save
    start = time.perf_counter()
    data = make_data(torch.Generator().manual_seed(DATA_SEED))
    print(
        f"synthetic regression: {N_TRAIN} train / {N_TEST} test points, MLP {IN_FEATURES}-"
        f"{HIDDEN}-{HIDDEN}-1, Adam lr={LR}, {EPOCHS} epochs, batch {BATCH}, seeds {SEEDS}"
    )
    print(f"{'variant':<20} {'train MSE (mean ± std)':>24} {'test MSE (mean ± std)':>24}")
    for name, make in variants().items():
        results = [train(make, seed, data) for seed in SEEDS]
        cols = []
        for values in zip(*results, strict=True):
            cols.append(f"{statistics.mean(values):.2e} ± {statistics.stdev(values):.1e}")
        print(f"{name:<20} {cols[0]:>24} {cols[1]:>24}")
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
