#!/usr/bin/env python3
"""Compatibility check of Myelin's ONNX export (not a unit test; run by hand or in CI with onnx installed).

Exports the command line's classifiers (mlp, cnn, lstm; freshly initialized, or trained with --train) through
`myelin export`, then runs onnx.checker.check_model(full_check=True) and strict onnx.shape_inference on each file,
and, where onnxruntime is installed, runs the model on random input. Prints one line per model and exits 1 if any
check fails.

    python3 tests/onnx/check_export.py [--cli PATH/TO/Myelin.Cli.dll] [--out DIR]

Build first: dotnet build Runtime.sln -c Release.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = [("mlp", "64"), ("cnn", "1,28,28"), ("lstm", "1,28,28")]
CLASSES = 10


def cli_command(cli):
    if cli:
        return ["dotnet", cli]
    built = os.path.join(REPO, "managed", "Myelin.Cli", "bin", "Release", "net10.0", "Myelin.Cli.dll")
    if os.path.exists(built):
        return ["dotnet", built]
    return ["dotnet", "run", "--project", os.path.join(REPO, "managed", "Myelin.Cli"), "-c", "Release", "--no-build", "--"]


def export(cli, model, shape, path):
    args = cli + ["export", "--model", model, "--shape", shape, "--classes", str(CLASSES), "--out", path]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"myelin export failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout.strip()


def check(path, shape):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    output = inferred.graph.output[0].type.tensor_type
    dims = [d.dim_param or d.dim_value for d in output.shape.dim]
    notes = [f"opset {model.opset_import[0].version}, ir {model.ir_version}, {len(model.graph.node)} nodes, "
             f"{len(model.graph.initializer)} initializers, output {dims}"]
    try:
        import onnxruntime
    except ImportError:
        notes.append("onnxruntime not installed: not run")
        return "; ".join(notes)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((2, *[int(d) for d in shape.split(",")])).astype(np.float32)
    (scores,) = session.run(None, {"input": x})
    notes.append(f"onnxruntime output {list(scores.shape)}")
    return "; ".join(notes)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", help="path to Myelin.Cli.dll (default: the Release build in the repository)")
    parser.add_argument("--out", help="directory for the exported files (default: a temporary one)")
    options = parser.parse_args()
    out = options.out or tempfile.mkdtemp(prefix="myelin-export-")
    os.makedirs(out, exist_ok=True)
    cli = cli_command(options.cli)
    print(f"onnx {onnx.__version__}, files in {out}")
    failures = 0
    for model, shape in MODELS:
        path = os.path.join(out, f"{model}.onnx")
        try:
            export(cli, model, shape, path)
            print(f"PASS {model}: {check(path, shape)}")
        except Exception as error:  # one line per model, whatever failed
            failures += 1
            print(f"FAIL {model}: {type(error).__name__}: {error}")
    print(f"{len(MODELS) - failures}/{len(MODELS)} models pass")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
