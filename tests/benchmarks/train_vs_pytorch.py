#!/usr/bin/env python3
"""Training-step speed of Myelin against PyTorch on the same models (issue 6).

Runs `myelin bench train-step --model M --json` for each model and times the same model in PyTorch: the same
shapes, the same loss, Adam (lr 1e-3), 3 warm-up steps then timed steps, with torch.set_num_threads(1) and (2),
keeping the better of the two. Prints ms/step of both and the ratio Myelin / PyTorch (below 1: Myelin is faster).

  lstm         nn.LSTM(128, 256), x [T=64, N=32, 128], MSE of the output sequence against a random target.
  transformer  nn.TransformerEncoderLayer(256, 4, 1024, dropout=0), x [T=128, N=16, 256], MSE of its output.
  mlp, cnn     Myelin's benchmark models with softmax cross-entropy (the PyTorch side mirrors them).

Fashion-MNIST seconds per epoch: once `myelin train` exists, pass --train-epochs to also run
`myelin train --data fashion-mnist --model mlp|cnn --epochs 1 --batch-size 128 --optimizer adam --lr 1e-3 --json`
(HOOK: see train_epoch_seconds below; it reports the JSON's seconds_per_epoch and skips with a message when the
command or the dataset is missing).

Use /usr/bin/python3 (Debian's python3-torch 1.13). Without torch the PyTorch side is skipped with a message.
"""
import argparse
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


def train_epoch_seconds(model, dotnet_args):
    """HOOK for `myelin train` (Fashion-MNIST seconds per epoch); None with a message when it cannot run yet."""
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
    parser.add_argument("--train-epochs", action="store_true", help="also time Fashion-MNIST epochs through `myelin train` (the hook)")
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
            if seconds is not None:
                epochs[m] = seconds

    if args.json:
        print(json.dumps({"train_step": rows, "fashion_mnist_seconds_per_epoch": epochs, "torch": torch.__version__ if torch else None}))
        return
    print(f"{'model':<12} {'batch':>5} {'myelin ms':>10} {'torch ms':>9} {'threads':>7} {'myelin/torch':>12}")
    for r in rows:
        torch_ms = f"{r['torch_ms']:.3f}" if "torch_ms" in r else "skipped"
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else "-"
        print(f"{r['model']:<12} {r['batch_size']:>5} {r['myelin_ms']:>10.3f} {torch_ms:>9} {r.get('torch_threads', '-'):>7} {ratio:>12}")
    for m, seconds in epochs.items():
        print(f"fashion-mnist {m}: {seconds:.2f} s/epoch (myelin train)")


if __name__ == "__main__":
    main()
