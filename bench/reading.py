"""Does the base model recognise which response of a labelled pair was preferred?

For pairs of a dataset with `dimension` labels, the sentences of the two poles come from the
dataset as popi's `NoteTargets` learns them (the persona most one-trait users of a pole share).
For each pair with both poles known, with P the preferred pole's sentence and Q the other's:

- describe-contrast: after a prompt showing the request and one response, asking for the user
  who would prefer it, does P gain more than Q from the preferred response over the other?
  [log p(P | preferred) - log p(P | other)] > [log p(Q | preferred) - log p(Q | other)]
- generator-contrast: as the generator, does P's prompt widen the preferred response's margin
  more than Q's? [log p(pref | P) - log p(other | P)] > [log p(pref | Q) - log p(other | Q)]

Both are double differences, so a model that does not read the responses scores 50% on average.
ChatML prompts without a system message; llama-cpp-python (bench/llamacpp-venv.sh) runs the model.

Usage: bench/reading.sh DATASET PAIRS   (a seeded sample of PAIRS pairs)
"""
import collections
import json
import random
import sys

import numpy as np
from llama_cpp import Llama

MODEL = "models/SmolLM2-135M-Instruct.Q4_1.gguf"


def labelled_pairs(users):
    counts, pole_dimension = collections.defaultdict(collections.Counter), {}
    for user in users:
        if len(user["traits"]) != 1:
            continue
        dimensions = {pair.get("dimension") for pair in user["signals"] + user["held_out"]}
        if len(dimensions) != 1 or None in dimensions:
            continue
        dimension, pole = dimensions.pop(), user["traits"][0]
        if pole in pole_dimension and pole_dimension[pole] != dimension:
            pole_dimension[pole] = ""  # a pole seen in two dimensions is ambiguous
            continue
        pole_dimension[pole] = dimension
        counts[pole][user["persona"].strip()] += 1
    sentence = {pole: counts[pole].most_common(1)[0][0] for pole, d in pole_dimension.items() if d}
    poles = collections.defaultdict(list)
    for pole, dimension in pole_dimension.items():
        if dimension:
            poles[dimension].append(pole)
    items = []
    for user in users:
        known = {pole_dimension[t]: t for t in user["traits"] if pole_dimension.get(t)}
        for pair in user["signals"] + user["held_out"]:
            dimension = pair.get("dimension")
            if dimension in known and len(poles[dimension]) == 2:
                pole = known[dimension]
                other = next(p for p in poles[dimension] if p != pole)
                items.append((pair, sentence[pole], sentence[other], dimension))
    return items


def main():
    users = [json.loads(line) for line in open(sys.argv[1])]
    items = labelled_pairs(users)
    random.Random(1).shuffle(items)
    items = items[: int(sys.argv[2])]
    llm = Llama(model_path=MODEL, n_ctx=2048, n_threads=2, logits_all=True, verbose=False)

    def tokens(text):
        return llm.tokenize(text.encode(), add_bos=False, special=True)

    def chat(user):
        return "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n"

    def logprobs_after(prompt, continuations):
        """log p(continuation + end of turn | prompt) for each, the prompt evaluated once."""
        prompt_tokens = tokens(prompt)
        llm.reset()
        llm.eval(prompt_tokens)
        n, out = len(prompt_tokens), []
        for text in continuations:
            ids = llm.tokenize((text + "<|im_end|>").encode(), add_bos=False, special=True)
            llm.n_tokens = n
            llm.eval(ids)
            logits = np.array(llm.scores[n - 1 : n - 1 + len(ids)])
            top = logits.max(1, keepdims=True)
            logsoftmax = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
            out.append(float(sum(logsoftmax[i, t] for i, t in enumerate(ids))))
        return out

    def describe(request, response):
        return chat(f"Here is a request and a response to it.\n\nRequest: {request}\nResponse: {response}\n\n"
                    "In one sentence, describe the kind of user who would prefer this response, by how it is written, not its topic.")

    def generator(summary, request):
        return chat(f"About the user's preferences:\n{summary}\n\nWrite a response to the request below that suits these preferences.\n\nRequest: {request}")

    describe_right = generator_right = 0
    by_dimension = collections.defaultdict(lambda: [0, 0, 0])
    for pair, preferred, other, dimension in items:
        x, chosen, rejected = pair["prompt"], pair["chosen"], pair["rejected"]
        after_chosen = logprobs_after(describe(x, chosen), [preferred, other])
        after_rejected = logprobs_after(describe(x, rejected), [preferred, other])
        d = (after_chosen[0] - after_rejected[0]) > (after_chosen[1] - after_rejected[1])
        with_preferred = logprobs_after(generator(preferred, x), [chosen, rejected])
        with_other = logprobs_after(generator(other, x), [chosen, rejected])
        g = (with_preferred[0] - with_preferred[1]) > (with_other[0] - with_other[1])
        describe_right += d
        generator_right += g
        row = by_dimension[dimension]
        row[0] += d
        row[1] += g
        row[2] += 1
    print(f"pairs {len(items)} describe-contrast {describe_right / len(items):.3f} "
          f"generator-contrast {generator_right / len(items):.3f}")
    for dimension, (d, g, n) in sorted(by_dimension.items()):
        print(f"  {dimension} {n} {d / n:.2f} {g / n:.2f}")


main()
