"""voxlab's generator and discriminator in PyTorch, and a loader for voxlab's weight exports.

The modules mirror lib/model/generator.ts, lib/model/discriminator.ts, lib/model/blocks.ts and
lib/model/batch_norm.ts layer by layer, for any config (widths, residual blocks, kernel sizes,
label counts):

- Convolutions pad `p` zeros on every side (Chainer's padding); deconvolutions are the transpose
  of that convolution (`torch.nn.functional.conv_transpose2d` with `padding=p`), so k4 s2 p1
  doubles the size and k7 s1 p3 keeps it.
- BatchNorm is Chainer's: epsilon 2e-5 inside the square root, running statistics updated as
  `running = decay * running + (1 - decay) * batch` (PyTorch momentum = 1 - decay = 0.1), the
  running variance receiving the unbiased batch variance; training mode normalises with the
  biased batch variance. `torch.nn.functional.batch_norm` computes exactly that.
- Convolutions followed by BatchNorm have no bias; the last deconvolution and every
  discriminator convolution have one.
- The generator's labels `c` [B, nIn] are tiled over the bottleneck and concatenated AFTER the
  features (channels `[features..., labels...]`), then a k3 s1 convolution, BatchNorm, ReLU.
  voxlab stores that kernel in two parts (`merge/conv/kernel_features`,
  `merge/conv/kernel_labels`) and computes the label part in factored form; both forms are here
  (`Generator.merge_mode`, "concat" or "factored"), and give the same result.
- Residual blocks are StarGAN's: `x + BN(conv(ReLU(BN(conv(x)))))`, no activation after the sum.
- The discriminator has no normalisation, LeakyReLU after every k4 s2 p1 convolution, an
  adversarial head (conv n1 k3 s1 p1, mean over space) and a classification head (a conv whose
  kernel covers the last map, i.e. a linear layer over the flattened map), stored in blocks of
  at most 256 outputs (`cls/kernel/0`, `cls/kernel/1`, ...), as voxlab stores it.

Layouts. voxlab (TensorFlow.js) computes in NHWC; these modules compute in PyTorch's NCHW: give
`x` as [B, C, H, W] (a voxlab [B, H, W, C] tensor is `x.permute(0, 3, 1, 2)`). Parameter names
are voxlab's with "/" replaced by "." (`down1/conv/kernel` is `down1.conv.kernel`), and an export
names them `generator.<name>` / `discriminator.<name>`. The export keeps voxlab's layouts;
`load_safetensors` converts them:

| voxlab tensor | voxlab layout | PyTorch layout | conversion |
|---|---|---|---|
| `*/conv/kernel`, `merge/conv/kernel_*` | [k, k, C_in, C_out] (HWIO) | [C_out, C_in, k, k] | permute(3, 2, 0, 1) |
| `*/deconv/kernel` | [k, k, C_out, C_in] (HWOI) | [C_in, C_out, k, k] | permute(3, 2, 0, 1) |
| `cls/kernel/i` | [rows, h*w*C] (NHWC flatten) | [rows, C*h*w] (NCHW flatten) | reshape(rows, h, w, C).permute(0, 3, 1, 2) |
| biases, BatchNorm gamma/beta/running_mean/running_var | [C] | [C] | none |

Usage:

    from voxlab_torch import load_safetensors
    G, D, meta = load_safetensors("runs/9ada9179/20261126-101939/weights.safetensors")
    y = G(x_nchw, c)               # eval mode: BatchNorm uses the running statistics
    adv, cls, features = D(y)

Only the standard library and torch are needed; the safetensors format is parsed here.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "BatchNorm",
    "Generator",
    "Discriminator",
    "resolve_generator_config",
    "resolve_discriminator_config",
    "read_safetensors",
    "load_safetensors",
    "load_voxlab_weights",
    "from_voxlab_layout",
    "CLS_ROWS",
]

#: Rows (outputs) per block of the discriminator's classification kernel (voxlab's CLS_ROWS).
CLS_ROWS = 256

#: voxlab's DEFAULT_GENERATOR (lib/model/generator.ts): the seed's generator.
DEFAULT_GENERATOR: dict[str, Any] = {
    "height": 256,
    "width": 256,
    "channels": 1,
    "widths": [32, 64, 128, 256],
    "resBlocks": 6,
    "nIn": 1479,
    "edgeKernel": 7,
    "mergeKernel": 3,
    "batchNorm": {"decay": 0.9, "epsilon": 2e-5},
}

#: voxlab's DEFAULT_DISCRIMINATOR (lib/model/discriminator.ts): 47c97768's discriminator.
DEFAULT_DISCRIMINATOR: dict[str, Any] = {
    "height": 256,
    "width": 256,
    "channels": 1,
    "widths": [32, 64, 128, 256, 512],
    "featureLayer": 4,
    "slope": 0.2,
    "advKernel": 3,
    "nOut": 1476,
}


def resolve_generator_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """voxlab's defaults filled into a partial generator config (voxlab's key names)."""
    c = {**DEFAULT_GENERATOR, **(config or {})}
    c["widths"] = list(c["widths"])
    c["batchNorm"] = {**DEFAULT_GENERATOR["batchNorm"], **((config or {}).get("batchNorm") or {})}
    factor = 2 ** (len(c["widths"]) - 1)
    if c["height"] % factor or c["width"] % factor:
        raise ValueError(
            f"Cannot build generator: input {c['height']}x{c['width']} is not divisible by {factor}"
        )
    if c["edgeKernel"] % 2 != 1 or c["mergeKernel"] % 2 != 1:
        raise ValueError("Cannot build generator: edgeKernel and mergeKernel must be odd")
    return c


def resolve_discriminator_config(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """voxlab's defaults filled into a partial discriminator config (voxlab's key names)."""
    c = {**DEFAULT_DISCRIMINATOR, **(config or {})}
    c["widths"] = list(c["widths"])
    if not 1 <= c["featureLayer"] <= len(c["widths"]):
        raise ValueError(
            f"Cannot build discriminator: featureLayer {c['featureLayer']} is not one of the "
            f"{len(c['widths'])} convolutions"
        )
    if c["advKernel"] % 2 != 1:
        raise ValueError("Cannot build discriminator: advKernel must be odd")
    return c


def _conv_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def _lecun_normal_(t: torch.Tensor, fan_in: int, generator: torch.Generator | None) -> None:
    """Chainer's LeCun normal N(0, 1/fan_in), voxlab's initialisation (lib/model/params.ts)."""
    with torch.no_grad():
        t.normal_(0.0, math.sqrt(1.0 / fan_in), generator=generator)


class BatchNorm(nn.Module):
    """BatchNorm over the channel axis of NCHW input, with voxlab's (Chainer's) semantics.

    Parameters `gamma`, `beta`; buffers `running_mean`, `running_var` (unbiased).
    """

    def __init__(self, channels: int, decay: float = 0.9, epsilon: float = 2e-5) -> None:
        super().__init__()
        self.decay = float(decay)
        self.epsilon = float(epsilon)
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.gamma,
            self.beta,
            self.training,
            1.0 - self.decay,
            self.epsilon,
        )


class Conv(nn.Module):
    """A convolution's weights: `kernel` [C_out, C_in, k, k] and optional `bias` [C_out]."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, pad: int, bias: bool) -> None:
        super().__init__()
        self.stride, self.pad = stride, pad
        self.kernel = nn.Parameter(torch.empty(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel, self.bias, self.stride, self.pad)


class Deconv(nn.Module):
    """A transposed convolution's weights: `kernel` [C_in, C_out, k, k], optional `bias`."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, pad: int, bias: bool) -> None:
        super().__init__()
        self.stride, self.pad = stride, pad
        self.kernel = nn.Parameter(torch.empty(cin, cout, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(x, self.kernel, self.bias, self.stride, self.pad)


def _activate(x: torch.Tensor, activation: str, slope: float) -> torch.Tensor:
    if activation == "relu":
        return F.relu(x)
    if activation == "leaky_relu":
        return F.leaky_relu(x, slope)
    if activation == "sigmoid":
        return torch.sigmoid(x)
    return x


class ConvBlock(nn.Module):
    """(De)convolution, then BatchNorm or bias, then activation (voxlab's ConvBlock/DeconvBlock).

    The layer is the submodule `conv` or `deconv`, BatchNorm the submodule `bn`.
    """

    def __init__(
        self,
        layer: str,
        cin: int,
        cout: int,
        k: int,
        stride: int,
        pad: int,
        *,
        batch_norm: dict[str, float] | None,
        activation: str,
        slope: float = 0.2,
    ) -> None:
        super().__init__()
        self.layer, self.activation, self.slope = layer, activation, slope
        kind = Conv if layer == "conv" else Deconv
        self.add_module(layer, kind(cin, cout, k, stride, pad, bias=batch_norm is None))
        self.bn = BatchNorm(cout, **batch_norm) if batch_norm is not None else None

    def init_weights(self, generator: torch.Generator | None) -> None:
        """LeCun normal kernels: fan-in k*k*C_in for a conv, k*k*C_out for a deconv (Chainer)."""
        kernel = getattr(self, self.layer).kernel
        k = kernel.shape[2]
        fan_in = k * k * (kernel.shape[1])  # conv [out, in, k, k]; deconv [in, out, k, k]
        _lecun_normal_(kernel, fan_in, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = getattr(self, self.layer)(x)
        if self.bn is not None:
            y = self.bn(y)
        return _activate(y, self.activation, self.slope)


class ResBlock(nn.Module):
    """StarGAN's residual block: `x + BN(conv(ReLU(BN(conv(x)))))`, k3 s1 p1 (`conv1`, `conv2`)."""

    def __init__(self, channels: int, batch_norm: dict[str, float]) -> None:
        super().__init__()
        self.conv1 = ConvBlock(
            "conv", channels, channels, 3, 1, 1, batch_norm=batch_norm, activation="relu"
        )
        self.conv2 = ConvBlock(
            "conv", channels, channels, 3, 1, 1, batch_norm=batch_norm, activation="linear"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.conv1(x))


class MergeConv(nn.Module):
    """The merge convolution's two kernel parts: `kernel_features` [F, C, k, k] and
    `kernel_labels` [F, n, k, k] (the full kernel over `[features, labels]` is their concat)."""

    def __init__(self, channels: int, labels: int, filters: int, k: int) -> None:
        super().__init__()
        self.kernel_features = nn.Parameter(torch.empty(filters, channels, k, k))
        self.kernel_labels = nn.Parameter(torch.empty(filters, labels, k, k))


class LabelMerge(nn.Module):
    """Tile labels [B, n] over features [B, C, h, w], concatenate (features first), then
    conv k s1 p(k-1)/2 without bias, BatchNorm, ReLU (voxlab's LabelMergeBlock)."""

    def __init__(
        self, channels: int, labels: int, filters: int, k: int, batch_norm: dict[str, float]
    ) -> None:
        super().__init__()
        self.k = k
        self.conv = MergeConv(channels, labels, filters, k)
        self.bn = BatchNorm(filters, **batch_norm)
        self._masks: dict[tuple[int, int], torch.Tensor] = {}

    def convolve(self, x: torch.Tensor, c: torch.Tensor, mode: str) -> torch.Tensor:
        """The convolution over `concat(x, tile(c))`, before BatchNorm: [B, F, h, w]."""
        b, _, h, w = x.shape
        p = (self.k - 1) // 2
        wf, wl = self.conv.kernel_features, self.conv.kernel_labels
        if mode == "concat":
            tiled = c[:, :, None, None].expand(b, c.shape[1], h, w)
            return F.conv2d(torch.cat([x, tiled], 1), torch.cat([wf, wl], 1), None, 1, p)
        # Factored: the tiled labels are constant over space, so their convolution is
        # sum over taps (i, j) of mask_ij(y, x) * (c . W_c[:, :, i, j]).
        mask = self._masks.get((h, w))
        if mask is None or mask.dtype != x.dtype:
            ones = torch.ones(1, 1, h, w, dtype=x.dtype)
            mask = F.unfold(ones, self.k, padding=p)[0]  # [k*k, h*w], 1 where a tap is inside
            self._masks[(h, w)] = mask
        per_tap = torch.einsum("bn,fnt->bft", c, wl.flatten(2))  # [B, F, k*k]
        spatial = (per_tap.reshape(-1, self.k * self.k) @ mask).reshape(b, -1, h, w)
        return F.conv2d(x, wf, None, 1, p) + spatial

    def forward(self, x: torch.Tensor, c: torch.Tensor, mode: str = "concat") -> torch.Tensor:
        return F.relu(self.bn(self.convolve(x, c, mode)))


class Generator(nn.Module):
    """voxlab's generator `G(x, c)`: x [B, channels, H, W] in [0, 1] (NCHW), c [B, nIn] ->
    [B, channels, H, W] in (0, 1). Submodules `down1..`, `merge`, `res1..`, `up1..` as voxlab's
    stages. `merge_mode` picks how the label merge is computed ("concat" or "factored")."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        merge_mode: str = "concat",
    ) -> None:
        super().__init__()
        c = resolve_generator_config(config)
        self.config = c
        if merge_mode not in ("concat", "factored"):
            raise ValueError(f"merge_mode must be 'concat' or 'factored', got '{merge_mode}'")
        self.merge_mode = merge_mode
        bn = dict(c["batchNorm"])
        ek, ep = c["edgeKernel"], (c["edgeKernel"] - 1) // 2
        widths = c["widths"]
        self.down_names, self.res_names, self.up_names = [], [], []
        ch = c["channels"]
        for i, w in enumerate(widths):
            k, s, p = (ek, 1, ep) if i == 0 else (4, 2, 1)
            self.add_module(
                f"down{i + 1}",
                ConvBlock("conv", ch, w, k, s, p, batch_norm=bn, activation="relu"),
            )
            self.down_names.append(f"down{i + 1}")
            ch = w
        self.merge = LabelMerge(ch, c["nIn"], ch, c["mergeKernel"], bn)
        for i in range(c["resBlocks"]):
            self.add_module(f"res{i + 1}", ResBlock(ch, bn))
            self.res_names.append(f"res{i + 1}")
        ups = list(reversed(widths[:-1]))
        for i, w in enumerate(ups):
            self.add_module(
                f"up{i + 1}",
                ConvBlock("deconv", ch, w, 4, 2, 1, batch_norm=bn, activation="relu"),
            )
            self.up_names.append(f"up{i + 1}")
            ch = w
        last = f"up{len(ups) + 1}"
        self.add_module(
            last,
            ConvBlock("deconv", ch, c["channels"], ek, 1, ep, batch_norm=None, activation="sigmoid"),
        )
        self.up_names.append(last)
        self.init_weights(torch.Generator().manual_seed(seed) if seed is not None else None)
        self.eval()

    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """voxlab's initialisation (LeCun normal kernels); the values are not voxlab's draws."""
        for m in self.modules():
            if isinstance(m, ConvBlock):
                m.init_weights(generator)
        k, (f, n) = self.config["mergeKernel"], self.merge.conv.kernel_labels.shape[:2]
        fan_in = k * k * (self.merge.conv.kernel_features.shape[1] + n)
        _lecun_normal_(self.merge.conv.kernel_features, fan_in, generator)
        _lecun_normal_(self.merge.conv.kernel_labels, fan_in, generator)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        if x.dim() != 4 or tuple(x.shape[1:]) != (cfg["channels"], cfg["height"], cfg["width"]):
            raise ValueError(
                f"Cannot apply generator: expected x [B, {cfg['channels']}, {cfg['height']}, "
                f"{cfg['width']}] (NCHW), got {list(x.shape)}"
            )
        if c.dim() != 2 or c.shape[0] != x.shape[0] or c.shape[1] != cfg["nIn"]:
            raise ValueError(
                f"Cannot apply generator: expected c [{x.shape[0]}, {cfg['nIn']}], "
                f"got {list(c.shape)}"
            )
        h = x
        for name in self.down_names:
            h = getattr(self, name)(h)
        h = self.merge(h, c.to(h.dtype), self.merge_mode)
        for name in self.res_names + self.up_names:
            h = getattr(self, name)(h)
        return h


class AdvHead(nn.Module):
    """Adversarial head: conv n1 k s1 p(k-1)/2 with bias (`conv`), mean over space."""

    def __init__(self, channels: int, k: int) -> None:
        super().__init__()
        self.conv = Conv(channels, 1, k, 1, (k - 1) // 2, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(1, 2, 3))


class ClsHead(nn.Module):
    """Classification head: a conv whose kernel covers the whole [C, h, w] map, i.e. a linear
    layer over the NCHW-flattened map; `kernel.i` [rows, C*h*w] blocks of <= CLS_ROWS outputs,
    `bias` [nOut]."""

    def __init__(self, flat: int, n_out: int, rows: list[int] | None = None) -> None:
        super().__init__()
        if rows is None:
            rows = [min(CLS_ROWS, n_out - r) for r in range(0, n_out, CLS_ROWS)]
        self.kernel = nn.ParameterList([nn.Parameter(torch.empty(r, flat)) for r in rows])
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        return torch.cat([F.linear(flat, w) for w in self.kernel], 1) + self.bias


class Discriminator(nn.Module):
    """voxlab's discriminator `D(x)`: x [B, channels, H, W] (NCHW) -> (adv [B], cls [B, nOut],
    features [B, C, h, w] after conv `featureLayer`'s LeakyReLU). Submodules `conv1..`, `adv`,
    `cls`."""

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        cls_rows: list[int] | None = None,
    ) -> None:
        super().__init__()
        c = resolve_discriminator_config(config)
        self.config = c
        self.conv_names: list[str] = []
        ch, h, w = c["channels"], c["height"], c["width"]
        for i, f in enumerate(c["widths"]):
            self.add_module(
                f"conv{i + 1}",
                ConvBlock(
                    "conv", ch, f, 4, 2, 1, batch_norm=None, activation="leaky_relu",
                    slope=c["slope"],
                ),
            )
            self.conv_names.append(f"conv{i + 1}")
            ch, h, w = f, _conv_size(h, 4, 2, 1), _conv_size(w, 4, 2, 1)
        if h < 1 or w < 1:
            raise ValueError(
                f"Cannot build discriminator: input {c['height']}x{c['width']} is too small for "
                f"{len(c['widths'])} halvings"
            )
        self.final_shape = (ch, h, w)
        self.adv = AdvHead(ch, c["advKernel"])
        self.cls = ClsHead(ch * h * w, c["nOut"], cls_rows)
        self.init_weights(torch.Generator().manual_seed(seed) if seed is not None else None)
        self.eval()

    def init_weights(self, generator: torch.Generator | None = None) -> None:
        """voxlab's initialisation (LeCun normal kernels); the values are not voxlab's draws."""
        for name in self.conv_names:
            getattr(self, name).init_weights(generator)
        k = self.adv.conv.kernel
        _lecun_normal_(k, k.shape[1] * k.shape[2] * k.shape[3], generator)
        for block in self.cls.kernel:
            _lecun_normal_(block, block.shape[1], generator)

    def _trunk(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.config
        if x.dim() != 4 or tuple(x.shape[1:]) != (cfg["channels"], cfg["height"], cfg["width"]):
            raise ValueError(
                f"Cannot apply discriminator: expected x [B, {cfg['channels']}, {cfg['height']}, "
                f"{cfg['width']}] (NCHW), got {list(x.shape)}"
            )
        h = features = x
        for i, name in enumerate(self.conv_names):
            h = getattr(self, name)(h)
            if i + 1 == cfg["featureLayer"]:
                features = h
        return h, features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        last, features = self._trunk(x)
        return self.adv(last), self.cls(last), features

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """Only the adversarial score [B] (skips the classification head)."""
        return self.adv(self._trunk(x)[0])


# --- safetensors ------------------------------------------------------------------------------

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: (tensors by name, `__metadata__`).

    Format: u64 little-endian header length N, N bytes of JSON
    `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the
    little-endian data, offsets relative to its start. Raises ValueError naming the file.
    """
    with open(path, "rb") as f:
        data = f.read()
    fail = lambda why: ValueError(f"Cannot read safetensors file '{path}': {why}")  # noqa: E731
    if len(data) < 8:
        raise fail("shorter than its 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise fail(f"header length {n} exceeds the file's {len(data)} bytes")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise fail(f"the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise fail("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    base, size = 8 + n, len(data) - 8 - n
    if sys.byteorder != "little":
        raise fail("reading needs a little-endian machine")
    tensors: dict[str, torch.Tensor] = {}
    for name, e in header.items():
        try:
            dtype = _DTYPES[e["dtype"]]
            shape = [int(d) for d in e["shape"]]
            begin, end = (int(o) for o in e["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise fail(f"tensor '{name}' has a malformed entry {e}") from None
        count = math.prod(shape)
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if not 0 <= begin <= end <= size or end - begin != count * itemsize:
            raise fail(f"tensor '{name}' has offsets [{begin}, {end}] for shape {shape} {e['dtype']}")
        raw = bytearray(data[base + begin : base + end])
        flat = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(shape)
    return tensors, metadata


def from_voxlab_layout(name: str, t: torch.Tensor, cls_map: tuple[int, int, int] | None = None):
    """A voxlab tensor converted to this module's layout (see the module doc's table).
    `cls_map` is the discriminator's last map (C, h, w), needed for `cls/kernel/i`."""
    parts = name.split("/")
    if parts[-1] in ("kernel", "kernel_features", "kernel_labels") and t.dim() == 4:
        return t.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW; deconv HWOI -> IOHW
    if len(parts) == 3 and parts[0] == "cls" and parts[1] == "kernel":
        if cls_map is None:
            raise ValueError(f"Cannot convert '{name}': the discriminator's map size is needed")
        ch, h, w = cls_map
        rows = t.shape[0]
        return t.reshape(rows, h, w, ch).permute(0, 3, 1, 2).reshape(rows, ch * h * w).contiguous()
    return t


def load_voxlab_weights(
    module: Generator | Discriminator, weights: dict[str, torch.Tensor], what: str
) -> None:
    """Load voxlab-named, voxlab-layout weights (`down1/conv/kernel`, ...) into `module`;
    every parameter and buffer must be given, and nothing else."""
    cls_map = module.final_shape if isinstance(module, Discriminator) else None
    expected = module.state_dict()
    state = {}
    for name, t in weights.items():
        key = name.replace("/", ".")
        if key not in expected:
            raise ValueError(f"Cannot load {what}: unknown weight '{name}'")
        value = from_voxlab_layout(name, t, cls_map).to(expected[key].dtype)
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(
                f"Cannot load {what}: '{name}' converts to {list(value.shape)}, "
                f"expected {list(expected[key].shape)}"
            )
        state[key] = value
    missing = [k for k in expected if k not in state]
    if missing:
        raise ValueError(f"Cannot load {what}: missing weight '{missing[0].replace('.', '/')}'")
    module.load_state_dict(state)


def load_safetensors(
    path: str, *, merge_mode: str = "concat"
) -> tuple[Generator, Discriminator, dict[str, str]]:
    """Build voxlab's generator and discriminator from an export's metadata (`generator_config`,
    `discriminator_config`) and load its `generator.*` / `discriminator.*` weights, converting
    voxlab's layouts. Both modules are returned in eval mode (BatchNorm uses the running
    statistics, as voxlab's conversion does); `metadata` is the file's `__metadata__`."""
    tensors, metadata = read_safetensors(path)
    fail = lambda why: ValueError(f"Cannot load '{path}': {why}")  # noqa: E731
    try:
        g_config = json.loads(metadata["generator_config"])
        d_config = json.loads(metadata["discriminator_config"])
    except KeyError as e:
        raise fail(f"metadata has no {e} (not a voxlab export?)") from None
    except json.JSONDecodeError as e:
        raise fail(f"metadata config is not JSON ({e})") from None
    parts: dict[str, dict[str, torch.Tensor]] = {"generator": {}, "discriminator": {}}
    for name, t in tensors.items():
        prefix, _, rest = name.partition(".")
        if prefix not in parts or not rest:
            raise fail(f"tensor '{name}' is neither generator.* nor discriminator.*")
        parts[prefix][rest.replace(".", "/")] = t
    d_rows = sorted(
        (int(n.split("/")[2]), t.shape[0])
        for n, t in parts["discriminator"].items()
        if n.startswith("cls/kernel/")
    )
    generator = Generator(g_config, merge_mode=merge_mode)
    discriminator = Discriminator(d_config, cls_rows=[r for _, r in d_rows] or None)
    try:
        load_voxlab_weights(generator, parts["generator"], "generator")
        load_voxlab_weights(discriminator, parts["discriminator"], "discriminator")
    except ValueError as e:
        raise fail(str(e)) from None
    generator.eval()
    discriminator.eval()
    return generator, discriminator, metadata
