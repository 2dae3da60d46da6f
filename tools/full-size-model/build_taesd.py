"""Build a TAESD-sized tiny VAE (diffusers' `AutoencoderTiny` at its default configuration, which is
TAESD's: 64 channels, about 1.2M parameters per half) with random weights, and export it to ONNX in
the Hub layout of TAESD's exports (`deinferno/taesd-onnx`): `vae_decoder/model.onnx`
(`latent_sample` → `sample`) and `vae_encoder/model.onnx` (`sample` → `latent_sample`), each with
its `config.json`. The engine finds it as `taesd/` inside or beside a model, or by `--tiny-vae`.

The weights are random, so the pictures are noise; the point is the cost of a decode beside the
full-size pipeline of build.py.

    PYTHONPATH=/work/scratch /work/venv-train/bin/python tools/full-size-model/build_taesd.py --out /work/scratch/i20/taesd-random
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import REPO, check, export, log, parameters, signature  # noqa: E402


class TinyDecoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample).sample


class TinyEncoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder, outside the repository (about 10 MB)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        sys.exit(f"--out {out} is inside the repository")
    from diffusers import AutoencoderTiny

    torch.manual_seed(args.seed)
    shutil.rmtree(out, ignore_errors=True)
    vae = AutoencoderTiny().eval()
    log(f"tiny vae: decoder {parameters(vae.decoder)}, encoder {parameters(vae.encoder)} (in millions, rounded)")
    decoder, encoder = TinyDecoder(vae), TinyEncoder(vae)
    errors = {}
    path = out / "vae_decoder/model.onnx"
    export(decoder, (torch.randn(1, 4, 64, 64),), path, ["latent_sample"], ["sample"], {
        "latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
        "sample": {0: "batch_size", 2: "height", 3: "width"},
    })
    errors["vae_decoder"] = check(decoder, path, {"latent_sample": torch.randn(1, 4, 16, 12)})
    vae.save_config(out / "vae_decoder")
    path = out / "vae_encoder/model.onnx"
    export(encoder, (torch.rand(1, 3, 512, 512) * 2 - 1,), path, ["sample"], ["latent_sample"], {
        "sample": {0: "batch_size", 2: "height", 3: "width"},
        "latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
    })
    errors["vae_encoder"] = check(encoder, path, {"sample": torch.rand(1, 3, 128, 96) * 2 - 1})
    vae.save_config(out / "vae_encoder")
    for name, error in errors.items():
        log(f"{name}: max |onnxruntime − torch| / max |torch| = {error:.1e}; {signature(out / name / 'model.onnx')}")
        assert error < 1e-3, f"{name} export disagrees with torch by {error:.1e} (relative)"
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        print(f"{f.stat().st_size:>12}  {f.relative_to(out)}")


if __name__ == "__main__":
    main()
