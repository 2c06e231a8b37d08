"""Exports the models of test/torch_models.py with tools/export_torch.py and saves PyTorch's own
outputs on fresh random inputs next to each export (reference.safetensors: input.N, output.N).

    /usr/bin/python3 test/torch_export_helper.py OUT_ROOT SEED [NAME ...]
"""
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
from export_torch import export, save_safetensors  # noqa: E402
import torch_models  # noqa: E402


def random_like(a, gen):
    if a.dtype == torch.int64:  # token ids and the like: stay within the example's range
        return torch.randint(int(a.min()), int(a.max()) + 1, a.shape, generator=gen)
    return torch.randn(a.shape, generator=gen, dtype=a.dtype)


def main(root, seed, names):
    gen = torch.Generator().manual_seed(seed)
    timings = {}
    for name in names or list(torch_models.MODELS):
        module, example = torch_models.MODELS[name]()
        t0 = time.perf_counter()
        export(module, example, os.path.join(root, name))
        timings[name] = round(time.perf_counter() - t0, 3)
        inputs = [random_like(a, gen) for a in example]
        with torch.no_grad():
            out = module(*inputs)
        outs = out if isinstance(out, (tuple, list)) else [out]
        ref = {f"input.{i}": a for i, a in enumerate(inputs)}
        ref.update({f"output.{i}": o for i, o in enumerate(outs)})
        save_safetensors(ref, os.path.join(root, name, "reference.safetensors"))
    print(json.dumps({"torch": torch.__version__, "export_seconds": timings}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
