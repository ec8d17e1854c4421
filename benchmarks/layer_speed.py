"""Benchmark: speed and memory of the OPAU layer against GELU, LeakyReLU and the incumbent.

Side by side in one process, for one input shape (default (8, 256, 32, 32),
float32) and each thread count, it measures:

* ``fwd``: median time of ``y = layer(x)`` with ``x.requires_grad`` (a training forward);
* ``fwd+bwd``: median time of the forward plus ``torch.autograd.grad`` of ``y`` with
  respect to ``x`` and the layer's parameters, for a fixed random output gradient; both
  wall-clock and process CPU time (on a loaded machine a long call is preempted more
  often than a short one, which inflates wall-clock ratios; CPU time is not affected);
* ``saved B/el``: bytes the forward keeps for backward, per input element, counted with
  ``torch.autograd.graph.saved_tensors_hooks`` (distinct storages, so a tensor saved
  twice counts once);
* ``peak B/el``: peak memory allocated during forward+backward above what was allocated
  before it, per input element (CPU: the profiler's allocator trace; CUDA:
  ``torch.cuda.max_memory_allocated``). GELU's peak is its output, the saved input,
  the input gradient and temporaries.

Layers: ``nn.GELU``, ``nn.LeakyReLU``, ``OPAU`` hermite1 and monomial (safe, 5/4,
Leaky ReLU init) eager and under ``torch.compile``, and the incumbent: a
re-enactment of rational_activations' "version A" pure-PyTorch formula (safe PAU
5/4: a Vandermonde matrix of x, numerator and |.|-summed denominator as row sums),
with the same coefficients as the monomial OPAU.

Timing runs the layers round-robin (one call of each per round, ``--repeat``
rounds) so that load changes on a shared machine hit every layer alike; quote the
medians and the ratios to GELU, and the machine load (printed).

Memory state. GELU streams memory (about 2 ns per element forward+backward) while OPAU
computes, so GELU's time, and every ratio to it, depends on where its input and output
live; unmanaged, GELU's own time moved between about 4 and 20 ms from run to run. Two
things are fixed:

* the allocator (CPU, glibc ``mallopt``): ``--allocator recycled`` (default) sets
  M_MMAP_THRESHOLD 32 MiB and M_TRIM_THRESHOLD 1 GiB, so freed output and gradient
  tensors are reused without page faults (a training loop's steady state, and what a
  caching allocator gives on a GPU); ``fresh`` sets M_MMAP_THRESHOLD 128 KiB, so every
  large tensor is new memory and pays a page fault per 4 KiB on first write;
  ``default`` leaves glibc's adaptive threshold alone;
* the caches (``--cache``, both by default, side by side): ``hot`` reads the input and
  the output gradient once right before each timed call (as when the layer follows the
  one that produced its input), ``cold`` first writes a 256 MiB buffer, evicting them
  (as after a large layer). GELU is fastest, so the ratios are strictest, when hot.
Usage::

    python benchmarks/layer_speed.py [--shape 8,256,32,32] [--threads 1,2]
        [--repeat 15] [--device cpu|cuda] [--dtype float32] [--no-compile]
        [--blocks 4096,16384,65536]   # also time eager OPAU at these block sizes
        [--allocator recycled|fresh|default] [--cache both|hot|cold]
        [--layers "hermite1 eager,monomial"]   # only these (and nn.GELU)
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import ctypes.util
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import torch
from torch import nn

from opade_fit.torch import OPAU
from opade_fit.torch import _eager as opau_eager


class IncumbentPAU(nn.Module):
    """rational_activations' version A, pure PyTorch, re-enacted (safe PAU, monomial basis).

    g(x) = (a_0 + a_1 x + ... + a_k x^k) / (1 + |b_1 x| + ... + |b_l x^l|), computed as
    row sums of a (numel, k + 1) Vandermonde matrix of x; autograd for the backward.
    """

    def __init__(self, numerator: torch.Tensor, denominator: torch.Tensor) -> None:
        super().__init__()
        self.numerator = nn.Parameter(numerator.detach().clone())
        self.denominator = nn.Parameter(denominator.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.reshape(-1)
        k1, l = self.numerator.shape[0], self.denominator.shape[0]
        # torch.vander(z, k1, increasing=True) as in the original; vander's own backward
        # fails in torch 2.13 ("modified by an inplace operation"), so the same matrix is
        # built as the cumulative product of [1, z, z, ...]
        ones = torch.ones(z.shape[0], 1, dtype=z.dtype, device=z.device)
        powers = torch.cat([ones, z[:, None].expand(-1, k1 - 1)], 1).cumprod(1)
        num = powers.mul(self.numerator).sum(1)
        one = torch.ones(1, dtype=z.dtype, device=z.device)
        pad = torch.zeros(k1 - l - 1, dtype=z.dtype, device=z.device)
        den = powers.mul(torch.cat([one, self.denominator, pad])).abs().sum(1)
        return num.div(den).view(x.shape)


def make_layers(device: str, dtype: torch.dtype, compile_: bool) -> dict[str, nn.Module]:
    """name -> layer (parameters in ``dtype`` on ``device``)."""
    kw = {"device": device, "dtype": dtype}
    hp1 = OPAU("hermite1", "safe", (5, 4), init="leaky_relu", **kw)
    pau = OPAU("monomial", "safe", (5, 4), init="leaky_relu", **kw)
    layers: dict[str, nn.Module] = {
        "nn.GELU": nn.GELU(),
        "nn.LeakyReLU": nn.LeakyReLU(),
        "OPAU hermite1 eager": hp1,
        "OPAU monomial eager": pau,
    }
    if compile_:
        layers["OPAU hermite1 compiled"] = torch.compile(
            OPAU("hermite1", "safe", (5, 4), init="leaky_relu", **kw)
        )
        layers["OPAU monomial compiled"] = torch.compile(
            OPAU("monomial", "safe", (5, 4), init="leaky_relu", **kw)
        )
    layers["incumbent (version A)"] = IncumbentPAU(pau.numerator, pau.denominator)
    return layers


#: mallopt parameters (glibc malloc.h) and the two regimes' settings
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
REGIMES = {
    "recycled": ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 1 << 30)),
    "fresh": ((M_MMAP_THRESHOLD, 128 << 10), (M_TRIM_THRESHOLD, 128 << 10)),
}
#: bytes written to evict the caches before a "cold" call
EVICT_BYTES = 256 << 20


def set_allocator(regime: str) -> bool:
    """Apply a regime with glibc's mallopt; False where that is not available."""
    if regime == "default":
        return True
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return all(libc.mallopt(param, value) == 1 for param, value in REGIMES[regime])
    except (OSError, AttributeError, TypeError):
        return False


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2 (the profiler's native library prints USDT lines there)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def fwd_step(layer: nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        layer(x)

    return run


def fwd_bwd_step(layer: nn.Module, x: torch.Tensor, gy: torch.Tensor) -> Callable[[], None]:
    inputs = [x, *layer.parameters()]

    def run() -> None:
        y = layer(x)
        torch.autograd.grad(y, inputs, gy)

    return run


def round_robin(
    steps: dict[str, Callable[[], None]],
    repeat: int,
    device: str,
    prepare: Callable[[], None] = lambda: None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Median wall-clock and process-CPU seconds per step, calling each step once per round
    (``prepare`` before each call, untimed)."""
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeat):
        for name, step in steps.items():
            prepare()
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            sync(device)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return (
        {name: statistics.median(ts) for name, ts in wall.items()},
        {name: statistics.median(ts) for name, ts in cpu.items()},
    )


def saved_bytes(layer: nn.Module, x: torch.Tensor) -> int:
    """Bytes of distinct storages the forward saves for backward."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[s.data_ptr()] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = layer(x)
    del y
    return sum(storages.values())


def peak_bytes(step: Callable[[], None], device: str) -> int:
    """Peak allocated bytes during ``step`` above the allocation before it."""
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    from torch.profiler import ProfilerActivity, profile

    with quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    mem = [e["args"] for e in events if e.get("name") == "[memory]"]
    if not mem:
        return 0
    mem.sort(key=lambda a: a.get("Addr", 0) * 0)  # keep trace order
    totals = [a["Total Allocated"] for a in mem]
    base = totals[0] - mem[0]["Bytes"]
    return max(totals) - base


def print_table(layers, fwd, both, both_cpu, memory) -> None:
    """One markdown table: medians and ratios to GELU, bytes saved and peak per element."""
    g_f, g_b, g_c = fwd["nn.GELU"], both["nn.GELU"], both_cpu["nn.GELU"]
    print(
        f"| {'layer':<24} | fwd ms | × GELU | fwd+bwd ms | × GELU | fwd+bwd CPU ms "
        "| × GELU | saved B/el | peak B/el |"
    )
    rule = "|-------:" * 2 + "|-----------:|-------:|---------------:|-------:"
    print(f"|{'-' * 26}{rule}|----------:|---------:|")
    for name in layers:
        saved, peak = memory[name]
        print(
            f"| {name:<24} | {fwd[name] * 1e3:6.2f} | {fwd[name] / g_f:6.2f} "
            f"| {both[name] * 1e3:10.2f} | {both[name] / g_b:6.2f} "
            f"| {both_cpu[name] * 1e3:14.2f} | {both_cpu[name] / g_c:6.2f} "
            f"| {saved:10.1f} | {peak:9.1f} |"
        )


def load() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="8,256,32,32")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64", "bfloat16"])
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--blocks", default="", help="also time eager OPAU at these block sizes")
    ap.add_argument(
        "--allocator", default="recycled", choices=["recycled", "fresh", "default"],
        help="glibc allocator regime for the timings (module docstring)",
    )  # fmt: skip
    ap.add_argument(
        "--layers", default="",
        help="time only the layers whose names contain one of these comma-separated words "
        "(nn.GELU is always timed: it is the reference)",
    )  # fmt: skip
    ap.add_argument(
        "--cache", default="both", choices=["both", "hot", "cold"],
        help="inputs in cache before each call, or evicted (module docstring)",
    )  # fmt: skip
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device is available", file=sys.stderr)
        return 2
    try:
        shape = tuple(int(v) for v in args.shape.split(","))
        threads = [int(v) for v in args.threads.split(",")]
        blocks = [int(v) for v in args.blocks.split(",") if v]
    except ValueError:
        print("--shape, --threads and --blocks take comma-separated integers", file=sys.stderr)
        return 2
    dtype = getattr(torch, args.dtype)
    device = args.device
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen).to(device=device, dtype=dtype).requires_grad_()
    gy = torch.randn(shape, generator=gen).to(device=device, dtype=dtype)
    numel = x.numel()
    print(f"torch {torch.__version__}, device {device}, dtype {args.dtype}, shape {shape}")
    print(f"{load()} (before), {os.cpu_count()} CPUs")
    layers = make_layers(device, dtype, not args.no_compile)
    wanted = [w.strip() for w in args.layers.split(",") if w.strip()]
    if wanted:
        layers = {
            name: layer
            for name, layer in layers.items()
            if name == "nn.GELU" or any(w in name for w in wanted)
        }

    # warm-up (compiles) and memory, once
    t0 = time.perf_counter()
    for layer in layers.values():
        fwd_bwd_step(layer, x, gy)()
        fwd_bwd_step(layer, x, gy)()
    print(f"warm-up (including compilation) {time.perf_counter() - t0:.1f} s")
    memory = {
        name: (
            saved_bytes(layer, x) / numel,
            peak_bytes(fwd_bwd_step(layer, x, gy), device) / numel,
        )
        for name, layer in layers.items()
    }

    if device != "cpu":
        args.allocator = "default"
    if not set_allocator(args.allocator):
        print(f"allocator {args.allocator}: mallopt is not available here; glibc defaults")
        args.allocator = "default"
    evict = torch.empty(EVICT_BYTES // 4, device=device)
    preparations = {
        "hot": lambda: (x.sum(), gy.sum()),
        "cold": lambda: (evict.fill_(1.0), sync(device)),
    }
    for cache in ["hot", "cold"] if args.cache == "both" else [args.cache]:
        prepare = preparations[cache]
        for n_threads in threads:
            torch.set_num_threads(n_threads)
            fwd, _ = round_robin(
                {name: fwd_step(layer, x) for name, layer in layers.items()},
                args.repeat,
                device,
                prepare,
            )
            both, both_cpu = round_robin(
                {name: fwd_bwd_step(layer, x, gy) for name, layer in layers.items()},
                args.repeat,
                device,
                prepare,
            )
            print(
                f"\n{n_threads} thread(s), caches {cache}, allocator {args.allocator}, "
                f"{args.repeat} rounds, {load()} (after)"
            )
            print_table(layers, fwd, both, both_cpu, memory)

    set_allocator("default")

    if blocks and device == "cpu":
        default = opau_eager.BLOCK
        torch.set_num_threads(threads[0])
        layer = (
            layers.get("OPAU hermite1 eager")
            or make_layers(device, dtype, False)["OPAU hermite1 eager"]
        )
        step = fwd_bwd_step(layer, x, gy)

        def at(size: int) -> Callable[[], None]:
            def run() -> None:
                opau_eager.BLOCK = size
                step()

            return run

        wall, cpu = round_robin({b: at(b) for b in blocks}, args.repeat, device)
        opau_eager.BLOCK = default
        print(f"\neager OPAU hermite1 fwd+bwd by block size ({threads[0]} thread(s), round-robin):")
        for b in blocks:
            print(f"  BLOCK={b:>8}: {wall[b] * 1e3:7.2f} ms wall, {cpu[b] * 1e3:7.2f} ms CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
