#!/usr/bin/env python3
"""Summarise bench_eltwise results (Google Benchmark JSON with repetitions) as
a Markdown table: median G elements/s per kernel and ISA, oneDNN side by side.

  OMP_NUM_THREADS=1 build/release/bench/nerve_bench \
      --benchmark_filter='^(act_|softmax|loss_|sgd|adam|sum|dot|memcpy)' \
      --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
      --benchmark_out=eltwise.json --benchmark_out_format=json
  python3 bench/eltwise_table.py eltwise.json
"""
import json
import sys
from collections import OrderedDict


def main(path):
    with open(path) as f:
        data = json.load(f)
    rows = OrderedDict()  # kernel -> {column: G elem/s}
    cols = []
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        # <kernel>/<variant>/<isa> or <kernel>/<isa>[/args] or memcpy
        isas = ("scalar", "avx2", "avx512", "neon", "onednn", "onednn_dst")
        col_i = next((i for i, p in enumerate(parts) if p in isas), None)
        if col_i is None:
            kernel, col = name, "-"
        else:
            col = parts[col_i]
            kernel = "/".join(parts[:col_i] + parts[col_i + 1:])
        if col not in cols:
            cols.append(col)
        rows.setdefault(kernel, {})[col] = b["items_per_second"] / 1e9
    order = [c for c in ("scalar", "avx2", "avx512", "neon", "onednn", "onednn_dst", "-") if c in cols]
    # canonical row order (random interleaving shuffles the file's order)
    acts = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus"]
    prefix = ["act_fwd/" + a for a in acts] + ["act_bwd/" + a for a in acts] + [
        "softmax", "loss_mse", "loss_xent", "sgd", "adam", "sum", "dot", "memcpy"]

    def rank(k):
        for i, p in enumerate(prefix):
            if k == p or k.startswith(p + "/"):
                return (i if p.startswith("act_") else 2 * len(acts) + prefix.index(p), k)
        return (len(prefix), k)
    rows = OrderedDict(sorted(rows.items(), key=lambda kv: rank(kv[0])))
    print("| kernel | " + " | ".join(order) + " |")
    print("|---" * (len(order) + 1) + "|")
    for k, v in rows.items():
        print(f"| {k} | " + " | ".join(f"{v[c]:.2f}" if c in v else "" for c in order) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
