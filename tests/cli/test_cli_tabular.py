#!/usr/bin/env python3
"""End-to-end tests of tabular data in the `nerve` tool (issue 14): the
preprocessing a model carries, text labels, regression in the targets' units,
early stopping, clear refusals, and the nerve 0.1 model files of tests/models/.
Registered by tests/cli.cmake, one ctest test per case:

    test_cli_tabular.py --nerve PATH --source DIR --work DIR CASE

The data sets are generated here with Python's own seeded generator (features
of very different scales, text class labels, a regression target with a large
offset); every bar is fixed in this file, independent of the code under test."""

import json
import math
import os
import random
import sys

import harness as h
from harness import check, expect, json_lines, path, run, run_ok

# Bars: a separable 3-class set with 13 features (scales 0.1 to ~1600) and a
# 2-class set with 30; a regression with 13 features and a target near 25000.
CLASS_BAR = 0.90
R2_BAR = 0.90


def refused(args, want):
    """A refusal: exit 2, one line on stderr containing `want`, nothing on stdout."""
    expect(args, 2, want)


# ---- generated data --------------------------------------------------------

def classification(name, n, nf, classes, seed, label_first=False, label_name="label",
                   spread=1.0):
    """Gaussian clusters in a standardized space, then every feature given its
    own scale (0.1 to ~1600) and offset: raw features of very different sizes."""
    r = random.Random(seed)
    scales = [10 ** (-1 + 4.2 * j / (nf - 1)) for j in range(nf)]
    offsets = [r.uniform(-3, 3) * s for s in scales]
    centers = [[r.gauss(0, spread) for _ in range(nf)] for _ in classes]
    rows = []
    for i in range(n):
        c = i % len(classes)
        x = [offsets[j] + scales[j] * (centers[c][j] + r.gauss(0, 1)) for j in range(nf)]
        rows.append((x, classes[c]))
    r.shuffle(rows)
    with open(path(name), "w") as f:
        head = ["f%d" % j for j in range(nf)]
        f.write(",".join([label_name] + head if label_first else head + [label_name]) + "\n")
        for x, c in rows:
            xs = ["%.7g" % v for v in x]
            f.write(",".join([c] + xs if label_first else xs + [c]) + "\n")
    return path(name), rows


def regression(name, n, nf, seed):
    """y = 25000 + 3000 * (a linear part + a little interaction) + noise;
    feature j has scale 10^(-1 + 4j / (nf - 1)) and offset 5 times it."""
    r = random.Random(seed)
    scales = [10 ** (-1 + 4 * j / (nf - 1)) for j in range(nf)]
    w = [r.gauss(0, 1) for _ in range(nf)]
    rows = []
    for _ in range(n):
        z = [r.gauss(0, 1) for _ in range(nf)]
        y = 25000 + 3000 * (sum(wj * zj for wj, zj in zip(w, z)) / 3 + 0.5 * math.tanh(z[0] * z[1]))
        y += r.gauss(0, 300)
        rows.append(([scales[j] * (z[j] + 5) for j in range(nf)], y))
    with open(path(name), "w") as f:
        f.write(",".join(["x%d" % j for j in range(nf)] + ["price"]) + "\n")
        for x, y in rows:
            f.write(",".join("%.7g" % v for v in x) + ",%.2f\n" % y)
    return path(name), rows


def write_rows(name, rows, header=None):
    with open(path(name), "w") as f:
        if header:
            f.write(header + "\n")
        for x in rows:
            f.write(",".join("%.7g" % v for v in x) + "\n")
    return path(name)


# ---- cases -------------------------------------------------------------------

def case_tabular_classes():
    """Text labels and features of mixed scales: the defaults learn them, the
    model stores the names and the standardization, predict takes raw rows."""
    classes = ["setosa", "versicolor", "virginica"]
    data, rows = classification("iris.csv", 450, 13, classes, 1)
    model = path("iris.nrv")
    out, _ = run_ok(["train", "--data", data, "--out", model, "--json"])
    last = json_lines(out)[-1]
    check(last["test_acc"] >= CLASS_BAR, f"val accuracy {last['test_acc']} < {CLASS_BAR}")
    # the banner says what was stored
    out, _ = run_ok(["train", "--data", data, "--epochs", "1"])
    check("13 features standardized on the 360 training samples" in out, f"banner:\n{out}")
    # raw features in, names out
    feats = write_rows("iris_features.csv", [x for x, _ in rows],
                       header=",".join("f%d" % j for j in range(13)))
    out, _ = run_ok(["predict", "--model", model, "--input", feats])
    lines = out.strip().split("\n")
    check(len(lines) == len(rows), f"{len(lines)} predictions for {len(rows)} rows")
    correct = 0
    for line, (_, c) in zip(lines, rows):
        f = line.split(",")
        check(f[0] in classes and len(f) == 4, f"prediction line {line!r}")
        correct += f[0] == c
    check(correct / len(rows) >= CLASS_BAR, f"predict accuracy {correct / len(rows)}")
    # the label column present (and ignored) gives the same predictions
    out2, _ = run_ok(["predict", "--model", model, "--input", data])
    check(out2 == out, "rows with their label predict differently")
    # eval: the same held-out part, the same numbers as train's last epoch
    ev = json.loads(run_ok(["eval", "--model", model, "--data", data, "--json"])[0])
    check(ev["accuracy"] == last["test_acc"] and ev["n"] == 90, f"eval {ev} vs train {last}")
    check(abs(ev["loss"] - last["test_loss"]) <= 1e-6 * max(1.0, last["test_loss"]),
          f"eval loss {ev['loss']} vs train {last['test_loss']}")
    # 30 features, two classes
    data2, _ = classification("cancer.csv", 570, 30, ["benign", "malignant"], 2, spread=0.5)
    last = json_lines(run_ok(["train", "--data", data2, "--json"])[0])[-1]
    check(last["test_acc"] >= CLASS_BAR, f"30-feature val accuracy {last['test_acc']}")


def case_standardization_matters():
    """The same data without standardization does worse (or diverges): the
    default is what makes it work; the statistics come from the training part."""
    data, _ = classification("iris.csv", 450, 13, ["a", "b", "c"], 1)
    last = json_lines(run_ok(["train", "--data", data, "--json"])[0])[-1]
    rc, out, err = run(["train", "--data", data, "--json", "--no-standardize"])
    if rc == 0:
        raw = json_lines(out)[-1]
        check(raw["test_acc"] < last["test_acc"], f"no-standardize {raw} vs default {last}")
    else:
        check(rc == 1 and "diverged" in err, f"--no-standardize: exit {rc}: {err}")
    # fitted on the training part only: a held-out row (found with the split
    # that docs/data.md specifies) can change without changing the model; a
    # training row cannot
    lines = [l for l in open(data).read().split("\n") if l]
    header, body = lines[0], lines[1:]
    held = held_out(len(body), 0.2, 1)
    a = path("a.nrv")
    run_ok(["train", "--data", data, "--epochs", "2", "--out", a])
    for i, same in ((sorted(held)[0], True), (min(set(range(len(body))) - held), False)):
        changed = list(body)
        changed[i] = ",".join(["1e6"] * 13 + [body[i].split(",")[-1]])
        with open(path("changed.csv"), "w") as f:
            f.write("\n".join([header] + changed) + "\n")
        b = path("b.nrv")
        run_ok(["train", "--data", path("changed.csv"), "--epochs", "2", "--out", b])
        check((open(a, "rb").read() == open(b, "rb").read()) == same,
              f"row {i} ({'held out' if same else 'training'}) changed: model "
              f"{'differs' if same else 'unchanged'}")


def held_out(n, fraction, seed):
    """The rows nerve_data_split holds out (docs/data.md, "Splits"):
    Fisher-Yates from the top driven by splitmix64, unbiased by rejection."""
    mask = (1 << 64) - 1
    state = [seed]

    def splitmix():
        state[0] = (state[0] + 0x9E3779B97F4A7C15) & mask
        z = state[0]
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    order = list(range(n))
    for i in range(n - 1, 0, -1):
        bound = i + 1
        threshold = (1 << 64) % bound
        while True:
            r = splitmix()
            if r >= threshold:
                break
        j = r % bound
        order[i], order[j] = order[j], order[i]
    return set(order[:int(math.floor(fraction * n))])


def case_label_col():
    """The label column by number or header name gives the same model as the
    same data with the label last."""
    last_col, _ = classification("last.csv", 300, 5, ["x", "y"], 4)
    first_col, _ = classification("first.csv", 300, 5, ["x", "y"], 4, label_first=True,
                                  label_name="species")
    m0, m1, m2 = path("m0.nrv"), path("m1.nrv"), path("m2.nrv")
    run_ok(["train", "--data", last_col, "--epochs", "3", "--out", m0])
    run_ok(["train", "--data", first_col, "--epochs", "3", "--out", m1, "--label-col", "species"])
    run_ok(["train", "--data", first_col, "--epochs", "3", "--out", m2, "--label-col", "1"])
    b0 = open(m0, "rb").read()
    check(b0 == open(m1, "rb").read(), "--label-col species: a different model")
    check(b0 == open(m2, "rb").read(), "--label-col 1: a different model")
    check(b0[8] == 2, "a model with preprocessing is a format 2 file")
    refused(["train", "--data", first_col, "--label-col", "kind"], 'no column named "kind"')
    # predict: drop the named column
    out0, _ = run_ok(["predict", "--model", m0, "--input", last_col])
    out1, _ = run_ok(["predict", "--model", m1, "--input", first_col, "--label-col", "species"])
    check(out0 == out1, "predict --label-col: different predictions")


def case_tabular_regression():
    """A regression with a large target offset trains with the defaults;
    eval reports RMSE, MAE and R^2 in the targets' units; predict prints
    targets in their units."""
    data, rows = regression("housing.csv", 500, 13, 3)
    model = path("h.nrv")
    out, _ = run_ok(["train", "--data", data, "--targets", "1", "--out", model, "--json"])
    o = json_lines(out)
    check(all(math.isfinite(e["train_loss"]) for e in o), "a non-finite training loss")
    ev = json.loads(run_ok(["eval", "--model", model, "--data", data, "--json"])[0])
    ys = [y for _, y in rows]
    mean = sum(ys) / len(ys)
    sd = math.sqrt(sum((y - mean) ** 2 for y in ys) / len(ys))
    check(ev["r2"] >= R2_BAR, f"R^2 {ev['r2']} < {R2_BAR}")
    check(0 < ev["mae"] <= ev["rmse"] < 0.35 * sd, f"rmse {ev['rmse']} mae {ev['mae']} sd {sd}")
    check(ev["accuracy"] is None, "a regression has no accuracy")
    text, _ = run_ok(["eval", "--model", model, "--data", data])
    for word in ("rmse", "mae", "r2"):
        check(word in text, f"eval text lacks {word}:\n{text}")
    # --targets is not needed for a regression model
    ev2 = json.loads(run_ok(["eval", "--model", model, "--data", data, "--targets", "1",
                             "--json"])[0])
    check(ev2 == ev, "eval with and without --targets differ")
    # predictions in the targets' units, R^2 recomputed here from predict
    out, _ = run_ok(["predict", "--model", model, "--input", data])
    pred = [float(l) for l in out.split()]
    check(len(pred) == len(ys), "one prediction per row")
    res = sum((p - y) ** 2 for p, y in zip(pred, ys))
    tot = sum((y - mean) ** 2 for y in ys)
    check(1 - res / tot >= R2_BAR, f"R^2 of predict over every row {1 - res / tot}")
    check(abs(sum(pred) / len(pred) - mean) < 0.1 * sd, "predictions not in the targets' units")
    # the 0.1 recipe (SGD 0.05, no standardization) diverged on such data
    rc, _, err = run(["train", "--data", data, "--targets", "1", "--no-standardize", "--opt",
                      "sgd", "--lr", "0.05", "--batch", "64", "--epochs", "3"])
    check(rc == 1 and "diverged" in err, f"unstandardized SGD: exit {rc} {err}")


def case_early_stop():
    """--early-stop stops, and --out holds the best epoch's weights."""
    data, _ = regression("housing.csv", 300, 13, 5)
    model = path("e.nrv")
    out, err = run_ok(["train", "--data", data, "--targets", "1", "--epochs", "300",
                       "--early-stop", "4", "--out", model, "--json"])
    o = json_lines(out)
    check(len(o) < 300, "no early stop within 300 epochs")
    losses = [e["test_loss"] for e in o]
    best = min(range(len(losses)), key=lambda i: (losses[i], i))
    check(len(o) - 1 - best == 4, f"stopped {len(o) - 1 - best} epochs after the best, not 4")
    check(f"at epoch {best + 1} (weights kept)" in err, f"final line:\n{err}")
    # the saved model is the best epoch's: its eval loss is the best val loss
    ev = json.loads(run_ok(["eval", "--model", model, "--data", data, "--json"])[0])
    check(abs(ev["loss"] - losses[best]) <= 1e-6 * max(1.0, losses[best]),
          f"eval loss {ev['loss']} vs best {losses[best]}")
    check(open(model, "rb").read()[12] & 1 == 0, "saved with training state")
    refused(["train", "--data", data, "--targets", "1", "--val-split", "0", "--early-stop", "3"],
            "--early-stop needs a validation part")


def case_refusals():
    """One line, exit 2, nothing written."""
    classes = ["setosa", "versicolor", "virginica"]
    data, rows = classification("iris.csv", 300, 13, classes, 1)
    model = path("c.nrv")
    run_ok(["train", "--data", data, "--epochs", "2", "--out", model])
    reg, _ = regression("housing.csv", 200, 13, 3)
    rmodel = path("r.nrv")
    run_ok(["train", "--data", reg, "--targets", "1", "--epochs", "2", "--out", rmodel])
    # feature count
    few = write_rows("few.csv", [x[:10] for x, _ in rows[:5]])
    refused(["predict", "--model", model, "--input", few], "the model takes 13 features")
    refused(["eval", "--model", model, "--data", few], "features")
    # a class label the model never saw
    with open(path("daisy.csv"), "w") as f:
        f.write(open(data).read().replace("setosa", "daisy"))
    refused(["eval", "--model", model, "--data", path("daisy.csv"), "--val-split", "0"],
            'class "daisy" is not one of the 3 classes the model knows')
    # a regression model given class labels
    refused(["eval", "--model", rmodel, "--data", data], "is a regression model")
    # training on top of a model: nothing written when the data do not fit
    out = path("never.nrv")
    refused(["train", "--resume", model, "--data", few, "--out", out], "features")
    check(not os.path.exists(out), "a refused train wrote its --out")
    # --scale is for models without their own transform
    refused(["predict", "--model", model, "--input", data, "--scale", "2"],
            "carries its own input transform")


def case_digits_raw_pixels():
    """A digits model stores the pixel scale: predict takes raw pixels 0..16."""
    model = path("d.nrv")
    out, _ = run_ok(["train", "--epochs", "3", "--out", model, "--json"])
    check("pixels / 16" in run_ok(["train", "--epochs", "1"])[0], "banner lacks the pixel scale")
    rows = open(os.path.join(h.SOURCE, "tests", "models", "v1_digits_inputs.csv")).read()
    with open(path("raw.csv"), "w") as f:
        f.write(rows)
    lines = run_ok(["predict", "--model", model, "--input", path("raw.csv")])[0].split("\n")
    check(len([l for l in lines if l]) == 12, "12 predictions")
    # the same accuracy as training reported, through eval on the embedded set
    ev = json.loads(run_ok(["eval", "--model", model, "--json"])[0])
    check(ev["accuracy"] == json_lines(out)[-1]["test_acc"], "eval and train disagree")


def case_compat_v1():
    """The nerve 0.1 files: predict and eval print what 0.1 printed."""
    d = os.path.join(h.SOURCE, "tests", "models")
    out, _ = run_ok(["predict", "--model", os.path.join(d, "v1_digits.nrv"), "--input",
                     os.path.join(d, "v1_digits_inputs.csv"), "--scale", "0.0625"])
    check(out == open(os.path.join(d, "v1_digits_predict.txt")).read(),
          "v1_digits.nrv predicts differently from nerve 0.1")
    out, _ = run_ok(["predict", "--model", os.path.join(d, "v1_regression.nrv"), "--input",
                     os.path.join(d, "v1_regression_inputs.csv")])
    check(out == open(os.path.join(d, "v1_regression_predict.txt")).read(),
          "v1_regression.nrv predicts differently from nerve 0.1")
    ev = json.loads(run_ok(["eval", "--model", os.path.join(d, "v1_digits.nrv"), "--json"])[0])
    want = json.load(open(os.path.join(d, "v1_digits_eval.json")))
    for key in ("loss", "accuracy", "n", "confusion"):
        check(ev[key] == want[key], f"eval {key}: {ev[key]} vs 0.1's {want[key]}")
    # --resume of a 0.1 file with training state continues
    data, _ = classification("five.csv", 120, 5, ["0", "1", "2"], 9)
    run_ok(["train", "--resume", os.path.join(d, "v1_training.nrv"), "--data", data,
            "--epochs", "5", "--out", path("resumed.nrv")])


if __name__ == "__main__":
    sys.exit(h.main(globals()))
