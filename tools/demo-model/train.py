"""Train the shapes demo model (SD 1.x architecture, 64x64) from scratch on CPU.

Stage `vae` trains an AutoencoderKL (x8, 4 latent channels), then freezes it and measures the
latent scale; stage `decoder` fine-tunes its decoder with the encoder frozen. Stage `unet` trains
a UNet2DConditionModel with cross-attention together with a 2-layer CLIPTextModel behind the real
CLIP tokenizer, keeping EMA weights (`--resume` continues from them). All stages are step-budgeted
with fixed seeds, so a run is reproducible; a wall-clock guard stops a run that would blow the
time budget (and says so in the log).

Checkpoints are written with diffusers/transformers `save_pretrained` into --out, outside the
repository; export.py turns them into the ONNX folder.

    PYTHONPATH=/path/to/diffusers/src python train.py --out /work/scratch/demo-train
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import shapes

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_TOKENIZER = REPO / "test/fixtures/oracle/models/tiny-sd/tokenizer"

# SD v1.4's scheduler config (PNDM). The training noise schedule is the same betas.
SCHEDULER_CONFIG = {
    "_class_name": "PNDMScheduler",
    "_diffusers_version": "0.7.0.dev0",
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "trained_betas": None,
    "clip_sample": False,
}

MAX_LENGTH = 77  # CLIP's context; SD pads every prompt to it with <|endoftext|>

VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=["DownEncoderBlock2D"] * 4,
    up_block_types=["UpDecoderBlock2D"] * 4,
    block_out_channels=[16, 32, 32, 32],
    latent_channels=4,
    layers_per_block=1,
    norm_num_groups=8,
    sample_size=shapes.IMAGE_SIZE,
)

# Hidden size 32 (not 64): the 49408-row token embedding is most of the text encoder, and at 64
# it alone would be 12.6 MB of float32, past the 15 MB budget for the whole exported folder.
TEXT_CONFIG = dict(
    vocab_size=49408,
    hidden_size=32,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    max_position_embeddings=MAX_LENGTH,
    projection_dim=32,
    hidden_act="quick_gelu",
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)

UNET_CONFIG = dict(
    sample_size=shapes.IMAGE_SIZE // 8,
    in_channels=4,
    out_channels=4,
    layers_per_block=1,
    block_out_channels=[32, 64],
    down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
    cross_attention_dim=TEXT_CONFIG["hidden_size"],
    attention_head_dim=8,
    norm_num_groups=8,
)


def log(fh, msg: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    fh.write(line + "\n")
    fh.flush()


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [-1, 1], as SD's image processor does."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def cosine_lr(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train_vae(args, fh) -> None:
    from diffusers import AutoencoderKL

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    vae = AutoencoderKL(**VAE_CONFIG)
    # Start with a small posterior std (exp(0.5 * logvar)): at the default init (std 1) the
    # sampled latents are mostly noise and the decoder spends its first steps learning averages.
    with torch.no_grad():
        vae.quant_conv.bias[VAE_CONFIG["latent_channels"]:] = args.logvar_init
    opt = torch.optim.AdamW(vae.parameters(), lr=args.vae_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_lr(s, args.vae_steps, 50))

    log(fh, f"vae: {sum(p.numel() for p in vae.parameters())} params, {args.vae_steps} steps, batch {args.vae_batch}")
    start = time.time()
    running = []
    for step in range(args.vae_steps):
        images, _ = shapes.sample_batch(rng, args.vae_batch, shapes.all_combos())
        x = to_tensor(images)
        posterior = vae.encode(x).latent_dist
        recon = vae.decode(posterior.sample()).sample
        rec = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
        kl = posterior.kl().mean()
        loss = rec + args.kl_weight * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        running.append(rec.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.vae_steps:
            elapsed = time.time() - start
            eta = elapsed / (step + 1) * (args.vae_steps - step - 1)
            log(fh, f"vae step {step + 1}/{args.vae_steps} rec {np.mean(running):.5f} kl {kl.item():.1f} "
                    f"lr {sched.get_last_lr()[0]:.2e} elapsed {elapsed / 60:.1f}m eta {eta / 60:.1f}m")
            running = []
        if time.time() - start > args.max_minutes * 60:
            log(fh, f"vae: time guard hit at step {step + 1}; stopping early")
            break

    vae.eval()
    agree, recon_pass = reconstruction_check(vae)
    with torch.no_grad():
        # Latent scale: SD divides by the latents' std so the UNet sees unit variance.
        lat_images, _ = shapes.sample_batch(np.random.default_rng(20_000), 512, shapes.all_combos())
        lats = torch.cat([vae.encode(to_tensor(lat_images[i:i + 64])).latent_dist.sample()
                          for i in range(0, 512, 64)])
        std, mean = lats.std().item(), lats.mean().item()
    scaling = float(f"{1.0 / std:.5g}")
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(Path(args.out) / "vae")
    minutes = (time.time() - start) / 60
    log(fh, f"vae done in {minutes:.1f}m: palette-class agreement of reconstructions {agree:.4f}, "
            f"colour criterion on reconstructions {recon_pass:.3f}, "
            f"latent mean {mean:.3f} std {std:.3f} -> scaling_factor {scaling}")
    _update_meta(args, {"vae": {"steps": args.vae_steps, "minutes": round(minutes, 2),
                                "class_agreement": round(float(agree), 4),
                                "recon_colour_pass": round(float(recon_pass), 4), "scaling_factor": scaling}})


def reconstruction_check(vae) -> tuple[float, float]:
    """Palette-class agreement of encode->decode on 256 fixed pictures, and the share of them
    that pass evaluate.py's colour criterion (an upper bound for the whole model)."""
    images, combos = shapes.sample_batch(np.random.default_rng(10_000), 256, shapes.all_combos())
    with torch.no_grad():
        recon = torch.cat([vae.decode(vae.encode(to_tensor(images[i:i + 64])).latent_dist.mode()).sample
                           for i in range(0, len(images), 64)])
    recon_u8 = ((recon.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    agree = np.mean([(shapes.classify_pixels(a) == shapes.classify_pixels(b)).mean()
                     for a, b in zip(images, recon_u8)])
    passed = np.mean([shapes.judge(b, *c)["colours_ok"] for b, c in zip(recon_u8, combos)])
    return float(agree), float(passed)


def train_decoder(args, fh) -> None:
    """Fine-tune the VAE decoder with the encoder frozen.

    The UNet only ever sees the encoder's latents, so this stage leaves the latent space (and
    the scaling factor) unchanged and can run before, after or beside the UNet stage. It fixes
    what the first stage left undertrained: dark foregrounds (black decoded as dark blue).
    """
    from diffusers import AutoencoderKL

    torch.manual_seed(args.seed + 2)
    rng = np.random.default_rng(args.seed + 2)
    path = Path(args.out) / "vae"
    vae = AutoencoderKL.from_pretrained(path)
    vae.requires_grad_(False)
    trainable = list(vae.post_quant_conv.parameters()) + list(vae.decoder.parameters())
    for p_ in trainable:
        p_.requires_grad_(True)
    opt = torch.optim.AdamW(trainable, lr=args.decoder_lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_lr(s, args.decoder_steps, 50))
    before = reconstruction_check(vae.eval())
    log(fh, f"decoder: {sum(p_.numel() for p_ in trainable)} params, {args.decoder_steps} steps, batch "
            f"{args.vae_batch}; before: agreement {before[0]:.4f}, colour criterion {before[1]:.3f}")
    vae.decoder.train()
    start = time.time()
    running = []
    for step in range(args.decoder_steps):
        images, _ = shapes.sample_batch(rng, args.vae_batch, shapes.all_combos())
        x = to_tensor(images)
        with torch.no_grad():
            z = vae.encode(x).latent_dist.sample()
        recon = vae.decode(z).sample
        loss = F.mse_loss(recon, x) + 0.5 * F.l1_loss(recon, x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        sched.step()
        running.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.decoder_steps:
            elapsed = time.time() - start
            eta = elapsed / (step + 1) * (args.decoder_steps - step - 1)
            log(fh, f"decoder step {step + 1}/{args.decoder_steps} rec {np.mean(running):.5f} "
                    f"lr {sched.get_last_lr()[0]:.2e} elapsed {elapsed / 60:.1f}m eta {eta / 60:.1f}m")
            running = []
        if time.time() - start > args.max_minutes * 60:
            log(fh, f"decoder: time guard hit at step {step + 1}; stopping early")
            break
    vae.eval()
    agree, recon_pass = reconstruction_check(vae)
    vae.save_pretrained(path)
    minutes = (time.time() - start) / 60
    log(fh, f"decoder done in {minutes:.1f}m: agreement {agree:.4f}, colour criterion {recon_pass:.3f}")
    _update_meta(args, {"decoder": {"steps": args.decoder_steps, "minutes": round(minutes, 2),
                                    "class_agreement": round(agree, 4), "recon_colour_pass": round(recon_pass, 4)}})


class EMA:
    """Exponential moving average of parameters, with the usual warm-up of the decay."""

    def __init__(self, params, decay: float):
        self.params = list(params)
        self.shadow = [p.detach().clone() for p in self.params]
        self.decay = decay

    @torch.no_grad()
    def update(self, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_mul_(self.shadow, d)
        torch._foreach_add_(self.shadow, [p.detach() for p in self.params], alpha=1 - d)

    @torch.no_grad()
    def copy_to(self) -> None:
        for s, p in zip(self.shadow, self.params):
            p.copy_(s)


def train_unet(args, fh) -> None:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    # A resumed run (--resume) draws its own pictures and noise, not a replay of the first run's.
    seed = args.seed + (3 if args.resume else 1)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    out = Path(args.out)
    vae = AutoencoderKL.from_pretrained(out / "vae").eval().requires_grad_(False)
    scaling = vae.config.scaling_factor
    tokenizer = CLIPTokenizer.from_pretrained(args.tokenizer)
    if args.resume:
        # Continue from the saved (EMA) weights with a fresh optimizer and LR schedule.
        text_encoder = CLIPTextModel.from_pretrained(out / "text_encoder")
        unet = UNet2DConditionModel.from_pretrained(out / "unet")
        text_encoder.train()
        unet.train()
    else:
        text_encoder = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))
        unet = UNet2DConditionModel(**UNET_CONFIG)
    noise_sched = DDPMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
                                beta_schedule="scaled_linear", clip_sample=False)
    alphas_cumprod = noise_sched.alphas_cumprod
    snr = alphas_cumprod / (1 - alphas_cumprod)

    prompts = [shapes.caption(*c) for c in shapes.all_combos()] + [""]
    enc = tokenizer(prompts, padding="max_length", max_length=MAX_LENGTH, truncation=True, return_tensors="pt")
    ids_of = {p: enc.input_ids[i] for i, p in enumerate(prompts)}

    params = list(unet.parameters()) + list(text_encoder.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: cosine_lr(s, args.unet_steps, args.warmup))
    ema = EMA(params, args.ema_decay)
    log(fh, f"unet{' (resumed)' if args.resume else ''}: {sum(p.numel() for p in unet.parameters())} params, text encoder "
            f"{sum(p.numel() for p in text_encoder.parameters())}, {args.unet_steps} steps, batch {args.batch}, "
            f"lr {args.lr}, empty captions {args.p_uncond:.0%}, vae scaling {scaling}")

    start = time.time()
    running = []
    stopped_at = args.unet_steps
    for step in range(args.unet_steps):
        images, combos = shapes.sample_batch(rng, args.batch)
        drop = rng.random(args.batch) < args.p_uncond
        ids = torch.stack([ids_of["" if d else shapes.caption(*c)] for c, d in zip(combos, drop)])
        with torch.no_grad():
            latents = vae.encode(to_tensor(images)).latent_dist.sample() * scaling
        noise = torch.randn_like(latents)
        # Offset noise (Guttenberg 2023): SD's schedule leaves signal at t=999, and in these
        # flat-colour pictures the latents' per-channel mean *is* the background. Without this the
        # UNet learns to read the background from that leak, and at inference the seed's noise
        # picks it instead of the prompt (measured: 21/48 backgrounds right, 31/48 when the
        # initial noise was made zero-mean). A random per-channel shift hides the mean.
        noise = noise + args.offset_noise * torch.randn(args.batch, latents.shape[1], 1, 1)
        t = torch.randint(0, 1000, (args.batch,))
        noisy = noise_sched.add_noise(latents, noise, t)
        hidden = text_encoder(ids)[0]
        pred = unet(noisy, t, hidden).sample
        # Min-SNR-gamma weighting (Hang et al. 2023, arXiv:2303.09556) for epsilon prediction.
        weight = torch.clamp(snr[t], max=args.snr_gamma) / snr[t]
        loss = (F.mse_loss(pred, noise, reduction="none").mean(dim=(1, 2, 3)) * weight).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        ema.update(step)
        running.append(loss.item())
        if (step + 1) % args.log_every == 0 or step + 1 == args.unet_steps:
            elapsed = time.time() - start
            eta = elapsed / (step + 1) * (args.unet_steps - step - 1)
            log(fh, f"unet step {step + 1}/{args.unet_steps} loss {np.mean(running):.4f} "
                    f"lr {sched.get_last_lr()[0]:.2e} elapsed {elapsed / 60:.1f}m eta {eta / 60:.1f}m "
                    f"({elapsed / (step + 1):.3f}s/step)")
            running = []
        if time.time() - start > args.max_minutes * 60:
            stopped_at = step + 1
            log(fh, f"unet: time guard hit at step {stopped_at}; stopping early")
            break

    ema.copy_to()
    unet.save_pretrained(out / "unet")
    text_encoder.save_pretrained(out / "text_encoder")
    tokenizer.save_pretrained(out / "tokenizer")
    minutes = (time.time() - start) / 60
    log(fh, f"unet done in {minutes:.1f}m; EMA weights saved to {out}")
    _update_meta(args, {"unet_resume" if args.resume else "unet": {"steps": stopped_at, "planned_steps": args.unet_steps,
                                 "minutes": round(minutes, 2), "batch": args.batch, "lr": args.lr}})


def _update_meta(args, entry: dict) -> None:
    path = Path(args.out) / "train_meta.json"
    meta = json.loads(path.read_text()) if path.exists() else {}
    meta.update(entry)
    meta["args"] = {k: str(v) for k, v in vars(args).items()}
    path.write_text(json.dumps(meta, indent=2) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="/work/scratch/demo-train", help="checkpoint folder (outside the repo)")
    p.add_argument("--stage", choices=["all", "vae", "decoder", "unet"], default="all")
    p.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER))
    p.add_argument("--seed", type=int, default=0)
    # One thread: the machine's two cores are shared, and two OpenMP threads that busy-wait
    # on a loaded machine ran a UNet step 5-10x slower than one thread did (measured).
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--vae-steps", type=int, default=2000)
    p.add_argument("--vae-batch", type=int, default=16)
    p.add_argument("--vae-lr", type=float, default=2e-3)
    p.add_argument("--kl-weight", type=float, default=1e-7)
    p.add_argument("--logvar-init", type=float, default=-6.0)
    p.add_argument("--decoder-steps", type=int, default=1000)
    p.add_argument("--decoder-lr", type=float, default=5e-4)
    p.add_argument("--unet-steps", type=int, default=4000)
    p.add_argument("--resume", action="store_true", help="unet stage: continue from the saved weights")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--p-uncond", type=float, default=0.1, help="share of empty captions (for CFG)")
    p.add_argument("--snr-gamma", type=float, default=5.0)
    p.add_argument("--offset-noise", type=float, default=0.1)
    p.add_argument("--max-minutes", type=float, default=50.0, help="wall-clock guard per stage")
    p.add_argument("--log-every", type=int, default=100)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    with open(Path(args.out) / "train.log", "a") as fh:
        log(fh, f"start: {vars(args)}")
        if args.stage in ("all", "vae"):
            train_vae(args, fh)
        if args.stage in ("all", "decoder"):
            train_decoder(args, fh)
        if args.stage in ("all", "unet"):
            train_unet(args, fh)
        log(fh, "all done")


if __name__ == "__main__":
    main()
