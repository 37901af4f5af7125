"""The PyTorch peer of the energy speed benchmark (run by ../energy/speed.ts, one process each).

    python3 rbm_epoch.py 1|default

One CD-1 epoch of a Bernoulli RBM with momentum and L2 weight cost, float32 on the CPU, written as
a PyTorch user writes it (the Node variants are in ../energy/epoch-variants.ts):

    h0p = sigmoid(v0 W + c);    h0 = [u < h0p]
    v1p = sigmoid(h0 W^T + b);  err = mean_rows sum (v0 - v1p)^2;  v1 = [u < v1p]
    h1p = sigmoid(v1 W + c)
    gW = (v0^T h0p - v1^T h1p)/n - wd W;  gb = sum(v0 - v1)/n;  gc = sum(h0p - h1p)/n
    D <- m D + g;  theta <- theta + lr D

`1` runs on one thread: speed.ts sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to
1 (read when the libraries load) and this script calls torch.set_num_threads(1). `default` leaves
every setting alone.

Protocol: JSON commands, one a line, on stdin; JSON replies on fd 3. Commands: info; setup (the
data file of 0/1 bytes and the settings); epoch {round}; check; quit.
"""

import json
import os
import platform
import sys
import time
import traceback

out = os.fdopen(3, "w", buffering=1)


def reply(message):
    out.write(json.dumps(message) + "\n")


def blas_report():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl is not installed (Debian: apt-get install python3-threadpoolctl)"
    return [
        {key: lib.get(key) for key in ("internal_api", "version", "num_threads", "threading_layer")}
        for lib in threadpool_info()
    ]


class Epochs:
    def __init__(self, torch, setup):
        import numpy as np

        t = torch
        self.t = t
        self.s = setup
        raw = np.fromfile(setup["data"], dtype=np.uint8)
        n, visible, hidden = setup["examples"], setup["visible"], setup["hidden"]
        if raw.size != n * visible:
            raise ValueError(f"{setup['data']} holds {raw.size} bytes, expected {n} x {visible}")
        self.data = t.from_numpy(raw.reshape(n, visible)).float()
        self.g = t.Generator().manual_seed(setup["seed"])
        with t.no_grad():
            self.W = t.randn(visible, hidden, generator=self.g) * 0.01
            p = self.data.mean(0).clamp(1e-3, 1 - 1e-3)
            self.b = t.log(p) - t.log1p(-p)
            self.c = t.zeros(hidden)
        self.dW = t.zeros_like(self.W)
        self.db = t.zeros_like(self.b)
        self.dc = t.zeros_like(self.c)
        self.start = self.W.clone()
        self.steps = 0

    def step(self, v0):
        t, s = self.t, self.s
        lr, m, wd = s["learningRate"], s["momentum"], s["weightDecay"]
        W, b, c = self.W, self.b, self.c
        n = v0.shape[0]
        h0p = t.sigmoid(v0 @ W + c)
        h0 = (t.rand(h0p.shape, generator=self.g) < h0p).float()
        v1p = t.sigmoid(h0 @ W.T + b)
        ((v0 - v1p) ** 2).sum(1).mean()
        v1 = (t.rand(v1p.shape, generator=self.g) < v1p).float()
        h1p = t.sigmoid(v1 @ W + c)
        gW = (v0.T @ h0p - v1.T @ h1p) / n - wd * W
        self.dW.mul_(m).add_(gW)
        self.db.mul_(m).add_((v0 - v1).sum(0) / n)
        self.dc.mul_(m).add_((h0p - h1p).sum(0) / n)
        W.add_(self.dW, alpha=lr)
        b.add_(self.db, alpha=lr)
        c.add_(self.dc, alpha=lr)

    def rows(self, take):
        return self.t.randperm(self.s["examples"], generator=self.g)[:take]

    def run(self, ids):
        batch = self.s["batch"]
        count = 0
        with self.t.no_grad():
            for start in range(0, ids.shape[0], batch):
                self.step(self.data[ids[start : start + batch]])
                count += 1
        self.steps += count
        return count

    def check(self):
        t = self.t
        with t.no_grad():
            W = self.W.double()
            finite = bool(t.isfinite(W).all())
            moved = float(t.linalg.norm(W - self.start.double()))
            x = self.data[: self.s["checkRows"]]
            h = t.sigmoid(x @ self.W + self.c)
            v = t.sigmoid(h @ self.W.T + self.b)
            reconstruction = float(((x - v) ** 2).sum(1).mean())
        return {"steps": self.steps, "finite": finite, "moved": moved, "reconstruction": reconstruction}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("1", "default"):
        reply({"ok": False, "error": "usage: rbm_epoch.py 1|default"})
        sys.exit(2)
    one = sys.argv[1] == "1"
    try:
        import torch
    except ImportError as e:
        reply({"ok": False, "error": f"{e}", "missing": "torch"})
        sys.exit(1)
    if one:
        torch.set_num_threads(1)
    reply({"ok": True, "ready": True})
    epochs = None
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            cmd = command.get("cmd")
            if cmd == "info":
                answer = {
                    "runtime": f"Python {platform.python_version()}",
                    "versions": {"torch": torch.__version__, "torch threads": torch.get_num_threads()},
                    "blas": blas_report(),
                    "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
                }
            elif cmd == "setup":
                epochs = Epochs(torch, command)
                if command["warmup"] > 0:
                    epochs.run(epochs.rows(command["warmup"] * command["batch"]))
                answer = {}
            elif cmd == "epoch":
                ids = epochs.rows(command.get("epochExamples", epochs.s["epochExamples"]))
                t0 = time.perf_counter()
                steps = epochs.run(ids)
                answer = {"ms": (time.perf_counter() - t0) * 1000, "steps": steps}
            elif cmd == "check":
                answer = epochs.check()
            elif cmd == "quit":
                answer = {}
            else:
                raise ValueError(f"unknown command {cmd!r}")
            reply({"ok": True, **answer})
        except Exception as e:  # noqa: BLE001 - every failure goes back to speed.ts as a reply
            reply({"ok": False, "error": f"{type(e).__name__}: {e}\n{traceback.format_exc()}"})
            continue
        if cmd == "quit":
            return


if __name__ == "__main__":
    main()
