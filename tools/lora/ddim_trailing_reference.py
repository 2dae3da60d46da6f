"""Reference numbers for DDIM with `timestep_spacing: "trailing"` (what Hyper-SD's N-step LoRAs run
with), from diffusers' own DDIMScheduler on SD v1.4's scheduler config: the timesteps for each step
count, and a whole deterministic run (fixed sample and model output) ending in its prev_sample.

    PYTHONPATH=/work/scratch /work/venv-train/bin/python tools/lora/ddim_trailing_reference.py \
        test/fixtures/oracle/models/tiny-sd/scheduler/scheduler_config.json > test/fixtures/schedulers/ddim-trailing.json
"""
import json
import sys

import diffusers
import numpy as np
import torch
from diffusers import DDIMScheduler

STEPS = [1, 2, 3, 4, 6, 8, 10, 25, 50]
ELEMENTS = 16


def main():
    config = json.load(open(sys.argv[1]))
    scheduler = DDIMScheduler.from_config(config, timestep_spacing="trailing")
    tables = {}
    for n in STEPS:
        scheduler.set_timesteps(n)
        sample = torch.tensor(np.sin(np.arange(ELEMENTS) + 0.5), dtype=torch.float32)
        for i, t in enumerate(scheduler.timesteps):
            model_output = torch.tensor(np.cos(np.arange(ELEMENTS) * (i + 1)), dtype=torch.float32) * 0.5
            sample = scheduler.step(model_output, t, sample).prev_sample
        tables[str(n)] = {"timesteps": [int(t) for t in scheduler.timesteps], "final_sample": [float(x) for x in sample]}
    json.dump(
        {
            "oracle": f"diffusers {diffusers.__version__}, torch {torch.__version__}, DDIMScheduler.from_config(SD v1.4 config, timestep_spacing='trailing')",
            "run": f"sample_0 = sin(arange({ELEMENTS}) + 0.5); at step i, model_output = 0.5 * cos(arange({ELEMENTS}) * (i + 1)); float32",
            "by_steps": tables,
        },
        sys.stdout,
        indent=1,
    )


if __name__ == "__main__":
    main()
