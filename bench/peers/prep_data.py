#!/usr/bin/env python3
"""Writes the data every peer program reads, as raw little-endian arrays in OUT:
train_x.f32 (n x d, pixels / 255), train_y.i32, test_x.f32, test_y.i32, and meta.txt
("name d train_n test_n"). Fashion-MNIST (IDX, gzip) from SRC when it is there, else the
embedded digits (data/digits.csv.gz: 64 features, label last), split 80/20 in file order.
python3 stdlib only.

    prep_data.py SRC_DIR DIGITS_CSV_GZ OUT_DIR TRAIN_N TEST_N
"""
import array, gzip, os, struct, sys


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def main():
    src, digits, out, train_n, test_n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    os.makedirs(out, exist_ok=True)
    fm = [os.path.join(src, n) for n in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                          "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")]
    sets = {}
    if all(os.path.exists(p) for p in fm):
        name = "fashion-mnist"
        for part, (xi, yi) in (("train", (0, 1)), ("test", (2, 3))):
            shape, px = idx(fm[xi])
            _, lb = idx(fm[yi])
            d = shape[1] * shape[2]
            sets[part] = (d, px, lb)
        d = sets["train"][0]
        rows = {}
        for part in ("train", "test"):
            _, px, lb = sets[part]
            rows[part] = (px, lb)
    else:
        name = "digits"
        with gzip.open(digits, "rt") as f:
            lines = [l.strip() for l in f if l.strip() and l[0].isdigit()]
        vals = [list(map(float, l.split(","))) for l in lines]
        d = len(vals[0]) - 1
        mx = max(max(v[:-1]) for v in vals) or 1.0
        cut = len(vals) * 4 // 5
        rows = {}
        for part, vs in (("train", vals[:cut]), ("test", vals[cut:])):
            px = bytes(int(round(x / mx * 255)) for v in vs for x in v[:-1])
            lb = bytes(int(v[-1]) for v in vs)
            rows[part] = (px, lb)
    counts = {}
    for part, limit in (("train", train_n), ("test", test_n)):
        px, lb = rows[part]
        n = min(len(lb), limit) if limit > 0 else len(lb)
        xs = array.array("f", (b / 255.0 for b in px[:n * d]))
        ys = array.array("i", list(lb[:n]))
        with open(os.path.join(out, part + "_x.f32"), "wb") as f:
            xs.tofile(f)
        with open(os.path.join(out, part + "_y.i32"), "wb") as f:
            ys.tofile(f)
        counts[part] = n
    with open(os.path.join(out, "meta.txt"), "w") as f:
        f.write(f"{name} {d} {counts['train']} {counts['test']}\n")
    print(f"data      {name}: {counts['train']} train, {counts['test']} test, {d} features -> {out}")


if __name__ == "__main__":
    main()
