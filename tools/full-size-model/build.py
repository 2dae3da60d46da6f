"""Build a full-size Stable Diffusion 1.5-architecture pipeline with random weights and export it
to ONNX in the optimum layout the engine reads, without downloading anything.

The weights are random, so the pictures are noise; the point is the cost. Every tensor the engine
touches has SD 1.5's shapes (860M-parameter UNet, 123M CLIP text encoder, 84M AutoencoderKL), so
load time, time per UNet call, VAE decode time and peak memory are those of a real SD 1.5 export.
Names, dtypes and dynamic axes follow the oracle tiny-sd export (test/fixtures/oracle/models/tiny-sd):
text_encoder `input_ids` int64, the UNet's `timestep` a float32 scalar, `latent_parameters` from the
VAE encoder. The UNet is over protobuf's 2 GB limit, so its weights go to `unet/model.onnx_data`
beside it, as optimum writes them.

    PYTHONPATH=/work/scratch /work/venv-train/bin/python tools/full-size-model/build.py --out /work/scratch/sd15-random

`--parts` picks what to build (default the four SD modules). `safety_checker` is SD v1.4's filter:
diffusers' `StableDiffusionSafetyChecker` (CLIP ViT-L/14 vision, 304M parameters, plus the 768-wide
projection and concept embeddings) exported as diffusers' ONNX script exports it (`forward_onnx`:
`clip_input` [batch,3,224,224], `images` [batch,H,W,3] → `out_images`, `has_nsfw_concepts`), with
SD v1.4's `feature_extractor/preprocessor_config.json` (copied from tiny-sd-safety, where it is
byte-identical to CompVis/stable-diffusion-v1-4's). Random concept embeddings flag nothing; the
time per image is what matters:

    PYTHONPATH=/work/scratch /work/venv-train/bin/python tools/full-size-model/build.py --parts safety_checker --out /work/scratch/i21/sd15-safety-checker
"""

from __future__ import annotations

import argparse
import filecmp
import gc
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from sd_onnx_modules import TextEncoder, UNet, VaeDecoder, VaeEncoder  # noqa: E402

TINY_SD = REPO / "test/fixtures/oracle/models/tiny-sd"
TINY_SD_SAFETY = REPO / "test/fixtures/oracle/models/tiny-sd-safety"
TOKENIZER_FILES = ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]
OPSET = 17
MAX_LENGTH = 77
# A traced export that disagrees with torch by more than this (relative to the output's largest
# value) is broken, not rounded: fp32 rounding over SD's depth stays near 1e-5.
RELATIVE_TOLERANCE = 1e-3

# runwayml/stable-diffusion-v1-5 unet/config.json (diffusers' defaults spelled out where SD states them).
UNET_CONFIG = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    center_input_sample=False,
    flip_sin_to_cos=True,
    freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    downsample_padding=1,
    mid_block_scale_factor=1,
    act_fn="silu",
    norm_num_groups=32,
    norm_eps=1e-5,
    cross_attention_dim=768,
    attention_head_dim=8,
)
# openai/clip-vit-large-patch14's text model, as SD 1.x ships it; token ids of the real CLIP BPE.
TEXT_CONFIG = dict(
    vocab_size=49408,
    hidden_size=768,
    intermediate_size=3072,
    projection_dim=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    max_position_embeddings=MAX_LENGTH,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
    bos_token_id=49406,
    eos_token_id=49407,
    pad_token_id=49407,
)
# runwayml/stable-diffusion-v1-5 vae/config.json.
VAE_CONFIG = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512),
    layers_per_block=2,
    act_fn="silu",
    latent_channels=4,
    norm_num_groups=32,
    sample_size=512,
    scaling_factor=0.18215,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def export(module, args, path: Path, input_names, output_names, dynamic_axes, external_data: bool = False) -> None:
    """Traces `module` into `path`; with `external_data` its weights go to one `model.onnx_data` beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        traced = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                module.eval(), args, str(traced), input_names=input_names, output_names=output_names,
                dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
            )
        if not external_data:
            shutil.move(str(traced), path)
            return
        # Past 2 GB the TorchScript exporter writes one file per initializer; optimum's layout is one.
        model = onnx.load(str(traced))
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=1024)


def check(module, path: Path, feeds: dict[str, torch.Tensor]) -> float:
    """Largest |onnxruntime − torch| over all outputs, relative to the largest |torch| value, at
    shapes other than the traced ones (which proves the dynamic axes)."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {k: v.numpy() for k, v in feeds.items()})
    del session
    with torch.no_grad():
        want = module(*feeds.values())
    want = want if isinstance(want, tuple) else (want,)
    # Booleans (the safety checker's decision) compare as 0 and 1.
    pairs = [(np.asarray(g, dtype=np.float64), w.numpy().astype(np.float64)) for g, w in zip(got, want)]
    return max(float(np.abs(g - w).max() / max(1e-12, np.abs(w).max())) for g, w in pairs)


def signature(path: Path) -> str:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    describe = lambda values: ", ".join(f"{v.name} {v.type}{v.shape}" for v in values)  # noqa: E731
    return f"in [{describe(session.get_inputs())}] out [{describe(session.get_outputs())}]"


def parameters(model: torch.nn.Module) -> str:
    return f"{sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters"


def build_text_encoder(out: Path, errors: dict[str, float]) -> None:
    from transformers import CLIPTextConfig, CLIPTextModel

    started = time.time()
    model = CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG)).eval()
    log(f"text_encoder: {parameters(model)}")
    wrapped = TextEncoder(model)
    ids = torch.full((1, MAX_LENGTH), TEXT_CONFIG["eos_token_id"], dtype=torch.int64)
    ids[0, :8] = torch.tensor([49406, 320, 1125, 539, 550, 18376, 6765, 49407])
    path = out / "text_encoder/model.onnx"
    export(wrapped, (ids,), path, ["input_ids"], ["last_hidden_state", "pooler_output"], {
        "input_ids": {0: "batch_size", 1: "sequence_length"},
        "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
        "pooler_output": {0: "batch_size"},
    })
    check_ids = torch.randint(0, 49406, (2, MAX_LENGTH), dtype=torch.int64)
    check_ids[:, 0], check_ids[:, 12:] = 49406, 49407
    errors["text_encoder"] = check(wrapped, path, {"input_ids": check_ids})
    model.config.to_json_file(str(out / "text_encoder/config.json"))
    log(f"text_encoder: exported in {time.time() - started:.0f} s")


def build_unet(out: Path, errors: dict[str, float]) -> None:
    from diffusers import UNet2DConditionModel

    started = time.time()
    model = UNet2DConditionModel(**UNET_CONFIG).eval()
    log(f"unet: {parameters(model)}")
    wrapped = UNet(model)
    size, hidden = UNET_CONFIG["sample_size"], TEXT_CONFIG["hidden_size"]
    path = out / "unet/model.onnx"
    export(wrapped, (torch.randn(2, 4, size, size), torch.tensor(999.0), torch.randn(2, MAX_LENGTH, hidden)),
           path, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"], {
               "sample": {0: "batch_size", 2: "height", 3: "width"},
               "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
               "out_sample": {0: "batch_size", 2: "height", 3: "width"},
           }, external_data=True)
    log(f"unet: traced in {time.time() - started:.0f} s")
    # 32×24 latents (256×192 px): another size, still a multiple of the UNet's 8, and cheap.
    errors["unet"] = check(wrapped, path, {"sample": torch.randn(1, 4, 32, 24), "timestep": torch.tensor(261.0),
                                           "encoder_hidden_states": torch.randn(1, MAX_LENGTH, hidden)})
    model.save_config(out / "unet")
    log(f"unet: exported in {time.time() - started:.0f} s")


def build_vae(out: Path, errors: dict[str, float]) -> None:
    from diffusers import AutoencoderKL

    started = time.time()
    vae = AutoencoderKL(**VAE_CONFIG).eval()
    log(f"vae: {parameters(vae)}")
    latent = VAE_CONFIG["sample_size"] // 8
    decoder = VaeDecoder(vae)
    path = out / "vae_decoder/model.onnx"
    export(decoder, (torch.randn(1, 4, latent, latent),), path, ["latent_sample"], ["sample"], {
        "latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
        "sample": {0: "batch_size", 2: "height", 3: "width"},
    })
    errors["vae_decoder"] = check(decoder, path, {"latent_sample": torch.randn(1, 4, 16, 12)})
    vae.save_config(out / "vae_decoder")

    encoder = VaeEncoder(vae)
    path = out / "vae_encoder/model.onnx"
    image = VAE_CONFIG["sample_size"]
    export(encoder, (torch.rand(1, 3, image, image) * 2 - 1,), path, ["sample"], ["latent_parameters"], {
        "sample": {0: "batch_size", 2: "height", 3: "width"},
        "latent_parameters": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
    })
    errors["vae_encoder"] = check(encoder, path, {"sample": torch.rand(1, 3, 128, 96) * 2 - 1})
    vae.save_config(out / "vae_encoder")
    log(f"vae: exported in {time.time() - started:.0f} s")


# openai/clip-vit-large-patch14's vision model, as CompVis/stable-diffusion-v1-4's safety_checker/config.json has it.
SAFETY_VISION_CONFIG = dict(
    hidden_size=1024,
    intermediate_size=4096,
    num_hidden_layers=24,
    num_attention_heads=16,
    image_size=224,
    patch_size=14,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
)
SAFETY_PROJECTION_DIM = 768


class SafetyCheckerOnnx(torch.nn.Module):
    """diffusers' export of the checker: its `forward_onnx` as the module's forward."""

    def __init__(self, checker):
        super().__init__()
        self.checker = checker

    def forward(self, clip_input, images):
        return self.checker.forward_onnx(clip_input, images)


def build_safety_checker(out: Path, errors: dict[str, float]) -> None:
    from transformers import CLIPConfig
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker

    started = time.time()
    config = CLIPConfig(text_config=dict(TEXT_CONFIG), vision_config=SAFETY_VISION_CONFIG, projection_dim=SAFETY_PROJECTION_DIM)
    checker = StableDiffusionSafetyChecker(config).eval()
    log(f"safety_checker: {parameters(checker)} ({parameters(checker.vision_model)} in the CLIP vision model)")
    wrapped = SafetyCheckerOnnx(checker)
    path = out / "safety_checker/model.onnx"
    export(wrapped, (torch.randn(1, 3, 224, 224), torch.rand(1, 512, 512, 3)), path, ["clip_input", "images"], ["out_images", "has_nsfw_concepts"], {
        "clip_input": {0: "batch", 1: "channels", 2: "height", 3: "width"},
        "images": {0: "batch", 1: "height", 2: "width", 3: "channels"},
    })
    # The outputs are the images back (or black) and booleans: compare the images at another size.
    errors["safety_checker"] = check(wrapped, path, {"clip_input": torch.randn(1, 3, 224, 224), "images": torch.rand(1, 384, 256, 3)})
    checker.config.to_json_file(str(out / "safety_checker/config.json"))
    (out / "feature_extractor").mkdir(exist_ok=True)
    shutil.copyfile(TINY_SD_SAFETY / "feature_extractor/preprocessor_config.json", out / "feature_extractor/preprocessor_config.json")
    log(f"safety_checker: exported in {time.time() - started:.0f} s")


PARTS = {"text_encoder": build_text_encoder, "unet": build_unet, "vae": build_vae, "safety_checker": build_safety_checker}
SD_PARTS = ["text_encoder", "unet", "vae"]


def write_pipeline_files(out: Path, fixture: Path) -> None:
    """Tokenizer and scheduler byte-identical to tiny-sd's (the real CLIP BPE, SD v1.4's PNDM)."""
    import diffusers

    (out / "tokenizer").mkdir()
    for name in TOKENIZER_FILES:
        shutil.copyfile(fixture / "tokenizer" / name, out / "tokenizer" / name)
        assert filecmp.cmp(fixture / "tokenizer" / name, out / "tokenizer" / name, shallow=False)
    (out / "scheduler").mkdir()
    shutil.copyfile(fixture / "scheduler/scheduler_config.json", out / "scheduler/scheduler_config.json")
    model_index = json.loads((fixture / "model_index.json").read_text())
    model_index["_diffusers_version"] = diffusers.__version__
    (out / "model_index.json").write_text(json.dumps(model_index, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder, outside the repository (about 4.3 GB)")
    parser.add_argument("--fixture", default=str(TINY_SD), help="the tiny-sd folder whose tokenizer, scheduler config and model_index.json are copied")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--parts", default=",".join(SD_PARTS), help=f"comma-separated, of {', '.join(PARTS)} (default {','.join(SD_PARTS)})")
    args = parser.parse_args()
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = [part for part in parts if part not in PARTS]
    if unknown or not parts:
        sys.exit(f"--parts must name some of {', '.join(PARTS)} but is {args.parts!r}")

    out = Path(args.out).resolve()
    if out == REPO or REPO in out.parents:
        sys.exit(f"--out {out} is inside the repository; the export is about 4.3 GB and must not be committed")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.time()
    errors: dict[str, float] = {}
    # One model at a time, freed before the next: the UNet alone is 3.4 GB in torch and again in ONNX.
    for part in parts:
        PARTS[part](out, errors)
        gc.collect()
    if all(part in parts for part in SD_PARTS):
        write_pipeline_files(out, Path(args.fixture))

    for name, error in errors.items():
        log(f"{name}: max |onnxruntime − torch| / max |torch| = {error:.1e}")
        assert error < RELATIVE_TOLERANCE, f"{name} export disagrees with torch by {error:.1e} (relative)"
    for name in ["text_encoder", "unet", "vae_decoder", "vae_encoder", "safety_checker"]:
        if (out / name / "model.onnx").exists():
            log(f"{name}: {signature(out / name / 'model.onnx')}")
    files = sorted(f for f in out.rglob("*") if f.is_file())
    for f in files:
        print(f"{f.stat().st_size:>12}  {f.relative_to(out)}")
    total = sum(f.stat().st_size for f in files)
    log(f"{total / 1e9:.2f} GB in {out}, built in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
