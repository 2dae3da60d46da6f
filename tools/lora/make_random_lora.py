"""A random-weight kohya LoRA with the shapes of an SD ONNX export, for measuring `fuse-lora` on the
full-size model (no real LoRA can be downloaded here). It targets what LCM-LoRA and Hyper-SD target:
attention projections, feed-forward layers, proj_in/proj_out, and the text encoder's projections.

    /work/venv-train/bin/python tools/lora/make_random_lora.py MODEL_DIR OUT.safetensors [--rank 64] [--fp16]
"""
import argparse
import re

import numpy as np
import onnx
from safetensors.numpy import save_file

TARGETS = re.compile(r"(attn[12]/to_(q|k|v|out\.0)|ff/net\.(0/proj|2)|proj_in|proj_out|self_attn/(q|k|v|out)_proj|mlp/fc[12])/(MatMul|Conv|Gemm)$")
ROOTS = {"unet", "model", "te", "text_model", "text_encoder"}


def modules(graph_file):
    graph = onnx.load(graph_file, load_external_data=False).graph
    inits = {t.name: list(t.dims) for t in graph.initializer}
    for node in graph.node:
        if not TARGETS.search(node.name) or len(node.input) < 2 or node.input[1] not in inits:
            continue
        dims = inits[node.input[1]]
        parts = [p for p in node.name.split("/")[1:-1]]
        while parts and parts[0] in ROOTS:
            parts.pop(0)
        out_f, in_f = (dims[1], dims[0]) if node.op_type == "MatMul" else (dims[0], dims[1])
        yield "_".join(parts).replace(".", "_"), out_f, in_f, node.op_type == "Conv"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("out")
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--fp16", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(23)
    dtype = np.float16 if args.fp16 else np.float32
    tensors = {}
    for part, prefix, text_model in (("unet", "lora_unet_", ""), ("text_encoder", "lora_te_", "text_model_")):
        for name, out_f, in_f, conv in modules(f"{args.model_dir}/{part}/model.onnx"):
            key = f"{prefix}{text_model}{name}"
            down = (rng.standard_normal((args.rank, in_f)) / np.sqrt(in_f)).astype(dtype)
            up = (rng.standard_normal((out_f, args.rank)) * 1e-3).astype(dtype)
            if conv:
                down, up = down[:, :, None, None], up[:, :, None, None]
            tensors[f"{key}.lora_down.weight"] = down
            tensors[f"{key}.lora_up.weight"] = up
            tensors[f"{key}.alpha"] = np.array(args.rank / 2, dtype=dtype)
    save_file(tensors, args.out)
    print(f"{args.out}: {len(tensors) // 3} modules, rank {args.rank}")


if __name__ == "__main__":
    main()
