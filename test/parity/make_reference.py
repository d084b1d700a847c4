"""Builds test/parity/diffusers-reference.json: images from REAL diffusers pipelines (DDPMPipeline,
DDIMPipeline) and schedulers (DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler) on the torch
twins of test/fixtures/tiny and test/fixtures/parity/gauss, with a CPU torch.Generator.
test/parity/diffusers.test.ts checks our engine against it. diffusers itself is NOT part of this
repository: scripts/reference/README.md says how it was made importable for the run.

Run from the repository root with diffusers importable:  /usr/bin/python3 test/parity/make_reference.py
--loop runs the pipelines' __call__ loop with the real schedulers instead of the pipeline classes, for
diffusers versions whose pipeline modules do not import on the local torch (e.g. v0.40.0 on torch 1.13).
"""
import argparse
import base64
import importlib.util
import json
import os
import platform
import sys
import types

import numpy as np
import torch

COMPAT_ADDED = []


def torch_compat():
    """diffusers >= 0.32 touches names at import time that torch 1.13 lacks (decorators, dtype names,
    device backends, distributed modules). Add only the missing ones, as inert placeholders: the CPU
    float32 math of this reference never reaches them. The names added are recorded in the JSON."""

    def add(owner, name, value, label):
        if not hasattr(owner, name):
            setattr(owner, name, value)
            COMPAT_ADDED.append(label)

    def disable(fn=None, *args, **kwargs):
        return fn if fn is not None else (lambda f: f)

    add(torch, "compiler", types.SimpleNamespace(disable=disable, is_compiling=lambda: False), "torch.compiler")
    for dtype in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"):
        add(torch, dtype, torch.float32, f"torch.{dtype}")
    for dtype in ("uint16", "uint32", "uint64"):
        add(torch, dtype, torch.int64, f"torch.{dtype}")
    nothing = types.SimpleNamespace(
        empty_cache=lambda: None, is_available=lambda: False, device_count=lambda: 0, synchronize=lambda *a: None,
        manual_seed=lambda *a: None, reset_peak_memory_stats=lambda *a: None, max_memory_allocated=lambda *a: 0,
    )
    for backend in ("xpu", "mps", "mtia"):
        add(torch, backend, nothing, f"torch.{backend}")


torch_compat()

import diffusers  # noqa: E402
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from diffusers.schedulers.scheduling_dpmsolver_multistep import DPMSolverMultistepScheduler
from diffusers.utils import numpy_to_pil
from diffusers.utils.torch_utils import randn_tensor

try:
    from diffusers import DDIMPipeline, DDPMPipeline
except Exception as error:  # newer diffusers' pipeline modules need torch >= 2 (device_mesh, float8 ...)
    DDIMPipeline = DDPMPipeline = None
    PIPELINE_IMPORT_ERROR = error

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Model-input samples are recorded for diagnosis at most this many times per case.
MAX_TRAJECTORY_POINTS = 8


def _load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _manifest(folder):
    with open(os.path.join(ROOT, folder, "model.json")) as f:
        manifest = json.load(f)
    image = manifest["image"]
    assert image["height"] == image["width"], "square fixture expected"
    return manifest


def load_tiny():
    """test/fixtures/make_tiny.py's TinyEpsNet, seeded exactly as make_tiny.py seeds it before export."""
    manifest = _manifest("test/fixtures/tiny")
    module = _load_module("make_tiny", "test/fixtures/make_tiny.py")
    torch.manual_seed(0)
    return module.TinyEpsNet(manifest["image"]["channels"]).eval(), manifest


def load_gauss():
    """test/fixtures/parity/make_gauss.py's GaussEpsNet (the network in test/fixtures/parity/gauss)."""
    manifest = _manifest("test/fixtures/parity/gauss")
    module = _load_module("make_gauss", "test/fixtures/parity/make_gauss.py")
    return module.build(manifest["image"]["channels"]), manifest


# model name -> (loader, models dir relative to the repository root, as the test loads it)
MODELS = {"tiny": (load_tiny, "test/fixtures"), "parity-gauss": (load_gauss, "test/fixtures/parity")}


class TinyUNet(torch.nn.Module):
    """What DDPMPipeline / DDIMPipeline read from a UNet2DModel: config.sample_size / in_channels, dtype,
    device, and __call__(sample, t).sample with a scalar t broadcast to the batch (as UNet2DModel does)."""

    def __init__(self, net, channels, size):
        super().__init__()
        self.net = net
        self.config = types.SimpleNamespace(sample_size=size, in_channels=channels, out_channels=channels)
        self.recorded = []  # every sample fed to the model, in order

    @property
    def dtype(self):
        return torch.float32

    @property
    def device(self):
        return torch.device("cpu")

    def forward(self, sample, timestep):
        t = torch.as_tensor(timestep, dtype=torch.int64).reshape(-1)
        if t.numel() == 1:
            t = t.expand(sample.shape[0])
        self.recorded.append((int(t[0]), sample.detach().clone()))
        return types.SimpleNamespace(sample=self.net(sample, t))


def b64_f32(t):
    return base64.b64encode(np.ascontiguousarray(t.detach().cpu().numpy(), dtype="<f4").tobytes()).decode()


SCHEDULERS = {"ddpm": DDPMScheduler, "ddim": DDIMScheduler, "dpm-solver": DPMSolverMultistepScheduler}

# (model, id, sampler, steps, eta or per-request options, seed, batch, scheduler-config overrides on the
# model's manifest).
# Seeds cover 0, small, >= 2^31 and 2^32 - 1.
CASES = [
    # test/fixtures/tiny: untrained; DPM-Solver++ and unclipped runs saturate to 0 / 255 (pixels say little there).
    ("tiny", "ddpm-1000", "ddpm", 1000, None, 0, 1, {}),
    ("tiny", "ddpm-50-batch3", "ddpm", 50, None, 42, 3, {}),
    ("tiny", "ddpm-50-seed-3e9", "ddpm", 50, None, 3_000_000_000, 1, {}),
    ("tiny", "ddim-50", "ddim", 50, 0.0, 0, 1, {}),
    ("tiny", "ddim-10-batch3", "ddim", 10, 0.0, 1234, 3, {}),
    ("tiny", "ddim-eta0.5-20", "ddim", 20, 0.5, 7, 1, {}),
    ("tiny", "ddim-eta0.5-20-batch3-seed-max", "ddim", 20, 0.5, 4_294_967_295, 3, {}),
    ("tiny", "dpm-20", "dpm-solver", 20, None, 0, 1, {}),
    ("tiny", "dpm-10-batch3-seed-2^31", "dpm-solver", 10, None, 2_147_483_648, 3, {}),
    ("tiny", "ddim-10-trailing", "ddim", 10, 0.0, 5, 1, {"timestep_spacing": "trailing"}),
    ("tiny", "ddim-10-linspace", "ddim", 10, 0.0, 6, 1, {"timestep_spacing": "linspace"}),
    ("tiny", "ddpm-50-trailing", "ddpm", 50, None, 8, 1, {"timestep_spacing": "trailing"}),
    ("tiny", "ddpm-50-linspace", "ddpm", 50, None, 9, 1, {"timestep_spacing": "linspace"}),
    ("tiny", "dpm-10-linspace", "dpm-solver", 10, None, 10, 1, {"timestep_spacing": "linspace"}),
    ("tiny", "dpm-10-trailing", "dpm-solver", 10, None, 11, 1, {"timestep_spacing": "trailing"}),
    ("tiny", "ddpm-50-noclip", "ddpm", 50, None, 12, 1, {"clip_sample": False}),
    ("tiny", "ddim-20-noclip", "ddim", 20, 0.0, 13, 1, {"clip_sample": False}),
    ("tiny", "ddim-20-vpred", "ddim", 20, 0.0, 14, 1, {"prediction_type": "v_prediction"}),
    ("tiny", "ddpm-50-vpred", "ddpm", 50, None, 15, 1, {"prediction_type": "v_prediction"}),
    ("tiny", "dpm-10-vpred", "dpm-solver", 10, None, 16, 1, {"prediction_type": "v_prediction"}),
    # test/fixtures/parity/gauss: samples stay mostly inside [-1, 1], so every sampler gives grays.
    ("parity-gauss", "gauss-ddpm-1000", "ddpm", 1000, None, 3, 1, {}),
    ("parity-gauss", "gauss-ddpm-50-batch3", "ddpm", 50, None, 4_000_000_000, 3, {}),
    ("parity-gauss", "gauss-ddim-50", "ddim", 50, 0.0, 21, 1, {}),
    ("parity-gauss", "gauss-ddim-eta1-20-batch3", "ddim", 20, 1.0, 22, 3, {}),
    ("parity-gauss", "gauss-dpm-20", "dpm-solver", 20, None, 23, 1, {}),
    ("parity-gauss", "gauss-dpm-10-batch3-seed-2^31+1", "dpm-solver", 10, None, 2_147_483_649, 3, {}),
    ("parity-gauss", "gauss-dpm-25-linspace", "dpm-solver", 25, None, 24, 1, {"timestep_spacing": "linspace"}),
    ("parity-gauss", "gauss-dpm-10-trailing-noclip", "dpm-solver", 10, None, 25, 1, {"timestep_spacing": "trailing", "clip_sample": False}),
    ("parity-gauss", "gauss-ddpm-50-linspace-noclip", "ddpm", 50, None, 26, 1, {"timestep_spacing": "linspace", "clip_sample": False}),
    ("parity-gauss", "gauss-ddim-10-trailing-noclip", "ddim", 10, 0.0, 27, 1, {"timestep_spacing": "trailing", "clip_sample": False}),
    # Less common settings our samplers accept (the thresholding ratios / maxima make diffusers' quantile
    # threshold land strictly between 1 and sample_max_value in some steps): per-request options and scheduler-config keys.
    ("parity-gauss", "gauss-ddim-eta0.5-20-clipped-eps", "ddim", 20, {"eta": 0.5, "use_clipped_model_output": True}, 28, 1, {}),
    ("parity-gauss", "gauss-ddpm-50-fixed_large", "ddpm", 50, None, 29, 1, {"variance_type": "fixed_large"}),
    ("parity-gauss", "gauss-ddpm-50-fixed_small_log", "ddpm", 50, None, 30, 1, {"variance_type": "fixed_small_log"}),
    # (variance_type "fixed_large_log" is left out on purpose: diffusers' step takes sqrt(log(beta_t)) and
    # returns NaN images; plugins/ddpm documents that it uses exp(0.5 * log(beta_t)) instead.)
    # (algorithm_type "deis" needs final_sigmas_type "sigma_min": diffusers raises for "zero".)
    ("parity-gauss", "gauss-ddpm-50-steps_offset1", "ddpm", 50, None, 32, 1, {"steps_offset": 1}),
    ("parity-gauss", "gauss-ddpm-50-cosine", "ddpm", 50, None, 33, 1, {"beta_schedule": "squaredcos_cap_v2"}),
    ("parity-gauss", "gauss-ddpm-50-threshold", "ddpm", 50, None, 34, 1, {"thresholding": True, "dynamic_thresholding_ratio": 0.995, "sample_max_value": 1.5}),
    ("parity-gauss", "gauss-ddim-20-threshold-batch3", "ddim", 20, 0.0, 35, 3, {"thresholding": True, "dynamic_thresholding_ratio": 0.8, "sample_max_value": 10.0}),
    ("parity-gauss", "gauss-dpm-20-threshold", "dpm-solver", 20, None, 36, 1, {"thresholding": True, "dynamic_thresholding_ratio": 0.8, "sample_max_value": 10.0}),
    ("parity-gauss", "gauss-ddim-20-sample-pred", "ddim", 20, 0.0, 37, 1, {"prediction_type": "sample"}),
    ("parity-gauss", "gauss-ddim-20-sd-scaled_linear", "ddim", 20, 0.0, 38, 1, {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1, "set_alpha_to_one": False}),
    ("parity-gauss", "gauss-ddim-20-cosine", "ddim", 20, 0.0, 39, 1, {"beta_schedule": "squaredcos_cap_v2"}),
    ("parity-gauss", "gauss-dpm-20-order3", "dpm-solver", 20, None, 40, 1, {"solver_order": 3}),
    ("parity-gauss", "gauss-dpm-20-heun", "dpm-solver", 20, None, 41, 1, {"solver_type": "heun"}),
    ("parity-gauss", "gauss-dpm-10-sigma_min-no-lof", "dpm-solver", 10, None, 42, 1, {"final_sigmas_type": "sigma_min", "lower_order_final": False}),
    ("parity-gauss", "gauss-dpm-10-euler_at_final", "dpm-solver", 10, None, 43, 1, {"euler_at_final": True}),
    ("parity-gauss", "gauss-dpm-20-cosine-lambda_min", "dpm-solver", 20, None, 44, 1, {"beta_schedule": "squaredcos_cap_v2", "lambda_min_clipped": -5.1, "timestep_spacing": "linspace"}),
    ("parity-gauss", "gauss-dpm-20-deis", "dpm-solver", 20, None, 45, 1, {"algorithm_type": "deis", "final_sigmas_type": "sigma_min"}),
    ("parity-gauss", "gauss-ddpm-1", "ddpm", 1, None, 46, 1, {}),
    ("parity-gauss", "gauss-ddim-1", "ddim", 1, 0.0, 47, 1, {}),
    ("parity-gauss", "gauss-dpm-1", "dpm-solver", 1, None, 48, 1, {}),
    ("parity-gauss", "gauss-dpm-2-linspace", "dpm-solver", 2, None, 49, 1, {"timestep_spacing": "linspace"}),
    # sde-dpmsolver++ (stochastic: one randn(model_output.shape) per step from the pipeline's generator)
    ("parity-gauss", "gauss-sde-dpm-20", "dpm-solver", 20, None, 50, 1, {"algorithm_type": "sde-dpmsolver++"}),
    ("parity-gauss", "gauss-sde-dpm-10-batch3-order1", "dpm-solver", 10, None, 51, 3, {"algorithm_type": "sde-dpmsolver++", "solver_order": 1}),
    ("parity-gauss", "gauss-sde-dpm-25-linspace-threshold", "dpm-solver", 25, None, 52, 1, {"algorithm_type": "sde-dpmsolver++", "timestep_spacing": "linspace", "thresholding": True, "dynamic_thresholding_ratio": 0.8, "sample_max_value": 10.0}),
    # "trailing" with n = 61 (one of 62 step counts <= 1000): numpy's arange(1000, 0, -1000 / 61) has 62
    # elements, so diffusers' timesteps end with -1 and it takes 62 steps, the last at t = -1 (torch reads
    # alphas_cumprod[-1]). plugins/README.md documents that our samplers drop it and take exactly 61.
    ("parity-gauss", "gauss-ddim-61-trailing", "ddim", 61, 0.0, 53, 1, {"timestep_spacing": "trailing"}),
    ("parity-gauss", "gauss-ddpm-61-trailing", "ddpm", 61, None, 54, 1, {"timestep_spacing": "trailing"}),
    ("parity-gauss", "gauss-dpm-61-trailing", "dpm-solver", 61, None, 55, 1, {"timestep_spacing": "trailing"}),
]


class PipelineLoop:
    """The body of DDPMPipeline.__call__ / DDIMPipeline.__call__ (diffusers 0.27-0.40, CPU, return_dict)
    for diffusers versions whose pipeline modules cannot be imported here; --loop selects it."""

    def __init__(self, unet, scheduler, ddim):
        self.unet = unet
        self.scheduler = DDIMScheduler.from_config(scheduler.config) if ddim else scheduler
        self.ddim = ddim

    def set_progress_bar_config(self, **kwargs):
        pass

    numpy_to_pil = staticmethod(numpy_to_pil)

    def __call__(self, batch_size, generator, num_inference_steps, output_type, eta=0.0, use_clipped_model_output=None):
        c = self.unet.config
        image_shape = (batch_size, c.in_channels, c.sample_size, c.sample_size)
        image = randn_tensor(image_shape, generator=generator, device=torch.device("cpu"), dtype=self.unet.dtype)
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.scheduler.timesteps:
            model_output = self.unet(image, t).sample
            if self.ddim:
                image = self.scheduler.step(
                    model_output, t, image, eta=eta, use_clipped_model_output=use_clipped_model_output, generator=generator
                ).prev_sample
            else:
                image = self.scheduler.step(model_output, t, image, generator=generator).prev_sample
        image = (image / 2 + 0.5).clamp(0, 1)
        image = image.cpu().permute(0, 2, 3, 1).numpy()
        assert output_type == "np"
        return types.SimpleNamespace(images=image)


def record_final_sample(scheduler):
    """Instrument scheduler.step (the pipeline's own scheduler object) to keep its latest prev_sample."""
    step = scheduler.step

    def recording_step(*args, **kwargs):
        out = step(*args, **kwargs)
        scheduler.final_sample = out.prev_sample.detach().clone()
        return out

    scheduler.step = recording_step


def run_case(unet, manifest, case, loop=False):
    model, case_id, sampler, steps, eta, seed, batch, overrides = case
    options = {} if eta is None else dict(eta) if isinstance(eta, dict) else {"eta": eta}
    config = {**manifest["scheduler"], **overrides}
    scheduler = SCHEDULERS[sampler].from_config(config)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    unet.recorded = []
    if sampler == "ddim":
        # DDIMPipeline converts any scheduler with DDIMScheduler.from_config; eta goes to scheduler.step.
        pipe = PipelineLoop(unet, scheduler, ddim=True) if loop else DDIMPipeline(unet=unet, scheduler=scheduler)
        pipe.set_progress_bar_config(disable=True)
        record_final_sample(pipe.scheduler)
        out = pipe(
            batch_size=batch, generator=generator, eta=options.get("eta", 0.0), num_inference_steps=steps,
            output_type="np", use_clipped_model_output=options.get("use_clipped_model_output"),
        )
        pipeline = "DDIMPipeline loop" if loop else "DDIMPipeline"
    else:
        # DDPMPipeline with the scheduler swapped in: diffusers' documented way to sample with DPM-Solver++.
        pipe = PipelineLoop(unet, scheduler, ddim=False) if loop else DDPMPipeline(unet=unet, scheduler=scheduler)
        pipe.set_progress_bar_config(disable=True)
        record_final_sample(pipe.scheduler)
        out = pipe(batch_size=batch, generator=generator, num_inference_steps=steps, output_type="np")
        pipeline = "DDPMPipeline loop" if loop else "DDPMPipeline"
    final = pipe.scheduler.final_sample  # the last step's prev_sample, before (x / 2 + 0.5).clamp(0, 1)
    images = out.images  # float32 NHWC in [0, 1]: (x / 2 + 0.5).clamp(0, 1)
    pil = pipe.numpy_to_pil(images)  # exactly what output_type="pil" returns
    pixels = [np.asarray(im, dtype=np.uint8) for im in pil]
    timesteps = [int(t) for t in pipe.scheduler.timesteps]
    recorded = unet.recorded
    assert [t for t, _ in recorded] == timesteps, "model calls must follow scheduler.timesteps"
    stride = max(1, -(-len(recorded) // MAX_TRAJECTORY_POINTS))
    trajectory = [
        {"step": i, "timestep": t, "sample": b64_f32(x)} for i, (t, x) in enumerate(recorded) if i % stride == 0
    ]
    return {
        "id": case_id,
        "model": model,
        "modelsDir": MODELS[model][1],
        "pipeline": pipeline,
        "scheduler": type(pipe.scheduler).__name__,
        "schedulerConfig": config,
        "sampler": sampler,
        "steps": steps,
        "options": options,
        "seed": seed,
        "count": batch,
        "timesteps": timesteps,
        "images": [
            {
                "pixels": base64.b64encode(p.reshape(-1).tobytes()).decode(),
                "clamped01": base64.b64encode(np.ascontiguousarray(images[i], dtype="<f4").reshape(-1).tobytes()).decode(),
            }
            for i, p in enumerate(pixels)
        ],
        "finalSample": b64_f32(final),
        "trajectory": trajectory,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "diffusers-reference.json"))
    parser.add_argument("--only", help="comma-separated case ids (default: all)")
    parser.add_argument("--loop", action="store_true", help="run the pipelines' loop instead of the pipeline classes")
    args = parser.parse_args()
    if not args.loop and DDPMPipeline is None:
        sys.exit(f"diffusers pipelines do not import here ({PIPELINE_IMPORT_ERROR}); use --loop")
    torch.set_num_threads(1)
    cases = CASES if not args.only else [c for c in CASES if c[1] in args.only.split(",")]
    model_checks, results = {}, []
    for name, (load, _) in MODELS.items():
        net, manifest = load()
        ch, size = manifest["image"]["channels"], manifest["image"]["height"]
        unet = TinyUNet(net, ch, size)
        # Model check: the torch twin on fixed inputs (one timestep per batch, as the engine calls the
        # model), to prove it is the network inside the model's ONNX file.
        probe_gen = torch.Generator().manual_seed(2024)
        probes = []
        for t in (0, 10, 500, 999):
            x = torch.randn((2, ch, size, size), generator=probe_gen) * 1.5
            with torch.no_grad():
                y = net(x, torch.full((2,), t, dtype=torch.int64))
            probes.append({"timestep": t, "shape": list(x.shape), "sample": b64_f32(x), "output": b64_f32(y)})
        model_checks[name] = {"modelsDir": MODELS[name][1], "probes": probes}
        for case in cases:
            if case[0] != name:
                continue
            with torch.no_grad():
                results.append(run_case(unet, manifest, case, loop=args.loop))
            print(f"{case[1]}: done", file=sys.stderr)
    doc = {
        "about": "Images from real diffusers pipelines on the torch twins of test fixture models; built by "
        "test/parity/make_reference.py, see scripts/reference/README.md. pixels: base64 uint8 HWC as "
        "numpy_to_pil returns; clamped01: base64 float32 HWC (x/2+0.5).clamp(0,1); finalSample: base64 "
        "float32 NCHW last prev_sample before clamping; trajectory: base64 "
        "float32 NCHW samples fed to the model at recorded steps.",
        "diffusers": diffusers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "torchCompatAdded": COMPAT_ADDED,
        "modelCheck": model_checks,
        "cases": results,
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
