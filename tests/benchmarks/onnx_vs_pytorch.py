#!/usr/bin/env python3
"""Inference latency of torchvision models imported from ONNX into Myelin against PyTorch itself (issue 7).

For each model: exports torchvision's ResNet-18 / MobileNet-v2 (random weights, eval mode, batch 1, 3x224x224) to
ONNX opset 13, runs `myelin bench onnx --model FILE --json` (load time and run latency), then times the same module
in PyTorch under torch.no_grad() with torch.set_num_threads(1) and (2), keeping the better. Prints both latencies,
the ratio Myelin / PyTorch (below 1: Myelin is faster) and Myelin's warm load time.

Use /usr/bin/python3 (Debian's python3-torch 1.13 and python3-torchvision). Without them it exits with a message.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def myelin_bench(path, min_seconds):
    """The JSON report of `myelin bench onnx` for the model at `path`."""
    command = ["dotnet", "run", "-c", "Release", "--project", os.path.join(REPO, "managed", "Myelin.Cli"), "--",
               "bench", "onnx", "--model", path, "--min-seconds", str(min_seconds), "--json"]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def torch_latency_ms(module, x, torch, seconds):
    """Best per-run milliseconds of module(x) over one and two threads."""
    best = float("inf")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.no_grad():
            for _ in range(3):
                module(x)
            times = []
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline or len(times) < 5:
                start = time.perf_counter()
                module(x)
                times.append(time.perf_counter() - start)
        best = min(best, min(times) * 1e3)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="resnet18,mobilenet_v2")
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timing time per side and model")
    args = parser.parse_args()
    try:
        import torch
        import torchvision
    except ImportError as error:
        print(f"skipped: {error} (install python3-torch and python3-torchvision, run with /usr/bin/python3)")
        return 0

    with tempfile.TemporaryDirectory() as directory:
        for name in args.models.split(","):
            module = getattr(torchvision.models, name)()
            module.eval()
            x = torch.randn(1, 3, 224, 224)
            path = os.path.join(directory, f"{name}.onnx")
            torch.onnx.export(module, x, path, opset_version=13)
            report = myelin_bench(path, args.seconds)
            theirs = torch_latency_ms(module, x, torch, args.seconds)
            ours = report["run_ms"]
            print(f"{name}: Myelin {ours:.2f} ms (load {report['warm_load_ms']:.1f} ms warm, {report['first_load_ms']:.1f} ms first), "
                  f"PyTorch {theirs:.2f} ms, ratio {ours / theirs:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
