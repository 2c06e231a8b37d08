#!/usr/bin/python3
"""Self-checks of the Python side of the bundled model (no GPU, ~10 s):

    /usr/bin/python3 tools/test_tiny_llama.py

* the Llama module against a plain numpy float64 loop written from the HF
  formulas (per head, per position), on the odd-sized random model (GQA 3:1,
  untied lm_head) — catches RoPE layout, GQA head mapping, norm placement;
* the oneDNN-convolution training path against the plain float32 path;
* safetensors write/read round trip (f32 and f16) and header layout;
* GPT-2 split pattern on cases whose HF result is known, BPE round trips,
  special tokens.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
# Idle OpenMP workers must sleep, not spin: on a CPU shared with other jobs the
# default spinning made a training step ~15x slower (measured). Read by libgomp
# when torch loads, so it is set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tiny_llama_model as M  # noqa: E402
from byte_bpe import gpt2_pattern, train_byte_bpe  # noqa: E402
from llama_reference import ODD_CONFIG, odd_model  # noqa: E402


def numpy_llama(sd: dict[str, np.ndarray], cfg: M.LlamaConfig, ids: list[int]) -> np.ndarray:
    """Llama forward written out loop by loop (HF LlamaForCausalLM math)."""
    def rms(x, w):
        return w * (x / np.sqrt(np.mean(x * x) + cfg.rms_norm_eps))

    hd, nh, nkv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    half = hd // 2
    t_len = len(ids)
    x = np.stack([sd["model.embed_tokens.weight"][i] for i in ids])
    for n in range(cfg.num_hidden_layers):
        p = f"model.layers.{n}."
        h = np.stack([rms(x[t], sd[p + "input_layernorm.weight"]) for t in range(t_len)])
        q = h @ sd[p + "self_attn.q_proj.weight"].T
        k = h @ sd[p + "self_attn.k_proj.weight"].T
        v = h @ sd[p + "self_attn.v_proj.weight"].T

        def rope(vec, pos):
            out = np.empty_like(vec)
            for i in range(half):
                ang = pos * cfg.rope_theta ** (-2.0 * i / hd)
                a, b = vec[i], vec[i + half]
                out[i] = a * math.cos(ang) - b * math.sin(ang)
                out[i + half] = b * math.cos(ang) + a * math.sin(ang)
            return out

        attn = np.zeros((t_len, nh * hd))
        for head in range(nh):
            kvh = head // (nh // nkv)
            qs = [rope(q[t, head * hd:(head + 1) * hd], t) for t in range(t_len)]
            ks = [rope(k[t, kvh * hd:(kvh + 1) * hd], t) for t in range(t_len)]
            for t in range(t_len):
                s = np.array([qs[t] @ ks[j] / math.sqrt(hd) for j in range(t + 1)])
                w = np.exp(s - s.max())
                w /= w.sum()
                attn[t, head * hd:(head + 1) * hd] = sum(
                    w[j] * v[j, kvh * hd:(kvh + 1) * hd] for j in range(t + 1))
        x = x + attn @ sd[p + "self_attn.o_proj.weight"].T
        h = np.stack([rms(x[t], sd[p + "post_attention_layernorm.weight"]) for t in range(t_len)])
        g = h @ sd[p + "mlp.gate_proj.weight"].T
        u = h @ sd[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ sd[p + "mlp.down_proj.weight"].T
    x = np.stack([rms(x[t], sd["model.norm.weight"]) for t in range(t_len)])
    return x @ sd["lm_head.weight"].T


class ModelTest(unittest.TestCase):
    def test_matches_numpy_loops(self):
        model = odd_model(7).double().eval()
        sd = {k: v.numpy() for k, v in model.hf_state_dict().items()}
        ids = [3, 95, 17, 0, 42, 42, 8, 60, 1, 77]
        with torch.no_grad():
            ours = model(torch.tensor([ids]))[0].numpy()
        ref = numpy_llama(sd, ODD_CONFIG, ids)
        self.assertLess(np.abs(ours - ref).max(), 1e-9 * max(1.0, np.abs(ref).max()))
        self.assertGreater(np.abs(ref).max(), 0.5)  # logits are not trivially small

    def test_conv_path_matches_plain_path(self):
        model = odd_model(7).eval()
        ids = torch.tensor([[5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 3, 4, 5, 6, 7, 8]])
        with torch.no_grad():
            plain = model(ids)
            M.CONV_MATMUL["enabled"] = True
            try:
                conv = model(ids)
            finally:
                M.CONV_MATMUL["enabled"] = False
        self.assertLess((plain - conv).abs().max().item(), 1e-4)

    def test_tied_state_dict_has_no_lm_head(self):
        cfg = M.LlamaConfig(vocab_size=11, hidden_size=8, intermediate_size=12,
                            num_hidden_layers=1, num_attention_heads=2,
                            num_key_value_heads=1, head_dim=4)
        names = set(M.TinyLlamaForCausalLM(cfg).hf_state_dict())
        self.assertNotIn("lm_head.weight", names)
        self.assertIn("model.layers.0.self_attn.k_proj.weight", names)
        self.assertIn("model.layers.0.post_attention_layernorm.weight", names)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_and_header(self):
        tensors = {"b.weight": torch.randn(3, 5), "a.bias": torch.randn(7).half()}
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m.safetensors")
            M.save_safetensors(path, tensors)
            raw = open(path, "rb").read()
            (n,) = struct.unpack("<Q", raw[:8])
            self.assertEqual(n % 8, 0)
            header = json.loads(raw[8:8 + n])
            self.assertEqual(header["__metadata__"], {"format": "pt"})
            self.assertEqual(header["a.bias"], {"dtype": "F16", "shape": [7],
                                                "data_offsets": [0, 14]})
            self.assertEqual(header["b.weight"]["data_offsets"], [14, 74])
            self.assertEqual(len(raw), 8 + n + 74)
            back = M.load_safetensors(path)
        for k, v in tensors.items():
            self.assertTrue(torch.equal(back[k], v), k)


class TokenizerTest(unittest.TestCase):
    def test_gpt2_split(self):
        pat = gpt2_pattern()
        cases = {
            "Hello world": ["Hello", " world"],
            "  hi": [" ", " hi"],
            "a\n\nb": ["a", "\n", "\n", "b"],
            "x  \n": ["x", "  \n"],
            "I'm 42!": ["I", "'m", " 42", "!"],
            "caf\u00e9 x\u00b2": ["caf\u00e9", " x", "\u00b2"],
        }
        for text, want in cases.items():
            self.assertEqual(pat.findall(text), want, repr(text))

    def test_train_encode_decode(self):
        texts = ["the cat sat on the mat", "the dog sat", "that's the thing"] * 5
        tok = train_byte_bpe(texts, 300, ["<|bos|>", "<|eos|>"])
        self.assertEqual(tok.vocab["<|bos|>"], 0)
        self.assertEqual(tok.vocab["<|eos|>"], 1)
        self.assertEqual(tok.merges[0], ("t", "h"))  # 6 "th" per round beat 3 " t"
        ids = tok.encode("the cat<|eos|> z\u00e9", add_bos=True)
        self.assertEqual(ids[0], 0)
        self.assertIn(1, ids)
        self.assertEqual(tok.decode(ids), "<|bos|>the cat<|eos|> z\u00e9")
        self.assertEqual(tok.encode("the"), [tok.vocab["the"]])


if __name__ == "__main__":
    unittest.main()
