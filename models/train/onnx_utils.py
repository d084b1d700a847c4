"""Helpers shared by export.py and classifier.py: ONNX export and the onnxruntime-node check."""
import inspect
import json
import os
import subprocess
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))


def onnx_export(model, args, path, input_names, output_names, dynamic_axes, opset=17):
    """torch.onnx.export with the TorchScript-based exporter (torch 1.13 .. 2.x).
    Written to a temp file first and renamed, so readers never see a partial model."""
    kwargs = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                  opset_version=opset, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # newer torch defaults to the dynamo exporter; keep the classic one
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(model, args, tmp, **kwargs)
    os.replace(tmp, path)
    return os.path.getsize(path)


def node_check(onnx_path, inputs, outputs, tol=1e-4, node="node"):
    """Run models/train/check_onnx.mjs (onnxruntime-node) on `inputs` (name -> np array) and
    compare with `outputs` (name -> np array from PyTorch). Returns the parsed JSON report."""
    case = {"inputs": {}, "outputs": {}}
    for k, v in inputs.items():
        typ = "int64" if v.dtype == np.int64 else "float32"
        case["inputs"][k] = {"dims": list(v.shape), "type": typ,
                             "data": v.astype(np.int64 if typ == "int64" else np.float32).ravel().tolist()}
    for k, v in outputs.items():
        case["outputs"][k] = {"dims": list(v.shape), "data": v.astype(np.float32).ravel().tolist()}
    fd, case_path = tempfile.mkstemp(suffix=".json", prefix="onnx_check_")
    with os.fdopen(fd, "w") as f:
        json.dump(case, f)
    try:
        proc = subprocess.run([node, os.path.join(HERE, "check_onnx.mjs"), os.path.abspath(onnx_path), case_path,
                               "--tol", str(tol)], cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        os.unlink(case_path)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"ok": False, "error": (proc.stderr or proc.stdout).strip()[-2000:], "returncode": proc.returncode}
    rep = json.loads(lines[-1])
    rep["returncode"] = proc.returncode
    return rep
