#!/usr/bin/env python3
"""End-to-end tests of the `nerve` executable (registered by tests/cli.cmake,
one ctest test per case).

    test_cli.py --nerve PATH --source DIR --work DIR CASE

Every case runs the built binary as a user would and checks what it prints,
what it writes and its exit status. References are independent of the code
under test: accuracies against fixed bars, JSON and SVG parsed by Python's own
json and xml.etree, the data set's labels read from data/digits.csv.gz by
Python. A case fails with a message and exit status 1."""

import gzip
import json
import math
import os
import pty
import select
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import harness as h
from harness import Failure, check, expect, json_lines, path, run, run_ok

# The bar the issue sets for the default recipe on the embedded digits.
DIGITS_BAR = 0.96
# A smaller bar for the short runs that only check plumbing (3 epochs of the
# default recipe reach about 0.95 on the held-out fifth).
SHORT_BAR = 0.90
SVG_NS = "{http://www.w3.org/2000/svg}"


def digits_rows():
    """The embedded data set's rows, read independently of nerve."""
    with gzip.open(os.path.join(h.SOURCE, "data", "digits.csv.gz"), "rt") as f:
        return [[int(v) for v in line.split(",")] for line in f if line.strip()]


def write_digits_csv(name, with_label=True, limit=None):
    rows = digits_rows()[:limit]
    with open(path(name), "w") as f:
        for r in rows:
            f.write(",".join(str(v) for v in (r if with_label else r[:-1])) + "\n")
    return path(name), [r[-1] for r in rows]


EPOCH_KEYS = {"epoch", "epochs", "lr", "train_loss", "train_acc", "test_split", "test_loss", "test_acc",
              "samples", "samples_per_s", "seconds"}


# ---- cases ----------------------------------------------------------------

def case_help():
    out, _ = run_ok(["--help"])
    for cmd in ("train", "eval", "predict", "info", "selftest"):
        check(cmd in out, f"nerve --help does not list {cmd}")
        o, _ = run_ok([cmd, "--help"])
        check(o.startswith("Usage: nerve " + cmd), f"nerve {cmd} --help: no usage line:\n{o}")
        o2, _ = run_ok(["help", cmd])
        check(o2 == o, f"nerve help {cmd} differs from nerve {cmd} --help")
    out, _ = run_ok(["--version"])
    check(out.startswith("nerve "), f"--version: {out!r}")
    rc, out, err = run([])
    check(rc == 2 and "Usage" in err and out == "", f"no command: exit {rc}, stdout {out!r}")


def case_train_digits():
    """The default recipe reaches the bar on the held-out digits."""
    out, err = run_ok(["train", "--json"])
    objs = json_lines(out)
    check(len(objs) == 20, f"default recipe: {len(objs)} epochs, expected 20")
    acc = objs[-1]["test_acc"]
    check(objs[-1]["test_split"] == "val", f"digits has no test split: {objs[-1]}")
    check(acc >= DIGITS_BAR, f"default recipe on digits: val accuracy {acc} < {DIGITS_BAR}")
    check(objs[-1]["train_loss"] < objs[0]["train_loss"], "training loss did not fall")
    print(f"digits default recipe: val accuracy {acc:.4f}, {objs[-1]['samples_per_s']:.0f} samples/s")


def case_text_output():
    """Human-readable mode: banner, one line per epoch, final line; no
    control characters when stderr is not a terminal."""
    out, err = run_ok(["train", "--epochs", "3"])
    lines = out.splitlines()
    epochs = [l for l in lines if l.startswith("epoch ")]
    check(len(epochs) == 3, f"expected 3 epoch lines:\n{out}")
    for l in epochs:
        for word in ("train loss", "acc", "val loss", "samples/s", " s"):
            check(word in l, f"epoch line lacks '{word}': {l}")
    check(lines[-1].startswith("done: 3 epochs"), f"final line: {lines[-1]}")
    for text, name in ((out, "stdout"), (err, "stderr")):
        bad = [c for c in text if ord(c) < 32 and c != "\n"]
        check(not bad, f"{name} holds control characters {bad[:5]} although it is not a terminal")
    out, err = run_ok(["train", "--epochs", "2", "--quiet"])
    check(len(out.splitlines()) == 1 and out.startswith("done:"), f"--quiet prints:\n{out}")
    check(err == "", f"--quiet stderr: {err!r}")


def case_progress_tty():
    """On a terminal the progress bar is redrawn with carriage returns."""
    master, slave = pty.openpty()
    p = subprocess.Popen([h.NERVE, "train", "--epochs", "2", "--batch", "8"], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    data = b""
    deadline = time.time() + 120
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 1.0)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    out = p.communicate(timeout=60)[0].decode()
    os.close(master)
    check(p.returncode == 0, f"exit {p.returncode}")
    text = data.decode(errors="replace")
    check("\r" in text, f"no progress bar on a terminal; stderr was {text[:300]!r}")
    check("samples/s" in text and "ETA" in text and "loss" in text, f"progress bar fields: {text[:300]!r}")
    check("\r" not in out, "stdout holds carriage returns")


def case_json():
    out, err = run_ok(["train", "--epochs", "3", "--json"])
    objs = json_lines(out)
    check(len(objs) == 3, f"{len(objs)} JSON objects for 3 epochs")
    for i, o in enumerate(objs):
        check(set(o) == EPOCH_KEYS, f"keys {sorted(o)} != {sorted(EPOCH_KEYS)}")
        check(o["epoch"] == i + 1 and o["epochs"] == 3, f"epoch numbering: {o}")
        for k in ("train_loss", "train_acc", "test_loss", "test_acc", "samples_per_s", "seconds"):
            check(isinstance(o[k], (int, float)) and math.isfinite(o[k]), f"{k} = {o[k]!r}")
        check(0 <= o["test_acc"] <= 1 and 0 <= o["train_acc"] <= 1, f"accuracy range: {o}")
        check(o["samples"] == 1438, f"1797 digits minus the held-out fifth (359) is 1438: {o}")
    check(objs[-1]["test_acc"] >= SHORT_BAR, f"3 epochs: val accuracy {objs[-1]['test_acc']}")
    # the default cosine schedule: lr * (1 + cos(pi * e / 3)) / 2 for e = 0, 1, 2
    want = [0.05 * (1 + math.cos(math.pi * e / 3)) / 2 for e in range(3)]
    got = [o["lr"] for o in objs]
    check(all(abs(g - w) <= 1e-6 * w for g, w in zip(got, want)), f"cosine lr {got} != {want}")
    out, _ = run_ok(["train", "--epochs", "2", "--json", "--schedule", "constant", "--lr", "0.03"])
    check(all(abs(o["lr"] - 0.03) < 1e-8 for o in json_lines(out)), "constant schedule")
    # the human-readable lines went to stderr, the JSON only to stdout
    check("data " in err and not any(l.startswith("{") for l in err.splitlines()), f"stderr: {err}")


def case_plot():
    svg = path("curve.svg")
    run_ok(["train", "--epochs", "4", "--plot", svg, "--quiet"])
    try:
        root = ET.parse(svg).getroot()
    except ET.ParseError as e:
        raise Failure(f"{svg} is not well-formed XML: {e}")
    check(root.tag == SVG_NS + "svg", f"root element {root.tag}")
    series = {g.get("data-label"): g for g in root.iter(SVG_NS + "g") if g.get("class") == "series"}
    want = {"train loss", "val loss", "train accuracy", "val accuracy"}
    check(set(series) == want, f"series {sorted(series)} != {sorted(want)}")
    for label, g in series.items():
        lines = g.findall(SVG_NS + "polyline")
        check(len(lines) == 1, f"{label}: {len(lines)} polylines")
        pts = lines[0].get("points").split()
        check(len(pts) == 4, f"{label}: {len(pts)} points for 4 epochs")
        xs = [float(p.split(",")[0]) for p in pts]
        check(xs == sorted(xs) and len(set(xs)) == 4, f"{label}: x not increasing: {xs}")
        check(len(g.findall(SVG_NS + "circle")) == 4, f"{label}: point markers")
    texts = [t.text for t in root.iter(SVG_NS + "text")]
    check("epoch" in texts, "no x axis label")
    for tick in ("1", "2", "3", "4"):
        check(tick in texts, f"no x tick label {tick}: {texts}")
    check(any(t and t.endswith("%") for t in texts), "no percentage tick labels on the accuracy axis")
    check(sum(1 for t in texts if t in want) == 4, "legend entries missing")
    check(sum(1 for g in root.iter(SVG_NS + "g") if g.get("class") == "legend") == 2, "legends")
    # no held-out set: train series only; one epoch: a single point each
    svg1 = path("one.svg")
    run_ok(["train", "--epochs", "1", "--val-split", "0", "--plot", svg1, "--quiet"])
    root = ET.parse(svg1).getroot()
    series = {g.get("data-label"): g for g in root.iter(SVG_NS + "g") if g.get("class") == "series"}
    check(set(series) == {"train loss", "train accuracy"}, f"series without a test set: {sorted(series)}")
    for g in series.values():
        check(len(g.findall(SVG_NS + "circle")) == 1, "one epoch, one point")


def predict_lines(model, csv, extra=()):
    out, _ = run_ok(["predict", "--model", model, "--input", csv] + list(extra))
    return out.splitlines()


def case_resume():
    """2 epochs, saved, resumed to 4 gives the same model as 4 epochs straight
    (weights, optimizer state and shuffling generator are all in the file).
    With a constant learning rate: the cosine schedule depends on --epochs,
    so a 2-epoch run is not the start of a 4-epoch one (checked below; the
    default schedule's split run, --stop-after, and a resume after Ctrl-C
    are test_cli_reliability.py's resume_* cases)."""
    a, b, c = path("a.nrv"), path("b.nrv"), path("c.nrv")
    const = ["--schedule", "constant"]
    full, _ = run_ok(["train", "--epochs", "4", "--json", "--out", a] + const)
    run_ok(["train", "--epochs", "2", "--json", "--out", b] + const)
    resumed, _ = run_ok(["train", "--epochs", "4", "--json", "--resume", b, "--out", c] + const)
    f, r = json_lines(full), json_lines(resumed)
    check([o["epoch"] for o in r] == [3, 4], f"resumed epochs {[o['epoch'] for o in r]}")
    for x, y in zip(f[2:], r):
        for k in ("lr", "train_loss", "train_acc", "test_loss", "test_acc"):
            check(x[k] == y[k], f"epoch {x['epoch']} {k}: straight {x[k]} vs resumed {y[k]}")
    # cosine: the resumed epochs follow the schedule of the new total from
    # the file's base rate (the file keeps 0.05, not the last scheduled rate)
    d, e = path("d.nrv"), path("e.nrv")
    run_ok(["train", "--epochs", "2", "--quiet", "--out", d])
    out, _ = run_ok(["train", "--epochs", "4", "--json", "--resume", d, "--out", e])
    got = [o["lr"] for o in json_lines(out)]
    want = [0.05 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (2, 3)]
    check(all(abs(g - w) <= 1e-6 * w for g, w in zip(got, want)) and len(got) == 2,
          f"resumed cosine lr {got} != {want}")
    csv, _ = write_digits_csv("digits.csv", limit=200)
    check(predict_lines(a, csv) == predict_lines(c, csv),
          "predictions of the resumed model differ from the straight run's")
    # nothing left to do: exits 0 without training
    out, err = run_ok(["train", "--epochs", "4", "--resume", c])
    check("nothing to do" in err, f"resume at the target epoch: {err}")
    # --init: weights only, a fresh run
    out, _ = run_ok(["train", "--epochs", "1", "--json", "--init", a])
    o = json_lines(out)
    check(len(o) == 1 and o[0]["epoch"] == 1 and o[0]["test_acc"] >= SHORT_BAR, f"--init run: {o}")


def case_reproducible():
    """Bit-identical training across thread counts and kernel tables, seen
    through the printed losses (9 significant digits of a float)."""
    base, _ = run_ok(["train", "--epochs", "2", "--json", "--threads", "2"])
    ref = [(o["train_loss"], o["test_loss"], o["test_acc"]) for o in json_lines(base)]
    for extra in (["--threads", "1"], ["--isa", "scalar"], ["--isa", "avx2", "--threads", "1"]):
        out, _ = run_ok(["train", "--epochs", "2", "--json"] + extra)
        got = [(o["train_loss"], o["test_loss"], o["test_acc"]) for o in json_lines(out)]
        check(got == ref, f"{' '.join(extra)}: {got} != {ref}")
    out, _ = run_ok(["train", "--epochs", "2", "--json", "--seed", "7"])
    got = [(o["train_loss"], o["test_loss"], o["test_acc"]) for o in json_lines(out)]
    check(got != ref, "another seed gives the same run")


def case_bf16():
    """--precision bf16: the same model file, byte for byte, for any thread
    count and kernel table (vdpbf16ps where the CPU has it, the emulations
    under --isa avx2 and scalar and NERVE_BF16_KERNEL=emulated); a different
    model from fp32's; it learns;
    --resume keeps the file's precision; a bad value is refused."""
    ref = path("ref.nrv")
    out, err = run_ok(["train", "--epochs", "2", "--precision", "bf16", "--json", "--threads", "2",
                       "--out", ref])
    check("bf16 products" in err, f"the banner does not say bf16:\n{err}")
    check(json_lines(out)[-1]["test_acc"] >= SHORT_BAR - 0.05, f"bf16 does not learn:\n{out}")
    with open(ref, "rb") as f:
        want = f.read()
    # (NERVE_BF16_KERNEL=emulated: the avx512 table's emulation instead of vdpbf16ps)
    for i, (extra, env) in enumerate(((["--threads", "1"], None),
                                      (["--isa", "avx2", "--threads", "3"], None),
                                      (["--isa", "scalar", "--threads", "1"], None),
                                      ([], {"NERVE_BF16_KERNEL": "emulated"}))):
        other = path(f"m{i}.nrv")
        run_ok(["train", "--epochs", "2", "--precision", "bf16", "--quiet", "--out", other] + extra,
               env=env)
        with open(other, "rb") as f:
            check(f.read() == want, f"{' '.join(extra)}: another bf16 model than --threads 2's")
    fp32 = path("fp32.nrv")
    run_ok(["train", "--epochs", "2", "--quiet", "--out", fp32])
    with open(fp32, "rb") as f:
        check(f.read() != want, "fp32 and bf16 give the same model")
    # resumed: still bf16 (the file says so), and the same as 3 epochs straight
    const = ["--schedule", "constant", "--precision", "bf16"]
    a, b, c = path("a.nrv"), path("b.nrv"), path("c.nrv")
    run_ok(["train", "--epochs", "3", "--quiet", "--out", a] + const)
    run_ok(["train", "--epochs", "2", "--quiet", "--out", b] + const)
    out, _ = run_ok(["train", "--epochs", "3", "--resume", b, "--out", c, "--schedule", "constant"])
    check("bf16 products" in out, f"resume lost the precision:\n{out}")
    with open(a, "rb") as f, open(c, "rb") as g:
        check(f.read() == g.read(), "bf16 resumed to 3 epochs differs from 3 epochs straight")
    rc, _, err = run(["train", "--precision", "fp16"])
    check(rc == 2 and "--precision: 'fp16' is not one of fp32, bf16" in err, f"exit {rc}: {err}")
    # the model loads and evaluates like any other
    out, _ = run_ok(["eval", "--model", ref])
    check("accuracy" in out, out)


def case_predict_eval():
    model = path("m.nrv")
    out, _ = run_ok(["train", "--epochs", "6", "--json", "--out", model])
    last = json_lines(out)[-1]
    labelled, labels = write_digits_csv("labelled.csv")
    bare, _ = write_digits_csv("bare.csv", with_label=False)
    lines = predict_lines(model, labelled)  # raw pixels: the model divides by 16
    check(len(lines) == len(labels), f"{len(lines)} predictions for {len(labels)} rows")
    correct = 0
    for line, y in zip(lines, labels):
        f = line.split(",")
        check(len(f) == 11, f"expected class + 10 probabilities: {line}")
        p = [float(v) for v in f[1:]]
        check(abs(sum(p) - 1) < 1e-4, f"probabilities sum to {sum(p)}: {line}")
        check(int(f[0]) == max(range(10), key=lambda j: p[j]), f"class is not the most probable: {line}")
        correct += int(f[0]) == y
    check(correct / len(labels) >= SHORT_BAR, f"predict accuracy on all digits {correct / len(labels)}")
    check(predict_lines(model, bare) == lines,
          "rows without the label column predict differently")
    # eval on the held-out part agrees with train's last report
    out, _ = run_ok(["eval", "--model", model, "--json"])
    ev = json.loads(out)
    check(ev["n"] == 359, f"eval n {ev['n']}: the held-out fifth of 1797 is 359")
    check(ev["accuracy"] == last["test_acc"], f"eval accuracy {ev['accuracy']} vs train {last['test_acc']}")
    check(abs(ev["loss"] - last["test_loss"]) <= 1e-6 * max(1, abs(last["test_loss"])),
          f"eval loss {ev['loss']} vs train {last['test_loss']}")
    m = ev["confusion"]
    check(len(m) == 10 and all(len(r) == 10 for r in m), "confusion matrix shape")
    check(sum(map(sum, m)) == 359, "confusion matrix total")
    check(abs(sum(m[i][i] for i in range(10)) / 359 - ev["accuracy"]) < 1e-9, "trace / n != accuracy")
    out, _ = run_ok(["eval", "--model", model])
    check("accuracy" in out and "confusion matrix" in out and "recall" in out, f"eval text:\n{out}")
    # every sample of a CSV file (a CSV has no test split: --val-split 0)
    out, _ = run_ok(["eval", "--model", model, "--data", labelled, "--val-split", "0", "--json"])
    check(json.loads(out)["n"] == 1797, "eval of a whole CSV file")


def case_regression_and_mse():
    """--loss mse on classes (one-hot targets) and CSV regression (--targets)."""
    out, _ = run_ok(["train", "--epochs", "8", "--loss", "mse", "--json"])
    o = json_lines(out)
    check(o[-1]["test_acc"] >= SHORT_BAR, f"mse on one-hot digits: {o[-1]}")
    # y = 2 x0 - x1 + 0.5 on a grid: learnable by a linear model
    csv = path("reg.csv")
    with open(csv, "w") as f:
        f.write("x0,x1,y\n")
        for i in range(400):
            x0, x1 = (i % 20) / 10 - 1, (i // 20) / 10 - 1
            f.write(f"{x0},{x1},{2 * x0 - x1 + 0.5}\n")
    model = path("reg.nrv")
    out, _ = run_ok(["train", "--data", csv, "--targets", "1", "--hidden", "none", "--epochs", "60",
                     "--batch", "16", "--lr", "0.05", "--json", "--out", model])
    o = json_lines(out)
    check(o[-1]["test_acc"] is None and o[-1]["train_acc"] is None, "regression has no accuracy")
    check(o[-1]["test_loss"] < 1e-3, f"linear regression did not fit: {o[-1]}")
    lines = predict_lines(model, csv)
    check(len(lines) == 400, f"{len(lines)} regression predictions")
    check(abs(float(lines[0]) - (2 * -1 - (-1) + 0.5)) < 0.1, f"prediction {lines[0]}")
    # divergence (targets in the tens of thousands, unstandardized, SGD at lr 10): exit 1, one line
    big = path("big.csv")
    with open(big, "w") as f:
        for i in range(100):
            f.write(f"{i},{i * 1000}\n")
    rc, out, err = run(["train", "--data", big, "--targets", "1", "--no-standardize", "--opt", "sgd",
                        "--lr", "10", "--schedule", "constant",
                        "--quiet", "--out", path("never.nrv")])
    check(rc == 1 and len(err.splitlines()) == 1 and "diverged" in err, f"divergence: exit {rc}, {err!r}")
    check(not os.path.exists(path("never.nrv")), "a diverged model was saved")


def case_options():
    """Every optimizer and the network options train (2 epochs on digits)."""
    variants = [
        ["--nesterov"],
        ["--weight-decay", "1e-4"],
        ["--opt", "adam"],
        ["--opt", "adamw", "--weight-decay", "0.05", "--beta1", "0.85", "--beta2", "0.99", "--eps", "1e-7"],
        ["--act", "tanh"],
        ["--act", "gelu,silu,identity"],
        ["--act", "elu,leaky_relu"],
        ["--hidden", "32"],
        ["--layers", "64,48,10"],
        ["--no-shuffle"],
        ["--batch", "16"],
        ["--val-split", "0"],
    ]
    for v in variants:
        out, _ = run_ok(["train", "--epochs", "2", "--json"] + v)
        o = json_lines(out)
        check(len(o) == 2, f"{v}: {len(o)} epochs")
        acc = o[-1]["test_acc"] if o[-1]["test_acc"] is not None else o[-1]["train_acc"]
        # chance is 0.1; two epochs of any of these reach well above 0.5
        check(acc >= 0.5, f"{' '.join(v)}: accuracy {acc}")
        if v == ["--val-split", "0"]:
            check(o[-1]["test_split"] == "none" and o[-1]["samples"] == 1797, f"--val-split 0: {o[-1]}")
    a, _ = run_ok(["train", "--epochs", "1", "--json", "--no-shuffle"])
    b, _ = run_ok(["train", "--epochs", "1", "--json"])
    check(json_lines(a)[0]["train_loss"] != json_lines(b)[0]["train_loss"], "--no-shuffle changes nothing")


def write_idx(name, arr_shape, data, magic_type=0x08):
    import struct
    with gzip.open(path(name), "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, magic_type, len(arr_shape)))
        for d in arr_shape:
            f.write(struct.pack(">I", d))
        f.write(bytes(data))


def case_idx_dir():
    """A directory of IDX files (the MNIST layout) has its own test split;
    --val-split then holds out part of the training set instead."""
    os.makedirs(path("idx"))
    # 4x4 images of 3 classes: a bright row 0, 1 or 2 over noise
    def make(n, seed):
        imgs, labels = [], []
        s = seed
        for i in range(n):
            c = i % 3
            for r in range(4):
                for col in range(4):
                    s = (s * 1103515245 + 12345) % 2**31
                    imgs.append(200 + s % 50 if r == c else s % 60)
            labels.append(c)
        return imgs, labels
    for prefix, n, seed in (("train", 300, 1), ("t10k", 60, 2)):
        imgs, labels = make(n, seed)
        write_idx(f"idx/{prefix}-images-idx3-ubyte.gz", (n, 4, 4), imgs)
        write_idx(f"idx/{prefix}-labels-idx1-ubyte.gz", (n,), labels)
    out, err = run_ok(["train", "--data", path("idx"), "--epochs", "5", "--json"])
    o = json_lines(out)
    check(o[-1]["test_split"] == "test" and o[-1]["samples"] == 300, f"IDX directory: {o[-1]}")
    check(o[-1]["test_acc"] >= 0.9, f"separable IDX data: {o[-1]}")
    out, err = run_ok(["train", "--data", path("idx"), "--epochs", "1", "--json", "--val-split", "0.2"])
    o = json_lines(out)
    check(o[-1]["test_split"] == "val" and o[-1]["samples"] == 240, f"--val-split on IDX: {o[-1]}")
    check("instead of" in err, f"no note that the test set is replaced: {err}")


def expect_usage_error(args, what, must_contain=None):
    expect(args, 2, must_contain, what=what, timeout=120)


def case_bad_input():
    d = h.WORK
    bad_csv = path("bad.csv")
    with open(bad_csv, "w") as f:
        f.write("1,2,0\n3,x,1\n")
    ragged = path("ragged.csv")
    with open(ragged, "w") as f:
        f.write("1,2,0\n3,4,5,1\n")
    garbage = path("garbage.nrv")
    with open(garbage, "wb") as f:
        f.write(os.urandom(300))
    empty = path("empty.csv")
    open(empty, "w").close()
    good = path("good.nrv")
    run_ok(["train", "--epochs", "1", "--quiet", "--out", good])
    wrong_width, _ = write_digits_csv("w.csv", limit=5)
    cols3 = path("cols3.csv")  # 2 features and a label, 10 rows
    with open(cols3, "w") as f:
        f.write("1,2,3\n" * 10)
    # unreadable: mode 000 stops a normal user; root reads anything, so use a
    # file whose read() fails (/proc/self/mem at offset 0 is not mapped: EIO)
    unreadable = path("unreadable.csv")
    with open(unreadable, "w") as f:
        f.write("1,2,0\n")
    os.chmod(unreadable, 0)
    if os.geteuid() == 0:
        unreadable = "/proc/self/mem"
    cases = [
        (["frobnicate"], "unknown command", "unknown command"),
        (["train", "--bogus"], "unknown option", "--bogus"),
        (["train", "extra"], "stray argument", "extra"),
        (["train", "--lr"], "missing value", "--lr"),
        (["train", "--quiet=1"], "value on a flag", "--quiet"),
        (["train", "--lr", "abc"], "--lr abc", "--lr"),
        (["train", "--lr", "1e999"], "--lr overflow", "--lr"),
        (["train", "--lr", "-0.1"], "--lr negative", "--lr"),
        (["train", "--batch", "0"], "--batch 0", "--batch"),
        (["train", "--batch", "3.5"], "--batch 3.5", "--batch"),
        (["train", "--epochs", "-1"], "--epochs -1", "--epochs"),
        (["train", "--epochs", "99999999999999999999999"], "--epochs huge", "--epochs"),
        (["train", "--seed", "x"], "--seed x", "--seed"),
        (["train", "--val-split", "1.5"], "--val-split 1.5", "--val-split"),
        (["train", "--threads", "0"], "--threads 0", "--threads"),
        (["train", "--momentum", "2"], "--momentum 2", "--momentum"),
        (["train", "--act", "bogus"], "--act bogus", "bogus"),
        (["train", "--act", "relu,tanh,relu,relu,relu"], "--act count", "--act"),
        (["train", "--opt", "bogus"], "--opt bogus", "--opt"),
        (["train", "--schedule", "step"], "--schedule step", "--schedule"),
        (["train", "--stop-after", "0"], "--stop-after 0", "--stop-after"),
        (["train", "--stop-after", "1", "--early-stop", "2"], "--stop-after with --early-stop",
         "--stop-after"),
        (["train", "--loss", "bogus"], "--loss bogus", "--loss"),
        (["train", "--isa", "sse9"], "--isa sse9", "--isa"),
        (["train", "--layers", "100,10"], "--layers vs 64 features", "64"),
        (["train", "--layers", "64,32,5"], "--layers vs 10 classes", "10 classes"),
        (["train", "--layers", "64,,10"], "--layers syntax", "--layers"),
        (["train", "--layers", "64,10", "--hidden", "5"], "--layers and --hidden", "--hidden"),
        (["train", "--hidden", "0"], "--hidden 0", "--hidden"),
        (["train", "--opt", "adam", "--momentum", "0.9"], "momentum with adam", "--momentum"),
        (["train", "--beta1", "0.9"], "beta1 with sgd", "--beta1"),
        (["train", "--nesterov", "--momentum", "0"], "nesterov without momentum", "--nesterov"),
        (["train", "--loss", "xent", "--data", path("reg2.csv"), "--targets", "1"], "missing regression file", "reg2.csv"),
        (["train", "--data", "/nonexistent/x.csv"], "missing data file", "/nonexistent/x.csv"),
        (["train", "--data", unreadable], "unreadable data file", None),
        (["train", "--data", bad_csv], "malformed CSV", "line 2"),
        (["train", "--data", ragged], "ragged CSV", "line 2"),
        (["train", "--data", empty], "empty CSV", None),
        (["train", "--out", "/nonexistent/dir/m.nrv"], "unwritable --out", "/nonexistent/dir"),
        (["train", "--plot", d], "--plot is a directory", "directory"),
        (["train", "--resume", "/nonexistent.nrv"], "missing --resume", "/nonexistent.nrv"),
        (["train", "--resume", garbage], "damaged --resume", "--resume"),
        (["train", "--resume", good, "--layers", "64,10"], "--resume with --layers", "--layers"),
        (["train", "--init", good, "--resume", good], "--init with --resume", "--init"),
        (["train", "--init", good, "--data", cols3], "--init vs data width", "features"),
        (["eval"], "eval without --model", "--model"),
        (["eval", "--model", "/nonexistent.nrv"], "eval missing model", "/nonexistent.nrv"),
        (["eval", "--model", garbage], "eval damaged model", "--model"),
        (["eval", "--model", d], "eval model is a directory", "directory"),
        (["eval", "--model", good, "--data", cols3, "--val-split", "0"], "eval width mismatch", "features"),
        (["predict", "--model", good], "predict without --input", "--input"),
        (["predict", "--model", good, "--input", cols3], "predict column count", "columns"),
        (["predict", "--model", good, "--input", bad_csv], "predict malformed CSV", "line 2"),
        (["predict", "--model", good, "--input", "/nonexistent.csv"], "predict missing input", None),
        (["predict", "--model", good, "--input", wrong_width, "--scale", "0"], "--scale 0", "--scale"),
        (["info", "--bogus"], "info unknown option", "--bogus"),
        (["selftest", "--bogus"], "selftest unknown option", "--bogus"),
    ]
    failures = []
    for args, what, needle in cases:
        try:
            expect_usage_error(args, what, needle)
        except Failure as e:
            failures.append(str(e))
    check(not failures, f"{len(failures)} of {len(cases)} bad-input cases failed:\n" + "\n".join(failures))
    print(f"{len(cases)} bad-input cases exit 2 with one line")


def case_sigint():
    """Ctrl-C: stop after the current minibatch, save, exit 130."""
    model = path("int.nrv")
    rc, out, err = h.interrupt(["train", "--epochs", "100000", "--batch", "16", "--out", model])
    check(rc == 130, f"exit {rc} after SIGINT, expected 130\n{err}")
    check("interrupted" in err, f"stderr does not say interrupted: {err!r}")
    check("model saved to" in out, f"final line does not name the model:\n{out}")
    check(os.path.exists(model), "the model was not saved")
    out, _ = run_ok(["eval", "--model", model, "--json"])
    # chance is 0.1; one epoch and a bit of the next reach about 0.85
    check(json.loads(out)["accuracy"] >= 0.5, "the saved model does not work")
    # it resumes from where it stopped
    out, _ = run_ok(["train", "--resume", model, "--epochs", "1", "--quiet"])


def case_info():
    out, _ = run_ok(["info"])
    for word in ("nerve", "cpu", "features", "scalar", "avx2", "avx512", "neon", "in use", "bf16",
                 "threads"):
        check(word in out, f"info lacks {word!r}:\n{out}")
    out, _ = run_ok(["info", "--isa", "scalar"])
    check("scalar (capped" in out or "in use    scalar" in out, f"info --isa scalar:\n{out}")
    out, _ = run_ok(["info", "--threads", "1"])
    check("1 OpenMP threads" in out, f"info --threads 1:\n{out}")


def case_selftest():
    out, err = run_ok(["selftest"], timeout=600)
    check("FAIL" not in out, f"selftest reports a failure:\n{out}")
    check("pass" in out.lower(), f"selftest prints no results:\n{out}")


if __name__ == "__main__":
    # The tests set their own threads/ISA where it matters; the environment's
    # NERVE_MAX_ISA (scripts/test.sh stage 2) applies to the rest.
    sys.exit(h.main(globals()))
