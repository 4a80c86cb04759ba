#!/usr/bin/env bash
# Writes a ~1 MB English text for tokenizer benchmarks and prints its path. Sources present on
# every Debian machine with Python: the Python documentation topics (pydoc_data, ~0.7 MB of prose
# with code examples) and the license texts in /usr/share/common-licenses, in a fixed order, so
# the text is the same on every run. Cached in .cache/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.cache/bench/english-1mb.txt
if [ ! -s "$out" ]; then
  mkdir -p "$(dirname "$out")"
  python3 - "$out" <<'PY'
import glob, os, sys
from pydoc_data.topics import topics
parts = [topics[key] for key in sorted(topics)]
for path in sorted(glob.glob("/usr/share/common-licenses/*")):
    if os.path.isfile(path) and not os.path.islink(path):
        parts.append(open(path, encoding="utf-8", errors="replace").read())
text = "\n\n".join(parts)
target = 1_000_000
while len(text.encode()) < target:  # only if the sources are smaller than usual
    text += "\n\n" + text
data = text.encode()[:target]
data = data.decode("utf-8", errors="ignore").encode()  # never cut a character in half
open(sys.argv[1], "wb").write(data)
PY
fi
echo "$out"
