"""Run an exported voxlab generator and discriminator in PyTorch on given inputs; print JSON.

    python3 tools/torch/apply_export.py WEIGHTS.safetensors INPUTS.safetensors

INPUTS holds `x` [B, H, W, C] (voxlab's NHWC) and `c` [B, nIn]. Prints one JSON object with
flat row-major lists, every image-shaped output in NHWC (as voxlab computes them):

- `g_eval`, `g_eval_factored`: G(x, c) in eval mode (BatchNorm running statistics), with the
  label merge computed as tile + concat and in voxlab's factored form;
- `g_train`: G(x, c) in training mode (batch statistics), computed after the eval passes;
- `running`: every BatchNorm running statistic after that training-mode pass, by voxlab name;
- `d_adv`, `d_cls`, `d_features`: D(x);
- `safetensors_package`: the `safetensors` package's version when it is installed (then its
  reader must give the same tensors as voxlab_torch's, else this exits with an error), or null.

tests/torch_parity_test.ts compares these with voxlab's own outputs.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from voxlab_torch import load_safetensors, read_safetensors  # noqa: E402


def nhwc(t: torch.Tensor) -> list[float]:
    return t.detach().permute(0, 2, 3, 1).reshape(-1).tolist()


def check_with_package(path: str) -> str | None:
    try:
        import safetensors
        from safetensors.torch import load_file
    except ImportError:
        return None
    ours, _ = read_safetensors(path)
    theirs = load_file(path)
    if sorted(ours) != sorted(theirs):
        raise SystemExit(f"apply_export: the safetensors package reads other names from '{path}'")
    for name, t in ours.items():
        if not torch.equal(t, theirs[name]):
            raise SystemExit(f"apply_export: the safetensors package reads '{name}' differently")
    return safetensors.__version__


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] in ("-h", "--help"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    weights, inputs = argv
    try:
        g, d, meta = load_safetensors(weights)
        tensors, _ = read_safetensors(inputs)
    except (OSError, ValueError) as e:
        print(f"apply_export: {e}", file=sys.stderr)
        return 1
    x = tensors["x"].permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    c = tensors["c"]
    out: dict[str, object] = {"config_hash": meta.get("config_hash")}
    with torch.no_grad():
        out["g_eval"] = nhwc(g(x, c))
        g.merge_mode = "factored"
        out["g_eval_factored"] = nhwc(g(x, c))
        g.merge_mode = "concat"
        g.train()
        out["g_train"] = nhwc(g(x, c))
        out["running"] = {
            name.replace(".", "/"): t.reshape(-1).tolist()
            for name, t in g.state_dict().items()
            if name.endswith("running_mean") or name.endswith("running_var")
        }
        adv, cls, features = d(x)
        out["d_adv"] = adv.tolist()
        out["d_cls"] = cls.reshape(-1).tolist()
        out["d_features"] = nhwc(features)
    out["safetensors_package"] = check_with_package(weights)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
