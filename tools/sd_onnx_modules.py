"""The four parts of an SD 1.x pipeline as the modules the ONNX exports trace, with the input and
output names of the optimum layout the engine reads (those of test/fixtures/oracle/models/tiny-sd).
Shared by tools/demo-model/export.py and tools/full-size-model/build.py, so both exports present
the engine the same interface."""

from __future__ import annotations

import torch


class TextEncoder(torch.nn.Module):
    """`input_ids` -> `last_hidden_state`, `pooler_output`."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        out = self.model(input_ids=input_ids, return_dict=True)
        return out.last_hidden_state, out.pooler_output


class UNet(torch.nn.Module):
    """`sample`, `timestep`, `encoder_hidden_states` -> `out_sample`."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, sample, timestep, encoder_hidden_states):
        return self.model(sample, timestep, encoder_hidden_states, return_dict=False)[0]


class VaeDecoder(torch.nn.Module):
    """`latent_sample` -> `sample` in [-1, 1]."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


class VaeEncoder(torch.nn.Module):
    """`latent_parameters`: mean and log-variance on channels, as optimum exports it."""

    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        h = self.vae.encoder(sample)
        return self.vae.quant_conv(h) if self.vae.quant_conv is not None else h
