"""PyTorch reference for voxlab's model bench: the seed's generator forward and one GAN iteration.

The same work as `deno task bench --only model` (tasks/bench/model.ts), written as a PyTorch user
would write it, with the modules of voxlab_torch.py:

- networks: the seed's generator (widths 32..256, 6 residual blocks, k7 edges, k3 label merge)
  and 47c97768's discriminator (widths 32..512, features at conv4, LeakyReLU 0.2);
- generator forward: batch 2, training mode (batch statistics), no gradient;
- one iteration: 5 critic updates, then 1 generator update, each on a fresh random batch;
  RMSprop (lr 1e-5, alpha 0.99, eps 1e-8) for both, both networks in training mode;
  - critic: `mean(D(fake)) - mean(D(x_B))` + 10 * gradient penalty on `x_hat` between x_B and
    `fake = G(x_A, c_B)` (double backprop, `||g|| = sqrt(sum g^2 + 1e-12)`) + sigmoid
    cross-entropy of `D_cls(x_B)` against y_B (-1 ignored, divided by the known entries);
  - generator: `-mean(D(fake))` + classification of `D_cls(fake)` + 10 * MSE(G(fake, c_A), x_A)
    + 10 * MSE(D_f(fake), D_f(x_B)) (+ `--identity-weight` * MSE(G(x_A, c_A), x_A); 0 by default,
    as the voxlab bench uses 9ada9179's generator terms; 47c97768's is 5);
  lib/train/terms.ts and lib/loss/*.ts define these terms in voxlab.
- labels: c ~ Bernoulli(0.01); y_B is 1 with p 0.01, 0 with p 0.49, -1 (unknown) otherwise.

The label merge is computed in voxlab's factored form by default (`--merge factored`, the same
arithmetic as voxlab); `--merge concat` tiles and concatenates the labels as the textbook does.

Prints one JSON object on stdout:
{"torch": version, "threads": T, "generator_forward_s": [...], "iteration_s": [...],
 "peak_rss_mib": peak resident set of the process, plus the settings used}.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from voxlab_torch import Discriminator, Generator  # noqa: E402

#: The iteration's settings: experiments/9ada9179.ts's (47c97768's without the identity term;
#: `--identity-weight 5` adds it back). tests/torch_parity_test.ts checks that they, and
#: voxlab_torch's default model sizes, still equal the experiment files'.
SETTINGS = {
    "batch": 2,
    "nCritic": 5,
    "critic": {"adversarial": 1, "gradientPenalty": 10, "classification": 1},
    "generator": {"adversarial": 1, "classification": 1, "reconstruction": 10, "featureMatching": 10},
    "optimizer": {"kind": "rmsprop", "lr": 1e-5, "alpha": 0.99, "eps": 1e-8},
}
BATCH = SETTINGS["batch"]
N_CRITIC = SETTINGS["nCritic"]
CRITIC, GENERATOR, OPTIMIZER = SETTINGS["critic"], SETTINGS["generator"], SETTINGS["optimizer"]


def sigmoid_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Chainer's sigmoid cross-entropy with ignore label -1, normalised by the known entries."""
    mask = (targets != -1).to(logits.dtype)
    t = targets.clamp(min=0)
    per = F.relu(logits) - logits * t + torch.log1p(torch.exp(-logits.abs()))
    return (per * mask).sum() / mask.sum().clamp(min=1)


def gradient_penalty(d: Discriminator, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = (fake + eps * (real - fake)).requires_grad_(True)
    (grad,) = torch.autograd.grad(d.score(x_hat).sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.square().sum(dim=(1, 2, 3)) + 1e-12)
    return (norm - 1).square().mean()


def make_batch(size: int, n_in: int, n_out: int):
    def labels(n: int) -> torch.Tensor:
        return (torch.rand(BATCH, n) < 0.01).float()

    u = torch.rand(BATCH, n_out)
    y_b = torch.where(u < 0.01, 1.0, torch.where(u < 0.5, 0.0, -1.0))
    x_a, x_b = torch.rand(BATCH, 1, size, size), torch.rand(BATCH, 1, size, size)
    return x_a, labels(n_in), x_b, labels(n_in), y_b


def iteration(g, d, opt_g, opt_d, sizes, identity_weight: float) -> None:
    """5 critic updates, then 1 generator update."""
    g.train()
    d.train()
    for _ in range(N_CRITIC):
        x_a, _c_a, x_b, c_b, y_b = make_batch(*sizes)
        with torch.no_grad():
            fake = g(x_a, c_b)
        adv_real, cls_real, _ = d(x_b)
        adv_fake, _, _ = d(fake)
        loss = (
            CRITIC["adversarial"] * (adv_fake.mean() - adv_real.mean())
            + CRITIC["gradientPenalty"] * gradient_penalty(d, x_b, fake)
            + CRITIC["classification"] * sigmoid_cross_entropy(cls_real, y_b)
        )
        opt_d.zero_grad(set_to_none=True)
        loss.backward()
        opt_d.step()
    x_a, c_a, x_b, c_b, y_b = make_batch(*sizes)
    d.requires_grad_(False)
    try:
        fake = g(x_a, c_b)
        reconstruction = g(fake, c_a)
        adv_fake, cls_fake, feat_fake = d(fake)
        with torch.no_grad():
            _, _, feat_real = d(x_b)
        loss = (
            GENERATOR["adversarial"] * -adv_fake.mean()
            + GENERATOR["classification"] * sigmoid_cross_entropy(cls_fake, y_b)
            + GENERATOR["reconstruction"] * F.mse_loss(reconstruction, x_a)
            + GENERATOR["featureMatching"] * F.mse_loss(feat_fake, feat_real)
        )
        if identity_weight:
            loss = loss + identity_weight * F.mse_loss(g(x_a, c_a), x_a)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
    finally:
        d.requires_grad_(True)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="bench_iteration.py",
        description="PyTorch reference of voxlab's model bench: the seed's generator forward and "
        "one GAN iteration (5 critic with WGAN-GP + 1 generator update, batch 2, RMSprop). "
        "Prints one JSON object on stdout.",
    )
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads (0 = all cores)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (default 1)")
    parser.add_argument("--labels-in", type=int, default=1479, help="generator labels nIn")
    parser.add_argument("--labels-out", type=int, default=1476, help="discriminator outputs nOut")
    parser.add_argument("--size", type=int, default=256, help="spectrogram height = width")
    parser.add_argument(
        "--merge", choices=["factored", "concat"], default="factored",
        help="label merge: voxlab's factored form (default) or tile + concat",
    )
    parser.add_argument(
        "--identity-weight", type=float, default=0.0,
        help="weight of the identity-mapping term (0 = 9ada9179's terms, 5 = 47c97768's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    for flag in ("repeats", "labels_in", "labels_out", "size"):
        if getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    if args.warmup < 0 or args.threads < 0:
        parser.error("--warmup and --threads must be at least 0")
    if args.size % 32:
        parser.error(f"--size must be a multiple of 32 (five halvings), got {args.size}")

    threads = args.threads or (os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(args.seed)
    size = args.size
    g = Generator(
        {"height": size, "width": size, "nIn": args.labels_in}, seed=args.seed,
        merge_mode=args.merge,
    )
    d = Discriminator(
        {"height": size, "width": size, "nOut": args.labels_out}, seed=args.seed + 1
    )
    rmsprop = {k: OPTIMIZER[k] for k in ("lr", "alpha", "eps")}
    opt_g = torch.optim.RMSprop(g.parameters(), **rmsprop)
    opt_d = torch.optim.RMSprop(d.parameters(), **rmsprop)
    sizes = (size, args.labels_in, args.labels_out)

    def forward() -> None:
        x_a, _, _, c_b, _ = make_batch(*sizes)
        g.train()
        with torch.no_grad():
            g(x_a, c_b)

    def timed(f) -> list[float]:
        for _ in range(args.warmup):
            f()
        out = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            f()
            out.append(round(time.perf_counter() - t0, 4))
        return out

    forward_s = timed(forward)
    iteration_s = timed(lambda: iteration(g, d, opt_g, opt_d, sizes, args.identity_weight))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({
        "torch": torch.__version__,
        "threads": threads,
        "generator_forward_s": forward_s,
        "iteration_s": iteration_s,
        "peak_rss_mib": round(peak, 1),
        "batch": BATCH,
        "size": size,
        "labels_in": args.labels_in,
        "labels_out": args.labels_out,
        "merge": args.merge,
        "identity_weight": args.identity_weight,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
