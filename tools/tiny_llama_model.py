"""A self-contained Llama decoder with Hugging Face `LlamaForCausalLM`
semantics and parameter names, plus a dependency-free safetensors reader and
writer. Mirrors transformers' modeling_llama.py (LlamaRMSNorm,
LlamaRotaryEmbedding / rotate_half, repeat_kv, eager attention, LlamaMLP) in
our own code; only PyTorch is needed.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class LlamaConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    max_position_embeddings: int = 256
    tie_word_embeddings: bool = True
    bos_token_id: int = 0
    eos_token_id: int = 1

    def validate(self) -> None:
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads {self.num_attention_heads} is not a multiple of "
                f"num_key_value_heads {self.num_key_value_heads}")
        if self.head_dim % 2:
            raise ValueError(f"head_dim {self.head_dim} must be even for RoPE")

    def to_hf(self, torch_dtype: str = "float32") -> dict:
        cfg = asdict(self)
        cfg.update({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
            "attention_dropout": 0.0,
            "initializer_range": 0.02,
            "rope_scaling": None,
            "use_cache": True,
            "torch_dtype": torch_dtype,
        })
        return dict(sorted(cfg.items()))

    @staticmethod
    def from_hf(cfg: dict) -> "LlamaConfig":
        if cfg.get("model_type") != "llama":
            raise ValueError(f"config model_type is {cfg.get('model_type')!r}, expected 'llama'")
        heads = cfg["num_attention_heads"]
        return LlamaConfig(
            vocab_size=cfg["vocab_size"], hidden_size=cfg["hidden_size"],
            intermediate_size=cfg["intermediate_size"],
            num_hidden_layers=cfg["num_hidden_layers"], num_attention_heads=heads,
            num_key_value_heads=cfg.get("num_key_value_heads", heads),
            head_dim=cfg.get("head_dim") or cfg["hidden_size"] // heads,
            rms_norm_eps=cfg.get("rms_norm_eps", 1e-6),
            rope_theta=cfg.get("rope_theta", 10000.0),
            max_position_embeddings=cfg.get("max_position_embeddings", 2048),
            tie_word_embeddings=cfg.get("tie_word_embeddings", False),
            bos_token_id=cfg.get("bos_token_id", 0), eos_token_id=cfg.get("eos_token_id", 1))


# Debian's PyTorch links the reference (netlib) BLAS, which runs matmuls at about
# 3 GFLOP/s on one core, while its oneDNN convolutions reach 30-100 GFLOP/s. For
# float32 training, linear maps and attention products are therefore computed as
# 1x1 / grouped convolutions: the same sums, only the kernel differs. The float64
# reference path always uses plain matmuls.
CONV_MATMUL = {"enabled": False}


def _conv_path(x: torch.Tensor) -> bool:
    return CONV_MATMUL["enabled"] and x.dtype == torch.float32 and x.device.type == "cpu"


class Linear(nn.Linear):
    """nn.Linear without bias; y = x @ W^T, optionally as a 1x1 convolution
    over the flattened rows (channels = features, length = rows)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _conv_path(x):
            return nn.functional.linear(x, self.weight)
        lead = x.shape[:-1]
        cols = x.reshape(-1, x.shape[-1]).t().unsqueeze(0)
        y = nn.functional.conv1d(cols, self.weight.unsqueeze(-1))
        return y[0].t().reshape(*lead, self.weight.shape[0])


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + causal mask) v for q, k, v [B, H, T, d] (k, v
    already repeated to H heads). Softmax in float32 (HF eager) or float64."""
    b, h, t, d = q.shape
    causal = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
    if not _conv_path(q):
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        probs = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
        return probs @ v
    # Grouped convolutions, one group per (batch, head); scores come out as
    # [G, key j, query i], so the softmax runs over dim 1.
    g = b * h
    q_in = q.permute(0, 1, 3, 2).reshape(1, g * d, t)
    k_w = k.reshape(g * t, d, 1)
    scores_t = nn.functional.conv1d(q_in, k_w, groups=g).reshape(g, t, t) / math.sqrt(d)
    probs_t = torch.softmax(scores_t.masked_fill(causal.t(), float("-inf")), dim=1)
    v_w = v.permute(0, 1, 3, 2).reshape(g * d, t, 1)
    out = nn.functional.conv1d(probs_t.reshape(1, g * t, t), v_w, groups=g)
    return out.reshape(b, h, d, t).permute(0, 1, 3, 2)


class RMSNorm(nn.Module):
    """LlamaRMSNorm: normalize in float32 (or wider), then scale by weight."""

    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        in_dtype = x.dtype
        h = x.to(torch.float64 if in_dtype == torch.float64 else torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(in_dtype)


def rope_cos_sin(head_dim: int, theta: float, positions: torch.Tensor,
                 dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin tables [T, head_dim] with HF's layout: the head_dim/2
    frequencies repeated twice (cat(freqs, freqs)), angles in float64."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = positions.to(torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat([angles, angles], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """HF rotate_half: (x1, x2) -> (-x2, x1) over the two halves of the last
    dim (not the interleaved even/odd pairing)."""
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.cfg = cfg
        d, hd = cfg.hidden_size, cfg.head_dim
        self.q_proj = Linear(d, cfg.num_attention_heads * hd)
        self.k_proj = Linear(d, cfg.num_key_value_heads * hd)
        self.v_proj = Linear(d, cfg.num_key_value_heads * hd)
        self.o_proj = Linear(cfg.num_attention_heads * hd, d)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        cfg = self.cfg
        b, t, _ = x.shape
        hd, nh, nkv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
        q = self.q_proj(x).view(b, t, nh, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, nkv, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: query head h reads key/value head h // (nh // nkv).
        rep = nh // nkv
        k = k.repeat_interleave(rep, dim=1)
        v = v.repeat_interleave(rep, dim=1)
        out = causal_attention(q, k, v).transpose(1, 2).reshape(b, t, nh * hd)
        return self.o_proj(out)


class MLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = Linear(cfg.hidden_size, cfg.intermediate_size)
        self.up_proj = Linear(cfg.hidden_size, cfg.intermediate_size)
        self.down_proj = Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaBody(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class TinyLlamaForCausalLM(nn.Module):
    """state_dict() keys are exactly HF's: model.embed_tokens.weight,
    model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.model = LlamaBody(cfg)
        self.lm_head = Linear(cfg.hidden_size, cfg.vocab_size)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def init_weights(self, std: float = 0.02) -> None:
        """HF's _init_weights: normal(0, initializer_range) for linear and
        embedding weights, ones for norms."""
        for name, p in self.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                nn.init.ones_(p)
            else:
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """input_ids [B, T] (positions 0..T-1) -> logits [B, T, vocab]."""
        x = self.model.embed_tokens(input_ids)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        cos, sin = rope_cos_sin(self.cfg.head_dim, self.cfg.rope_theta, positions, x.dtype)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        """Weights as HF saves them (lm_head.weight left out when tied)."""
        sd = {k: v.detach() for k, v in self.state_dict().items()}
        if self.cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        return sd

    def load_hf_state_dict(self, sd: dict[str, torch.Tensor]) -> None:
        expected = set(self.hf_state_dict())
        missing, extra = expected - set(sd), set(sd) - expected
        if missing or extra:
            raise ValueError(f"weights do not match config: missing {sorted(missing)}, "
                             f"unexpected {sorted(extra)}")
        own = self.state_dict()
        for k, v in sd.items():
            if tuple(own[k].shape) != tuple(v.shape):
                raise ValueError(f"{k}: shape {tuple(v.shape)}, config wants {tuple(own[k].shape)}")
        self.load_state_dict(sd, strict=False)


# ---- safetensors ------------------------------------------------------------
_ST_DTYPES = {torch.float32: ("F32", "<f4"), torch.float16: ("F16", "<f2"),
              torch.float64: ("F64", "<f8")}
_ST_TORCH = {"F32": torch.float32, "F16": torch.float16, "F64": torch.float64}


def save_safetensors(path: str, tensors: dict[str, torch.Tensor]) -> None:
    """8-byte little-endian header length, JSON header (names sorted, offsets
    relative to the data section, space-padded to 8 bytes), raw LE data."""
    header: dict = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _ST_DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} not supported by this writer")
        st_dtype, np_dtype = _ST_DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def load_safetensors(path: str) -> dict[str, torch.Tensor]:
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _ST_TORCH:
            raise ValueError(f"{path}: {name} has unsupported dtype {info['dtype']}")
        start, end = info["data_offsets"]
        np_dtype = _ST_DTYPES[_ST_TORCH[info["dtype"]]][1]
        arr = np.frombuffer(raw[base + start:base + end], dtype=np_dtype).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def load_model_dir(model_dir: str) -> tuple[TinyLlamaForCausalLM, LlamaConfig]:
    with open(f"{model_dir}/config.json", encoding="utf-8") as f:
        cfg = LlamaConfig.from_hf(json.load(f))
    model = TinyLlamaForCausalLM(cfg)
    sd = {k: v.float() for k, v in load_safetensors(f"{model_dir}/model.safetensors").items()}
    model.load_hf_state_dict(sd)
    return model.eval(), cfg
