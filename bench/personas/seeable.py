"""Keeps the users of a split whose every preference the generator can see.

POPI's reward r(s) is computed by the generator; on a preference it cannot tell apart, r(s)
rewards noise. `bench/reading.sh DATASET PAIRS` measures, per dimension of a labelled split,
how often the preferred side's sentence widens the preferred response's margin more than the
other side's sentence does (generator-contrast, 0.5 for a generator that cannot see the
difference). This keeps the users whose pairs all lie in dimensions at or above MIN by that
measurement; the choice comes from the training split's own reading, not from any list.

Usage: python3 bench/personas/seeable.py READING.txt MIN DATASET.jsonl > OUT.jsonl
(the kept and dropped dimensions and the user count go to standard error).
"""
import json
import sys


def seeable_dimensions(reading_path, minimum):
    seen, unseen = set(), set()
    for line in open(reading_path):
        parts = line.split()
        # "  dimension pairs describe generator" rows, after the summary line.
        if len(parts) == 4 and line.startswith("  "):
            (seen if float(parts[3]) >= minimum else unseen).add(parts[0])
    return seen, unseen


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[-1])
    seen, unseen = seeable_dimensions(sys.argv[1], float(sys.argv[2]))
    if not seen:
        sys.exit(f"no dimension in {sys.argv[1]} reaches {sys.argv[2]}")
    kept = total = 0
    for line in open(sys.argv[3]):
        user = json.loads(line)
        total += 1
        dimensions = {pair.get("dimension") for pair in user["signals"] + user["held_out"]}
        if dimensions <= seen:
            sys.stdout.write(line)
            kept += 1
    print(f"kept {kept} of {total} users; dimensions kept {sorted(seen)}, dropped {sorted(unseen)}", file=sys.stderr)


main()
