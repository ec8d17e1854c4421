"""Train one small Keras MLP with LeakyReLU, PAU and HP-1 activations (CPU, < 1 minute).

A demonstration that :class:`opade_fit.keras.OPAU` trains with ``model.compile`` /
``model.fit`` on the Keras backend you choose, not a benchmark: one synthetic regression
task made here (no downloads), one architecture, one optimiser setting (Adam, not tuned
for any variant), 2 seeds. Each run's train and test mean squared error is printed as
soon as it finishes, whatever it turns out to be.

Variants (every rational activation is safe, degrees (5, 4), one coefficient set per layer,
trained together with the weights):

* ``LeakyReLU``     : ``keras.layers.LeakyReLU(negative_slope=0.01)`` (Keras' default
  slope is 0.3; the tables' ``leaky_relu`` is 0.01)
* ``PAU (table)``   : ``OPAU(basis="monomial", init="leaky_relu")``
* ``HP-1 (table)``  : ``OPAU(basis="hermite1", init="leaky_relu")``

Run: ``KERAS_BACKEND=jax python examples/train_keras.py`` (or ``tensorflow``, ``torch``;
needs ``pip install 'opade-fit[keras]'`` and that backend).
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up banner

import keras
import numpy as np

from opade_fit.keras import OPAU

SEEDS = (0, 1)
DATA_SEED = 1234
IN_FEATURES, HIDDEN = 8, 64
N_TRAIN, N_TEST = 4096, 2048
EPOCHS, BATCH, LR = 20, 256, 3e-3

VARIANTS = {
    "LeakyReLU": lambda: keras.layers.LeakyReLU(negative_slope=0.01),
    "PAU (table)": lambda: OPAU(basis="monomial", init="leaky_relu"),
    "HP-1 (table)": lambda: OPAU(basis="hermite1", init="leaky_relu"),
}


def make_data(seed: int) -> tuple[np.ndarray, ...]:
    """y = sin(1.5 a.x) cos(b.x) + 0.5 |c.x| + 0.05 noise, x ~ N(0, I_8) (float32)."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.standard_normal((3, IN_FEATURES)) / IN_FEATURES**0.5
    x = rng.standard_normal((N_TRAIN + N_TEST, IN_FEATURES))
    y = np.sin(1.5 * x @ a) * np.cos(x @ b) + 0.5 * np.abs(x @ c)
    y = (y + 0.05 * rng.standard_normal(y.shape))[:, None]
    x, y = x.astype(np.float32), y.astype(np.float32)
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def train(make_activation, seed: int, data) -> tuple[float, float]:
    """Train one MLP; returns (final train MSE, test MSE)."""
    x_train, y_train, x_test, y_test = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((IN_FEATURES,)),
            keras.layers.Dense(HIDDEN),
            make_activation(),
            keras.layers.Dense(HIDDEN),
            make_activation(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(LR), loss="mse")
    model.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    train_mse = float(model.evaluate(x_train, y_train, batch_size=1024, verbose=0))
    test_mse = float(model.evaluate(x_test, y_test, batch_size=1024, verbose=0))
    return train_mse, test_mse


def one_thread() -> None:
    """Tiny matrices: a second thread costs more than it saves (torch: 8 s vs 50 s a run on a
    busy 2-core machine)."""
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def main() -> None:
    start = time.perf_counter()
    one_thread()
    data = make_data(DATA_SEED)
    print(
        f"Keras {keras.__version__}, backend {keras.backend.backend()}; synthetic regression: "
        f"{N_TRAIN} train / {N_TEST} test points, MLP {IN_FEATURES}-{HIDDEN}-{HIDDEN}-1, "
        f"Adam lr={LR}, {EPOCHS} epochs, batch {BATCH}, seeds {SEEDS}",
        flush=True,
    )
    print(f"{'variant':<14} {'seed':>4} {'train MSE':>10} {'test MSE':>10} {'time':>7}")
    for name, make in VARIANTS.items():
        for seed in SEEDS:
            t0 = time.perf_counter()
            train_mse, test_mse = train(make, seed, data)
            elapsed = time.perf_counter() - t0
            print(
                f"{name:<14} {seed:>4} {train_mse:>10.3e} {test_mse:>10.3e} {elapsed:>6.1f}s",
                flush=True,
            )
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
