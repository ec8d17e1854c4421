"""Hostile-input campaign (issue 17): thousands of inputs, counted by outcome.

Run from the repository root (it takes a while; be nice to shared machines)::

    nice python benchmarks/fuzz_campaign.py            # the full campaign (~6,800 inputs)
    nice python benchmarks/fuzz_campaign.py --scale 0.1

Campaigns (sizes at ``--scale 1``, at least those of the issue):

* ``hand``: 100 hand-written hostile expressions and options, through the CLI;
* ``grammar``: 1,222 grammar-generated expressions through the library, 437 through the CLI;
* ``random``: 3,912 random strings through the library, 914 through the CLI;
* ``options``: 97 combinations of numeric ``opade fit`` options through the CLI;
* ``api``: 74 library calls with odd argument types and values;
* ``concurrent``: 22 pairs of ``opade tables regenerate --only`` on two entries of one file.

Every input runs in a worker process with a 30 s timeout (a timeout is a *hang*; the worker
is killed and replaced). CLI inputs run ``opade`` in the worker with its file descriptors 1
and 2 redirected, so anything LAPACK prints at the C level is seen. Outcomes:

* *clean error*: exit 2 or 1 (library: UsageError / FitError) with exactly one line on
  stderr, ``opade: error: ...``, no "unexpected", nothing on stdout;
* *accepted*: exit 0 with a correct result: an accepted expression equals an independent
  evaluation (Python's ``math``) at 41 points; a fit's record is finite and its ``max_abs``
  matches |g - f| recomputed on the record's own grid;
* *internal error*: anything else (a traceback, "unexpected ...", several lines, LAPACK
  text on stdout, another exit code);
* *wrong result accepted*: exit 0 (or a returned result) that fails the checks above;
* *lost update*: after both regenerations exit 0, an entry still holds its stale value.

Inputs are generated deterministically (hypothesis, derandomised; fixed lists).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the shared strategies and oracle (tests/fuzz)

from fuzz.hostile import LOCK_SPEC, UNSAFE_SYNTAX  # noqa: E402

TIMEOUT = 30.0
CLI_FIT = ["--degrees", "3/2", "--points", "401"]  # keeps the accepted CLI fits cheap


# ============================================================================ worker side
def _run_cli(argv: list[str], out_fd: int) -> dict:
    """Run ``opade argv`` in this process with fds 1 and 2 captured."""
    from opade_fit.cli import main

    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(files[0].fileno(), 1)
    os.dup2(files[1].fileno(), 2)
    rc = 0
    try:
        try:
            main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException as exc:  # an escape from the CLI's own handling
            sys.stderr.write(f"ESCAPED {type(exc).__name__}: {exc}\n")
            rc = -1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
    texts = []
    for f in files:
        f.seek(0)
        texts.append(f.read().decode("utf-8", "replace"))
        f.close()
    return {"rc": rc, "stdout": texts[0], "stderr": texts[1]}


def _check_record(record: dict) -> str | None:
    """None if a fit record is finite and its max_abs matches a recomputation."""
    import math

    import numpy as np

    from opade_fit.forms import RationalForm
    from opade_fit.result import DENSE_POINTS
    from opade_fit.targets import get_target

    form = RationalForm(
        record["form"]["basis"], record["form"]["denominator"], tuple(record["form"]["degrees"])
    )
    t = record["target"]
    target = get_target(t["expression"] if t["name"] == "expression" else t["name"], t["params"])
    a, b = record["interval"]
    x = np.linspace(a, b, DENSE_POINTS)
    c = record["coefficients"]
    with np.errstate(all="ignore"):
        g = form.evaluate(x, np.array(c["numerator"], float), np.array(c["denominator"], float))
        err = float(np.max(np.abs(g - target(x))))
    stored = record["errors"]["fit"]["max_abs"]
    if not (math.isfinite(err) and math.isfinite(stored)):
        return f"non-finite error {err!r} / {stored!r}"
    if not math.isclose(err, stored, rel_tol=1e-6, abs_tol=1e-12):
        return f"max_abs {stored!r} but |g - f| is {err!r}"
    return None


def _classify_cli(res: dict, expression: str | None) -> tuple[str, str]:
    rc, out, err = res["rc"], res["stdout"], res["stderr"]
    if "DLASCL" in out + err or "On entry to" in out + err:
        return "internal", "LAPACK message: " + (out + err)[:200]
    if rc in (1, 2):
        lines = err.splitlines()
        if len(lines) == 1 and lines[0].startswith("opade: error: ") and out == "":
            if lines[0].startswith("opade: error: unexpected "):
                return "internal", lines[0]
            return "clean", lines[0]
        return "internal", f"rc {rc}, stdout {out[:80]!r}, stderr {err[:300]!r}"
    if rc != 0:
        return "internal", f"rc {rc}: {err[:300]!r}"
    bad = [ln for ln in err.splitlines() if not ln.startswith(("opade: warning: ", "wrote "))]
    if bad:
        return "wrong", f"rc 0 with stderr {bad[:2]!r}"
    try:
        record = json.loads(out)
    except ValueError:
        return "wrong", f"rc 0 but stdout is not JSON: {out[:120]!r}"
    problem = _check_record(record)
    if problem is None and expression is not None:
        from fuzz.hostile import classify_target

        verdict, detail = classify_target(expression)
        if verdict != "ok":
            problem = f"CLI fitted it, library says {verdict}: {detail}"
    return ("wrong", problem) if problem else ("ok", "fit")


def _api_call(code: str) -> tuple[str, str]:
    import numpy as np

    import opade_fit
    from opade_fit.errors import OpadeError
    from opade_fit.record import dumps

    namespace = {"np": np, "opade_fit": opade_fit}
    exec("from fractions import Fraction\nfrom decimal import Decimal", namespace)
    try:
        value = eval(code, namespace)
    except OpadeError as exc:
        msg = str(exc)
        if "\n" in msg or msg.startswith("unexpected"):
            return "internal", f"bad message {msg!r}"
        return "clean", msg
    record = value.to_dict() if hasattr(value, "to_dict") else getattr(value, "record", None)
    if record is not None:
        try:
            record = json.loads(dumps(record))
        except Exception as exc:
            return "wrong", f"record not serialisable: {type(exc).__name__}: {exc}"
        problem = _check_record(record)
        if problem:
            return "wrong", problem
    return "ok", type(value).__name__


def worker() -> None:
    """Read one JSON job per line on stdin, answer one JSON line on the saved stdout."""
    import warnings

    warnings.simplefilter("error")  # the library contract: no stray warnings either
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)  # stray output of the library goes nowhere (CLI runs capture it)
    from fuzz.hostile import classify_target

    for line in sys.stdin:
        job = json.loads(line)
        try:
            if job["kind"] == "target":
                verdict, detail = classify_target(job["text"])
            elif job["kind"] == "cli":
                verdict, detail = _classify_cli(_run_cli(job["argv"], null), job.get("expression"))
            else:
                verdict, detail = _api_call(job["code"])
        except BaseException as exc:
            verdict, detail = "internal", f"{type(exc).__name__}: {str(exc)[:200]}"
        reply.write(json.dumps({"verdict": verdict, "detail": detail}) + "\n")


# ============================================================================ parent side
class Pool:
    """Worker processes with a per-job timeout (a hang kills and replaces the worker)."""

    def __init__(self, n: int):
        self.procs = [self._start() for _ in range(n)]

    @staticmethod
    def _start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            cwd=ROOT,
        )

    def run(self, jobs: list[dict]) -> list[tuple[str, str]]:
        import selectors

        results: list[tuple[str, str] | None] = [None] * len(jobs)
        todo = collections.deque(range(len(jobs)))
        busy: dict[int, tuple[int, float]] = {}  # worker -> (job, start)
        sel = selectors.DefaultSelector()
        for w, p in enumerate(self.procs):
            sel.register(p.stdout, selectors.EVENT_READ, w)
        while todo or busy:
            for w, p in enumerate(self.procs):
                if w not in busy and todo:
                    j = todo.popleft()
                    p.stdin.write(json.dumps(jobs[j]) + "\n")
                    p.stdin.flush()
                    busy[w] = (j, time.monotonic())
            for key, _ in sel.select(timeout=0.5):
                w = key.data
                line = self.procs[w].stdout.readline()
                j, _start = busy.pop(w)
                if line:
                    r = json.loads(line)
                    results[j] = (r["verdict"], r["detail"])
                else:  # the worker died (e.g. killed by the kernel)
                    results[j] = ("internal", "worker died")
                    self._replace(w, sel)
            now = time.monotonic()
            for w, (j, start) in list(busy.items()):
                if now - start > TIMEOUT:
                    results[j] = ("hang", f"no answer in {TIMEOUT:g} s")
                    busy.pop(w)
                    self._replace(w, sel)
        return results  # type: ignore[return-value]

    def _replace(self, w: int, sel) -> None:
        old = self.procs[w]
        sel.unregister(old.stdout)
        old.kill()
        old.wait()
        self.procs[w] = self._start()
        sel.register(self.procs[w].stdout, __import__("selectors").EVENT_READ, w)

    def close(self) -> None:
        for p in self.procs:
            p.stdin.close()
            p.wait(timeout=60)


def _draw(strategy, n: int, seed: int) -> list:
    """``n`` distinct examples of a hypothesis strategy, deterministically."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    out: list = []
    seen: set = set()
    rounds = 0
    while len(out) < n and rounds < 50:

        @hseed(seed + rounds)
        @settings(
            max_examples=n,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(strategy)
        def collect(value):
            key = json.dumps(value, sort_keys=True, default=str)
            if key not in seen and len(out) < n:
                seen.add(key)
                out.append(value)

        collect()
        rounds += 1
    return out


HAND_EXPRESSIONS = [
    "9**9**9**9",
    "2**10**10",
    "x/0",
    "1/0",
    "log(x, 1)",
    "x + tan(pi/2)",
    "sign(x)",
    "10**400*x",
    "(0.0)/(0.0)",
    "-" * 990 + "x",
    "sin(" * 136 + "x" + ")" * 136,
    "1e308",
    "x+log(-1)",
    "log(x, 0)",
    "sqrt(x**2+1, 3)",
    "x*sign(x)",
    "1/(erf(x)-0.5)",
    "x**(1/3)",
    "(-8)**(1/3)*x",
    "log(x,2)",
    "1e-300*x",
    "x" + "+x" * 400,
    "sqrt(-1)",
    "x**1000",
    "exp(1000)",
    "exp(exp(exp(x)))",
    "Max(x)",
    "x*erf(x)",
    "1/(x-0.1234567)",
    "1/(x-0.1234567) + " + " + ".join(f"{i}*x" for i in range(1, 150)),
    "log(abs(x-0.1234567))",
    "tan(x)",
    "1/(sin(x)+cos(x)**3-0.1234)",
    "exp(x)**exp(x)",
    "x**x",
    "abs(x)**0.5",
    "relu(x)",
    "sigmoid(x)*x",
    "softplus(x)",
    "Min(x, 0) + Max(x, 0)",
    "x^2",
    "x**-1",
    "0**-1",
    "0*x",
    "0",
    "pi",
    "e**x",
    "E",
    "1e100**pi*x",
    "(1e-100)**3*x",
    *UNSAFE_SYNTAX,
    " ",
    "\x00",
    "ｘ",
    "x\u200b",
    "1_000*x",
    "0x10*x",
    "1j",
    "True",
    "None",
    "...",
    "x;x",
    "x\nx",
    "max()",
    "log()",
    "log(x, 2, 3)",
    "Max(*[x])",
    "sinh(100)*x",
    "cosh(x)**50",
    "exp(x)**100",
    "erf(x)**0.5",
    "1/(x**2+1e-200)",
    "x/(x-x)",
    "x*0/0",
    "1/(1/x)",
    "sign(x - 0.5)*x",
    "abs(sign(x))",
    "1/sign(x+4)",
    "tanh(x)/x",
    "sin(x)/x",
    "(exp(x)-1)/x",
    "x**0",
    "0**0",
    "atan(1e100*x)",
    "asinh(x)**99",
    "(((((((((((((((((((((((x)))))))))))))))))))))))",
    "x" * 1000,
    "1" * 1001,
]
HAND_OPTIONS = [
    ["--target", "gelu", "--points", "1000000000"],
    ["--target", "gelu", "--points", "9223372036854775808"],
    ["--target", "gelu", "--degrees", "0/200"],
    ["--target", "gelu", "--weight", "normal:1e-300"],
    ["--target", "1e308", "--json"],
    ["--target", "gelu", "--interval", "-1e300", "1e300"],
    ["--target", "gelu", "--derivative-weight", "1e300"],
]


def _hand_jobs() -> list[dict]:
    jobs = [
        {"kind": "cli", "argv": ["fit", "--target", t, "--json", *CLI_FIT], "expression": t}
        for t in HAND_EXPRESSIONS
    ]
    jobs += [{"kind": "cli", "argv": ["fit", *o, "--json"]} for o in HAND_OPTIONS]
    jobs += [
        {"kind": "cli", "argv": ["bases", "hermite1", "--degree", "100000"]},
        {"kind": "cli", "argv": ["tables", "list", "--tables", "/nonexistent"]},
        {"kind": "cli", "argv": ["fit", "--target", "gelu", "--out", "/dev/null", *CLI_FIT]},
    ]
    return jobs


def _option_jobs(n: int) -> list[dict]:
    from fuzz.hostile import OPTIONS
    from hypothesis import strategies as st

    jobs = []
    for options in _draw(st.fixed_dictionaries({}, optional=OPTIONS), n, 17):
        argv = ["fit", "--target", "tanh", "--json", "--degrees", "3/2", "--points", "201"]
        for name, value in options.items():
            argv += [name, *value] if isinstance(value, list) else [name, value]
        jobs.append({"kind": "cli", "argv": argv})
    return jobs


API_CALLS = [
    f"opade_fit.fit('gelu', {arg})"
    for arg in [
        "interval='12'",
        "interval=(1, 2, 3)",
        "interval=(None, 1)",
        "interval=(True, 2)",
        "interval=np.array([-2.0, 2.0])",
        "interval=(np.float32(-1), np.float32(1))",
        "interval=(Fraction(-1), Fraction(1))",
        "interval=(Decimal(-1), Decimal(1))",
        "interval=(-1e300, 1e300)",
        "interval=(1.0, 1.0 + 1e-12)",
        "interval=(2, 1)",
        "interval=(float('nan'), 1)",
        "interval=[-2, 2]",
        "interval=range(2)",
        "check_interval='ab'",
        "check_interval=(-1, 1)",
        "check_interval=(-100, 100)",
        "points=np.int64(100)",
        "points=100.0",
        "points=-1",
        "points=2**70",
        "points=True",
        "points='100'",
        "points=10",
        "points=np.uint8(200)",
        "degrees='5/4'",
        "degrees=(5.0, 4)",
        "degrees=('5', '4')",
        "degrees=(31, 0)",
        "degrees=(0, 0)",
        "degrees=(-1, 2)",
        "degrees=np.array([3, 2])",
        "degrees='3/2/1'",
        "degrees=None",
        "basis=None",
        "basis=5",
        "basis='HERMITE1'",
        "basis='hermite3'",
        "denominator='weird'",
        "denominator=None",
        "objective='L2'",
        "objective=None",
        "objective=2",
        "weight=5",
        "weight='normal:0'",
        "weight='normal:1e-300'",
        "weight='normal:1e300'",
        "weight=None",
        "derivative_weight=np.float64('nan')",
        "derivative_weight='1'",
        "derivative_weight=1e300",
        "derivative_weight=-0.0",
        "center='weird'",
        "center='drop-one', drop='c9'",
        "drop='c0'",
        "params={'beta': 1}",
        "params={'approximate': 'tanh'}",
        "degrees=(3, 2), points=201, center='general'",
    ]
] + [
    "opade_fit.fit(None)",
    "opade_fit.fit(5)",
    "opade_fit.fit('x'*2000)",
    "opade_fit.fit('swish', params={'beta': '1'})",
    "opade_fit.fit('swish', params={'beta': 1e300})",
    "opade_fit.fit('swish', params={'beta': np.float64(2)}, degrees=(3, 2), points=201)",
    "opade_fit.fit('swish', params=[1])",
    "opade_fit.fit('elu', params={'alpha': -1})",
    "opade_fit.get_init('gelu', basis='hermite1', degrees='5/4')",
    "opade_fit.get_init('gelu', basis='hermite1', degrees=(99, 99))",
    "opade_fit.get_init('gelu', basis=None)",
    "opade_fit.get_init(None, basis='hermite1')",
    "opade_fit.get_init('gelu', basis='hermite1', tables='/nonexistent')",
    "opade_fit.get_init('gelu', basis='hermite1', interval='12')",
    "opade_fit.get_init('x*erf(x)', basis='hermite1')",
]


def _concurrent(pairs: int) -> tuple[int, int, int]:
    """(pairs run, lost updates, failed runs) of two regenerations of one file."""
    from opade_fit.record import dumps
    from opade_fit.tables import regenerate, table_path

    lost = failed = 0
    with tempfile.TemporaryDirectory(prefix="opade-fuzz-") as tmp:
        fresh_dir = Path(tmp) / "fresh"
        fresh_dir.mkdir()
        (fresh_dir / "spec.toml").write_text(LOCK_SPEC)
        regenerate(fresh_dir / "spec.toml", fresh_dir, jobs=1)
        doc = json.loads(table_path(fresh_dir, "monomial").read_text())
        fresh = [dumps(r) for r in doc["entries"]]
        for rec in doc["entries"]:
            rec["coefficients"]["numerator"][0] += 0.5
        stale = dumps(doc)
        for i in range(pairs):
            work = Path(tmp) / f"pair{i}"
            work.mkdir()
            shutil.copy(fresh_dir / "spec.toml", work / "spec.toml")
            table_path(work, "monomial").write_text(stale)
            cmd = [sys.executable, "-m", "opade_fit", "tables", "regenerate"]
            cmd += ["--spec", str(work / "spec.toml"), "--tables", str(work), "-j", "1", "--only"]
            procs = [
                subprocess.Popen(
                    [*cmd, f"target={t}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                for t in ("gelu", "tanh")
            ]
            codes = [p.wait(timeout=600) for p in procs]
            if codes != [0, 0]:
                failed += 1
                continue
            got = [
                dumps(r) for r in json.loads(table_path(work, "monomial").read_text())["entries"]
            ]
            lost += got != fresh
    return pairs, lost, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--show", type=int, default=5, help="examples shown per bad outcome")
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    from fuzz.hostile import expressions, random_texts

    def n(v: int) -> int:
        return max(1, round(v * args.scale))

    start = time.monotonic()
    grammar = _draw(expressions, n(1222) + n(437), 1)
    randoms = _draw(random_texts, n(3912) + n(914), 2)
    campaigns: dict[str, list[dict]] = {
        "hand (CLI)": _hand_jobs()[: n(len(_hand_jobs()))],
        "grammar (library)": [{"kind": "target", "text": t} for t in grammar[: n(1222)]],
        "grammar (CLI)": [
            {"kind": "cli", "argv": ["fit", "--target", t, "--json", *CLI_FIT], "expression": t}
            for t in grammar[n(1222) :]
        ],
        "random (library)": [{"kind": "target", "text": t} for t in randoms[: n(3912)]],
        "random (CLI)": [
            {"kind": "cli", "argv": ["fit", "--target", t, "--json", *CLI_FIT], "expression": t}
            for t in randoms[n(3912) :]
        ],
        "options (CLI)": _option_jobs(n(97)),
        "api (library)": [{"kind": "api", "code": c} for c in API_CALLS[: n(len(API_CALLS))]],
    }
    pool = Pool(args.workers)
    header = f"{'campaign':20s} {'tried':>6s} {'clean':>6s} {'accepted':>8s} {'internal':>8s} "
    header += f"{'hangs':>6s} {'wrong':>6s}"
    rows, bad_examples, totals = [], [], collections.Counter()
    for name, jobs in campaigns.items():
        t0 = time.monotonic()
        results = pool.run(jobs)
        c = collections.Counter(v for v, _ in results)
        totals.update(c)
        totals["tried"] += len(jobs)
        rows.append(
            f"{name:20s} {len(jobs):6d} {c['clean']:6d} {c['ok']:8d} {c['internal']:8d} "
            f"{c['hang']:6d} {c['wrong']:6d}   ({time.monotonic() - t0:.0f} s)"
        )
        print(rows[-1], flush=True)
        for verdict in ("internal", "hang", "wrong"):
            shown = [(j, d) for j, (v, d) in zip(jobs, results, strict=True) if v == verdict]
            for job, detail in shown[: args.show]:
                what = job.get("text") or job.get("code") or " ".join(job["argv"])
                bad_examples.append(f"  {name}: {verdict}: {what[:100]!r} -> {detail[:200]}")
    pool.close()
    pairs, lost, failed = _concurrent(max(22, n(22)))
    print()
    print(header)
    for row in rows:
        print(row)
    print(
        f"{'TOTAL':20s} {totals['tried']:6d} {totals['clean']:6d} {totals['ok']:8d} "
        f"{totals['internal']:8d} {totals['hang']:6d} {totals['wrong']:6d}"
    )
    print(
        f"concurrent `tables regenerate --only` pairs: {pairs}, lost updates: {lost}, "
        f"failed runs: {failed}"
    )
    print(
        f"counts: clean errors {totals['clean']}, internal errors {totals['internal']}, "
        f"hangs {totals['hang']}, wrong results accepted {totals['wrong']}, "
        f"lost updates {lost} (inputs {totals['tried'] + 2 * pairs}, "
        f"{time.monotonic() - start:.0f} s)"
    )
    if bad_examples:
        print("\nexamples of bad outcomes:")
        print("\n".join(bad_examples))


if __name__ == "__main__":
    main()
