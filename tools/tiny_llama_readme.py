"""README.md and training.json for a model directory written by
tools/train_tiny_llama.py: provenance, command, losses, file hashes."""

from __future__ import annotations

import hashlib
import json
import os

MODEL_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "training.json"]


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_model_readme(out_dir: str, record: dict) -> None:
    with open(os.path.join(out_dir, "training.json"), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, ensure_ascii=False)
        f.write("\n")
    corpus = record["corpus"]
    args = record["args"]
    with open(os.path.join(out_dir, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    names = ", ".join(os.path.basename(x["file"]) for x in corpus["files"])
    loss_rows = "\n".join(
        f"| {h['step']} | {h['train_loss_ema']:.3f} | {h['val_loss']:.3f} | {h['minutes']:.1f} |"
        for h in record["history"])
    hashes = "\n".join(
        f"| `{name}` | {os.path.getsize(os.path.join(out_dir, name))} | `{sha256_file(os.path.join(out_dir, name))}` |"
        for name in MODEL_FILES)
    samples = "\n\n".join(
        f"Prompt `{s['prompt']}`, greedy:\n\n```text\n{s['prompt']}{s['greedy']}\n```"
        for s in record["samples"])
    if args["minutes"] > 0:
        schedule = (f"The cosine schedule followed a {args['minutes']:g}-minute wall-clock budget "
                    "(the CPU was shared with other jobs), so a rerun gives a similar but not "
                    "bit-identical model; `--minutes 0 --steps N` makes the schedule step-based "
                    "and the run deterministic.")
    else:
        schedule = "The schedule was step-based; a rerun with the same flags is deterministic."
    text = f"""# tiny-llama (fortune cookies)

Trained by webgpu-inductor's `tools/train_tiny_llama.py`; not a pretrained model. A
{record['params']:,}-parameter Llama-architecture decoder in Hugging Face layout
(`LlamaForCausalLM`, float32 safetensors) with its own byte-level BPE tokenizer. It produces
fortune-cookie-flavoured English fragments, not sense; it is a test and demo artefact.

## Architecture

hidden {cfg['hidden_size']}, {cfg['num_hidden_layers']} layers, {cfg['num_attention_heads']}
attention heads of dim {cfg['head_dim']}, {cfg['num_key_value_heads']} key/value heads (GQA),
MLP {cfg['intermediate_size']} (SiLU-gated), RMSNorm eps {cfg['rms_norm_eps']}, RoPE theta
{cfg['rope_theta']} (HF `rotate_half` layout), vocab {cfg['vocab_size']}, tied embeddings (no
`lm_head.weight` in the file), max_position_embeddings {cfg['max_position_embeddings']}
(trained on {args['seq_len']}-token windows).

## Tokenizer

Byte-level BPE (GPT-2 byte map and split pattern, no prefix space), ids 0 `<|bos|>`, 1
`<|eos|>`, 2..257 the 256 bytes, then {cfg['vocab_size'] - 258} merges learned by pair frequency
on the training split. `tokenizer.json`'s post-processor is a `TemplateProcessing` that prepends
`<|bos|>` (so `add_special_tokens=True` gives `[0, ...]`); no eos is appended. Each training
document was `<|bos|> fortune <|eos|>`.

## Data

{corpus['documents']} fortunes ({corpus['cleaned_bytes']:,} bytes after cleaning) from Debian's
`fortunes`/`fortunes-min` packages, files {names} in `/usr/share/games/fortunes` (none from
`off/`). Licence: {corpus['license']}, see `{corpus['license_file']}`. sha256 of the raw files
concatenated in that order: `{corpus['raw_concat_sha256']}`; of the cleaned text:
`{corpus['cleaned_sha256']}`. {args['val_frac'] * 100:g}% of fortunes (seeded) are held out for
validation: {record['train_tokens']:,} training and {record['val_tokens']:,} validation tokens.

## Training

```sh
nice -n {record['niceness']} {' '.join(record['argv'])}
```

CPU only, {record['threads']} threads, PyTorch {record['torch']}, seed {args['seed']}. AdamW
(betas 0.9/0.95, weight decay {args['weight_decay']} on matrices), peak lr {args['lr']},
{args['warmup']} warmup steps then cosine to {args['min_lr_frac']}x, batch {args['batch']} random
{args['seq_len']}-token windows, grad clip 1.0. {record['steps_done']} steps in
{record['train_minutes']:.1f} minutes (plus {record['tokenize_minutes']:.1f} minutes of
tokenizer training). {schedule}

Final loss (mean over {args['eval_batches']} fixed batches): train
{record['final_train_loss']:.3f}, validation {record['final_val_loss']:.3f} nats/token.

| step | train loss (EMA) | val loss | minutes |
| ---- | ---------------- | -------- | ------- |
{loss_rows}

## Samples (PyTorch, float32)

{samples}

## Files

| file | bytes | sha256 |
| ---- | ----- | ------ |
{hashes}
"""
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)
