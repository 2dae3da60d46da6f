"""Export a train.py checkpoint to ONNX in the optimum layout the engine reads.

Writes text_encoder/, unet/, vae_decoder/, vae_encoder/ (each model.onnx + config.json),
tokenizer/ (the real CLIP BPE files, copied byte-identical), scheduler/scheduler_config.json
(SD v1.4's PNDM config), model_index.json and generation_defaults.json. Input/output names,
dtypes and dynamic axes are those of the oracle tiny-sd export (test/fixtures/oracle/models/tiny-sd):
the UNet's `timestep` is a float32 scalar (rank 0) and `input_ids` are int64.

    PYTHONPATH=/path/to/diffusers/src python export.py --ckpt /work/scratch/demo-train
"""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from train import DEFAULT_TOKENIZER, HERE, MAX_LENGTH, REPO, SCHEDULER_CONFIG

sys.path.insert(0, str(HERE.parent))
from sd_onnx_modules import TextEncoder, UNet, VaeDecoder, VaeEncoder  # noqa: E402

DEFAULT_OUT = REPO / "models/shapes-demo"
TOKENIZER_FILES = ["merges.txt", "special_tokens_map.json", "tokenizer_config.json", "vocab.json"]
SCHEDULERS = ["pndm", "ddim", "euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_karras", "lms"]
SIZE_LIMIT_BYTES = 15 * 1000 * 1000
OPSET = 17


def export(module, args, path: Path, input_names, output_names, dynamic_axes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module.eval(), args, str(path), input_names=input_names, output_names=output_names,
        dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True, dynamo=False,
    )


def check(module, path: Path, feeds: dict[str, torch.Tensor]) -> float:
    """Largest |onnxruntime - torch| over all outputs, for inputs other than the traced ones."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})
    with torch.no_grad():
        want = module(*feeds.values())
    want = want if isinstance(want, tuple) else (want,)
    return max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want))


def signature(path: Path) -> dict:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return {
        "inputs": [(i.name, i.type, i.shape) for i in sess.get_inputs()],
        "outputs": [(o.name, o.type, o.shape) for o in sess.get_outputs()],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", default="/work/scratch/demo-train")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--tokenizer", default=str(DEFAULT_TOKENIZER), help="folder with the CLIP BPE files to copy")
    p.add_argument("--scheduler", default="pndm", choices=SCHEDULERS)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--guidance", type=float, default=2.0)
    args = p.parse_args()

    import diffusers
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.set_num_threads(2)
    ckpt, out = Path(args.ckpt), Path(args.out)
    for sub in ["text_encoder", "unet", "vae_decoder", "vae_encoder", "tokenizer", "scheduler"]:
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    text_encoder = CLIPTextModel.from_pretrained(ckpt / "text_encoder").eval()
    unet = UNet2DConditionModel.from_pretrained(ckpt / "unet").eval()
    vae = AutoencoderKL.from_pretrained(ckpt / "vae").eval()
    hidden = text_encoder.config.hidden_size
    latent_ch = unet.config.in_channels
    latent_hw = unet.config.sample_size
    image_hw = vae.config.sample_size
    torch.manual_seed(0)
    errors = {}

    # Text encoder: int64 [batch, seq] -> last_hidden_state, pooler_output.
    te = TextEncoder(text_encoder)
    ids = torch.full((1, MAX_LENGTH), 49407, dtype=torch.int64)
    ids[0, :8] = torch.tensor([49406, 320, 736, 7117, 525, 320, 1746, 49407])
    path = out / "text_encoder/model.onnx"
    with torch.no_grad():
        export(te, (ids,), path, ["input_ids"], ["last_hidden_state", "pooler_output"], {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
            "pooler_output": {0: "batch_size"},
        })
    check_ids = torch.randint(0, 49406, (3, MAX_LENGTH), dtype=torch.int64)
    check_ids[:, 0], check_ids[:, 10:] = 49406, 49407
    errors["text_encoder"] = check(te, path, {"input_ids": check_ids})
    text_encoder.config.to_json_file(str(out / "text_encoder/config.json"))

    # UNet: sample, float32 scalar timestep, encoder_hidden_states -> out_sample.
    un = UNet(unet)
    path = out / "unet/model.onnx"
    with torch.no_grad():
        export(un, (torch.randn(2, latent_ch, latent_hw, latent_hw), torch.tensor(999.0),
                    torch.randn(2, MAX_LENGTH, hidden)),
               path, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"], {
                   "sample": {0: "batch_size", 2: "height", 3: "width"},
                   "encoder_hidden_states": {0: "batch_size", 1: "sequence_length"},
                   "out_sample": {0: "batch_size", 2: "height", 3: "width"},
               })
    errors["unet"] = check(un, path, {"sample": torch.randn(1, latent_ch, 12, 16),
                                      "timestep": torch.tensor(261.0),
                                      "encoder_hidden_states": torch.randn(1, MAX_LENGTH, hidden)})
    unet.save_config(out / "unet")

    # VAE decoder: latent_sample -> sample in [-1, 1].
    dec = VaeDecoder(vae)
    path = out / "vae_decoder/model.onnx"
    with torch.no_grad():
        export(dec, (torch.randn(1, latent_ch, latent_hw, latent_hw),), path, ["latent_sample"], ["sample"], {
            "latent_sample": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
            "sample": {0: "batch_size", 2: "height", 3: "width"},
        })
    errors["vae_decoder"] = check(dec, path, {"latent_sample": torch.randn(2, latent_ch, 12, 8)})
    vae.save_config(out / "vae_decoder")

    # VAE encoder: sample -> latent_parameters (mean, logvar).
    enc = VaeEncoder(vae)
    path = out / "vae_encoder/model.onnx"
    with torch.no_grad():
        export(enc, (torch.rand(1, 3, image_hw, image_hw) * 2 - 1,), path, ["sample"], ["latent_parameters"], {
            "sample": {0: "batch_size", 2: "height", 3: "width"},
            "latent_parameters": {0: "batch_size", 2: "latent_height", 3: "latent_width"},
        })
    errors["vae_encoder"] = check(enc, path, {"sample": torch.rand(2, 3, 96, 64) * 2 - 1})
    vae.save_config(out / "vae_encoder")

    # Tokenizer: the real CLIP BPE files, byte-identical.
    (out / "tokenizer").mkdir()
    for name in TOKENIZER_FILES:
        shutil.copyfile(Path(args.tokenizer) / name, out / "tokenizer" / name)
        assert filecmp.cmp(Path(args.tokenizer) / name, out / "tokenizer" / name, shallow=False)

    (out / "scheduler").mkdir()
    (out / "scheduler/scheduler_config.json").write_text(json.dumps(SCHEDULER_CONFIG, indent=2) + "\n")
    model_index = {
        "_class_name": "OnnxStableDiffusionPipeline",
        "_diffusers_version": diffusers.__version__,
        "feature_extractor": [None, None],
        "safety_checker": [None, None],
        "scheduler": ["diffusers", "PNDMScheduler"],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "requires_safety_checker": False,
        "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
    }
    (out / "model_index.json").write_text(json.dumps(model_index, indent=2) + "\n")
    defaults = {"scheduler": args.scheduler, "num_inference_steps": args.steps,
                "guidance_scale": args.guidance, "width": image_hw, "height": image_hw}
    (out / "generation_defaults.json").write_text(json.dumps(defaults) + "\n")

    for name, err in errors.items():
        print(f"{name}: max |onnxruntime - torch| = {err:.2e}")
        assert err < 1e-3, f"{name} export disagrees with torch by {err}"
    for name in ["text_encoder", "unet", "vae_decoder", "vae_encoder"]:
        sig = signature(out / name / "model.onnx")
        print(f"{name}: in {sig['inputs']} out {sig['outputs']}")
    files = sorted(f for f in out.rglob("*") if f.is_file())
    total = sum(f.stat().st_size for f in files)
    for f in files:
        print(f"{f.stat().st_size:>10}  {f.relative_to(out)}")
    print(f"{total:>10}  total ({total / 1e6:.2f} MB)")
    assert total <= SIZE_LIMIT_BYTES, f"export is {total} bytes, over the {SIZE_LIMIT_BYTES} byte budget"


if __name__ == "__main__":
    main()
