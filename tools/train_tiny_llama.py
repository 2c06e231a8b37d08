#!/usr/bin/python3
"""Train the bundled tiny Llama (Hugging Face layout) on BSD fortune cookies.

Needs only Debian's python3-torch and python3-numpy, and the fortune data
(`apt-get install fortunes fortunes-min`). CPU only. Example (the command that
made demo/tiny-llama):

    nice -n 10 /usr/bin/python3 tools/train_tiny_llama.py --out demo/tiny-llama

Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json
and README.md (+ training.json) into --out. Everything is seeded, but the
default cosine schedule follows the --minutes wall-clock budget, so reruns are
similar rather than identical; `--minutes 0 --steps N` is fully deterministic
(same thread count and PyTorch build).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

# Idle OpenMP workers must sleep, not spin: on a CPU shared with other jobs the
# default spinning made a training step ~15x slower (measured). Read by libgomp
# when torch loads, so it is set before the import.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from byte_bpe import ByteBPE, train_byte_bpe  # noqa: E402
from fortune_corpus import load_corpus  # noqa: E402
from tiny_llama_model import (  # noqa: E402
    CONV_MATMUL, LlamaConfig, TinyLlamaForCausalLM, save_safetensors)
from tiny_llama_readme import write_model_readme  # noqa: E402

SPECIALS = ["<|bos|>", "<|eos|>"]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="demo/tiny-llama")
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--head-dim", type=int, default=32)
    p.add_argument("--intermediate", type=int, default=344)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--max-positions", type=int, default=256)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--steps", type=int, default=4000,
                   help="most optimizer steps; the cosine schedule spans them when --minutes is 0")
    p.add_argument("--minutes", type=float, default=25.0,
                   help="training-loop time budget; the cosine schedule follows whichever of "
                        "steps or minutes runs out first (0: steps only, fully deterministic)")
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=60)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--val-frac", type=float, default=0.03)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batches", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1234)
    return p.parse_args(argv)


def seed_all(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def split_docs(docs: list[str], val_frac: float, seed: int) -> tuple[list[str], list[str]]:
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(len(docs) * val_frac))
    return [docs[i] for i in order[n_val:]], [docs[i] for i in order[:n_val]]


def token_stream(tok: ByteBPE, docs: list[str]) -> torch.Tensor:
    """Each fortune as <|bos|> text <|eos|>, all concatenated."""
    bos, eos = tok.vocab[SPECIALS[0]], tok.vocab[SPECIALS[1]]
    ids: list[int] = []
    for d in docs:
        ids.append(bos)
        ids.extend(tok.encode(d))
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def random_windows(stream: torch.Tensor, batch: int, seq: int,
                   gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    starts = torch.randint(0, len(stream) - seq - 1, (batch,), generator=gen)
    rows = torch.stack([stream[s:s + seq + 1] for s in starts.tolist()])
    return rows[:, :-1], rows[:, 1:]


def progress_at(step: int, minutes: float, args: argparse.Namespace) -> float:
    """Fraction of the run done: by steps, or by wall clock when that is further
    along. The time-budgeted schedule copes with a CPU shared by other jobs, at
    the price of bit-exact reruns (--minutes 0 restores those)."""
    by_steps = step / args.steps
    return max(by_steps, minutes / args.minutes) if args.minutes > 0 else by_steps


def lr_at(step: int, progress: float, args: argparse.Namespace) -> float:
    """Linear warmup, then cosine from lr down to lr * min_lr_frac."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    floor = args.lr * args.min_lr_frac
    return floor + 0.5 * (args.lr - floor) * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def eval_loss(model: TinyLlamaForCausalLM, stream: torch.Tensor, seq: int,
              n_batches: int, batch: int) -> float:
    """Mean loss over fixed, evenly spaced windows (the same every call)."""
    model.eval()
    n = n_batches * batch
    span = len(stream) - seq - 1
    starts = [int(i * span / n) for i in range(n)]
    total = 0.0
    for b in range(n_batches):
        rows = torch.stack([stream[s:s + seq + 1] for s in starts[b * batch:(b + 1) * batch]])
        logits = model(rows[:, :-1])
        total += torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1)).item()
    model.train()
    return total / n_batches


@torch.no_grad()
def generate(model: TinyLlamaForCausalLM, ids: list[int], n: int, temperature: float = 0.0,
             gen: torch.Generator | None = None, stop: int | None = None) -> list[int]:
    """Full-recompute generation (no KV cache); greedy when temperature == 0."""
    model.eval()
    out = list(ids)
    for _ in range(n):
        logits = model(torch.tensor([out[-model.cfg.max_position_embeddings:]]))[0, -1]
        if temperature == 0.0:
            nxt = int(torch.argmax(logits))
        else:
            nxt = int(torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=gen))
        out.append(nxt)
        if stop is not None and nxt == stop:
            break
    return out[len(ids):]


def write_json(path: str, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    CONV_MATMUL["enabled"] = True
    seed_all(args.seed)
    t_start = time.time()

    docs, corpus = load_corpus()
    train_docs, val_docs = split_docs(docs, args.val_frac, args.seed)
    tok = train_byte_bpe(train_docs, args.vocab_size, SPECIALS)
    train_ids = token_stream(tok, train_docs)
    val_ids = token_stream(tok, val_docs)
    t_tok = time.time() - t_start
    print(json.dumps({"event": "data", "docs": len(docs), "train_docs": len(train_docs),
                      "val_docs": len(val_docs), "train_tokens": len(train_ids),
                      "val_tokens": len(val_ids), "vocab": len(tok.vocab),
                      "merges": len(tok.merges), "tokenizer_seconds": round(t_tok, 1)}),
          flush=True)

    cfg = LlamaConfig(
        vocab_size=len(tok.vocab), hidden_size=args.hidden,
        intermediate_size=args.intermediate, num_hidden_layers=args.layers,
        num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
        head_dim=args.head_dim, rms_norm_eps=args.rms_eps, rope_theta=args.rope_theta,
        max_position_embeddings=args.max_positions, tie_word_embeddings=True,
        bos_token_id=tok.vocab[SPECIALS[0]], eos_token_id=tok.vocab[SPECIALS[1]])
    model = TinyLlamaForCausalLM(cfg)
    model.init_weights()
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    print(json.dumps({"event": "model", "params": n_params, "config": cfg.to_hf()}), flush=True)

    history, running, t_train = [], None, time.time()
    steps_done = 0
    step = 0
    for step in range(args.steps):
        progress = progress_at(step, (time.time() - t_train) / 60, args)
        if progress >= 1.0:
            break
        lr = lr_at(step, progress, args)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = random_windows(train_ids, args.batch, args.seq_len, gen)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        steps_done = step + 1
        if steps_done % args.eval_every == 0:
            val = eval_loss(model, val_ids, args.seq_len, args.eval_batches, args.batch)
            row = {"event": "eval", "step": steps_done, "train_loss_ema": round(running, 4),
                   "val_loss": round(val, 4), "lr": round(lr, 6),
                   "minutes": round((time.time() - t_train) / 60, 2)}
            history.append(row)
            print(json.dumps(row), flush=True)
    train_minutes = (time.time() - t_train) / 60

    final_train = eval_loss(model, train_ids, args.seq_len, args.eval_batches, args.batch)
    final_val = eval_loss(model, val_ids, args.seq_len, args.eval_batches, args.batch)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "config.json"), cfg.to_hf())
    save_safetensors(os.path.join(args.out, "model.safetensors"), model.hf_state_dict())
    write_json(os.path.join(args.out, "tokenizer.json"), tok.tokenizer_json())
    write_json(os.path.join(args.out, "tokenizer_config.json"),
               tok.tokenizer_config_json(args.max_positions))

    samples = []
    sample_gen = torch.Generator().manual_seed(args.seed)
    for prompt in ["The meaning of life is", "A fortune:", "Computers are"]:
        ids = tok.encode(prompt, add_bos=True)
        greedy = generate(model, ids, 48)
        sampled = generate(model, ids, 48, temperature=0.8, gen=sample_gen, stop=cfg.eos_token_id)
        samples.append({"prompt": prompt, "greedy": tok.decode(greedy),
                        "sampled_t0.8": tok.decode(sampled)})
    record = {
        "argv": ["/usr/bin/python3", "tools/train_tiny_llama.py"]
        + (argv if argv is not None else sys.argv[1:]),
        "niceness": os.nice(0),
        "args": vars(args), "corpus": corpus, "params": n_params,
        "steps_done": steps_done,
        "train_minutes": round(train_minutes, 2),
        "tokenize_minutes": round(t_tok / 60, 2),
        "final_train_loss": round(final_train, 4), "final_val_loss": round(final_val, 4),
        "history": history, "samples": samples,
        "torch": torch.__version__, "threads": args.threads,
        "train_tokens": len(train_ids), "val_tokens": len(val_ids),
    }
    write_model_readme(args.out, record)
    print(json.dumps({"event": "done", **{k: record[k] for k in (
        "params", "steps_done", "train_minutes", "final_train_loss", "final_val_loss")},
        "samples": samples}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
