#!/usr/bin/env bash
# Regenerates Tests/InferenceRuntimeTests/Fixtures/tokenizer-variants.json with llama.cpp
# (llama-cpp-python 0.3.36): token ids of tricky and random strings for the default model's
# vocabulary under each pre-tokenizer popi implements (vocab-only copies of the model file with
# tokenizer.ggml.pre replaced), and chat-template prompts rendered by Jinja2 and tokenized by
# llama.cpp. The Swift tests compare popi against this file.
#
#   bench/tokenizer-reference.sh [MODEL]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-models/SmolLM2-135M-Instruct.Q4_1.gguf}
venv=$(bench/llamacpp-venv.sh)
"$venv/bin/python" - "$model" Tests/InferenceRuntimeTests/Fixtures/tokenizer-variants.json <<'PY'
import json, os, random, struct, sys, tempfile
from jinja2 import Environment
from llama_cpp import Llama

model_path, out_path = sys.argv[1], sys.argv[2]

# --- minimal GGUF metadata reader/writer (enough to copy a vocabulary with another pre) ---
SIZES = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def read_metadata(path):
    data = open(path, "rb").read()
    pos = 0
    def take(fmt):
        nonlocal pos
        value = struct.unpack_from("<" + fmt, data, pos)[0]
        pos += struct.calcsize(fmt)
        return value
    def string():
        nonlocal pos
        n = take("Q"); s = data[pos:pos + n]; pos += n; return s
    def value(t):
        if t == 8: return string()
        if t == 9:
            et = take("I"); n = take("Q"); return (et, [value(et) for _ in range(n)])
        return take(SIZES[t])
    assert take("I") == 0x46554747
    version = take("I"); take("Q"); n_kv = take("Q")
    kvs = []
    for _ in range(n_kv):
        key = string(); t = take("I"); kvs.append((key, t, value(t)))
    return version, kvs

def write_metadata(path, version, kvs):
    out = bytearray(struct.pack("<IIQQ", 0x46554747, version, 0, len(kvs)))
    def string(s): out.extend(struct.pack("<Q", len(s))); out.extend(s)
    def value(t, v):
        if t == 8: string(v)
        elif t == 9:
            et, items = v; out.extend(struct.pack("<IQ", et, len(items)))
            for item in items: value(et, item)
        else: out.extend(struct.pack("<" + SIZES[t], v))
    for key, t, v in kvs:
        string(key); out.extend(struct.pack("<I", t)); value(t, v)
    open(path, "wb").write(out)

version, kvs = read_metadata(model_path)
tmp = tempfile.mkdtemp()

# --- test strings ---
tricky = [
    "Hello world", "I'D DON'T you'Re we'VE they'LL it'S", "'s 's'll''", "a1b22c333d4444e55555",
    "1234567 12 123 1234", "٣٤٥ ²³ Ⅻ ½ ① ５", "naïve nai\u0308ve Ǆ ǅ ʰ ـ", "日本語のテキスト 中文 한국어",
    "emoji 😀👍🏽 ❤️ 👨‍👩‍👧", "tabs\tand\t\tmore", "lines\n\n\nand\r\n\r\nmore\n", " \n \n x", "  \n\t \n  y  ",
    "trailing   ", "   leading", "nbsp\u00a0here\u00a0 \u3000ideo\u2028ls\u0085nel", "...!!! ??? (((a))) [x] {y}",
    "$+<=>^~| $5 a+b<c>=d^e~f|g", "price: $1,234.56 (50%)", "__init__ self.x = y->z", "http://x.y/z?a=1&b=2#c",
    "\x00\x01\x1f\x7f ctrl", "\ue000 private \uFEFF bom \u200b zw", "\u0378 unassigned \U0010FFFF",
    "x" * 70, "ab" * 40, " " * 100, "a" + " " * 60 + "b", "\n" * 50, "9" * 40, "é" * 30,
    "<|im_start|>user\nhi<|im_end|>", "<|endoftext|><repo_name>x", "<|im_start|x>", "don't\n\nstop",
    "ΑΒΓ αβγ Ωμέγα", "Привет мир", "مرحبا بالعالم", "שלום", "ภาษาไทย", "हिन्दी", "\t\t\tdef f():\n\t\t\t\treturn 1",
]
pool = list("aAzZ09 '\n\r\t.,!?-_()[]{}<>|$+=^~\"/\\#@%&*:;") + ["é", "ß", "Ω", "日", "한", "😀", "\u0301", "\u00a0",
        "\u3000", "٣", "²", "Ⅻ", "½", "\u200d", "\ufe0f", "'s", "'T", "'re", "'LL", "<|im_start|>", "<|im_end|>", "  ", "\r\n"]
rng = random.Random(20261129)
randoms = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 40))) for _ in range(300)]
strings = tricky + randoms

variants = {"smollm": "smollm", "gpt2": "gpt-2", "llama3": "llama-bpe", "qwen2": "qwen2", "default": "default"}
result = {"model_file": os.path.basename(model_path), "generator": "llama-cpp-python 0.3.36 (Llama(vocab_only=True).tokenize, add_bos=False)",
          "description": "ids for each string with the model's vocabulary and tokenizer.ggml.pre replaced by each variant's name; "
                         "plain = special=False (every string), template = special=True (only strings where it differs, by index)",
          "strings": strings, "variants": {}}
for name, pre in variants.items():
    path = os.path.join(tmp, name + ".gguf")
    write_metadata(path, version, [(k, t, pre.encode() if k == b"tokenizer.ggml.pre" else v) for k, t, v in kvs])
    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    result["variants"][name] = {
        "pre": pre,
        "plain": [llm.tokenize(s.encode(), add_bos=False, special=False) for s in strings],
    }
    # Template mode differs only where a string holds control tokens: store just those.
    result["variants"][name]["template"] = {
        str(i): ids for i, s in enumerate(strings)
        if (ids := llm.tokenize(s.encode(), add_bos=False, special=True)) != result["variants"][name]["plain"][i]}
    del llm

# --- chat template: Jinja2 rendering + llama.cpp tokenization of the whole prompt ---
template_source = dict((k.decode(), v) for k, t, v in kvs)["tokenizer.chat_template"].decode()
template = Environment().from_string(template_source)
llm = Llama(model_path=model_path, vocab_only=True, verbose=False)
conversations = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "user", "content": " leading space"}],
    [{"role": "user", "content": "\n\nleading newlines"}],
    [{"role": "user", "content": "trailing newline\n"}],
    [{"role": "user", "content": ""}],
    [{"role": "system", "content": "  Be brief.  "}, {"role": "user", "content": "2+2=?"}],
    [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": " A1 \n"}, {"role": "user", "content": "Q2 日本 😀"}],
    [{"role": "assistant", "content": "I start"}, {"role": "user", "content": "ok"}],
]
chats = []
for messages in conversations:
    for generation in (True, False):
        text = template.render(messages=messages, add_generation_prompt=generation)
        chats.append({"messages": messages, "add_generation_prompt": generation, "formatted": text,
                      "ids": llm.tokenize(text.encode(), add_bos=False, special=True)})
result["chat"] = chats
json.dump(result, open(out_path, "w"), ensure_ascii=False, separators=(",", ":"))
print(f"wrote {out_path}: {len(strings)} strings x {len(variants)} variants, {len(chats)} chat prompts")
PY
