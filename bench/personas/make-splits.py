#!/usr/bin/env python3
"""Build the synthetic persona splits for POPI training and generalization tests.

Writes, next to this script:
  personas-train.jsonl   360 users over the train part of content-bank.txt
  personas-unseen.jsonl   60 users over the unseen part of content-bank.txt, with three
                          preference dimensions that never appear in the train split
  personas-train-wide.jsonl  360 other users over the train part, with 8 held-out pairs each
                          instead of 4 (a less noisy training reward)

Python 3 standard library only; deterministic from SEED. Usage:
  python3 make-splits.py            # regenerate both files and print statistics
  python3 make-splits.py --check    # regenerate in memory; verify bytes, format, disjointness
                                    # (and a few --large/--varied users: valid, deterministic)
  python3 make-splits.py --check --public PATH   # public split to test disjointness against
  python3 make-splits.py --large N [--varied]     # N more train-wide-like users (not committed)
See README.md in this directory.
"""

import argparse
import collections
import json
import os
import random
import re
import sys

SEED = 20260517
HERE = os.path.dirname(os.path.abspath(__file__))
BANK = os.path.join(HERE, "content-bank.txt")
OUT_TRAIN = os.path.join(HERE, "personas-train.jsonl")
OUT_UNSEEN = os.path.join(HERE, "personas-unseen.jsonl")
OUT_WIDE = os.path.join(HERE, "personas-train-wide.jsonl")
OUT_LARGE = os.path.join(HERE, "personas-train-large.jsonl")
OUT_VARIED = os.path.join(HERE, "personas-train-varied.jsonl")
DEFAULT_PUBLIC = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "bench", "personas-public.jsonl"))
FALLBACK_PUBLIC = "/work/shared/bench/personas-public.jsonl"

N_TRAIN = 360
N_UNSEEN = 60
N_SIGNALS = 8
N_HELD = 4
N_HELD_WIDE = 8  # the wide train split: the reward of a summary averages twice as many pairs
STATEMENT_SHARE = 0.4
TRAIT_COUNT_SHARES = (0.50, 0.35, 0.15)  # users with 1, 2, 3 dimensions

# ---------------------------------------------------------------------------
# Content bank
# ---------------------------------------------------------------------------

FIELDS = {"Q": "prompt", "C": "cat", "A": "answer", "F": "facts", "S": "steps", "N": "analogy", "J": "joke",
          "R": "source", "V": "caveat", "E": "example", "T": "takeaway", "O": "options", "X": "code",
          "L": "lang", "P": "prose_code", "K": "clarify"}
LISTS = {"facts", "steps", "options", "code"}
REQUIRED = ["prompt", "cat", "answer", "facts", "analogy", "joke", "source", "caveat", "example", "takeaway"]


def parse_bank(path):
    entries, split, cur = [], None, None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("#"):
                continue
            if line.startswith("=== "):
                split = line[4:].strip()
                cur = None
                continue
            if not line.strip():
                cur = None
                continue
            key, sep, val = line.partition(": ")
            if not sep and line.endswith(":") and line[:-1] in FIELDS:
                key, val = line[:-1], ""
            elif not sep or key not in FIELDS:
                raise SystemExit(f"{path}:{lineno}: cannot parse line: {line!r}")
            name = FIELDS[key]
            if name == "prompt":
                cur = {"split": split, "line": lineno, "steps": [], "options": [], "code": [], "facts": []}
                entries.append(cur)
            if cur is None:
                raise SystemExit(f"{path}:{lineno}: field outside an entry")
            if name == "code":
                cur["code"].append(raw.rstrip("\n")[3:])
            elif name in LISTS:
                cur[name].append(val.strip())
            else:
                cur[name] = val.strip()
    for e in entries:
        for r in REQUIRED:
            if not e.get(r):
                raise SystemExit(f"{path}:{e['line']}: entry {e.get('prompt')!r} lacks {r}")
        words = e["cat"].split()
        e["cat"], e["concept"] = words[0], "concept" in words[1:]
        if not 3 <= len(e["facts"]) <= 5:
            raise SystemExit(f"{path}:{e['line']}: needs 3-5 facts")
        if e["options"] and len(e["options"]) != 3:
            raise SystemExit(f"{path}:{e['line']}: options must be 3")
        if e["code"] and not e.get("prose_code"):
            raise SystemExit(f"{path}:{e['line']}: code needs P (prose explanation)")
        if e["split"] == "unseen" and not e.get("clarify"):
            raise SystemExit(f"{path}:{e['line']}: unseen entries need K (clarifying question)")
        if e["split"] not in ("train", "unseen"):
            raise SystemExit(f"{path}:{e['line']}: entry outside a '=== train' or '=== unseen' section")
    prompts = [e["prompt"] for e in entries]
    dup = [p for p, c in collections.Counter(prompts).items() if c > 1]
    if dup:
        raise SystemExit(f"duplicate prompts in bank: {dup}")
    return entries


# ---------------------------------------------------------------------------
# Dimensions
# ---------------------------------------------------------------------------
# Each dimension: two poles; `default` is how a response is rendered for users without a
# preference on it (None: a neutral middle, e.g. medium length); `applies` says which bank
# entries it makes sense for; `absent` names the pole that omits an extra sentence (that pole
# gets a spare fact of similar size, see render()).

DIMS = {
    "length": dict(poles=("concise", "detailed"), default=None, applies=lambda e: True),
    "format": dict(poles=("bullets", "prose"), default="prose", applies=lambda e: True),
    "register": dict(poles=("formal", "casual"), default=None, applies=lambda e: True),
    "tone": dict(poles=("enthusiastic", "neutral"), default="neutral", applies=lambda e: True),
    "sequence": dict(poles=("step_by_step", "answer_first"), default="answer_first", applies=lambda e: bool(e["steps"])),
    "humor": dict(poles=("humor", "no_humor"), default="no_humor", applies=lambda e: True, absent="no_humor"),
    "analogy": dict(poles=("analogy", "no_analogy"), default="no_analogy", applies=lambda e: True, absent="no_analogy"),
    "citation": dict(poles=("cites_source", "no_source"), default="no_source", applies=lambda e: True),
    "caveat": dict(poles=("caveat", "no_caveat"), default="no_caveat", applies=lambda e: True, absent="no_caveat"),
    "summary": dict(poles=("summary_line", "no_summary"), default="no_summary", applies=lambda e: True),
    "headings": dict(poles=("headings", "no_headings"), default=None, applies=lambda e: True),
    "code": dict(poles=("code_example", "prose_explanation"), default="code_example", applies=lambda e: bool(e["code"])),
    "choice": dict(poles=("single_pick", "options"), default="single_pick", applies=lambda e: bool(e["options"])),
    "example_order": dict(poles=("examples_first", "definition_first"), default=None, applies=lambda e: e["concept"]),
    # unseen-only dimensions: never used in the train split
    "emoji": dict(poles=("emoji", "no_emoji"), default="no_emoji", applies=lambda e: True),
    "spelling": dict(poles=("british", "american"), default="american", applies=lambda e: True),
    "clarify": dict(poles=("asks_back", "answers_directly"), default="answers_directly",
                    applies=lambda e: bool(e.get("clarify")), absent="answers_directly"),
}
UNSEEN_ONLY = ["emoji", "spelling", "clarify"]
TRAIN_DIMS = [d for d in DIMS if d not in UNSEEN_ONLY]
POLE_DIM = {p: d for d, spec in DIMS.items() for p in spec["poles"]}


def other_pole(dim, pole):
    a, b = DIMS[dim]["poles"]
    return b if pole == a else a


# ---------------------------------------------------------------------------
# Text transforms (applied to prose only, never inside code)
# ---------------------------------------------------------------------------

def _subs(pairs):
    return [(re.compile(a), b) for a, b in pairs]


CASUAL = _subs([
    (r"\bdo not\b", "don't"), (r"\bDo not\b", "Don't"), (r"\bdoes not\b", "doesn't"), (r"\bis not\b", "isn't"),
    (r"\bare not\b", "aren't"), (r"\bcannot\b", "can't"), (r"\bwill not\b", "won't"), (r"\bit is\b", "it's"),
    (r"\bIt is\b", "It's"), (r"\bthat is\b", "that's"), (r"\bthere is\b", "there's"), (r"\bThere is\b", "There's"),
    (r"\byou are\b", "you're"), (r"\bYou are\b", "You're"), (r"\byou will\b", "you'll"), (r"\bYou will\b", "You'll"),
    (r"\bwould not\b", "wouldn't"), (r"\bshould not\b", "shouldn't"), (r"\bdid not\b", "didn't"),
    (r"\bhave not\b", "haven't"), (r"\bthey are\b", "they're"), (r"\bThey are\b", "They're"),
    (r"\bwe are\b", "we're"), (r"\bI am\b", "I'm"), (r"\blet us\b", "let's"), (r"\bLet us\b", "Let's"),
    (r"\bapproximately\b", "about"), (r"(^|[.!?] )However, ", r"\1But "), (r"\btherefore\b", "so"),
    (r"\bpurchase\b", "buy"), (r"\bchildren\b", "kids"), (r"\bvery\b", "really"), (r"\bextremely\b", "super"),
    (r"\bnumerous\b", "lots of"), (r"\bsufficient\b", "enough"), (r"\brequire\b", "need"), (r"\brequires\b", "needs"),
])
FORMAL = _subs([
    (r"\ba lot of\b", "a considerable amount of"), (r"\blots of\b", "numerous"), (r"\bkids\b", "children"),
    (r"\babout (\d)", r"approximately \1"), (r"\bmake sure\b", "ensure"), (r"\bMake sure\b", "Ensure"),
    (r"\bfigure out\b", "determine"), (r"\bfind out\b", "determine"), (r"\bkeep in mind\b", "bear in mind"),
    (r"\bKeep in mind\b", "Bear in mind"), (r"\bright away\b", "immediately"), (r"\ba few\b", "several"),
    (r"\bA few\b", "Several"), (r"\ba bit\b", "somewhat"), (r"\btry to\b", "attempt to"), (r"\bTry to\b", "Attempt to"),
    (r"\bget rid of\b", "eliminate"), (r"\bcut down on\b", "reduce"), (r"\bbuy\b", "purchase"), (r"\bBuy\b", "Purchase"),
    (r"\bbig\b", "large"), (r"(^|[.!?] )But ", r"\1However, "), (r"\bokay\b", "acceptable"), (r"\bpretty\b", "rather"),
    (r"\bmostly\b", "predominantly"), (r"\bgo up\b", "increase"), (r"\bgoes up\b", "increases"),
    (r"\bcome back\b", "return"), (r"\bcomes back\b", "returns"), (r"\bshow up\b", "appear"),
    (r"\bshows up\b", "appears"), (r"\bstick with\b", "adhere to"), (r"\bbasically\b", "essentially"),
    (r"\bjust\b", "simply"), (r"\banyway\b", "in any case"),
])

_BRIT_WORDS = {
    "color": "colour", "colors": "colours", "colored": "coloured", "colorful": "colourful", "flavor": "flavour",
    "flavors": "flavours", "flavorful": "flavourful", "favorite": "favourite", "favorites": "favourites",
    "behavior": "behaviour", "behaviors": "behaviours", "neighbor": "neighbour", "neighbors": "neighbours",
    "neighborhood": "neighbourhood", "humor": "humour", "labor": "labour", "harbor": "harbour", "odor": "odour",
    "odors": "odours", "honor": "honour", "rumor": "rumour", "rumors": "rumours", "vapor": "vapour",
    "center": "centre", "centers": "centres", "centered": "centred", "liter": "litre", "liters": "litres",
    "fiber": "fibre", "fibers": "fibres", "theater": "theatre", "somber": "sombre", "caliber": "calibre",
    "traveled": "travelled", "traveling": "travelling", "traveler": "traveller", "travelers": "travellers",
    "canceled": "cancelled", "canceling": "cancelling", "labeled": "labelled", "labeling": "labelling",
    "fueled": "fuelled", "modeling": "modelling", "leveled": "levelled", "jewelry": "jewellery", "gray": "grey",
    "defense": "defence", "offense": "offence", "catalog": "catalogue", "mold": "mould", "moldy": "mouldy",
    "aluminum": "aluminium", "cozy": "cosy", "skeptical": "sceptical", "pajamas": "pyjamas", "fulfill": "fulfil",
    "enroll": "enrol", "yogurt": "yoghurt", "donut": "doughnut", "donuts": "doughnuts", "plow": "plough",
    "mustache": "moustache", "sulfur": "sulphur", "tumor": "tumour", "savory": "savoury", "savor": "savour",
    "endeavor": "endeavour", "armor": "armour", "vigor": "vigour", "fervor": "fervour", "demeanor": "demeanour",
    "kilometer": "kilometre", "kilometers": "kilometres", "centimeter": "centimetre", "centimeters": "centimetres",
    "millimeter": "millimetre", "millimeters": "millimetres", "meters": "metres", "ax": "axe", "check-up": "check-up",
    "practicing": "practising", "microfiber": "microfibre", "favor": "favour", "favored": "favoured", "analog": "analogue", "dialog": "dialogue", "program": "programme",
}
_BRIT_RE = re.compile(r"\b(" + "|".join(sorted(_BRIT_WORDS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_IZE_RE = re.compile(r"\b([A-Za-z]{3,}?)(iz|yz)(e|es|ed|ing|ation|ations|er|ers)\b")
_IZE_STEMS = {"organ", "real", "recogn", "apolog", "minim", "maxim", "prior", "optim", "custom", "memor",
              "summar", "standard", "categor", "visual", "critic", "emphas", "special", "central", "util",
              "familiar", "personal", "modern", "stabil", "steril", "fertil", "moistur", "sympath", "anal",
              "paral", "catal", "energ", "final", "general", "normal", "neutral", "symbol", "harmon", "agon",
              "author", "capital", "character", "colon", "econom", "item", "local", "mobil", "motor", "revital",
              "tender", "caramel", "carbon", "social", "vapor", "winter", "civil", "hospital", "fossil", "idol"}


def _brit_word(m):
    w = m.group(0)
    low = w.lower()
    if low == "program" or low == "check-up":
        return w  # "program" stays for computing; keep the map conservative
    rep = _BRIT_WORDS[low]
    return rep[0].upper() + rep[1:] if w[0].isupper() else rep


def _brit_ize(m):
    stem, z, end = m.group(1), m.group(2), m.group(3)
    if stem.lower() not in _IZE_STEMS:
        return m.group(0)
    return stem + ("is" if z == "iz" else "ys") + end


def to_british(s):
    s = _BRIT_RE.sub(_brit_word, s)
    s = _IZE_RE.sub(_brit_ize, s)
    return s


def apply(subs, s):
    for rx, rep in subs:
        s = rx.sub(rep, s)
    return s


def ucfirst(s):
    return s[:1].upper() + s[1:]


def lcfirst(s):
    if len(s) > 1 and s[0].isupper() and not s[1].isupper() and not s.startswith("I "):
        return s[0].lower() + s[1:]
    return s


EMOJI = {"science": "🔬", "cooking": "🍳", "travel": "✈️", "money": "💰", "health": "💪", "programming": "💻",
         "history": "📜", "home": "🔧", "language": "🗣️", "work": "💼", "garden": "🌱", "pets": "🐾",
         "tech": "📱", "music": "🎵", "sports": "⚽", "cars": "🚗", "parenting": "👶", "photo": "📷",
         "nature": "🌿", "study": "📚"}
END_EMOJI = ["👍", "🙂", "✨", "🙌"]

ENTH_OPEN = ["Great question!", "Ooh, I love this one!", "Happy to help with this!", "What a fun thing to ask!"]
ENTH_CLOSE = ["Have fun with it!", "You've got this!", "Enjoy!", "Good luck, you'll do great!"]
CASUAL_OPEN = ["Okay, so here's the deal.", "Alright, quick rundown.", "So, here's the thing.", "Right, so."]
CASUAL_CLOSE = ["Hope that helps.", "Good luck with it.", "That's pretty much it.", "Easy enough, right?"]
FORMAL_CLOSE = ["I trust this is helpful.", "I hope this information proves useful.",
                "Further detail can be provided on request.", "I hope this clarifies the matter."]
SOURCE_T = ["Source: {}.", "For a reliable reference, see {}.", "This is in line with {}.", "Reference: {}."]
SUMMARY_T = ["In short: {}", "Bottom line: {}", "Summary: {}", "TL;DR: {}"]
CLARIFY_T = ["Quick question back: {}", "Can I ask one thing? {}", "To tailor this, one question: {}",
             "One question so I can be more precise: {}"]
EXAMPLE_FIRST_T = ["Take an example. {}", "Start with an example. {}", "Here is an example first. {}"]
EXAMPLE_AFTER_T = ["For example, {}", "For instance, {}", "As an example, {}"]
ANALOGY_T = ["{}", "Think of it this way: {}", "An analogy helps here: {}"]
ORDINALS = ["First,", "Next,", "Then,", "After that,", "Finally,"]
HEAD = {"answer": "Short answer", "steps": "Steps", "details": "Details", "code": "Code", "note": "Keep in mind",
        "options": "Options", "example": "Example"}


def fixed_writer(var):
    """The committed splits' one way of writing: `var` picks among a few template wordings."""
    return {"enth_open": ENTH_OPEN[var % 4], "enth_close": ENTH_CLOSE[var % 4],
            "casual_open": CASUAL_OPEN[var % 4], "casual_close": CASUAL_CLOSE[var % 4],
            "formal_open": None, "formal_close": FORMAL_CLOSE[var % 4],
            "source": SOURCE_T[var % 4], "summary": SUMMARY_T[var % 4], "clarify": CLARIFY_T[var % 4],
            "example_first": EXAMPLE_FIRST_T[var % 3], "example_after": EXAMPLE_AFTER_T[var % 3],
            "analogy": ANALOGY_T[var % 3], "analogy_upper": var % 3 == 0, "end_emoji": END_EMOJI[var % 4],
            "bullet": "- ", "number": "{}. ", "heading": "### {}", "head": HEAD, "ordinals": ORDINALS,
            "lead": None, "extra_facts": 0, "fact_order": None}


# Many writers (`--varied`): surface choices that belong to whoever wrote a response, drawn per
# pair and shared by both of its sides, so a preference cannot be read off one template's tokens.
V_ENTH_OPEN = ENTH_OPEN + ["Oh, this is a great one!", "Love this question!", "Fantastic question!",
                           "So glad you asked!", "This is such a good topic!", "Yes, let's dig in!"]
V_ENTH_CLOSE = ENTH_CLOSE + ["Have a blast!", "Go for it!", "Hope you enjoy it as much as I do!",
                             "This is going to be great!", "Happy exploring!"]
V_CASUAL_OPEN = CASUAL_OPEN + ["Okay, here goes.", "Yeah, so.", "Okay, quick one.", "Alright, here's the scoop.",
                               "So, basically, here's how it goes."]
V_CASUAL_CLOSE = CASUAL_CLOSE + ["No biggie.", "Hope that's useful.", "Pretty simple once you get it.",
                                 "That's about it, really.", "Should be easy from here."]
V_FORMAL_OPEN = [None, None, "Certainly.", "Thank you for the question.", "The answer is as follows.",
                 "Please find the explanation below."]
V_FORMAL_CLOSE = FORMAL_CLOSE + ["Please let me know should you require further information.",
                                 "I remain available for any further questions.",
                                 "I trust this addresses your question."]
V_SOURCE = SOURCE_T + ["See {} for more.", "(Based on {}.)", "Further reading: {}.", "More on this from {}.",
                       "As described by {}."]
V_SUMMARY = SUMMARY_T + ["To sum up: {}", "The gist: {}", "Key point: {}", "In a nutshell: {}", "Takeaway: {}"]
V_CLARIFY = CLARIFY_T + ["Before I go further: {}", "May I check one thing? {}"]
V_EXAMPLE_FIRST = EXAMPLE_FIRST_T + ["Consider this example. {}", "Picture this. {}", "A quick example first. {}"]
V_EXAMPLE_AFTER = EXAMPLE_AFTER_T + ["To illustrate, {}", "A concrete case: {}", "Say, {}"]
V_ANALOGY = [("{}", True), ("Think of it this way: {}", False), ("An analogy helps here: {}", False),
             ("It is a bit like this: {}", False), ("Picture it like this: {}", False), ("By analogy, {}", False)]
V_BULLET = ["- ", "* ", "• "]
V_NUMBER = ["{}. ", "{}) ", "Step {}: "]
V_HEADING = ["### {}", "## {}", "**{}**", "{}:"]
V_HEAD = {"answer": ["Short answer", "The answer", "In brief", "Answer"],
          "steps": ["Steps", "How to do it", "What to do", "Method"],
          "details": ["Details", "More detail", "Background", "Why it works"],
          "code": ["Code", "Example code", "Snippet"], "note": ["Keep in mind", "A caution", "Note", "Be careful"],
          "options": ["Options", "Choices"], "example": ["Example", "An example"]}
V_ORDINALS = [ORDINALS, ["To start,", "Then,", "Next,", "After that,", "Lastly,"],
              ["First,", "Second,", "Third,", "Fourth,", "Last,"], ["Begin:", "Then:", "Next:", "After that:", "Finally:"]]
V_LEAD = ["Here is the answer.", "Here is how it works.", "Here is what to know.", "Let me explain.",
          "This comes up a lot."]


def draw_writer(rng):
    """One writer's surface choices (see V_* above); none of them is any user's preference."""
    w = fixed_writer(0)
    w.update({"enth_open": rng.choice(V_ENTH_OPEN), "enth_close": rng.choice(V_ENTH_CLOSE),
              "casual_open": rng.choice(V_CASUAL_OPEN), "casual_close": rng.choice(V_CASUAL_CLOSE),
              "formal_open": rng.choice(V_FORMAL_OPEN), "formal_close": rng.choice(V_FORMAL_CLOSE),
              "source": rng.choice(V_SOURCE), "summary": rng.choice(V_SUMMARY), "clarify": rng.choice(V_CLARIFY),
              "example_first": rng.choice(V_EXAMPLE_FIRST), "example_after": rng.choice(V_EXAMPLE_AFTER),
              "end_emoji": rng.choice(END_EMOJI), "bullet": rng.choice(V_BULLET), "number": rng.choice(V_NUMBER),
              "heading": rng.choice(V_HEADING), "head": {k: rng.choice(v) for k, v in V_HEAD.items()},
              "ordinals": rng.choice(V_ORDINALS), "lead": rng.choice(V_LEAD) if rng.random() < 0.3 else None,
              "extra_facts": rng.choice([0, 0, 1]), "fact_order": rng.random()})
    w["analogy"], w["analogy_upper"] = rng.choice(V_ANALOGY)
    return w


def render(e, st, var, balance=None, w=None):
    """Render one response for entry `e` under style `st` (dimension -> pole or None).

    `var` selects template wordings (the same for both poles of a pair), or `w` gives a whole
    writer's (`draw_writer`); `balance` is the
    dimension the pair varies: if its pole is the one that omits a sentence (no joke, no
    analogy, no caveat, no question back), a spare fact of similar size is added instead so the
    two poles do not differ much in length.
    """
    w = w or fixed_writer(var)
    L = st.get("length")
    howto, has_code = bool(e["steps"]), bool(e["code"])
    short_core = howto or has_code
    nf = {"concise": 0 if short_core else 1, None: 1 if short_core else 2,
          "detailed": 2 if short_core else len(e["facts"])}[L]
    nf = min(nf + w["extra_facts"], len(e["facts"]))
    pool = list(e["facts"])
    if w["fact_order"] is not None:
        random.Random(w["fact_order"]).shuffle(pool)
    facts = pool[:nf]
    spare = pool[nf] if nf < len(pool) else None
    ex_order = st.get("example_order") if e["concept"] else None
    show_example = L == "detailed" or ex_order is not None
    if balance and DIMS[balance].get("absent") == st.get(balance) and spare:
        facts.append(spare)

    brit = st.get("spelling") == "british"
    reg = st.get("register")

    def tx(s):
        if reg == "casual":
            s = apply(CASUAL, s)
        elif reg == "formal":
            s = apply(FORMAL, s)
        if brit:
            s = to_british(s)
        return s

    # sections: (key, kind, items); kind 'prose' (sentences), 'steps', 'code'
    sections = []
    answer = []
    if e["options"] and st.get("choice") == "options":
        opts = e["options"]
        answer.append(f"There are a few good options: {opts[0]}; {opts[1]}; or {opts[2]}.")
    else:
        answer.append(e["answer"])
    if ex_order == "examples_first":
        answer = [w["example_first"].format(ucfirst(e["example"]))] + answer
    elif ex_order == "definition_first":
        answer.append(w["example_after"].format(lcfirst(e["example"])))
    if st.get("humor") == "humor":
        answer.append(e["joke"])
    if howto:
        steps_sec = ("steps", "steps", list(e["steps"]))
        if st.get("sequence") == "step_by_step":
            sections += [steps_sec, ("answer", "prose", answer)]
        else:
            sections += [("answer", "prose", answer), steps_sec]
    else:
        sections.append(("answer", "prose", answer))
    if has_code:
        if st.get("code") == "prose_explanation":
            sections.append(("code", "prose", [e["prose_code"]]))
        else:
            sections.append(("code", "code", e["code"]))
    details = list(facts)
    if st.get("analogy") == "analogy":
        details.append(w["analogy"].format(ucfirst(e["analogy"]) if w["analogy_upper"] else e["analogy"]))
    if show_example and ex_order is None:
        details.append(w["example_after"].format(lcfirst(e["example"])))
    if details:
        sections.append(("details", "prose", details))
    if st.get("caveat") == "caveat":
        sections.append(("note", "prose", [e["caveat"]]))

    tail = []  # plain lines after the body
    if st.get("citation") == "cites_source":
        tail.append(w["source"].format(e["source"]))
    if st.get("clarify") == "asks_back":
        tail.append(w["clarify"].format(e["clarify"]))
    if st.get("summary") == "summary_line":
        tail.append(w["summary"].format(e["takeaway"]))
    head, close = [], []
    if w["lead"]:
        head.append(w["lead"])
    if st.get("tone") == "enthusiastic":
        head.append(w["enth_open"])
        close.append(w["enth_close"])
    if reg == "casual":
        head.append(w["casual_open"])
        close.append(w["casual_close"])
    elif reg == "formal":
        if w["formal_open"]:
            head.append(w["formal_open"])
        close.append(w["formal_close"])

    bullets = st.get("format") == "bullets"
    headings = st.get("headings")
    emoji = st.get("emoji") == "emoji"
    enth = st.get("tone") == "enthusiastic"

    blocks = []  # (is_prose_paragraph, text)
    first_sentence_done = False
    for key, kind, items in sections:
        if kind == "code":
            lang = e.get("lang", "")
            text = "```" + lang + "\n" + "\n".join(items) + "\n```"
            prose = False
        elif kind == "steps":
            if bullets or headings == "headings":
                text = "\n".join(w["number"].format(i + 1) + tx(s) for i, s in enumerate(items))
                prose = False
            else:
                o = w["ordinals"]
                ords = o[:len(items) - 1][:4] + [o[4]]
                if len(items) > 5:
                    ords = [o[0]] + [o[2]] * (len(items) - 2) + [o[4]]
                text = " ".join(f"{o} {lcfirst(tx(s))}" for o, s in zip(ords, items))
                prose = True
        else:
            sents = [tx(s) for s in items]
            if key == "answer" and emoji:
                sents[-1] = sents[-1] + " " + EMOJI.get(e["cat"], "💡")
            if key == "answer" and enth and not first_sentence_done:
                sents[-1] = re.sub(r"\.$", "!", sents[-1])
            if bullets:
                text = "\n".join(w["bullet"] + s for s in sents)
                prose = False
            else:
                text = " ".join(sents)
                prose = True
        if key == "answer":
            first_sentence_done = True
        if headings == "headings":
            text = w["heading"].format(w["head"][key]) + "\n" + text
            prose = False
        blocks.append((prose, text))
    tail_lines = [tx(t) for t in tail]
    close_lines = list(close)
    if emoji:
        close_lines = close_lines + [w["end_emoji"]] if close_lines else []
        if not close_lines:
            if tail_lines:
                tail_lines[-1] += " " + w["end_emoji"]
            else:
                last_prose, last_text = blocks[-1]
                if not last_text.endswith("```"):
                    blocks[-1] = (last_prose, last_text + " " + w["end_emoji"])
                else:
                    tail_lines.append(w["end_emoji"])
    closing = " ".join(close_lines)
    if emoji and closing:
        closing = closing.replace(" " + w["end_emoji"], " " + w["end_emoji"])

    if headings is not None:
        parts = []
        if head:
            parts.append(" ".join(head))
        parts += [t for _, t in blocks]
        if tail_lines:
            parts.append("\n".join(tail_lines))
        if closing:
            parts.append(closing)
        return "\n\n".join(parts)

    # no heading preference: prose paragraphs run together, lists and code on their own lines
    out = ""
    prev_prose = None
    pieces = []
    if head:
        pieces.append((True, " ".join(head)))
    pieces += blocks
    for t in tail_lines:
        pieces.append((True, t))
    if closing:
        pieces.append((True, closing))
    for prose, text in pieces:
        if not out:
            out = text
        elif prose and prev_prose:
            out += " " + text
        else:
            out += "\n" + text
        prev_prose = prose
    return out


# ---------------------------------------------------------------------------
# Persona sentences and user statements
# ---------------------------------------------------------------------------

PERSONA = {
    "concise": ["wants short answers of a sentence or two, with no extra detail",
                "prefers brief, to-the-point replies", "likes answers kept short and direct"],
    "detailed": ["wants thorough answers with background, several facts and an example",
                 "prefers long, detailed explanations", "likes answers that go into depth rather than stay brief"],
    "bullets": ["prefers answers formatted as bullet-point lists", "likes information broken into bullet points",
                "wants answers laid out as lists rather than paragraphs"],
    "prose": ["prefers answers written as flowing paragraphs, not lists", "likes connected prose instead of bullet points",
              "wants answers in full sentences and paragraphs rather than lists"],
    "formal": ["prefers a formal, polished register without contractions or slang",
               "likes a professional, formal tone", "wants answers phrased formally, as in a business letter"],
    "casual": ["prefers a casual, conversational register with contractions",
               "likes answers that sound relaxed and chatty", "wants a laid-back, informal way of talking"],
    "enthusiastic": ["likes an upbeat, enthusiastic tone with some exclamation marks",
                     "enjoys cheerful, energetic replies", "wants answers delivered with warmth and enthusiasm"],
    "neutral": ["prefers a neutral, matter-of-fact tone without exclamation marks",
                "likes calm, even-toned answers with no cheerleading", "wants a plain, unexcited tone"],
    "step_by_step": ["wants how-to answers to walk through the steps before stating the overall answer",
                     "likes to be taken through the process step by step, with the conclusion at the end",
                     "prefers instructions that build up step by step and end with the bottom line"],
    "answer_first": ["wants the bottom line stated first, before any steps",
                     "prefers answers that lead with the conclusion and then explain how",
                     "likes the direct answer up front, with the steps after it"],
    "humor": ["enjoys a light joke or a bit of humor in answers", "likes a touch of playful humor",
              "appreciates answers that include a small joke"],
    "no_humor": ["wants answers without jokes or wordplay", "prefers strictly serious answers with no humor",
                 "finds jokes distracting and wants just the content"],
    "analogy": ["likes explanations that use an everyday analogy",
                "finds comparisons to familiar things helpful and wants an analogy included",
                "wants ideas explained through analogies"],
    "no_analogy": ["prefers literal explanations without analogies or metaphors",
                   "does not want comparisons or analogies, just the facts",
                   "finds analogies unhelpful and wants things explained directly"],
    "cites_source": ["wants answers to name a reliable source",
                     "likes to see a reputable reference cited at the end of an answer",
                     "trusts answers more when they point to a well-known source"],
    "no_source": ["does not want sources or references in answers", "prefers answers without citations",
                  "finds references clutter and wants them left out"],
    "caveat": ["wants a caveat or safety note included where relevant",
               "likes answers that mention limitations and when to be careful",
               "appreciates a word of caution alongside the advice"],
    "no_caveat": ["prefers answers without caveats, disclaimers or safety notes",
                  "does not want warnings or hedging added to answers", "wants advice without disclaimers"],
    "summary_line": ["likes answers to end with a one-line summary", "wants a short takeaway line at the end",
                     "appreciates a brief recap line closing each answer"],
    "no_summary": ["does not want a closing summary or recap line", "prefers answers that end without a TL;DR",
                   "finds recap lines redundant and wants them left out"],
    "headings": ["likes answers organized under short section headings",
                 "wants responses split into headed sections", "prefers answers with headings for each part"],
    "no_headings": ["prefers answers without section headings", "wants plain paragraphs with no headings",
                    "finds headings unnecessary and wants them left out"],
    "code_example": ["wants programming answers to include a code example",
                     "likes to see a code snippet when asking about programming",
                     "prefers coding help that shows actual code"],
    "prose_explanation": ["wants programming answers explained in words rather than code",
                          "prefers a prose description of the approach over a code snippet",
                          "likes coding help described in plain sentences, without code blocks"],
    "single_pick": ["wants a single clear recommendation rather than a list of options",
                    "prefers to be told the one best choice", "likes answers that commit to one recommendation"],
    "options": ["wants to see several options to choose from rather than one pick",
                "prefers a few alternatives laid out over a single recommendation",
                "likes to weigh options and decide for themself"],
    "examples_first": ["likes to see a concrete example before the definition",
                       "prefers explanations that open with an example and then define the idea",
                       "learns best when an example comes first"],
    "definition_first": ["wants the definition stated first, followed by an example",
                         "prefers explanations that start with a precise definition before any example",
                         "likes the formal definition up front and the example after"],
    "emoji": ["likes a few emoji in answers", "enjoys answers sprinkled with emoji",
              "wants some emoji to liven up the replies"],
    "no_emoji": ["does not want emoji in answers", "prefers plain text with no emoji",
                 "finds emoji unprofessional and wants none"],
    "british": ["wants British spelling (colour, organise, centre)", "prefers British English spelling",
                "likes answers spelled the British way, such as flavour and realise"],
    "american": ["wants American spelling (color, organize, center)", "prefers American English spelling",
                 "likes answers spelled the American way, such as flavor and realize"],
    "asks_back": ["likes it when the answer ends with a clarifying question to tailor the advice",
                  "wants the assistant to ask a question back about their situation",
                  "appreciates a follow-up question that checks their circumstances"],
    "answers_directly": ["wants a direct answer without questions back", "prefers answers that do not ask them anything",
                         "dislikes being asked follow-up questions and just wants the answer"],
}

STATEMENTS = {
    "concise": ["Keep it short, please.", "I only need a sentence or two.", "Short answers work best for me.",
                "Please don't ramble, just give me the gist."],
    "detailed": ["I like a lot of detail and background.", "Give me the full picture, not just the headline.",
                 "Longer explanations are fine by me, the more depth the better.", "Please explain things thoroughly."],
    "bullets": ["Bullet points are easier for me to read.", "Please use lists instead of long paragraphs.",
                "I skim, so lists help.", "Break things into bullets if you can."],
    "prose": ["I prefer normal paragraphs to bullet lists.", "Lists feel choppy to me, just write it out.",
              "Please write in full sentences, no bullet points.", "I like reading a proper paragraph."],
    "formal": ["Please keep a professional tone.", "I prefer formal language, no slang.",
               "Write to me as you would in a business email.", "Contractions and slang bother me a bit."],
    "casual": ["Talk to me like a friend, no need to be stiff.", "Casual is good, keep it relaxed.",
               "I like a chatty, informal style.", "Please don't sound like a textbook."],
    "enthusiastic": ["I like it when answers sound excited and upbeat!", "A bit of energy and cheer makes my day.",
                     "Feel free to be enthusiastic!", "I enjoy a warm, cheerful tone."],
    "neutral": ["Please keep the tone calm and neutral.", "No need for exclamation marks or hype.",
                "I prefer a matter-of-fact tone.", "Skip the cheerleading, a plain tone is fine."],
    "step_by_step": ["Walk me through it step by step before the conclusion.",
                     "I like to follow the process in order and get the result at the end.",
                     "Show me the steps first, then the answer."],
    "answer_first": ["Tell me the answer first, then the details.", "Lead with the bottom line, please.",
                     "I want the conclusion up front."],
    "humor": ["A little joke now and then is welcome.", "I like answers with a sense of humor.",
              "Feel free to make me smile.", "Humor helps me remember things."],
    "no_humor": ["Please skip the jokes, I just need the facts.", "I don't find jokes in answers helpful.",
                 "Keep it serious, please.", "No wisecracks, thanks."],
    "analogy": ["Comparisons to everyday things help me understand.", "I love a good analogy.",
                "Explain it with a comparison if you can.", "Analogies make things click for me."],
    "no_analogy": ["Please don't use analogies, they confuse me.", "Just explain it directly, no metaphors.",
                   "I'd rather not have comparisons, only the actual explanation."],
    "cites_source": ["I like to know where information comes from.", "Please mention a source I can check.",
                     "Name a reliable reference when you can.", "I trust answers that cite something."],
    "no_source": ["I don't need references.", "Please leave out the citations.",
                  "Sources just clutter the answer for me."],
    "caveat": ["Tell me if there's anything I should be careful about.", "I appreciate a heads-up about risks.",
               "Please mention the exceptions and limits.", "Warn me if something could go wrong."],
    "no_caveat": ["Please skip the disclaimers.", "I don't need warnings, I know the risks.",
                  "No hedging, just the advice.", "Spare me the safety notes."],
    "summary_line": ["A one-line summary at the end helps me.", "Please wrap up with a quick takeaway.",
                     "I like a TL;DR at the bottom.", "End with a short recap, please."],
    "no_summary": ["No need to summarize at the end.", "Don't repeat yourself with a recap.",
                   "I don't want a TL;DR, just stop when you're done."],
    "headings": ["Headings help me find my way around an answer.", "Please split answers into sections with titles.",
                 "I like clear section headers."],
    "no_headings": ["No headings please, they feel like a report.", "Skip the section titles.",
                    "I'd rather not have headers in answers."],
    "code_example": ["When I ask about code, show me code.", "A snippet is worth a thousand words for me.",
                     "Please include a code example for programming questions."],
    "prose_explanation": ["Explain programming ideas in words, I'll write the code myself.",
                          "I prefer an explanation over a code dump.",
                          "Please describe the approach rather than pasting code."],
    "single_pick": ["Just tell me what you'd pick.", "I don't want a menu, give me one recommendation.",
                    "Too many options overwhelm me, pick one."],
    "options": ["I like to see the options and choose myself.", "Give me a few alternatives, please.",
                "Lay out the choices rather than deciding for me."],
    "examples_first": ["Show me an example before the definition.", "I understand ideas better starting from an example.",
                       "Examples first, theory second."],
    "definition_first": ["Give me the definition first, then an example.", "I like a precise definition up front.",
                         "Start with what the term means, then illustrate it."],
    "emoji": ["I love emoji 😄", "Emoji make answers more fun for me.", "Feel free to use emoji!"],
    "no_emoji": ["Please no emoji.", "I find emoji distracting.", "Keep it to plain text, no emoji."],
    "british": ["I'm from the UK, so please spell things the British way.", "Please use British spelling.",
                "Colour, not color, please."],
    "american": ["Please use American spelling.", "I'm in the US, so American spelling please.",
                 "Spell it color, not colour."],
    "asks_back": ["Feel free to ask me questions about my situation.", "I like it when you check what I need.",
                  "Ask me something if it helps you tailor the answer."],
    "answers_directly": ["Don't ask me questions back, just answer.", "I don't want follow-up questions.",
                         "Please answer directly without quizzing me."],
}
BACKGROUND = ["I work night shifts at a hospital.", "I'm a retired teacher.", "I have two young kids.",
              "I'm studying for my exams this term.", "I live in a small apartment.", "I run a small bakery.",
              "I'm new to the city.", "I work from home most days.", "I'm a software tester.",
              "I coach a youth soccer team.", "I'm learning Spanish.", "I cook for my family every evening."]


def persona_text(traits, rng):
    phrases = [rng.choice(PERSONA[t]) for t in traits]
    also = rng.choice(["This user also", "In addition, this user", "The same user also"])
    if len(phrases) == 1:
        return f"This user {phrases[0]}."
    if len(phrases) == 2:
        if rng.random() < 0.5:
            return f"This user {phrases[0]}; and {phrases[1]}."
        return f"This user {phrases[0]}. {also} {phrases[1]}."
    return f"This user {phrases[0]}; and {phrases[1]}. {also} {phrases[2]}."


def statements_for(traits, rng):
    k = rng.randint(1, min(3, len(traits)))
    chosen = rng.sample(traits, k)
    out = [rng.choice(STATEMENTS[t]) for t in chosen]
    if len(out) < 3 and rng.random() < 0.25:
        out.insert(rng.randrange(len(out) + 1), rng.choice(BACKGROUND))
    return out


# ---------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------

def slot_dims(dims, n_pairs):
    """Dimension varied by each of a user's pairs: round robin over the user's dimensions."""
    return [dims[i % len(dims)] for i in range(n_pairs)]


def pick_prompts(entries, dims, style, usage, rng, n_pairs):
    """Assign a distinct prompt to each pair slot; prefers prompts used least so far."""
    slots = slot_dims(dims, n_pairs)
    need = collections.Counter(slots)
    order = sorted(range(len(slots)), key=lambda i: sum(1 for e in entries if DIMS[slots[i]]["applies"](e)))
    taken, assign = set(), {}
    for i in order:
        d = slots[i]
        cands = [j for j, e in enumerate(entries) if j not in taken and DIMS[d]["applies"](e)]
        rng.shuffle(cands)
        cands.sort(key=lambda j: usage[j])
        ok = None
        for j in cands:
            a = render(entries[j], style, 0, d)
            b = render(entries[j], {**style, d: other_pole(d, style[d])}, 0, d)
            if a != b:
                ok = j
                break
        if ok is None:
            return None
        taken.add(ok)
        assign[i] = ok
    for j in taken:
        usage[j] += 1
    del need
    return [assign[i] for i in range(len(slots))]


def build_split(entries, n_users, prefix, width, dims_pool, rng, required_pool=None, required_share=0.0,
                n_held=N_HELD, writers=False):
    counts = [round(n_users * s) for s in TRAIT_COUNT_SHARES]
    counts[0] += n_users - sum(counts)
    sizes = [1] * counts[0] + [2] * counts[1] + [3] * counts[2]
    rng.shuffle(sizes)
    n_required = round(n_users * required_share)
    needs_req = [True] * n_required + [False] * (n_users - n_required)
    rng.shuffle(needs_req)
    dim_use = collections.Counter({d: 0 for d in dims_pool})
    pole_next = {d: rng.randrange(2) for d in dims_pool}
    usage = collections.Counter()
    n_stmt = round(n_users * STATEMENT_SHARE)
    has_stmt = [True] * n_stmt + [False] * (n_users - n_stmt)
    rng.shuffle(has_stmt)
    applicable = {d: sum(1 for e in entries if DIMS[d]["applies"](e)) for d in dims_pool}
    users = []
    for ui in range(n_users):
        k = sizes[ui]
        per_dim = -(-(N_SIGNALS + n_held) // k)  # pairs that vary one dimension
        feasible = [d for d in dims_pool if applicable[d] >= per_dim]
        for attempt in range(200):
            pool = list(feasible)
            rng.shuffle(pool)
            pool.sort(key=lambda d: dim_use[d])
            dims = []
            if needs_req[ui] and required_pool:
                req = sorted((d for d in required_pool if d in feasible), key=lambda d: (dim_use[d], rng.random()))
                dims.append(req[0])
            # least-used dimensions first, with some randomness so combinations vary
            for d in pool:
                if len(dims) == k:
                    break
                if d in dims or (required_pool and not needs_req[ui] and d in required_pool):
                    continue
                if rng.random() < 0.75 or attempt > 50:
                    dims.append(d)
            if len(dims) < k:
                continue
            style = {d: None for d in DIMS}
            for d in DIMS:
                style[d] = DIMS[d]["default"]
            traits = []
            for d in dims:
                pole = DIMS[d]["poles"][pole_next[d]]
                style[d] = pole
                traits.append(pole)
            assign = pick_prompts(entries, dims, style, usage, rng, N_SIGNALS + n_held)
            if assign is None:
                continue
            break
        else:
            raise SystemExit(f"cannot build user {ui} with {k} dimensions")
        for d in dims:
            dim_use[d] += 1
            pole_next[d] = 1 - pole_next[d]
        uid = f"{prefix}-u{ui + 1:0{width}d}"
        pairs = []
        for slot, (d, j) in enumerate(zip(slot_dims(dims, N_SIGNALS + n_held), assign)):
            e = entries[j]
            var = rng.randrange(12)
            for _ in range(20):
                w = draw_writer(rng) if writers else None
                chosen = render(e, style, var, d, w)
                rejected = render(e, {**style, d: other_pole(d, style[d])}, var, d, w)
                if chosen != rejected:
                    break
            pairs.append({"prompt": e["prompt"], "chosen": chosen, "rejected": rejected, "dimension": d})
        user = {"user_id": uid, "traits": traits, "persona": persona_text(traits, rng),
                "signals": pairs[:N_SIGNALS], "held_out": pairs[N_SIGNALS:]}
        if has_stmt[ui]:
            user["statements"] = statements_for(traits, rng)
        users.append(user)
    return users


def dumps(users):
    return "".join(json.dumps(u, ensure_ascii=False) + "\n" for u in users).encode("utf-8")


def generate():
    entries = parse_bank(BANK)
    train_e = [e for e in entries if e["split"] == "train"]
    unseen_e = [e for e in entries if e["split"] == "unseen"]
    rng = random.Random(SEED)
    train = build_split(train_e, N_TRAIN, "train", 4, TRAIN_DIMS, rng)
    rng_u = random.Random(SEED + 1)
    unseen = build_split(unseen_e, N_UNSEEN, "unseen", 3, list(DIMS), rng_u,
                         required_pool=UNSEEN_ONLY, required_share=2 / 3)
    rng_w = random.Random(SEED + 2)
    wide = build_split(train_e, N_TRAIN, "trainw", 4, TRAIN_DIMS, rng_w, n_held=N_HELD_WIDE)
    return entries, train, unseen, wide


# ---------------------------------------------------------------------------
# Checks and statistics
# ---------------------------------------------------------------------------

def validate(users, name, allowed_dims, n_held=N_HELD):
    errors = []
    ids = set()
    for u in users:
        uid = u.get("user_id")
        where = f"{name} {uid}"
        if not isinstance(uid, str) or not uid or uid in ids:
            errors.append(f"{where}: bad or duplicate user_id")
        ids.add(uid)
        if set(u) - {"user_id", "traits", "persona", "signals", "held_out", "statements"}:
            errors.append(f"{where}: unexpected fields")
        traits = u.get("traits")
        if not isinstance(traits, list) or not 1 <= len(traits) <= 3 or not all(isinstance(t, str) for t in traits):
            errors.append(f"{where}: traits")
            continue
        tdims = [POLE_DIM.get(t) for t in traits]
        if None in tdims or len(set(tdims)) != len(tdims) or not set(tdims) <= set(allowed_dims):
            errors.append(f"{where}: traits {traits} not distinct poles of allowed dimensions")
        if not isinstance(u.get("persona"), str) or not u["persona"].strip():
            errors.append(f"{where}: persona")
        if "statements" in u:
            s = u["statements"]
            if not isinstance(s, list) or not 1 <= len(s) <= 3 or not all(isinstance(x, str) and x.strip() for x in s):
                errors.append(f"{where}: statements")
            elif any(x == u["persona"] for x in s):
                errors.append(f"{where}: statement repeats the persona")
        for field, n in (("signals", N_SIGNALS), ("held_out", n_held)):
            ps = u.get(field)
            if not isinstance(ps, list) or len(ps) != n:
                errors.append(f"{where}: {field} must have {n} pairs")
                continue
            for p in ps:
                if set(p) != {"prompt", "chosen", "rejected", "dimension"} or \
                        not all(isinstance(p[k], str) and p[k].strip() for k in p):
                    errors.append(f"{where}: {field} pair fields")
                elif p["chosen"] == p["rejected"]:
                    errors.append(f"{where}: identical chosen/rejected")
                elif p["dimension"] not in tdims:
                    errors.append(f"{where}: pair varies {p['dimension']}, not one of the user's dimensions")
        sp = {p["prompt"] for p in u.get("signals", [])}
        hp = {p["prompt"] for p in u.get("held_out", [])}
        if sp & hp:
            errors.append(f"{where}: signals and held_out share a prompt")
        if len(sp) + len(hp) != N_SIGNALS + n_held:
            errors.append(f"{where}: repeated prompt within a user")
    return errors


def texts(users):
    prompts, responses = set(), set()
    for u in users:
        for p in u["signals"] + u["held_out"]:
            prompts.add(p["prompt"])
            responses.add(p["chosen"])
            responses.add(p["rejected"])
    return prompts, responses


def norm(s):
    return re.sub(r"[^a-z0-9 ]", "", s.lower()).strip()


def by_first_pole(user, pair):
    """The pair's two responses, the one rendering its dimension's first pole first."""
    pole = next(t for t in user["traits"] if POLE_DIM[t] == pair["dimension"])
    first = DIMS[pair["dimension"]]["poles"][0]
    return (pair["chosen"], pair["rejected"]) if pole == first else (pair["rejected"], pair["chosen"])


def stats(users, name):
    print(f"== {name}: {len(users)} users")
    dim_pole = collections.Counter()
    for u in users:
        for t in u["traits"]:
            dim_pole[(POLE_DIM[t], t)] += 1
    for d in DIMS:
        a, b = DIMS[d]["poles"]
        if dim_pole[(d, a)] or dim_pole[(d, b)]:
            print(f"  {d:14s} {a}={dim_pole[(d, a)]:<4d} {b}={dim_pole[(d, b)]}")
    tc = collections.Counter(len(u["traits"]) for u in users)
    print("  users per trait count:", dict(sorted(tc.items())))
    ns = sum(1 for u in users if "statements" in u)
    print(f"  users with statements: {ns} ({100 * ns / len(users):.0f}%)")
    lens = sorted(len(p[k]) for u in users for p in u["signals"] + u["held_out"] for k in ("chosen", "rejected"))
    q = lambda f: lens[min(len(lens) - 1, int(f * len(lens)))]
    inside = sum(1 for x in lens if 150 <= x <= 700)
    print(f"  response chars: min {lens[0]} p10 {q(.1)} p25 {q(.25)} median {q(.5)} p75 {q(.75)} p90 {q(.9)} "
          f"max {lens[-1]}; {100 * inside / len(lens):.0f}% within 150-700")
    sig = sorted(sum(len(p["chosen"]) + len(p["rejected"]) + len(p["prompt"]) for p in u["signals"]) for u in users)
    print(f"  8 signal pairs per user, chars: median {sig[len(sig) // 2]} max {sig[-1]} "
          f"(~{sig[len(sig) // 2] // 4} / {sig[-1] // 4} tokens at 4 chars per token)")
    diffs = collections.defaultdict(list)
    for u in users:
        for p in u["signals"] + u["held_out"]:
            a, b = by_first_pole(u, p)
            diffs[p["dimension"]].append(len(a) - len(b))
    print("  mean length difference (first pole minus second pole) per dimension:")
    for d, v in diffs.items():
        print(f"    {d:14s} {sum(v) / len(v):+7.1f} chars over {len(v)} pairs")
    prompts, _ = texts(users)
    print(f"  distinct prompts used: {len(prompts)}")


# The uncommitted train-wide-like splits: output, id prefix and seed, by `--varied`.
LARGE = {False: (OUT_LARGE, "trainl", SEED + 3), True: (OUT_VARIED, "trainv", SEED + 4)}


def build_large(train_e, n_users, prefix, seed, writers=False):
    """A train-wide-like split of any size, for recipes that need many more users than 360 (its
    users differ from train-wide's by prefix and seed; same prompts, dimensions and held-out
    count). With `writers`, every pair is written by its own writer (`draw_writer`)."""
    return build_split(train_e, n_users, prefix, 5, TRAIN_DIMS, random.Random(seed), n_held=N_HELD_WIDE,
                       writers=writers)


def check_large(train_e, unseen):
    """The uncommitted builders (`--large`, `--varied`) on a few users: valid, deterministic, and
    apart from the unseen split like the committed train splits."""
    failures = []
    up, ur = texts(unseen)
    for varied, (_, prefix, seed) in LARGE.items():
        name = "varied" if varied else "large"
        users = build_large(train_e, 24, prefix, seed, varied)
        failures += validate(users, name, TRAIN_DIMS, n_held=N_HELD_WIDE)
        if dumps(build_large(train_e, 24, prefix, seed, varied)) != dumps(users):
            failures.append(f"{name}: two builds differ")
        p, r = texts(users)
        if p & up or r & ur:
            failures.append(f"{name}: shares prompts or responses with unseen")
    if not failures:
        print("ok: --large and --varied builds are valid, deterministic and apart from unseen (24 users each)")
    return failures


def write_large(n_users, varied):
    if n_users < 1:
        sys.exit("--large needs a positive number of users")
    train_e = [e for e in parse_bank(BANK) if e["split"] == "train"]
    out, prefix, seed = LARGE[varied]
    large = build_large(train_e, n_users, prefix, seed, varied)
    failures = validate(large, "train-large", TRAIN_DIMS, n_held=N_HELD_WIDE)
    if failures:
        for f in failures[:10]:
            print("FAIL:", f)
        sys.exit(1)
    data = dumps(large)
    with open(out, "wb") as f:
        f.write(data)
    stats(large, os.path.basename(out))
    print(f"wrote {out} ({len(data)} bytes)")


def find_public(path_flag):
    for p in ([path_flag] if path_flag else []) + [DEFAULT_PUBLIC, FALLBACK_PUBLIC]:
        if p and os.path.exists(p):
            return p
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify the committed files instead of writing them")
    ap.add_argument("--public", help="public split to check disjointness against")
    ap.add_argument("--large", type=int, metavar="N",
                    help="write only personas-train-large.jsonl: N users built like train-wide with their own seed "
                         "(not committed: regenerate it with the same N)")
    ap.add_argument("--varied", action="store_true",
                    help="with --large: write personas-train-varied.jsonl instead, each pair written by one of "
                         "many writers (markers, headings, lead-ins, fact order, template wordings)")
    args = ap.parse_args()
    if args.varied and args.large is None:
        sys.exit("--varied goes with --large N")
    if args.large is not None:
        write_large(args.large, args.varied)
        return

    entries, train, unseen, wide = generate()
    tb, ub, wb = dumps(train), dumps(unseen), dumps(wide)
    failures = []
    if args.check:
        for path, data in ((OUT_TRAIN, tb), (OUT_UNSEEN, ub), (OUT_WIDE, wb)):
            if not os.path.exists(path):
                failures.append(f"{path} missing")
            elif open(path, "rb").read() != data:
                failures.append(f"{path} differs from a fresh regeneration (not deterministic or stale)")
            else:
                print(f"ok: {os.path.basename(path)} matches a fresh regeneration byte for byte")
        train = [json.loads(l) for l in open(OUT_TRAIN, encoding="utf-8")] if os.path.exists(OUT_TRAIN) else train
        unseen = [json.loads(l) for l in open(OUT_UNSEEN, encoding="utf-8")] if os.path.exists(OUT_UNSEEN) else unseen
        wide = [json.loads(l) for l in open(OUT_WIDE, encoding="utf-8")] if os.path.exists(OUT_WIDE) else wide
        # determinism within one process as well: a second generation gives the same bytes
        _, t2, u2, w2 = generate()
        if dumps(t2) != tb or dumps(u2) != ub or dumps(w2) != wb:
            failures.append("two generations in one run differ")
        else:
            print("ok: two generations give identical bytes")
        failures += check_large([e for e in entries if e["split"] == "train"], unseen)
    else:
        with open(OUT_TRAIN, "wb") as f:
            f.write(tb)
        with open(OUT_UNSEEN, "wb") as f:
            f.write(ub)
        with open(OUT_WIDE, "wb") as f:
            f.write(wb)
        print(f"wrote {OUT_TRAIN} ({len(tb)} bytes), {OUT_UNSEEN} ({len(ub)} bytes) and {OUT_WIDE} ({len(wb)} bytes)")

    failures += validate(train, "train", TRAIN_DIMS)
    failures += validate(unseen, "unseen", list(DIMS))
    failures += validate(wide, "train-wide", TRAIN_DIMS, n_held=N_HELD_WIDE)
    wp, wr = texts(wide)
    tp, tr = texts(train)
    if not wp <= tp:
        failures.append("train-wide uses prompts outside the train part of the bank")
    if wp & texts(unseen)[0] or wr & texts(unseen)[1]:
        failures.append("train-wide shares prompts or responses with unseen")
    tp, tr = tp | wp, tr | wr
    up, ur = texts(unseen)
    if tp & up:
        failures.append(f"train and unseen share prompts: {sorted(tp & up)[:3]}")
    if {norm(p) for p in tp} & {norm(p) for p in up}:
        failures.append("train and unseen share prompts up to case and punctuation")
    if tr & ur:
        failures.append("train and unseen share responses")
    train_dims = {POLE_DIM[t] for u in train for t in u["traits"]}
    unseen_dims = {POLE_DIM[t] for u in unseen for t in u["traits"]}
    held_back = unseen_dims - train_dims
    if len(held_back) < 3:
        failures.append(f"unseen split has only {len(held_back)} dimensions absent from train")
    if len(train_dims) < 12:
        failures.append(f"train split has only {len(train_dims)} dimensions")
    for d in train_dims:
        for pole in DIMS[d]["poles"]:
            if not any(pole in u["traits"] for u in train):
                failures.append(f"train: pole {pole} preferred by nobody")
    if len(tp) < 150 or len(up) < 40:
        failures.append(f"too few prompts: train {len(tp)}, unseen {len(up)}")
    pub = find_public(args.public)
    if pub:
        pusers = [json.loads(l) for l in open(pub, encoding="utf-8") if l.strip()]
        pp, pr = texts(pusers)
        for name, p, r in (("train", tp, tr), ("unseen", up, ur)):
            if p & pp or {norm(x) for x in p} & {norm(x) for x in pp}:
                failures.append(f"{name} shares prompts with the public split: {sorted(p & pp)[:3]}")
            if r & pr:
                failures.append(f"{name} shares responses with the public split")
        # no public sentence reused inside our responses either
        psent = {s.strip() for x in pr for s in re.split(r"(?<=[.!?])\s+|\n", x) if len(s.strip()) > 40}
        osent = {s.strip() for x in tr | ur for s in re.split(r"(?<=[.!?])\s+|\n", x) if len(s.strip()) > 40}
        shared = {s.lstrip("- ") for s in psent} & {s.lstrip("- ") for s in osent}
        if shared:
            failures.append(f"sentences shared with the public split: {sorted(shared)[:3]}")
        print(f"ok: checked disjointness against {pub}" if not any("public" in f for f in failures) else "")
    else:
        print("note: public split not found; disjointness from it not checked (pass --public PATH)")

    stats(train, "train")
    stats(unseen, "unseen")
    stats(wide, "train-wide")
    print(f"dimensions in train ({len(train_dims)}): {', '.join(d for d in DIMS if d in train_dims)}")
    print(f"unseen-only dimensions: {', '.join(sorted(held_back))}")
    print(f"bank: {sum(1 for e in entries if e['split'] == 'train')} train prompts, "
          f"{sum(1 for e in entries if e['split'] == 'unseen')} unseen prompts")
    if failures:
        for f in failures:
            print("FAIL:", f)
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
