#!/usr/bin/python3
"""Reference outputs of a Hugging Face-layout Llama for the Deno parity tests.

Subcommands (run from the repository root with /usr/bin/python3):

  fixture  --model demo/tiny-llama --out test/fixtures/tiny-llama
      Greedy generation for a few prompts with the stored f32 weights and with
      the weights rounded to f16, plus tokenizer text -> ids vectors.
  odd      --out test/fixtures/llama-odd
      A seeded random-weight Llama with awkward sizes (hidden 72, 6 heads,
      2 kv heads, head_dim 12, 3 layers, MLP 100, vocab 97, untied lm_head),
      its config.json + model.safetensors (+ an f16 copy in llama-odd/f16/),
      and its logits for a fixed id sequence.
  to-f16   --model DIR --out DIR2
      Copy a model directory with the weights stored as F16 safetensors.

All reference math is float64 (weights are exact f32 or f16 values widened),
full recompute of the whole sequence per generated token (no KV cache),
greedy = argmax, no stop at eos. Logits are stored as little-endian float32,
row-major [rows, vocab].
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys

# Idle OpenMP workers must sleep, not spin: on a CPU shared with other jobs the
# default spinning made a training step ~15x slower (measured). Read by libgomp
# when torch loads, so it is set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byte_bpe import ByteBPE  # noqa: E402
from tiny_llama_model import (  # noqa: E402
    LlamaConfig, TinyLlamaForCausalLM, load_model_dir, save_safetensors)

PROMPTS = ["The meaning of life is", "A fortune:", "Computers are"]
TOKENIZER_TEXTS = [
    "The meaning of life is",
    "A fortune:",
    "Computers are",
    "Hello world",
    "  two leading spaces, and trailing   ",
    "I'm sure they'll say it's what we've seen; you'd agree, I'd.",
    "Numbers: 3.14159, 2024-06-30, 1,000,000 and x2y3.",
    "Tabs\tand\nnewlines\n\n\tindented\r\nwindows line",
    "\t\t-- Mark Twain, \"Pudd'nhead Wilson's Calendar\"",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber x\u00b2 \u00bd \u2014 \u201cquotes\u201d",
    "emoji \U0001F600 and CJK \u4f60\u597d, non\u00a0breaking space",
    "<|bos|>special tokens<|eos|> inside <|eos|>text",
    "<|bos|",
    "!!!??? ... --- ***",
    "",
]


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def widened(model: TinyLlamaForCausalLM, weights: str) -> TinyLlamaForCausalLM:
    """The model in float64 with weights exactly as stored (f32) or rounded
    to the nearest f16 (round-to-nearest-even, as torch's .half())."""
    if weights == "f16":
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.half().float())
    elif weights != "f32":
        raise ValueError(f"weights must be f32 or f16, got {weights!r}")
    return model.double().eval()


@torch.no_grad()
def greedy_rows(model: TinyLlamaForCausalLM, ids: list[int], n: int):
    """n greedy tokens; returns (generated ids, logits rows [n, vocab] f64,
    top1 - top2 margin per row). Row r holds the logits that chose token r."""
    seq, rows, margins = list(ids), [], []
    for _ in range(n):
        logits = model(torch.tensor([seq]))[0, -1]
        top = torch.topk(logits, 2)
        nxt = int(torch.argmax(logits))
        rows.append(logits)
        margins.append(float(top.values[0] - top.values[1]))
        seq.append(nxt)
    return seq[len(ids):], torch.stack(rows), margins


def f32_bytes(t: torch.Tensor) -> bytes:
    return t.to(torch.float32).contiguous().numpy().astype("<f4").tobytes()


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def cmd_fixture(args: argparse.Namespace) -> None:
    tok = ByteBPE.from_tokenizer_json(os.path.join(args.model, "tokenizer.json"))
    os.makedirs(args.out, exist_ok=True)
    cases = []
    for weights in ("f32", "f16"):
        model, cfg = load_model_dir(args.model)
        model = widened(model, weights)
        blob, bin_name = bytearray(), f"logits_{weights}.bin"
        for prompt in PROMPTS:
            prompt_ids = tok.encode(prompt)
            input_ids = tok.encode(prompt, add_bos=True)
            gen, rows, margins = greedy_rows(model, input_ids, args.new_tokens)
            cases.append({
                "weights": weights, "prompt": prompt, "prompt_ids": prompt_ids,
                "input_ids": input_ids, "generated_ids": gen,
                "generated_text": tok.decode(gen),
                "logits_file": bin_name, "byte_offset": len(blob),
                "rows": rows.shape[0], "cols": rows.shape[1],
                "min_top2_margin": min(margins),
                "top2_margins": [round(m, 6) for m in margins],
            })
            blob.extend(f32_bytes(rows))
        with open(os.path.join(args.out, bin_name), "wb") as f:
            f.write(blob)
    write_json(os.path.join(args.out, "reference.json"), {
        "generator": "tools/llama_reference.py fixture",
        "model_dir": args.model,
        "model_sha256": {n: sha256_file(os.path.join(args.model, n))
                         for n in ("config.json", "model.safetensors", "tokenizer.json")},
        "compute": "float64 from the stored f32 weights (weights=f32) or the weights rounded "
                   "to f16 (weights=f16); full recompute per token, no KV cache; greedy argmax; "
                   "no stop at eos",
        "logits_layout": "little-endian float32 [rows, cols] at byte_offset of logits_file; "
                         "row r = logits at the last position that chose generated_ids[r] "
                         "(row 0 = last prompt position)",
        "input_ids_note": "input_ids = [bos] + prompt_ids (tokenizer.json post-processor)",
        "new_tokens": args.new_tokens,
        "cases": cases,
    })
    vectors = [{"text": t, "ids": tok.encode(t), "ids_with_special": tok.encode(t, add_bos=True),
                "tokens": [tok.id_to_token[i] for i in tok.encode(t)],
                "decoded": tok.decode(tok.encode(t))} for t in TOKENIZER_TEXTS]
    for v in vectors:
        if v["decoded"] != v["text"]:
            raise SystemExit(f"tokenizer round trip failed for {v['text']!r}: {v['decoded']!r}")
    write_json(os.path.join(args.out, "tokenizer_vectors.json"), {
        "generator": "tools/llama_reference.py fixture (tools/byte_bpe.py)",
        "tokenizer": os.path.join(args.model, "tokenizer.json"),
        "note": "ids: encode without special tokens added; ids_with_special: with the "
                "post-processor's leading <|bos|>; special tokens written in the text are "
                "matched as added tokens",
        "vectors": vectors,
    })
    for c in cases:
        print(f"{c['weights']} {c['prompt']!r} -> {c['generated_text']!r} "
              f"(min top2 margin {c['min_top2_margin']:.4f})")


ODD_CONFIG = LlamaConfig(
    vocab_size=97, hidden_size=72, intermediate_size=100, num_hidden_layers=3,
    num_attention_heads=6, num_key_value_heads=2, head_dim=12, rms_norm_eps=1e-6,
    rope_theta=1000.0, max_position_embeddings=64, tie_word_embeddings=False,
    bos_token_id=0, eos_token_id=1)


def odd_model(seed: int) -> TinyLlamaForCausalLM:
    """Seeded random weights scaled so activations and logits are O(1):
    embeddings N(0, 1), projections N(0, 1/fan_in), norm weights 1 + N(0, 0.2^2)."""
    gen = torch.Generator().manual_seed(seed)
    model = TinyLlamaForCausalLM(ODD_CONFIG)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * noise)
            elif name == "model.embed_tokens.weight":
                p.copy_(noise)
            else:
                p.copy_(noise / p.shape[1] ** 0.5)
    return model


def cmd_odd(args: argparse.Namespace) -> None:
    model = odd_model(args.seed)
    os.makedirs(os.path.join(args.out, "f16"), exist_ok=True)
    write_json(os.path.join(args.out, "config.json"), ODD_CONFIG.to_hf("float32"))
    save_safetensors(os.path.join(args.out, "model.safetensors"), model.hf_state_dict())
    write_json(os.path.join(args.out, "f16", "config.json"), ODD_CONFIG.to_hf("float16"))
    save_safetensors(os.path.join(args.out, "f16", "model.safetensors"),
                     {k: v.half() for k, v in model.hf_state_dict().items()})
    ids = torch.randint(0, ODD_CONFIG.vocab_size, (16,),
                        generator=torch.Generator().manual_seed(args.seed + 1)).tolist()
    cases = []
    for weights in ("f32", "f16"):
        m = widened(odd_model(args.seed), weights)
        with torch.no_grad():
            full = m(torch.tensor([ids]))[0]
        gen, rows, margins = greedy_rows(m, ids, 16)
        blob = f32_bytes(full) + f32_bytes(rows)
        bin_name = f"logits_{weights}.bin"
        with open(os.path.join(args.out, bin_name), "wb") as f:
            f.write(blob)
        cases.append({
            "weights": weights, "input_ids": ids, "logits_file": bin_name,
            "forward": {"byte_offset": 0, "rows": len(ids), "cols": ODD_CONFIG.vocab_size,
                        "note": "logits at every position 0..15 of input_ids"},
            "greedy": {"byte_offset": len(f32_bytes(full)), "rows": 16,
                       "cols": ODD_CONFIG.vocab_size, "generated_ids": gen,
                       "min_top2_margin": min(margins),
                       "note": "row r = last-position logits that chose generated_ids[r]"},
        })
    write_json(os.path.join(args.out, "reference.json"), {
        "generator": f"tools/llama_reference.py odd --seed {args.seed}",
        "compute": "float64 from the stored f32 weights (weights=f32) or the same weights "
                   "rounded to f16 (weights=f16, stored in f16/model.safetensors); full "
                   "recompute per token; greedy argmax",
        "model_sha256": {"model.safetensors": sha256_file(os.path.join(args.out,
                                                                       "model.safetensors")),
                         "f16/model.safetensors": sha256_file(
                             os.path.join(args.out, "f16", "model.safetensors"))},
        "cases": cases,
    })
    print(f"odd model: ids {ids} -> greedy {cases[0]['greedy']['generated_ids']}")


def cmd_to_f16(args: argparse.Namespace) -> None:
    model, cfg = load_model_dir(args.model)
    os.makedirs(args.out, exist_ok=True)
    save_safetensors(os.path.join(args.out, "model.safetensors"),
                     {k: v.half() for k, v in model.hf_state_dict().items()})
    write_json(os.path.join(args.out, "config.json"), cfg.to_hf("float16"))
    for name in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(args.model, name)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(args.out, name))
    print(f"wrote {args.out}/model.safetensors (F16)")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("--model", default="demo/tiny-llama")
    f.add_argument("--out", default="test/fixtures/tiny-llama")
    f.add_argument("--new-tokens", type=int, default=48)
    o = sub.add_parser("odd")
    o.add_argument("--out", default="test/fixtures/llama-odd")
    o.add_argument("--seed", type=int, default=7)
    c = sub.add_parser("to-f16")
    c.add_argument("--model", default="demo/tiny-llama")
    c.add_argument("--out", required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    {"fixture": cmd_fixture, "odd": cmd_odd, "to-f16": cmd_to_f16}[args.cmd](args)


if __name__ == "__main__":
    main()
