#!/usr/bin/env python3
"""nerve from Python, through ctypes and nothing else: load libnerve.so, train
a 64-128-10 network on the digits compiled into the library, then predict the
held-out digits one by one and check the predictions against the library's
own evaluation.

    python3 ctypes_example.py [path/to/libnerve.so]

Without an argument the library is $NERVE_LIB, else the one the dynamic loader
finds (an installed nerve). Run by the tests (tests/package.cmake, and against
the installed package by scripts/test-install.sh); exits 1 on any failure.

The structures below mirror include/nerve/net.h and data.h field for field;
enums are C ints.
"""
import ctypes
import ctypes.util
import os
import sys
from ctypes import POINTER, byref, c_char, c_char_p, c_double, c_float, c_int, c_int32
from ctypes import c_size_t, c_uint64, c_void_p

# enum values (include/nerve/net.h)
NERVE_OK = 0
NERVE_ACT_IDENTITY, NERVE_ACT_RELU = 0, 3
NERVE_LOSS_XENT = 1
NERVE_OPT_SGD = 0


class Data(ctypes.Structure):  # nerve_data
    _fields_ = [("name", c_char * 128), ("x", POINTER(c_float)), ("labels", POINTER(c_int32)),
                ("y", POINTER(c_float)), ("n", c_size_t), ("in_", c_size_t), ("out", c_size_t)]


class Dataset(ctypes.Structure):  # nerve_dataset
    _fields_ = [("x", POINTER(c_float)), ("y", POINTER(c_float)), ("labels", POINTER(c_int32)),
                ("n", c_size_t), ("in_", c_size_t), ("out", c_size_t)]


class Opt(ctypes.Structure):  # nerve_opt
    _fields_ = [("kind", c_int), ("lr", c_float), ("momentum", c_float), ("nesterov", c_int),
                ("weight_decay", c_float), ("beta1", c_float), ("beta2", c_float),
                ("eps", c_float)]


class EpochOpts(ctypes.Structure):  # nerve_epoch_opts
    _fields_ = [("batch_size", c_size_t), ("shuffle", c_int), ("progress", c_void_p),
                ("progress_user", c_void_p), ("stop", POINTER(c_int))]


class Eval(ctypes.Structure):  # nerve_eval
    _fields_ = [("loss", c_double), ("accuracy", c_double), ("n", c_size_t)]


def load(path):
    lib = ctypes.CDLL(path)
    sig = {
        "nerve_version": (c_char_p, []),
        "nerve_last_error": (c_char_p, []),
        "nerve_data_load_digits": (c_int, [POINTER(POINTER(Data))]),
        "nerve_data_split": (c_int, [POINTER(Data), c_double, c_uint64, POINTER(POINTER(Data)),
                                     POINTER(POINTER(Data))]),
        "nerve_data_view": (Dataset, [POINTER(Data)]),
        "nerve_data_free": (None, [POINTER(Data)]),
        "nerve_net_create": (c_int, [POINTER(c_void_p), c_size_t, POINTER(c_size_t),
                                     POINTER(c_int), c_int, c_uint64]),
        "nerve_net_free": (None, [c_void_p]),
        "nerve_opt_default": (Opt, [c_int]),
        "nerve_net_set_optimizer": (c_int, [c_void_p, POINTER(Opt)]),
        "nerve_net_train_epoch": (c_int, [c_void_p, POINTER(Dataset), POINTER(EpochOpts),
                                          POINTER(Eval)]),
        "nerve_net_evaluate": (c_int, [c_void_p, POINTER(Dataset), POINTER(Eval)]),
        "nerve_net_forward": (c_int, [c_void_p, POINTER(c_float), c_size_t, POINTER(c_float)]),
    }
    for name, (res, args) in sig.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    return lib


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else (os.environ.get("NERVE_LIB")
                                                  or ctypes.util.find_library("nerve"))
    if not path:
        sys.exit("ctypes_example: libnerve.so not found (give its path or set NERVE_LIB)")
    lib = load(path)

    def check(status, what):
        if status != NERVE_OK:
            sys.exit("ctypes_example: %s failed: %s" % (what, lib.nerve_last_error().decode()))

    version = lib.nerve_version().decode()
    print("libnerve %s from %s" % (version, path))
    if len(version.split(".")) != 3:
        sys.exit("ctypes_example: odd version string %r" % version)

    # data: the embedded digits, 20% held out
    all_, train, test = POINTER(Data)(), POINTER(Data)(), POINTER(Data)()
    check(lib.nerve_data_load_digits(byref(all_)), "nerve_data_load_digits")
    check(lib.nerve_data_split(all_, 0.2, 42, byref(train), byref(test)), "nerve_data_split")
    lib.nerve_data_free(all_)
    tr, te = lib.nerve_data_view(train), lib.nerve_data_view(test)

    # network 64 -> 128 (relu) -> 10 logits, softmax cross-entropy, SGD + momentum
    sizes = (c_size_t * 3)(64, 128, 10)
    acts = (c_int * 2)(NERVE_ACT_RELU, NERVE_ACT_IDENTITY)
    net = c_void_p()
    check(lib.nerve_net_create(byref(net), 2, sizes, acts, NERVE_LOSS_XENT, 1), "nerve_net_create")
    opt = lib.nerve_opt_default(NERVE_OPT_SGD)
    opt.lr, opt.momentum = 0.05, 0.9
    check(lib.nerve_net_set_optimizer(net, byref(opt)), "nerve_net_set_optimizer")

    eo = EpochOpts(batch_size=32, shuffle=1)
    ev = Eval()
    for epoch in range(10):
        check(lib.nerve_net_train_epoch(net, byref(tr), byref(eo), byref(ev)),
              "nerve_net_train_epoch")
    check(lib.nerve_net_evaluate(net, byref(te), byref(ev)), "nerve_net_evaluate")
    print("trained 10 epochs: test loss %.4f, accuracy %.2f%% on %d digits"
          % (ev.loss, 100 * ev.accuracy, ev.n))

    # predict the test digits one at a time, arg max of the logits
    logits = (c_float * 10)()
    correct = 0
    for i in range(te.n):
        row = ctypes.cast(ctypes.byref(te.x.contents, i * te.in_ * ctypes.sizeof(c_float)),
                          POINTER(c_float))
        check(lib.nerve_net_forward(net, row, 1, logits), "nerve_net_forward")
        pred = max(range(10), key=lambda k: logits[k])
        correct += pred == te.labels[i]
    acc = correct / te.n
    print("predicted %d digits one by one: %.2f%% correct" % (te.n, 100 * acc))

    lib.nerve_net_free(net)
    lib.nerve_data_free(train)
    lib.nerve_data_free(test)
    if abs(acc - ev.accuracy) > 1e-9:
        sys.exit("ctypes_example: predictions (%.4f) disagree with nerve_net_evaluate (%.4f)"
                 % (acc, ev.accuracy))
    if acc < 0.9:
        sys.exit("ctypes_example: accuracy %.4f below 0.9" % acc)
    print("ok")


if __name__ == "__main__":
    main()
