#!/usr/bin/env python3
"""Training-step speed of Myelin against PyTorch on the same models (issue 6).

Runs `myelin bench train-step --model M --json` for each model and times the same model in PyTorch: the same
shapes, the same loss, Adam (lr 1e-3), 3 warm-up steps then timed steps, with torch.set_num_threads(1) and (2),
keeping the better of the two. Prints ms/step of both and the ratio Myelin / PyTorch (below 1: Myelin is faster).

  lstm         nn.LSTM(128, 256), x [T=64, N=32, 128], MSE of the output sequence against a random target.
  transformer  nn.TransformerEncoderLayer(256, 4, 1024, dropout=0), x [T=128, N=16, 256], MSE of its output.
  mlp, cnn     Myelin's benchmark models with softmax cross-entropy (the PyTorch side mirrors them).

Fashion-MNIST seconds per epoch: --train-epochs also runs
`myelin train --data fashion-mnist --model mlp|cnn --epochs 1 --batch-size 128 --optimizer adam --lr 1e-3 --json`
(its seconds_per_epoch) and one epoch of the same model in PyTorch (issue 6's mlp 784-256-128-10 and cnn
conv32-pool-conv64-pool-128-10, Adam 1e-3, batch 128, shuffled, standardized pixels), timing the training pass alone,
best of 1 and 2 torch threads. Both read /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist); a missing
dataset skips the pair with a message.

Use /usr/bin/python3 (Debian's python3-torch 1.13). Without torch the PyTorch side is skipped with a message.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {
    "lstm": {"batch": 32},
    "transformer": {"batch": 16},
    "mlp": {"batch": 128},
    "cnn": {"batch": 128},
}


def myelin_cli(args, dotnet_args):
    """The command that runs the Myelin CLI with `args`."""
    return ["dotnet", "run", "-c", "Release", "--project", os.path.join(REPO, "managed", "Myelin.Cli")] + dotnet_args + ["--"] + args


def run_myelin(model, batch, steps, dotnet_args):
    cmd = myelin_cli(["bench", "train-step", "--model", model, "--batch-size", str(batch), "--steps", str(steps), "--json"], dotnet_args)
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"myelin bench train-step --model {model} failed ({done.returncode}): {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def torch_model(torch, model):
    """(module, loss function, x, target) mirroring Myelin's benchmark model `model`."""
    nn = torch.nn
    g = torch.Generator().manual_seed(2)
    if model == "lstm":
        net = nn.LSTM(128, 256)
        x, target = torch.rand(64, MODELS[model]["batch"], 128, generator=g), torch.randn(64, MODELS[model]["batch"], 256, generator=g)
        return net, lambda: nn.functional.mse_loss(net(x)[0], target)
    if model == "transformer":
        net = nn.TransformerEncoderLayer(256, 4, 1024, dropout=0.0)
        x, target = torch.rand(128, MODELS[model]["batch"], 256, generator=g), torch.randn(128, MODELS[model]["batch"], 256, generator=g)
        return net, lambda: nn.functional.mse_loss(net(x), target)
    batch = MODELS[model]["batch"]
    labels = torch.randint(0, 10, (batch,), generator=g)
    if model == "mlp":
        net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        x = torch.rand(batch, 784, generator=g)
    else:
        net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(784, 10))
        x = torch.rand(batch, 1, 28, 28, generator=g)
    return net, lambda: nn.functional.cross_entropy(net(x), labels)


def run_torch(torch, model, steps):
    """Best ms/step over torch.set_num_threads(1) and (2)."""
    best = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        net, loss_fn = torch_model(torch, model)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn()
            loss.backward()
            opt.step()

        for _ in range(3):
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        ms = (time.perf_counter() - start) * 1000 / steps
        if best is None or ms < best[0]:
            best = (ms, threads)
    return best


FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """The array of a (gzip) IDX file as a flat list of bytes and its dims."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return data[4 + 4 * rank:], dims


def torch_epoch_seconds(torch, model):
    """Best seconds of one Fashion-MNIST training epoch of issue 6's `model` over 1 and 2 torch threads, or None."""
    images = os.path.join(FASHION_MNIST, "train-images-idx3-ubyte.gz")
    if not os.path.exists(images):
        print(f"note: {images} is missing (apt-get install dataset-fashion-mnist); PyTorch epoch skipped", file=sys.stderr)
        return None
    nn = torch.nn
    pixels, dims = read_idx(images)
    labels, _ = read_idx(os.path.join(FASHION_MNIST, "train-labels-idx1-ubyte.gz"))
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).float().reshape(dims[0], 1, dims[1], dims[2])
    x = (x - x.mean()) / x.std()
    y = torch.frombuffer(bytearray(labels), dtype=torch.uint8).long()
    best = None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        torch.manual_seed(1)
        if model == "mlp":
            net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
        else:
            net = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        order = torch.randperm(len(y))
        start = time.perf_counter()
        for i in range(0, len(y), 128):
            batch = order[i:i + 128]
            opt.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
        seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    return best


def train_epoch_seconds(model, dotnet_args):
    """Seconds per Fashion-MNIST epoch of `myelin train`; None with a message when it cannot run."""
    cmd = myelin_cli(["train", "--data", "fashion-mnist", "--model", model, "--epochs", "1", "--batch-size", "128",
                      "--optimizer", "adam", "--lr", "1e-3", "--json"], dotnet_args)
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"note: myelin train --model {model} did not run ({done.stderr.strip().splitlines()[-1:] or done.returncode}); skipped", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])["seconds_per_epoch"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="lstm,transformer", help="comma-separated: lstm, transformer, mlp, cnn (default lstm,transformer)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per side (default 20)")
    parser.add_argument("--train-epochs", action="store_true", help="also time one Fashion-MNIST epoch of mlp and cnn in `myelin train` and in PyTorch")
    parser.add_argument("--no-build", action="store_true", help="pass --no-build to dotnet run")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    dotnet_args = ["--no-build"] if args.no_build else []
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            parser.error(f"unknown model '{m}' (choose from {', '.join(MODELS)})")

    try:
        import torch
    except ImportError:
        torch = None
        print("note: torch is not installed for this Python; the PyTorch side is skipped (use /usr/bin/python3 with python3-torch)", file=sys.stderr)

    rows = []
    for m in models:
        mine = run_myelin(m, MODELS[m]["batch"], args.steps, dotnet_args)
        row = {"model": m, "batch_size": MODELS[m]["batch"], "myelin_ms": mine["ms_per_step"],
               "allocated_bytes_per_step": mine["allocated_bytes_per_step"]}
        if torch is not None:
            ms, threads = run_torch(torch, m, args.steps)
            row.update(torch_ms=round(ms, 3), torch_threads=threads, ratio=round(mine["ms_per_step"] / ms, 3))
        rows.append(row)
    epochs = {}
    if args.train_epochs:
        for m in ("mlp", "cnn"):
            seconds = train_epoch_seconds(m, dotnet_args)
            theirs = torch_epoch_seconds(torch, m) if torch is not None else None
            if seconds is not None:
                epochs[m] = {"myelin": seconds, "torch": theirs, "ratio": round(seconds / theirs, 3) if theirs else None}

    if args.json:
        print(json.dumps({"train_step": rows, "fashion_mnist_seconds_per_epoch": epochs, "torch": torch.__version__ if torch else None}))
        return
    print(f"{'model':<12} {'batch':>5} {'myelin ms':>10} {'torch ms':>9} {'threads':>7} {'myelin/torch':>12}")
    for r in rows:
        torch_ms = f"{r['torch_ms']:.3f}" if "torch_ms" in r else "skipped"
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else "-"
        print(f"{r['model']:<12} {r['batch_size']:>5} {r['myelin_ms']:>10.3f} {torch_ms:>9} {r.get('torch_threads', '-'):>7} {ratio:>12}")
    for m, e in epochs.items():
        theirs = f"{e['torch']:.2f} s, myelin/torch {e['ratio']:.3f}" if e["torch"] else "skipped"
        print(f"fashion-mnist {m}: myelin {e['myelin']:.2f} s/epoch, torch {theirs}")


if __name__ == "__main__":
    main()
