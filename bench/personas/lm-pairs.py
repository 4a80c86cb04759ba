#!/usr/bin/env python3
"""Training users whose responses a language model wrote, not the bank's templates.

Users, traits, prompts, personas and statements are drawn exactly like `make-splits.py --large`
(train prompts, the 14 train dimensions, 8 + 8 pairs, own seed). Each pair's two responses are
written by `popi generate` with the pair's instruction as a preference summary (the generator
prompt the service uses): the chosen side under a sentence naming all the user's preferred
poles, the rejected side under the same sentence with the pair's dimension turned to its other
pole, with the same sampling seed, so the two sides differ where the model's writing of that
preference differs, throughout the text rather than in a template's slots.

Generations are cached (one JSON line each, appended as they finish), so a stopped run continues
where it was; the output holds the users whose every pair is written. Usage:

  python3 bench/personas/lm-pairs.py --users 300          # writes personas-train-lm.jsonl
  python3 bench/personas/lm-pairs.py --users 300 --cached-only   # write what the cache holds

See README.md in this directory.
"""

import argparse
import collections
import hashlib
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "personas-train-lm.jsonl")
CACHE = os.path.join(HERE, "personas-train-lm.cache.jsonl")

# Text that talks about the instruction instead of following it ("for the user who prefers ...",
# "the requested format"): a reader of such a pair could copy the persona from it. ("Your
# preferences" or "request" alone mostly say nothing of which preference.)
LEAK = re.compile(r"\b(the|this) user\b|\brequested\b|\bprefers\b", re.IGNORECASE)
ATTEMPTS = 4

_spec = importlib.util.spec_from_file_location("make_splits", os.path.join(HERE, "make-splits.py"))
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)


def instruction(traits, seed):
    """The persona sentence a side is written under; one seed keeps the wording of the traits the
    two sides share identical."""
    return ms.persona_text(traits, random.Random(seed))


def key(prompt, summary, seed, args):
    text = json.dumps([prompt, summary, seed, args.max_tokens, args.temperature, os.path.basename(args.model)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load_cache():
    cache = {}
    if os.path.exists(CACHE):
        with open(CACHE, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill: generated again
                cache[row["key"]] = row["text"]
    return cache


def ends_with_newline(path):
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def generate(prompt, summary, seed, args):
    cmd = [args.popi, "generate", "--model", args.model, "--prompt", prompt, "--summary", summary,
           "--temperature", str(args.temperature), "--max-tokens", str(args.max_tokens), "--seed", str(seed)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"popi generate failed ({run.returncode}): {run.stderr.strip()[:300]}")
    return run.stdout.strip()


def surface(text):
    """A few things a reader sees without reading: size, list lines, contractions, exclamations."""
    lines = text.splitlines()
    return {"words": len(text.split()),
            "list lines": sum(1 for l in lines if re.match(r"\s*([-*•]|\d+[.)])\s", l)),
            "contractions": len(re.findall(r"\b\w+'(t|s|re|ll|ve|m|d)\b", text)),
            "exclamations": text.count("!")}


def report(users):
    """Per dimension, how the first pole's side differs from the second's on average: whether the
    model's writing of a preference shows at all."""
    diffs = collections.defaultdict(list)
    for u in users:
        for p in u["signals"] + u["held_out"]:
            fa, fb = (surface(t) for t in ms.by_first_pole(u, p))
            diffs[p["dimension"]].append({k: fa[k] - fb[k] for k in fa})
    print("mean difference, first pole's side minus the second's (pairs):")
    for d, rows in sorted(diffs.items()):
        poles = "/".join(ms.DIMS[d]["poles"])
        cells = ", ".join(f"{k} {sum(r[k] for r in rows) / len(rows):+.1f}" for k in rows[0])
        print(f"  {d:14s} {poles:32s} {cells} ({len(rows)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=300, help="users to write (default 300)")
    ap.add_argument("--popi", default=".build/release/popi", help="popi binary (default .build/release/popi)")
    ap.add_argument("--model", default="models/SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--max-tokens", type=int, default=160)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--cached-only", action="store_true", help="generate nothing; write the users the cache completes")
    args = ap.parse_args()
    if args.users < 1:
        sys.exit("--users needs a positive number")
    if not args.cached_only and not os.path.exists(args.popi):
        sys.exit(f"{args.popi} not found: build it first (swift build -c release --product popi)")

    train_e = [e for e in ms.parse_bank(ms.BANK) if e["split"] == "train"]
    users = ms.build_large(train_e, args.users, "trainm", ms.SEED + 5)
    cache = load_cache()
    done, started, fresh = [], time.time(), 0
    with open(CACHE, "a", encoding="utf-8") as log:
        if not ends_with_newline(CACHE):
            log.write("\n")  # a line cut short by a kill stays one bad line, skipped on reading
        for n, user in enumerate(users, 1):
            pairs, complete = [], True
            for slot, pair in enumerate(user["signals"] + user["held_out"]):
                dim = pair["dimension"]
                flipped = [ms.other_pole(dim, t) if ms.POLE_DIM[t] == dim else t for t in user["traits"]]
                base = int(hashlib.sha256(f"{user['user_id']}/{slot}".encode()).hexdigest()[:8], 16)
                # Both sides again with the next seed while either talks about its instruction.
                for seed in range(base, base + ATTEMPTS):
                    sides = []
                    for traits in (user["traits"], flipped):
                        summary = instruction(traits, seed)
                        k = key(pair["prompt"], summary, seed, args)
                        if k not in cache:
                            if args.cached_only:
                                complete = False
                                break
                            cache[k] = generate(pair["prompt"], summary, seed, args)
                            log.write(json.dumps({"key": k, "text": cache[k]}, ensure_ascii=False) + "\n")
                            log.flush()
                            fresh += 1
                        sides.append(cache[k])
                    if not complete or not any(LEAK.search(t) for t in sides):
                        break
                if not complete:
                    break
                pairs.append({**pair, "chosen": sides[0], "rejected": sides[1]})
            if not complete:
                continue
            # A pair the model wrote the same way under both poles shows nothing, and one that still
            # talks about its instruction gives it away: the user is left out.
            if any(not p["chosen"] or p["chosen"] == p["rejected"] or LEAK.search(p["chosen"] + "\n" + p["rejected"])
                   for p in pairs):
                print(f"{user['user_id']}: a pair written alike or about its instruction, left out", flush=True)
                continue
            n_sig = len(user["signals"])
            done.append({**user, "signals": pairs[:n_sig], "held_out": pairs[n_sig:]})
            if fresh:
                rate = (time.time() - started) / fresh
                print(f"{n}/{len(users)} users, {fresh} generations, {rate:.2f} s each", flush=True)

    failures = ms.validate(done, "train-lm", ms.TRAIN_DIMS, n_held=ms.N_HELD_WIDE)
    if failures:
        for f in failures[:10]:
            print("FAIL:", f)
        sys.exit(1)
    data = ms.dumps(done)
    with open(OUT, "wb") as f:
        f.write(data)
    print(f"wrote {OUT}: {len(done)} of {len(users)} users ({len(data)} bytes)")
    report(done)


if __name__ == "__main__":
    main()
