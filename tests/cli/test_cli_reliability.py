#!/usr/bin/env python3
"""End-to-end tests of issue 11 (saves that never destroy, steps that never
lie, inputs that never hang), registered by tests/cli.cmake as
cli_rel_<case>, one ctest test per case.

    test_cli_reliability.py --nerve PATH --source DIR --work DIR CASE

Device nodes and FIFOs are made in the case's own work directory, never a
real /dev path."""

import json
import os
import socket
import stat
import subprocess
import sys

import harness as h
from harness import Failure, check, expect, path, read, run, run_ok


def model(name, epochs="1", extra=()):
    p = path(name)
    run_ok(["train", "--epochs", epochs, "--quiet", "--out", p] + list(extra))
    return p


# ---- 1. --out never replaces a device node, FIFO, socket or directory ----------------------

def case_out_special_files():
    fifo = path("f")
    os.mkfifo(fifo)
    expect(["train", "--epochs", "1", "--out", fifo], 2, "FIFO", timeout=20)
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")
    node = path("n")
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # like /dev/null, but here
    except PermissionError:
        node = None
    if node:
        expect(["train", "--epochs", "1", "--out", node], 2, "device", timeout=20)
        check(stat.S_ISCHR(os.lstat(node).st_mode), "the device node was replaced")
        expect(["train", "--epochs", "1", "--plot", node], 2, "device", timeout=20)
    s = socket.socket(socket.AF_UNIX)
    s.bind(path("s"))
    expect(["train", "--epochs", "1", "--out", path("s")], 2, "socket", timeout=20)
    check(stat.S_ISSOCK(os.lstat(path("s")).st_mode), "the socket was replaced")
    s.close()
    # refused before training: no epoch line, no banner
    rc, out, err = run(["train", "--epochs", "1", "--out", fifo], timeout=20)
    check("epoch" not in out, f"trained before refusing: {out!r}")


def case_out_symlink():
    os.mkdir(path("real"))
    target = path("real/m.nrv")
    model("real/m.nrv")
    old = read(target)
    os.symlink("real/m.nrv", path("link.nrv"))
    run_ok(["train", "--epochs", "2", "--quiet", "--out", path("link.nrv")])
    check(os.path.islink(path("link.nrv")), "the link was replaced by a file")
    check(read(target) != old, "the link's target was not replaced")
    out, _ = run_ok(["eval", "--model", path("link.nrv"), "--json"])
    check(json.loads(out)["accuracy"] > 0.5, out)
    check(sorted(os.listdir(path("real"))) == ["m.nrv"], f"left: {os.listdir(path('real'))}")
    os.symlink("real/missing.nrv", path("dangling"))
    expect(["train", "--epochs", "1", "--out", path("dangling")], 2, "missing")


def case_out_long_name():
    name = "m" * 250 + ".nrv"  # 254 characters: the temporary name must still fit
    run_ok(["train", "--epochs", "1", "--quiet", "--out", path(name)])
    run_ok(["eval", "--model", path(name)])


# ---- 2. a NaN step never reaches the file ---------------------------------------------------

def case_nan_step():
    good = model("good.nrv", "2")
    before = read(good)
    expect(["train", "--resume", good, "--opt", "adam", "--eps", "0", "--batch", "100000",
            "--epochs", "3", "--out", good], 2, "--eps")
    check(read(good) == before, "the good model changed")
    run_ok(["eval", "--model", good])


# ---- 3. FIFOs as inputs are refused at once, `-` reads stdin ------------------------------

def case_fifo_inputs():
    fifo = path("f")
    os.mkfifo(fifo)
    good = model("m.nrv")
    for args in (["train", "--data", fifo], ["train", "--resume", fifo],
                 ["train", "--init", fifo], ["eval", "--model", fifo],
                 ["eval", "--model", good, "--data", fifo],
                 ["predict", "--model", fifo, "--input", fifo],
                 ["predict", "--model", good, "--input", fifo]):
        rc, out, err = run(args + ["--epochs", "1"] if args[0] == "train" else args, timeout=20)
        check(rc == 2, f"nerve {' '.join(args)}: exit {rc}: {err}")
        check("regular file" in err or "FIFO" in err, f"{args}: {err!r}")
    d = path("idx")
    os.mkdir(d)
    for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
              "t10k-labels-idx1-ubyte"):
        os.mkfifo(os.path.join(d, n))
    rc, out, err = run(["train", "--data", d, "--epochs", "1"], timeout=20)
    check(rc == 2 and "regular file" in err, f"idx dir of FIFOs: exit {rc}: {err}")


def case_predict_stdin():
    good = model("m.nrv")
    rows = "\n".join(",".join(str((i * 7 + j) % 17) for j in range(64)) for i in range(5)) + "\n"
    with open(path("in.csv"), "w") as f:
        f.write(rows)
    # raw pixels: the digits model carries its /16 input transform
    want, _ = run_ok(["predict", "--model", good, "--input", path("in.csv")])
    got, _ = run_ok(["predict", "--model", good, "--input", "-"], input=rows)
    check(got == want and len(got.splitlines()) == 5, f"stdin:\n{got}\nfile:\n{want}")
    with open(path("in.csv")) as f:  # /dev/stdin redirected from a regular file
        got2, _ = run_ok(["predict", "--model", good, "--input", "/dev/stdin"], stdin=f)
    check(got2 == want, got2)
    # a pipe through /dev/stdin: refused at once (use -), never a hang
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        rc, out, err = run(["predict", "--model", good, "--input", "/dev/stdin"], stdin=p.stdout,
                           timeout=20)
    finally:
        p.stdin.close()
        p.wait()
    check(rc == 2, f"/dev/stdin as a pipe: exit {rc}: {err}")


# ---- 4. outputs vs classes -------------------------------------------------------------------

def digits_without_class_9():
    import gzip
    with gzip.open(os.path.join(h.SOURCE, "data", "digits.csv.gz"), "rt") as f:
        rows = [line.strip() for line in f if line.strip() and not line.strip().endswith(",9")]
    with open(path("no9.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")
    return path("no9.csv")


def case_outputs_exceed_classes():
    good = model("m.nrv", "3")
    no9 = digits_without_class_9()
    out, _ = run_ok(["eval", "--model", good, "--data", no9, "--val-split", "0", "--json"])
    ev = json.loads(out)
    check(ev["accuracy"] > 0.8 and len(ev["confusion"]) == 10, out)
    run_ok(["train", "--layers", "64,32,11", "--epochs", "1", "--quiet"])
    run_ok(["train", "--init", good, "--data", no9, "--epochs", "1", "--quiet"])
    run_ok(["train", "--resume", good, "--data", no9, "--epochs", "4", "--quiet"])


# ---- 8. stdout write errors ----------------------------------------------------------------

def case_stdout_full():
    if not os.path.exists("/dev/full"):
        return
    good = model("m.nrv")
    for args in (["eval", "--model", good], ["train", "--epochs", "1", "--json"], ["info"],
                 ["eval", "--model", good, "--json"]):
        with open("/dev/full", "w") as full:
            rc, _, err = run(args, stdout=full)
        check(rc == 1, f"nerve {' '.join(args)} > /dev/full: exit {rc}: {err}")
        check("standard output" in err, err)


# ---- 13, 14: SVG of non-UTF-8 names, outputs over the data, huge features ----------------

def case_svg_non_utf8():
    import gzip
    import xml.etree.ElementTree as ET
    with gzip.open(os.path.join(h.SOURCE, "data", "digits.csv.gz"), "rb") as f:
        data = f.read()
    name = os.path.join(os.fsencode(h.WORK), b"d\xff\xfe-\xc3(.csv")  # not UTF-8
    with open(name, "wb") as f:
        f.write(data)
    svg = path("c.svg")
    p = subprocess.run([os.fsencode(h.NERVE), b"train", b"--data", name, b"--epochs", b"1",
                        b"--quiet", b"--plot", os.fsencode(svg)], capture_output=True,
                       timeout=120)
    check(p.returncode == 0, f"exit {p.returncode}: {p.stderr!r}")
    try:
        ET.parse(svg)
    except ET.ParseError as e:
        raise Failure(f"the SVG is malformed: {e}")


def case_out_is_data():
    import gzip
    with gzip.open(os.path.join(h.SOURCE, "data", "digits.csv.gz"), "rb") as f:
        data = f.read()
    csv = path("d.csv")
    with open(csv, "wb") as f:
        f.write(data)
    expect(["train", "--data", csv, "--epochs", "1", "--out", csv], 2, "--data file")
    expect(["train", "--data", csv, "--epochs", "1", "--plot", csv], 2, "--data file")
    expect(["train", "--epochs", "1", "--out", path("x"), "--plot", path("x")], 2, "--out")
    check(read(csv) == data, "the data file changed")


def case_predict_huge_feature():
    # a model without an input transform (the digits CSV, not standardized), so the
    # network sees 3.4e38 itself and its sums overflow
    good = model("m.nrv", "1", ["--data", os.path.join(h.SOURCE, "data", "digits.csv.gz"),
                                "--no-standardize"])
    with open(path("in.csv"), "w") as f:
        f.write(",".join(["3.4e38"] * 64) + "\n")
    rc, out, err = run(["predict", "--model", good, "--input", path("in.csv")])
    check(rc == 1, f"exit {rc}: {out!r} {err!r}")
    check("nan" not in out.lower(), out)
    check("not finite" in err, err)


# ---- 9: the confusion matrix only when it is printed ---------------------------------------

def case_eval_many_classes():
    # 100000 outputs: a 100000 x 100000 matrix would be 80 GB
    big = model("big.nrv", "1", ["--layers", "64,100000", "--val-split", "0.9"])
    out, _ = run_ok(["eval", "--model", big, "--json"])
    ev = json.loads(out)
    check(ev["confusion"] is None and 0 <= ev["accuracy"] <= 1, out[:200])
    out, _ = run_ok(["eval", "--model", big])
    check("accuracy" in out and "not printed" in out, out[:300])


if __name__ == "__main__":
    sys.exit(h.main(globals()))
