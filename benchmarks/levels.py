"""mlp at each kernel level this machine can run, against the NumPy reference: bench.py once
per level (``MLP_KERNELS=generic``, ``avx2``, ``avx512``, as far as the CPU goes), each
run measuring mlp and NumPy together, then one table with a column group per level.

Run from the repository root as::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/levels.py

(the ``env -u`` lets OpenBLAS pick its own kernel; see benchmarks/README.md). Arguments
after ``--`` go to every bench.py run (default: ``--only mlp,numpy --threads 1``)::

    python benchmarks/levels.py --markdown out.md -- --only mlp,numpy --threads 1 --quick

The kernel level is read at ``import mlp``, so each level needs its own process; every
ratio is mlp over the NumPy reference measured in the same bench.py run, so ratios from
different columns can be compared even though the runs are minutes apart. The level each
run actually used is checked (``mlp.kernel_level()`` under the same environment).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
LEVELS = ("generic", "avx2", "avx512")
DEFAULT_BENCH_ARGS = ["--only", "mlp,numpy", "--threads", "1"]


def level_in_use(env: dict[str, str]) -> str:
    """mlp.kernel_level() in a fresh interpreter under env."""
    out = subprocess.run([sys.executable, "-W", "ignore", "-c",
                          "import mlp; print(mlp.kernel_level())"],
                         env=env, check=True, capture_output=True, text=True)
    return out.stdout.strip()


def run_levels(bench_args: list[str]) -> dict[str, dict]:
    """{level: bench.py's JSON} for every level up to the best this machine runs."""
    best = level_in_use({k: v for k, v in os.environ.items() if k != "MLP_KERNELS"})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for level in LEVELS[:LEVELS.index(best) + 1]:
            env = dict(os.environ, MLP_KERNELS=level)
            if level_in_use(env) != level:
                raise SystemExit(f"MLP_KERNELS={level} did not select that level")
            out = Path(tmp) / f"{level}.json"
            print(f"== MLP_KERNELS={level}", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, str(HERE / "bench.py"), *bench_args,
                            "--json", str(out)], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            results[level] = json.loads(out.read_text())
    return results


def markdown(results: dict[str, dict]) -> str:
    levels = list(results)
    first = results[levels[0]]
    lines = ["# mlp at each kernel level", "",
             f"{first['started']} · {first['machine'].get('cpu', '')} · "
             f"mlp commit {first['mlp_source'].get('commit', '?')}", "",
             "Training samples/s of one epoch (best of the runs bench.py makes); mlp/numpy "
             "is over the NumPy reference of the same run; % is of that run's 2048² "
             "dgemm rate.", ""]
    head = "| problem | sizes | batch | threads |"
    rule = "|---|---|---|--:|"
    for level in levels:
        head += f" MLP_KERNELS={level} | mlp/numpy | % of dgemm |"
        rule += "--:|--:|--:|"
    lines += [head, rule]
    for i, row in enumerate(first["training"]):
        line = (f"| {row['problem']} | {'-'.join(map(str, row['sizes']))} | "
                f"{row['batch']} | {row['threads']} |")
        for level in levels:
            cell = results[level]["training"][i]
            mlp = cell["results"].get("mlp", {})
            ratio, pct = cell.get("mlp_over_numpy"), cell.get("mlp_pct_of_dgemm")
            line += (f" {mlp.get('samples_per_s', 0):,.0f} | "
                     f"{'–' if ratio is None else f'{ratio:.2f}'} | "
                     f"{'–' if pct is None else f'{pct:.1f}%'} |")
        lines.append(line)
    lines += ["", "Prediction, [784, 100, 10], 10,000 rows: samples/s, mlp/numpy, and the "
              "single-sample latency in µs:", "",
              "| threads |" + "".join(f" MLP_KERNELS={lv} | mlp/numpy | latency |"
                                      for lv in levels),
              "|--:|" + "--:|--:|--:|" * len(levels)]
    for i, row in enumerate(first["prediction"]):
        line = f"| {row['threads']} |"
        for level in levels:
            p = results[level]["prediction"][i]
            line += (f" {p['mlp_samples_per_s']:,.0f} | {p['mlp_over_numpy']:.2f} | "
                     f"{p['mlp_latency_us']:.1f} |")
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, bench_args = (argv[:argv.index("--")], argv[argv.index("--") + 1:]) \
        if "--" in argv else (argv, DEFAULT_BENCH_ARGS)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--markdown", help="also write the report here")
    args = p.parse_args(own)
    report = markdown(run_levels(bench_args))
    print(report, end="")
    if args.markdown:
        Path(args.markdown).write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
