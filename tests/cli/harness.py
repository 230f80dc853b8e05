"""The harness the end-to-end tests of the built `nerve` binary share
(tests/cli/test_cli.py, test_cli_tabular.py, test_cli_reliability.py and
tests/mpi/test_mpi.py): the command line every test script takes, a work
directory per case, running the binary, and checking its exit status and its
messages. Each script defines case_<name>() functions and ends with

    if __name__ == "__main__":
        sys.exit(harness.main(globals()))

and ctest runs it once per case (tests/cli.cmake, tests/mpi.cmake):

    test_x.py --nerve PATH --source DIR --work DIR CASE

A case fails by raising Failure (check() does), or by a command that outlives
its timeout (a hang); main() prints one line, "ok CASE" or "FAIL CASE: why",
and returns the exit status."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

# Set by main() from the command line, before the case runs: the binary, the
# source tree, this case's work directory (emptied first), and every parsed
# option (the MPI tests take more: --api, --mpirun).
NERVE = SOURCE = WORK = None
ARGS = None


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def path(name):
    """A file of this case's work directory."""
    return os.path.join(WORK, name)


def read(p):
    with open(p, "rb") as f:
        return f.read()


def run(args, timeout=300, env=None, stdin=None, input=None, stdout=None, preexec_fn=None,
        program=None):
    """Runs nerve (or `program`) with args: returns (status, stdout, stderr).
    env adds to the environment; stdin is /dev/null unless stdin or input is
    given; stdout, when given (a file), takes the output and "" comes back
    for it. Running past `timeout` seconds raises TimeoutExpired: a hang."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    kw = {"input": input} if input is not None else {
        "stdin": stdin if stdin is not None else subprocess.DEVNULL}
    cmd = [program or NERVE] + list(args)
    if stdout is not None:
        p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env=full_env, preexec_fn=preexec_fn, **kw)
        return p.returncode, "", p.stderr
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                       preexec_fn=preexec_fn, **kw)
    return p.returncode, p.stdout, p.stderr


def run_ok(args, **kw):
    """run() that must exit 0: returns (stdout, stderr)."""
    rc, out, err = run(args, **kw)
    check(rc == 0, f"nerve {' '.join(args)}: exit {rc}\nstdout:\n{out}\nstderr:\n{err}")
    return out, err


def expect(args, status, must_contain=None, what=None, **kw):
    """run() that must exit with `status`, its stderr holding must_contain.
    A refusal (status 2, bad usage or input) is exactly one line on stderr,
    "nerve ...", and nothing on stdout. Returns (stdout, stderr)."""
    what = what or "nerve " + " ".join(args)
    rc, out, err = run(args, **kw)
    check(rc == status, f"{what}: exit {rc}, want {status}\nstdout:\n{out}\nstderr:\n{err}")
    if status == 2:
        lines = err.splitlines()
        check(len(lines) == 1 and err.endswith("\n"), f"{what}: not one line on stderr: {err!r}")
        check(lines[0].startswith("nerve"), f"{what}: message {lines[0]!r}")
        check(out == "", f"{what}: stdout {out!r}")
    if must_contain:
        check(must_contain in err, f"{what}: stderr lacks {must_contain!r}: {err!r}")
    return out, err


def interrupt(args, after="epoch ", timeout=120, env=None):
    """Starts nerve with args, waits for a stdout line starting with `after`
    (the first epoch's report), sends SIGINT (Ctrl-C) and waits for the end:
    (status, stdout, stderr). No such line before the deadline fails."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    p = subprocess.Popen([NERVE] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=full_env)
    seen = ""
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            seen += line
            if line.startswith(after):
                break
        check(after in seen, f"no {after!r} line before the deadline:\n{seen}")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=timeout)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, seen + out, err


def json_lines(out):
    """Every stdout line must be one JSON object: the list of them."""
    objs = []
    for i, line in enumerate(out.splitlines()):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise Failure(f"stdout line {i + 1} is not JSON ({e}): {line!r}")
        check(isinstance(obj, dict), f"stdout line {i + 1} is not a JSON object: {line!r}")
        objs.append(obj)
    return objs


def main(namespace, options=("nerve", "source", "work"), setup=None):
    """Parses the command line (`options` are required, plus the case), makes
    the case's empty work directory, calls setup() if given, runs the case
    function of `namespace` (a script's globals()) and returns its exit
    status. Paths become absolute, except --mpirun (a name on PATH)."""
    global NERVE, SOURCE, WORK, ARGS
    cases = {name[5:]: fn for name, fn in namespace.items()
             if name.startswith("case_") and callable(fn)}
    ap = argparse.ArgumentParser()
    for opt in options:
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("case", choices=sorted(cases))
    a = ap.parse_args()
    for opt in options:
        if opt != "mpirun":
            setattr(a, opt, os.path.abspath(getattr(a, opt)))
    ARGS = a
    NERVE, SOURCE, WORK = getattr(a, "nerve", None), getattr(a, "source", None), a.work
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    try:
        if setup:
            setup()
        cases[a.case]()
    except Failure as e:
        print(f"FAIL {a.case}: {e}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as e:
        print(f"FAIL {a.case}: timed out (a hang?): {e}", file=sys.stderr)
        return 1
    print(f"ok {a.case}")
    return 0
