"""Judge the exported ONNX model the way the project's tests do.

Runs text-to-image through onnxruntime with diffusers' own scheduler (classifier-free guidance
with an empty negative prompt, as StableDiffusionPipeline does), then classifies every pixel to
the nearest palette colour: a case passes when the most frequent class is the named background
and the second most frequent the named foreground. The shape is judged softly from the fill
ratio of the foreground inside its bounding box (circle ~0.785, square ~1, triangle ~0.5).

    PYTHONPATH=/path/to/diffusers/src python evaluate.py --model ../../models/shapes-demo
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections import Counter
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

import shapes
from export import DEFAULT_OUT, SCHEDULERS
from train import MAX_LENGTH


def make_scheduler(name: str, folder: Path):
    import diffusers

    classes = {
        "pndm": (diffusers.PNDMScheduler, {}),
        "ddim": (diffusers.DDIMScheduler, {}),
        "euler": (diffusers.EulerDiscreteScheduler, {}),
        "euler_ancestral": (diffusers.EulerAncestralDiscreteScheduler, {}),
        "dpmpp_2m": (diffusers.DPMSolverMultistepScheduler, {}),
        "dpmpp_2m_karras": (diffusers.DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
        "lms": (diffusers.LMSDiscreteScheduler, {}),
    }
    cls, extra = classes[name]
    config = json.loads((folder / "scheduler_config.json").read_text())
    return cls.from_config(config, **extra)


class Pipeline:
    """A minimal OnnxStableDiffusionPipeline: encode prompt, denoise with CFG, decode."""

    def __init__(self, model: Path, scheduler: str):
        from transformers import CLIPTokenizer

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        load = lambda name: ort.InferenceSession(str(model / name / "model.onnx"), opts,
                                                 providers=["CPUExecutionProvider"])
        self.text_encoder, self.unet, self.vae_decoder = load("text_encoder"), load("unet"), load("vae_decoder")
        self.tokenizer = CLIPTokenizer.from_pretrained(model / "tokenizer")
        self.scheduler_name = scheduler
        self.scheduler_folder = model / "scheduler"
        vae_config = json.loads((model / "vae_decoder/config.json").read_text())
        self.scaling = vae_config["scaling_factor"]
        self.latent_channels = vae_config["latent_channels"]
        self.vae_factor = 2 ** (len(vae_config["block_out_channels"]) - 1)
        ts = {i.name: i for i in self.unet.get_inputs()}["timestep"]
        self.timestep_dtype = np.float32 if ts.type == "tensor(float)" else np.int64
        self.timestep_scalar = len(ts.shape) == 0

    def encode(self, prompts: list[str]) -> np.ndarray:
        ids = self.tokenizer(prompts, padding="max_length", max_length=MAX_LENGTH, truncation=True,
                             return_tensors="np").input_ids.astype(np.int64)
        return self.text_encoder.run(["last_hidden_state"], {"input_ids": ids})[0]

    def __call__(self, prompt: str, seed: int, steps: int, guidance: float, size: int) -> np.ndarray:
        sched = make_scheduler(self.scheduler_name, self.scheduler_folder)
        sched.set_timesteps(steps)
        cfg = guidance > 1.0
        cond = self.encode([""] + [prompt]) if cfg else self.encode([prompt])
        gen = torch.Generator().manual_seed(seed)
        shape = (1, self.latent_channels, size // self.vae_factor, size // self.vae_factor)
        latents = torch.randn(shape, generator=gen) * sched.init_noise_sigma
        # Ancestral samplers draw noise at every step; keep it on the seeded generator.
        step_kwargs = {"generator": gen} if "generator" in inspect.signature(sched.step).parameters else {}
        for t in sched.timesteps:
            model_in = torch.cat([latents] * 2) if cfg else latents
            model_in = sched.scale_model_input(model_in, t)
            if self.timestep_scalar:
                ts = np.array(t.item(), dtype=self.timestep_dtype)
            else:
                ts = np.full((model_in.shape[0],), t.item(), dtype=self.timestep_dtype)
            eps = torch.from_numpy(self.unet.run(["out_sample"], {
                "sample": model_in.numpy().astype(np.float32), "timestep": ts,
                "encoder_hidden_states": cond})[0])
            if cfg:
                uncond, text = eps.chunk(2)
                eps = uncond + guidance * (text - uncond)
            latents = sched.step(eps, t, latents, **step_kwargs).prev_sample
        image = self.vae_decoder.run(["sample"], {"latent_sample": (latents / self.scaling).numpy()})[0]
        image = np.clip(image[0].transpose(1, 2, 0) / 2 + 0.5, 0, 1)
        return np.round(image * 255).astype(np.uint8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(DEFAULT_OUT))
    p.add_argument("--scheduler", choices=SCHEDULERS, help="default: generation_defaults.json")
    p.add_argument("--steps", type=int, help="default: generation_defaults.json")
    p.add_argument("--guidance", type=float, help="default: generation_defaults.json")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--cases", choices=["eval", "project", "all"], default="eval",
                   help="eval: 12 held-out + 12 seen combos; project: the 24 of the project's test; all: 168")
    p.add_argument("--samples", type=Path, help="write the first --num-samples images as PNGs here")
    p.add_argument("--num-samples", type=int, default=4)
    p.add_argument("--grid", type=Path, help="write every image, 4x enlarged, into one PNG")
    p.add_argument("--report", type=Path, help="write the results as JSON")
    args = p.parse_args()

    torch.set_num_threads(2)
    model = Path(args.model)
    defaults = json.loads((model / "generation_defaults.json").read_text())
    scheduler = args.scheduler or defaults["scheduler"]
    steps = args.steps or defaults["num_inference_steps"]
    guidance = args.guidance if args.guidance is not None else defaults["guidance_scale"]
    size = defaults["width"]
    pipe = Pipeline(model, scheduler)

    combos = {"eval": shapes.eval_combos, "project": shapes.project_test_combos, "all": shapes.all_combos}[args.cases]()
    held = set(shapes.HELD_OUT)
    results, images = [], []
    for seed in args.seeds:
        for combo in combos:
            prompt = shapes.caption(*combo)
            image = pipe(prompt, seed, steps, guidance, size)
            verdict = shapes.judge(image, *combo)
            verdict.update(prompt=prompt, seed=seed, held_out=combo in held, shape=combo[1])
            results.append(verdict)
            images.append(image)
            if not verdict["colours_ok"] or not verdict["shape_ok"]:
                print(f"  {'FAIL' if not verdict['colours_ok'] else 'shape?'} seed {seed} {prompt!r}: "
                      f"top classes {verdict['top1']}, {verdict['top2']}; fill {verdict['fill_ratio']}")

    n = len(results)
    ok = sum(r["colours_ok"] for r in results)
    failures = Counter(r["failure"] for r in results if r["failure"])
    held_res = [r for r in results if r["held_out"]]
    seen_res = [r for r in results if not r["held_out"]]
    shape_ok = sum(r["shape_ok"] for r in results if r["colours_ok"])
    fills = {s: [r["fill_ratio"] for r in results if r["shape"] == s and r["colours_ok"] and r["fill_ratio"]]
             for s in shapes.SHAPES}
    summary = {
        "cases_set": args.cases, "seeds": args.seeds, "scheduler": scheduler, "num_inference_steps": steps, "guidance_scale": guidance,
        "cases": n, "colours_passed": ok, "colour_accuracy": round(ok / n, 4),
        "failures": dict(failures),
        "held_out": f"{sum(r['colours_ok'] for r in held_res)}/{len(held_res)}",
        "seen": f"{sum(r['colours_ok'] for r in seen_res)}/{len(seen_res)}",
        "shape_accuracy_of_colour_passes": round(shape_ok / max(1, ok), 4),
        "mean_fill_ratio": {s: round(float(np.mean(v)), 3) if v else None for s, v in fills.items()},
    }
    print(json.dumps(summary, indent=2))

    if args.samples:
        args.samples.mkdir(parents=True, exist_ok=True)
        for r, image in list(zip(results, images))[: args.num_samples]:
            name = r["prompt"].replace(" ", "_") + f"_seed{r['seed']}.png"
            Image.fromarray(image).save(args.samples / name)
    if args.grid:
        cols = len(combos)
        grid = np.concatenate([np.concatenate(images[i:i + cols], 1) for i in range(0, n, cols)], 0)
        Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.NEAREST).save(args.grid)
    if args.report:
        args.report.write_text(json.dumps({"summary": summary, "cases": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
