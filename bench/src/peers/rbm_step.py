"""The PyTorch and numpy peers of the side-by-side benchmark (run by ../run.ts, one process each).

    python3 rbm_step.py torch|numpy 1|default

The step is the one of ../rbm-step.ts, written as a PyTorch or numpy user writes it (float32):
    h0p = sigmoid(v0 W + c);   h0 = [u < h0p], u ~ U(0,1)
    v1p = sigmoid(h0 W^T + b); v1 = [u < v1p]
    h1p = sigmoid(v1 W + c)
    W += lr/n (v0^T h0p - v1^T h1p);  b += lr mean(v0 - v1);  c += lr mean(h0p - h1p)

`1` limits the process to one thread: run.ts sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS to 1 in the environment (BLAS reads them when it loads) and this script calls
torch.set_num_threads(1). `default` leaves every setting as it is.

Protocol: JSON commands, one a line, on stdin; JSON replies, one a line, on fd 3 (stdout stays
free for whatever the libraries print).
"""

import json
import math
import os
import platform
import sys
import time
import traceback

VISIBLE = 784
HIDDEN = 500
LEARNING_RATE = 0.01

# The deterministic product of the agreement check, as in ../engine.ts.
CHECK_ROWS, CHECK_INNER, CHECK_COLS = 256, 784, 500
CHECK_SAMPLES = [((t * 37) % CHECK_ROWS, (t * 101 + 13) % CHECK_COLS) for t in range(97)]

out = os.fdopen(3, "w", buffering=1)


def reply(message):
    out.write(json.dumps(message) + "\n")


class TorchEngine:
    def __init__(self, one_thread):
        import torch

        self.torch = torch
        if one_thread:
            torch.set_num_threads(1)

    def versions(self):
        t = self.torch
        return {"torch": t.__version__, "torch threads": t.get_num_threads(), "torch interop threads": t.get_num_interop_threads()}

    def cd_state(self, batch, seed):
        t = self.torch
        g = t.Generator().manual_seed(seed)
        return {
            "g": g,
            "W": t.randn(VISIBLE, HIDDEN, generator=g) * 0.01,
            "b": t.zeros(VISIBLE),
            "c": t.zeros(HIDDEN),
            "v0": (t.rand(batch, VISIBLE, generator=g) < 0.5).float(),
        }

    def cd_step(self, s):
        t = self.torch
        W, b, c, v0, g = s["W"], s["b"], s["c"], s["v0"], s["g"]
        n = v0.shape[0]
        with t.no_grad():
            h0p = t.sigmoid(v0 @ W + c)
            h0 = (t.rand(n, HIDDEN, generator=g) < h0p).float()
            v1p = t.sigmoid(h0 @ W.T + b)
            v1 = (t.rand(n, VISIBLE, generator=g) < v1p).float()
            h1p = t.sigmoid(v1 @ W + c)
            W += (LEARNING_RATE / n) * (v0.T @ h0p - v1.T @ h1p)
            b += LEARNING_RATE * (v0 - v1).mean(0)
            c += LEARNING_RATE * (h0p - h1p).mean(0)

    def weights(self, s):
        return s["W"].double()

    def weights_check(self, s, start):
        t = self.torch
        w = s["W"].double()
        return bool(t.isfinite(w).all()), float(t.linalg.norm(w - start))

    def product_state(self, batch, seed):
        t = self.torch
        g = t.Generator().manual_seed(seed)
        return {"a": t.randn(batch, VISIBLE, generator=g), "b": t.randn(VISIBLE, HIDDEN, generator=g)}

    def product(self, s):
        return s["a"] @ s["b"]

    def verify(self):
        t = self.torch
        i = t.arange(CHECK_ROWS, dtype=t.float64)[:, None]
        k = t.arange(CHECK_INNER, dtype=t.float64)
        a = (t.sin(i * 7 + k[None, :] * 3) / 8).float()
        b = (t.cos(k[:, None] * 5 + t.arange(CHECK_COLS, dtype=t.float64)[None, :] * 11) / 8).float()
        c = (a @ b).double()
        ii = t.arange(CHECK_ROWS)[:, None]
        jj = t.arange(CHECK_COLS)[None, :]
        w = ((ii * 7 + jj * 13) % 5 - 2).double()
        return {
            "sumSquares": float((c * c).sum()),
            "weighted": float((c * w).sum()),
            "samples": [float(c[i, j]) for i, j in CHECK_SAMPLES],
        }


class NumpyEngine:
    def __init__(self, one_thread):
        import numpy

        self.np = numpy

    def versions(self):
        return {"numpy": self.np.__version__}

    def cd_state(self, batch, seed):
        np = self.np
        rng = np.random.default_rng(seed)
        return {
            "rng": rng,
            "W": (rng.standard_normal((VISIBLE, HIDDEN), dtype=np.float32) * np.float32(0.01)),
            "b": np.zeros(VISIBLE, dtype=np.float32),
            "c": np.zeros(HIDDEN, dtype=np.float32),
            "v0": (rng.random((batch, VISIBLE), dtype=np.float32) < 0.5).astype(np.float32),
        }

    def _sigmoid(self, x):
        np = self.np
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-x))

    def cd_step(self, s):
        np = self.np
        W, b, c, v0, rng = s["W"], s["b"], s["c"], s["v0"], s["rng"]
        n = v0.shape[0]
        h0p = self._sigmoid(v0 @ W + c)
        h0 = (rng.random((n, HIDDEN), dtype=np.float32) < h0p).astype(np.float32)
        v1p = self._sigmoid(h0 @ W.T + b)
        v1 = (rng.random((n, VISIBLE), dtype=np.float32) < v1p).astype(np.float32)
        h1p = self._sigmoid(v1 @ W + c)
        W += np.float32(LEARNING_RATE / n) * (v0.T @ h0p - v1.T @ h1p)
        b += np.float32(LEARNING_RATE) * (v0 - v1).mean(0)
        c += np.float32(LEARNING_RATE) * (h0p - h1p).mean(0)

    def weights(self, s):
        return s["W"].astype(self.np.float64)

    def weights_check(self, s, start):
        np = self.np
        w = s["W"].astype(np.float64)
        return bool(np.isfinite(w).all()), float(np.linalg.norm(w - start))

    def product_state(self, batch, seed):
        np = self.np
        rng = np.random.default_rng(seed)
        return {
            "a": rng.standard_normal((batch, VISIBLE), dtype=np.float32),
            "b": rng.standard_normal((VISIBLE, HIDDEN), dtype=np.float32),
        }

    def product(self, s):
        return s["a"] @ s["b"]

    def verify(self):
        np = self.np
        i = np.arange(CHECK_ROWS, dtype=np.float64)[:, None]
        k = np.arange(CHECK_INNER, dtype=np.float64)
        a = (np.sin(i * 7 + k[None, :] * 3) / 8).astype(np.float32)
        b = (np.cos(k[:, None] * 5 + np.arange(CHECK_COLS, dtype=np.float64)[None, :] * 11) / 8).astype(np.float32)
        c = (a @ b).astype(np.float64)
        ii = np.arange(CHECK_ROWS)[:, None]
        jj = np.arange(CHECK_COLS)[None, :]
        w = ((ii * 7 + jj * 13) % 5 - 2).astype(np.float64)
        return {
            "sumSquares": float((c * c).sum()),
            "weighted": float((c * w).sum()),
            "samples": [float(c[i, j]) for i, j in CHECK_SAMPLES],
        }


def blas_report():
    """What threadpoolctl sees loaded (BLAS and OpenMP libraries with their thread counts), or why not."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl is not installed (Debian: apt-get install python3-threadpoolctl)"
    return [
        {key: lib.get(key) for key in ("internal_api", "version", "num_threads", "threading_layer", "filepath")}
        for lib in threadpool_info()
    ]


def serve(engine):
    states = {}

    def handle(command):
        cmd = command.get("cmd")
        if cmd == "info":
            return {
                "runtime": f"Python {platform.python_version()}",
                "versions": engine.versions(),
                "blas": blas_report(),
                "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            }
        name = command.get("case")
        if cmd == "setup":
            what, size = name.split("-")
            batch = int(size)
            if what == "cd1":
                s = {"kind": "cd", "state": engine.cd_state(batch, 0), "steps": 0}
                s["start"] = engine.weights(s["state"])
            elif what == "product":
                s = {"kind": "product", "state": engine.product_state(batch, 0)}
            else:
                raise ValueError(f"unknown case {name!r}")
            states[name] = s
            for _ in range(command.get("warmup", 0)):
                run_once(s)
            return {}
        if cmd == "time":
            s = states[name]
            repeat = command.get("repeat", 1)
            t0 = time.perf_counter()
            for _ in range(repeat):
                run_once(s)
            return {"ms": (time.perf_counter() - t0) * 1000 / repeat}
        if cmd == "check":
            s = states[name]
            if s["kind"] != "cd":
                return {}
            finite, moved = engine.weights_check(s["state"], s["start"])
            return {"finite": finite, "steps": s["steps"], "moved": moved if math.isfinite(moved) else None}
        if cmd == "verify":
            return engine.verify()
        if cmd == "dispose":
            states.pop(name, None)
            return {}
        if cmd == "quit":
            return {}
        raise ValueError(f"unknown command {cmd!r}")

    def run_once(s):
        if s["kind"] == "cd":
            engine.cd_step(s["state"])
            s["steps"] += 1
        else:
            engine.product(s["state"])

    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            reply({"ok": True, **handle(command)})
        except Exception as e:  # noqa: BLE001 - every failure goes back to run.ts as a reply
            reply({"ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})
            continue
        if command.get("cmd") == "quit":
            return


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("torch", "numpy") or sys.argv[2] not in ("1", "default"):
        reply({"ok": False, "error": "usage: rbm_step.py torch|numpy 1|default"})
        sys.exit(2)
    lib, threads = sys.argv[1], sys.argv[2]
    try:
        engine = TorchEngine(threads == "1") if lib == "torch" else NumpyEngine(threads == "1")
    except ImportError as e:
        reply({"ok": False, "error": f"{e}", "missing": lib})
        sys.exit(1)
    reply({"ok": True, "ready": True})
    serve(engine)


if __name__ == "__main__":
    main()
