"""Next-token logits from llama.cpp (llama-cpp-python) after token-id prompts, with or without a
LoRA adapter: the reference popi's adapter files and adapter-applied logits are checked against.

Run it with the venv's python (bench/llamacpp-venv.sh prints the venv):

    PYTHON scripts/llamacpp-lora-logits.py --model MODEL.gguf [--lora ADAPTER.gguf]
        [--lora-scale 1] [--top-k 10] [--all-logits] (--tokens 1,2,3 | --cases CASES.json)

CASES.json is a list of {"name": ..., "prompt_ids": [...]}, or an object holding that list under
"cases" or "prompts" (so the reference fixture files work as they are). Each prompt is evaluated
from an empty cache in one batch, without adding BOS.

Prints one JSON object on stdout:
    {"model": ..., "lora": ... or null, "lora_scale": ..., "n_vocab": N,
     "cases": [{"name": ..., "prompt_ids": [...], "top": [{"id": ..., "logit": ...}, ...],
                "logits": [...] (with --all-logits)}]}
If llama.cpp refuses the model or the adapter, exits with status 2 and says why on stderr
(llama.cpp's own error lines included).

As scripts/llama-server.py, llama.cpp runs with its standard kernels (see
lib/llamacpp_standard_kernels.py), as the reference fixtures were made.
"""
import argparse
import ctypes
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import llamacpp_standard_kernels  # noqa: E402,F401  (before llama_cpp, on purpose)

import numpy as np  # noqa: E402
import llama_cpp  # noqa: E402
from llama_cpp import llama_cpp as C  # noqa: E402

# llama.cpp says why it refuses a file only in its log, which verbose=False silences: keep the
# warnings and errors (ggml_log_level WARN = 3, ERROR = 4; CONT = 5 continues the previous line).
_log_lines = []
_keeping = False


@C.llama_log_callback
def _log(level, text, _user_data):
    global _keeping
    _keeping = level in (3, 4) or (level == 5 and _keeping)
    if _keeping:
        _log_lines.append(text.decode("utf-8", errors="replace"))


def _cases(args):
    if args.tokens is not None:
        return [{"name": "tokens", "prompt_ids": [int(t) for t in args.tokens.split(",") if t.strip()]}]
    with open(args.cases) as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data.get("cases", data.get("prompts"))
    if not isinstance(data, list):
        raise SystemExit("--cases: expected a list of {name, prompt_ids}, or an object holding one under cases or prompts")
    return [{"name": c.get("name", str(i)), "prompt_ids": [int(t) for t in c["prompt_ids"]]} for i, c in enumerate(data)]


def refuse(what, reason):
    sys.stderr.write(f"llama.cpp refused the {what}: {reason}\n" + "".join(_log_lines))
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--lora")
    parser.add_argument("--lora-scale", type=float, default=1.0)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--all-logits", action="store_true")
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    prompts = parser.add_mutually_exclusive_group(required=True)
    prompts.add_argument("--tokens", help="comma-separated token ids")
    prompts.add_argument("--cases", help="JSON file of prompts")
    args = parser.parse_args()
    cases = _cases(args)
    longest = max((len(c["prompt_ids"]) for c in cases), default=0)
    if longest == 0 or longest > args.n_ctx:
        raise SystemExit(f"every prompt needs 1 to --n-ctx ({args.n_ctx}) tokens")

    C.llama_log_set(_log, ctypes.c_void_p(0))
    what = "LoRA adapter " + args.lora if args.lora else "model " + args.model
    try:
        llm = llama_cpp.Llama(model_path=args.model, lora_path=args.lora, lora_scale=args.lora_scale,
                              logits_all=False, n_ctx=args.n_ctx, n_batch=args.n_ctx, n_ubatch=512,
                              n_threads=args.threads, n_threads_batch=args.threads, verbose=False)
    except Exception as error:  # llama-cpp-python raises ValueError or RuntimeError
        refuse(what, str(error))
    # llama-cpp-python 0.3.36 tests the adapter handle with `is None`, but ctypes returns a NULL
    # pointer object, so a refused adapter raises nothing and the first decode crashes.
    if args.lora and not llm._lora_adapter:
        refuse(what, "llama_adapter_lora_init failed")

    n_vocab = llm.n_vocab()
    results = []
    for case in cases:
        llm.reset()
        llm.eval(case["prompt_ids"])
        # With logits_all=False llama-cpp-python keeps no scores: read the last token's from llama.cpp.
        logits = np.ctypeslib.as_array(C.llama_get_logits_ith(llm.ctx, -1), shape=(n_vocab,)).copy()
        top = np.argsort(-logits, kind="stable")[: args.top_k]
        result = {"name": case["name"], "prompt_ids": case["prompt_ids"],
                  "top": [{"id": int(i), "logit": float(logits[i])} for i in top]}
        if args.all_logits:
            result["logits"] = [float(v) for v in logits]
        results.append(result)
    json.dump({"model": args.model, "lora": args.lora, "lora_scale": args.lora_scale, "n_vocab": n_vocab,
               "cases": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
