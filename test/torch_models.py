"""Small PyTorch models for test/torch_export_test.ts. Each factory returns (module, example_args)
so `tools/export_torch.py test/torch_models.py:NAME OUT_DIR` exports it."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class GPT2Block(nn.Module):
    """GPT-2 style: pre-LayerNorm, fused qkv projection, causal attention with masked_fill on a
    registered tril buffer, tanh-GELU MLP, residuals."""

    def __init__(self, d, heads, ctx):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.register_buffer("bias", torch.tril(torch.ones(ctx, ctx)).view(1, 1, ctx, ctx))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        hd = C // self.heads
        q = q.view(B, T, self.heads, hd).transpose(1, 2)
        k = k.view(B, T, self.heads, hd).transpose(1, 2)
        v = v.view(B, T, self.heads, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    """Token + position embeddings, one block, final LayerNorm, lm head tied to the token
    embedding (int64 token ids in, logits out)."""

    def __init__(self, vocab=64, d=32, heads=4, ctx=16):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.h = nn.ModuleList([GPT2Block(d, heads, ctx)])
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        T = idx.shape[1]
        pos = torch.arange(0, T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaBlock(nn.Module):
    """Llama style: RMSNorm, RoPE (cos/sin from an inv_freq buffer, folded at export), grouped
    query attention (kv heads repeated), additive causal mask from triu, SwiGLU MLP."""

    def __init__(self, d=32, heads=4, kv_heads=2, ff=64):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.input_layernorm = RMSNorm(d)
        self.q_proj = nn.Linear(d, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, d, bias=False)
        self.post_attention_layernorm = RMSNorm(d)
        self.gate_proj = nn.Linear(d, ff, bias=False)
        self.up_proj = nn.Linear(d, ff, bias=False)
        self.down_proj = nn.Linear(ff, d, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, x):
        B, T, _ = x.shape
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.heads // self.kv_heads
        k = k.repeat_interleave(rep, dim=1)
        v = v[:, :, None, :, :].expand(B, self.kv_heads, rep, T, self.hd).reshape(B, self.heads, T, self.hd)
        att = (q @ k.transpose(2, 3)) / math.sqrt(self.hd)
        att = att + torch.full((T, T), float("-inf")).triu(1)
        y = F.softmax(att, dim=-1) @ v
        x = x + self.o_proj(y.transpose(1, 2).reshape(B, T, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class MLP(nn.Module):
    def __init__(self, d_in=24, hidden=48, d_out=10):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.GELU(), nn.Linear(hidden, d_out))

    def forward(self, x):
        return F.log_softmax(self.net(x), dim=-1)


class Zoo(nn.Module):
    """Many small ops the three models do not use, each mapped by a handler of the exporter:
    comparisons and logic, clamps, var/std, max over a dim, argmax, stack/repeat/unbind,
    select, split_with_sizes, baddbmm, an f16 round trip, integer arithmetic, permute, rsub,
    amax, ones_like, maximum/minimum, squeeze, tanh/sqrt/cos/sin, min, logical_and, clamp_min,
    zeros_like, new_ones, full_like."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.randn(4, 6))
        self.bf16 = nn.Parameter(torch.randn(4, 6).bfloat16())  # saved as BF16, read as f32

    def forward(self, x, y, n):
        a = x * self.scale + self.bf16.float()
        m = (a > 0) & (y <= 0.5) | (a != y).logical_not()
        b = torch.where(m, a.clamp(-0.5, 0.7), y.sigmoid().reciprocal())
        v = a.var(dim=-1, keepdim=True) + a.std(dim=0, unbiased=False).mean()
        mx, idx = torch.max(b, dim=1)
        s = torch.stack([mx, b.amin(dim=1), idx.float()], dim=0)
        r = b.repeat(2, 1)[1:5] + b.abs().exp().log()
        u0, u1 = y.unbind(0)[:2]
        p, q = torch.split(a, [2, 4], dim=1)
        z = torch.baddbmm(y[None, :2, :4], p.t()[None], q[None], beta=0.5, alpha=2.0)
        h = (a.half() * 2).float() - x.select(1, 3)[:, None]
        k = (n * 3 - 1) // 2 + n.sum()
        w = (1 - a.permute(1, 0)).amax(dim=0)[:, None] + torch.ones_like(a) * (a < y)
        w = w + torch.maximum(a, y).minimum(x).unsqueeze(0).squeeze(0)
        e = torch.tanh(a).abs().sqrt().cos() + torch.sin(y) * (a == y) - torch.min(b)
        e = e + torch.logical_and(a > 0, y > 0) + torch.clamp_min(a, 0.1) + torch.zeros_like(a)
        e = e + a.new_ones(4, 6) + torch.full_like(a, 2.0) + torch.log_softmax(a, dim=0)
        return (b + v, s, r * (u0 + u1), z, h, k, torch.ge(a, y).sum(dim=1), x.argmax(dim=-1), w,
                e)


class Unsupported(nn.Module):
    """Uses two aten ops webgpu-inductor cannot express (cumsum, flip)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = torch.cumsum(self.lin(x), dim=-1)
        return torch.flip(y, dims=[0]) + 1


class Mutating(nn.Module):
    """Updates a buffer in forward and samples dropout in training mode: neither can export."""

    def __init__(self):
        super().__init__()
        self.register_buffer("count", torch.zeros(3))
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        self.count += 1
        return self.drop(x) + self.count


def gpt2():
    torch.manual_seed(0)
    return GPT2().eval(), (torch.randint(0, 64, (2, 8)),)


def llama():
    torch.manual_seed(1)
    return LlamaBlock().eval(), (torch.randn(2, 8, 32),)


def mlp():
    torch.manual_seed(2)
    return MLP().eval(), (torch.randn(6, 24),)


def zoo():
    torch.manual_seed(4)
    return Zoo().eval(), (torch.randn(4, 6), torch.randn(4, 6), torch.randint(-9, 9, (5,)))


def unsupported():
    torch.manual_seed(3)
    return Unsupported().eval(), (torch.randn(4, 8),)


def mutating():
    return Mutating().train(), (torch.randn(3),)


MODELS = {"gpt2": gpt2, "llama": llama, "mlp": mlp, "zoo": zoo}
