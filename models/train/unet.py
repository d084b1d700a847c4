#!/usr/bin/env python3
"""Small DDPM UNet (Ho et al. 2020, scaled down) and the linear-beta DDPM schedule.

Residual blocks with GroupNorm + SiLU and a timestep embedding (sinusoidal -> MLP),
optionally plus a class embedding (num_classes labels and one null label, for classifier-free guidance),
self-attention at the chosen resolutions (the lowest one by default), dropout,
stride-2 conv downsampling, nearest + conv upsampling, skip connections.
Only ops that export cleanly to ONNX opset 17 and run on onnxruntime CPU are used.

Run `python3 unet.py --help` to print parameter counts of configurations.
"""
import argparse
import math
import re

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim):
    """Sinusoidal embedding as in the DDPM/Transformer papers. t: [N] (int or float)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


def norm(ch, groups):
    return nn.GroupNorm(min(groups, ch), ch, eps=1e-5)


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch, temb_ch, dropout, groups):
        super().__init__()
        self.norm1 = norm(in_ch, groups)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.temb = nn.Linear(temb_ch, out_ch)
        self.norm2 = norm(out_ch, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.temb(F.silu(temb))[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over spatial positions (plain matmul + softmax)."""

    def __init__(self, ch, groups):
        super().__init__()
        self.norm = norm(ch, groups)
        self.qkv = nn.Conv2d(ch, 3 * ch, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.scale = ch ** -0.5

    def forward(self, x):
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).unbind(1)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k) * self.scale, dim=-1)  # [n, hw, hw]
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(n, c, h, w)
        return x + self.proj(out)


class Downsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x, size):
        # Explicit output size so odd resolutions (7 -> 14 -> 28) round-trip exactly.
        return self.conv(F.interpolate(x, size=size, mode="nearest"))


class UNet(nn.Module):
    def __init__(self, in_channels=1, image_size=28, ch=32, ch_mult=(1, 2, 2), num_res_blocks=2,
                 attn_resolutions=None, dropout=0.1, groups=8, num_classes=None):
        super().__init__()
        self.config = dict(in_channels=in_channels, image_size=image_size, ch=ch, ch_mult=list(ch_mult),
                           num_res_blocks=num_res_blocks, dropout=dropout, groups=groups)
        if num_classes:
            self.config["num_classes"] = num_classes
        resolutions = [image_size]
        for _ in range(len(ch_mult) - 1):
            resolutions.append((resolutions[-1] + 1) // 2)
        if attn_resolutions is None:
            attn_resolutions = [resolutions[-1]]
        self.config["attn_resolutions"] = list(attn_resolutions)
        self.ch = ch
        temb_ch = 4 * ch
        self.temb_mlp = nn.Sequential(nn.Linear(ch, temb_ch), nn.SiLU(), nn.Linear(temb_ch, temb_ch))
        self.num_classes = num_classes
        if num_classes:
            # Index num_classes is the null label. Zero-initialised and added to the time embedding, so a
            # network warm-started from unconditional weights computes exactly what it did before.
            self.class_emb = nn.Embedding(num_classes + 1, temb_ch)
            nn.init.zeros_(self.class_emb.weight)
        self.conv_in = nn.Conv2d(in_channels, ch, 3, padding=1)

        self.down = nn.ModuleList()
        skip_chs = [ch]
        cur = ch
        for level, mult in enumerate(ch_mult):
            out = ch * mult
            for _ in range(num_res_blocks):
                blocks = [ResBlock(cur, out, temb_ch, dropout, groups)]
                if resolutions[level] in attn_resolutions:
                    blocks.append(AttnBlock(out, groups))
                self.down.append(nn.ModuleList(blocks))
                cur = out
                skip_chs.append(cur)
            if level != len(ch_mult) - 1:
                self.down.append(Downsample(cur))
                skip_chs.append(cur)

        self.mid1 = ResBlock(cur, cur, temb_ch, dropout, groups)
        self.mid_attn = AttnBlock(cur, groups)
        self.mid2 = ResBlock(cur, cur, temb_ch, dropout, groups)

        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(ch_mult))):
            out = ch * mult
            for _ in range(num_res_blocks + 1):
                blocks = [ResBlock(cur + skip_chs.pop(), out, temb_ch, dropout, groups)]
                if resolutions[level] in attn_resolutions:
                    blocks.append(AttnBlock(out, groups))
                self.up.append(nn.ModuleList(blocks))
                cur = out
            if level != 0:
                self.up.append(Upsample(cur))
        assert not skip_chs

        self.norm_out = norm(cur, groups)
        self.conv_out = nn.Conv2d(cur, in_channels, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x, t, class_labels=None):
        temb = self.temb_mlp(timestep_embedding(t, self.ch))
        if self.num_classes:
            if class_labels is None:
                class_labels = torch.full_like(t, self.num_classes, dtype=torch.int64)
            temb = temb + self.class_emb(class_labels)
        h = self.conv_in(x)
        hs = [h]
        for mod in self.down:
            if isinstance(mod, Downsample):
                h = mod(h)
            else:
                h = mod[0](h, temb)
                for m in mod[1:]:
                    h = m(h)
            hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, temb)), temb)
        for mod in self.up:
            if isinstance(mod, Upsample):
                h = mod(h, hs[-1].shape[-2:])
            else:
                h = mod[0](torch.cat([h, hs.pop()], dim=1), temb)
                for m in mod[1:]:
                    h = m(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def grow_res_blocks(weights, old_cfg, new_model):
    """A state dict for new_model (old_cfg with more residual blocks per level) that computes what the
    network with `weights` computed: the old blocks keep their weights, and each new block starts as the
    identity (a ResBlock's last conv and an AttnBlock's projection are zero-initialised; a new up block's
    1x1 skip passes its input through and ignores the skip connection it is handed). Training then grows
    the new blocks from there, so a warm start gains capacity without losing what was learned."""
    a, b = old_cfg["num_res_blocks"], new_model.config["num_res_blocks"]
    levels = len(old_cfg["ch_mult"])
    moved = {}
    for level in range(levels):
        for j in range(a + 1):  # down: a blocks then the downsample; the new blocks go after the old ones
            moved["down.%d." % (level * (a + 1) + j)] = "down.%d." % (level * (b + 1) + (j if j < a else b))
    # Up, per level: old block 0 first, then the new (identity) blocks, then old blocks 1..a and the
    # upsample. New down blocks copy the last old one's output, so every old up block meets the same skip.
    for r in range(levels):
        for k in range(a + 2):
            moved["up.%d." % (r * (a + 2) + k)] = "up.%d." % (r * (b + 2) + (k if k == 0 else b - a + k))
    state = new_model.state_dict()
    for name, value in weights.items():
        prefix = re.match(r"(down|up)\.\d+\.", name)
        target = moved[prefix.group(0)] + name[prefix.end():] if prefix else name
        if target not in state or state[target].shape != value.shape:
            raise ValueError("cannot grow %s into %s" % (name, target))
        state[target] = value.clone()
    for r in range(levels):
        for j in range(1, b - a + 1):
            skip = state["up.%d.0.skip.weight" % (r * (b + 2) + j)]
            out_ch = skip.shape[0]
            skip.zero_()
            skip[:, :out_ch, 0, 0] = torch.eye(out_ch)
            state["up.%d.0.skip.bias" % (r * (b + 2) + j)].zero_()
    return state


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# Named configurations used by train.py (can be overridden on the command line).
CONFIGS = {
    # 28 -> 14 -> 7, attention at 7x7 (down, middle, up)
    "mnist": dict(in_channels=1, image_size=28, ch=32, ch_mult=(1, 2, 2), num_res_blocks=1, dropout=0.1),
    # 32 -> 16 -> 8 -> 4, attention at 8x8 and in the 4x4 middle block
    "emoji": dict(in_channels=3, image_size=32, ch=32, ch_mult=(1, 2, 2, 2), num_res_blocks=1, dropout=0.1,
                  attn_resolutions=[8]),
}


class DDPMSchedule:
    """Linear beta schedule (DDPM): betas 1e-4..0.02, T=1000."""

    def __init__(self, num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02):
        self.T = num_train_timesteps
        self.betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)
        self.sqrt_ac = self.alphas_cumprod.sqrt().float()
        self.sqrt_1m_ac = (1.0 - self.alphas_cumprod).sqrt().float()

    def q_sample(self, x0, t, noise):
        return self.sqrt_ac[t][:, None, None, None] * x0 + self.sqrt_1m_ac[t][:, None, None, None] * noise


@torch.no_grad()
def ddpm_sample(model, shape, schedule, steps=None, generator=None, class_labels=None, guidance_scale=1.0):
    """Ancestral DDPM sampling (fixed_small variance, x0 not clipped: the shipped manifest has clip_sample
    off, so the preview shows what the bot draws). With `steps` < T uses 'leading' spaced timesteps (like
    diffusers DDPMScheduler). With class_labels and guidance_scale != 1, classifier-free guidance:
    eps = eps_uncond + s * (eps_cond - eps_uncond)."""
    T = schedule.T
    if steps is None or steps >= T:
        ts = list(range(T - 1, -1, -1))
    else:
        ratio = T // steps
        ts = [i * ratio for i in range(steps)][::-1]
    ac = schedule.alphas_cumprod
    x = torch.randn(shape, generator=generator)
    for i, t in enumerate(ts):
        t_prev = ts[i + 1] if i + 1 < len(ts) else -1
        a_t = ac[t].item()
        a_prev = ac[t_prev].item() if t_prev >= 0 else 1.0
        beta_t = 1 - a_t / a_prev
        tt = torch.full((shape[0],), t, dtype=torch.int64)
        if class_labels is None:
            eps = model(x, tt)
        elif guidance_scale == 1.0:
            eps = model(x, tt, class_labels)
        else:
            null = torch.full_like(class_labels, model.num_classes)
            cond, uncond = model(torch.cat([x, x]), torch.cat([tt, tt]), torch.cat([class_labels, null])).chunk(2)
            eps = uncond + guidance_scale * (cond - uncond)
        x0 = (x - math.sqrt(1 - a_t) * eps) / math.sqrt(a_t)
        mean = (math.sqrt(a_prev) * beta_t / (1 - a_t)) * x0 + (math.sqrt(1 - beta_t) * (1 - a_prev) / (1 - a_t)) * x
        if t_prev >= 0:
            var = (1 - a_prev) / (1 - a_t) * beta_t
            x = mean + math.sqrt(max(var, 1e-20)) * torch.randn(shape, generator=generator)
        else:
            x = mean
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), nargs="*", default=sorted(CONFIGS))
    args = ap.parse_args()
    for name in args.config:
        m = UNet(**CONFIGS[name])
        x = torch.randn(2, m.config["in_channels"], m.config["image_size"], m.config["image_size"])
        y = m(x, torch.tensor([0, 999]))
        assert y.shape == x.shape
        print("%s: %d parameters, config %s" % (name, count_params(m), m.config))


if __name__ == "__main__":
    main()
