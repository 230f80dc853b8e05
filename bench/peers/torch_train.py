#!/usr/bin/env python3
"""PyTorch in bench/peers/run.sh: the peer recipe (peer_common.h) with torch.nn.Linear +
ReLU, CrossEntropyLoss, torch.optim.SGD(lr 0.05, momentum 0.9), He-uniform weights, zero
biases, fp32; bf16 with --bf16 (torch.autocast on the CPU, fp32 master weights).

    torch_train.py DATA_DIR SIZES BATCH EPOCHS THREADS MAX_SECONDS [--bf16]

Prints the same JSON line as the C peers; "kernel" names the BLAS / oneDNN build torch
reports (torch.__config__.show(), and threadpoolctl when it is installed)."""
import json, os, sys, time

import torch


def kernel_info():
    import re
    cfg = torch.__config__.show()
    parts = []
    for label, pat in (("CPU capability", r"CPU capability usage: (\S+)"), ("BLAS_INFO", r"BLAS_INFO=(\w+)"),
                       ("oneDNN", r"MKL-DNN v([\d.]+)")):
        m = re.search(pat, cfg)
        if m:
            parts.append(f"{label} {m.group(1)}")
    # the BLAS library actually mapped into this process
    libs = sorted({l.split()[-1].rsplit("/", 1)[-1] for l in open("/proc/self/maps")
                   if "blas" in l.lower() or "dnnl" in l.lower() or "mkl" in l.lower()})
    parts.append("libraries " + ", ".join(libs))
    try:
        import threadpoolctl
        parts.append("threadpoolctl " + ", ".join(
            f"{p.get('internal_api')} {p.get('version')} {p.get('architecture', '')}".strip()
            for p in threadpoolctl.threadpool_info()))
    except ImportError:
        parts.append("threadpoolctl not installed")
    return "; ".join(parts).replace('"', "'")


def main():
    a = sys.argv[1:]
    bf16 = "--bf16" in a
    a = [x for x in a if x != "--bf16"]
    d, sizes, batch, epochs, threads, max_s = a[0], [int(s) for s in a[1].split("-")], int(a[2]), int(a[3]), int(a[4]), float(a[5])
    torch.set_num_threads(threads)
    name, dim, ntr, nte = open(os.path.join(d, "meta.txt")).read().split()
    dim, ntr, nte = int(dim), int(ntr), int(nte)
    xtr = torch.from_file(os.path.join(d, "train_x.f32"), size=ntr * dim, dtype=torch.float32).view(ntr, dim)
    ytr = torch.from_file(os.path.join(d, "train_y.i32"), size=ntr, dtype=torch.int32).long()
    xte = torch.from_file(os.path.join(d, "test_x.f32"), size=nte * dim, dtype=torch.float32).view(nte, dim)
    yte = torch.from_file(os.path.join(d, "test_y.i32"), size=nte, dtype=torch.int32).long()
    torch.manual_seed(1)
    mods = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.kaiming_uniform_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        mods.append(lin)
        if i + 2 < len(sizes):
            mods.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*mods)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    lossf = torch.nn.CrossEntropyLoss()
    samples, complete = 0, 1
    t0 = time.perf_counter()
    for _ in range(epochs):
        for pos in range(0, ntr - batch + 1, batch):
            xb, yb = xtr[pos:pos + batch], ytr[pos:pos + batch]
            opt.zero_grad(set_to_none=True)
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = lossf(net(xb), yb)
            else:
                loss = lossf(net(xb), yb)
            loss.backward()
            opt.step()
            samples += batch
            if time.perf_counter() - t0 > max_s:
                complete = 0
                break
        if not complete:
            break
    secs = time.perf_counter() - t0
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item() * 100
    print(json.dumps({"system": "pytorch", "precision": "bf16" if bf16 else "fp32", "sizes": a[1],
                      "batch": batch, "threads": threads, "epochs": epochs, "data": name,
                      "samples": samples, "seconds": secs, "samples_per_s": samples / secs if secs else 0,
                      "test_acc": round(acc, 2), "complete": complete,
                      "kernel": f"torch {torch.__version__}; " + kernel_info()}), flush=True)


if __name__ == "__main__":
    main()
