#!/usr/bin/env bash
# Runs the README's code samples as a new user would, so they cannot drift from the code
# (`make readme-samples`; CI runs it after `make test`):
#   1. `make run` in the background, as written (embedded PostgreSQL, bundled model, a --dev key),
#      on a free port and its own data folder;
#   2. the walk-through's shell block with KEY and API set from that server; every curl fails
#      on an HTTP error status;
#   3. the openai SDK sample (Python, the SDK pinned by scripts/conformance-venv.sh);
#   4. the Training block, each command cut to one step or one user (--steps 1, --limit 1, ...)
#      so it runs in minutes (a dataset script it calls, python3 bench/..., runs as written);
#      the `--tenant acme` line trains on feedback posted for acme first.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/popi-server.sh
source scripts/lib/popi-server.sh
repo=$PWD
readme=README.md
work=$(mktemp -d /tmp/popi-readme.XXXXXX)
# As root the embedded PostgreSQL runs as the postgres user, which must reach its data folder.
chmod 755 "$work"
data=$work/data
run_pid=""
cleanup() {
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    pkill -TERM -P "$run_pid" 2>/dev/null || true
    kill -TERM "$run_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The fenced block of $readme whose language is $1 and whose text contains $2.
block() {
  python3 - "$readme" "$1" "$2" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
blocks = [b for lang, b in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M) if lang == sys.argv[2] and sys.argv[3] in b]
if len(blocks) != 1:
    sys.exit(f"readme-samples: expected one {sys.argv[2]} block containing {sys.argv[3]!r}, found {len(blocks)}")
sys.stdout.write(blocks[0])
EOF
}

walkthrough=$(block sh 'summary/refresh')
python_sample=$(block python 'from openai import OpenAI')
training=$(block sh 'popi train summarizer')

# 1. make run, as the walk-through's first line says (its release build may take minutes).
port=$(popi_free_port)
API=http://127.0.0.1:$port
grep -q '^make run ' <<<"$walkthrough" || { echo "readme-samples: the walk-through no longer starts with make run" >&2; exit 1; }
echo "== make run (port $port, data $data)"
make run DATA_DIR="$data" ARGS="--port $port" >"$work/run.log" 2>&1 &
run_pid=$!
popi_wait_ready "$API" "$run_pid" "$work/run.log" 900
KEY=$(sed -n 's/^development key (tenant "dev", scopes read,write,generate): \(popi_[A-Za-z0-9_]*\)$/\1/p' "$work/run.log" | tail -n 1)
[ -n "$KEY" ] || { echo "readme-samples: make run printed no development key" >&2; exit 1; }
export KEY API

# 2. The walk-through: its own KEY= and API= lines give way to the real ones.
echo "== walk-through"
sed -e '/^make run /d' -e '/^KEY=/d' -e '/^API=/d' -e 's/curl -s /curl -sS --fail-with-body /g' <<<"$walkthrough" \
  >"$work/walkthrough.sh"
(cd "$work" && bash -euo pipefail walkthrough.sh) | tee "$work/walkthrough.out"
grep -q '"personalized":true' "$work/walkthrough.out" || { echo "readme-samples: alice's generation was not personalized" >&2; exit 1; }

# 3. The openai SDK sample, with the key and address of this server.
echo "== openai SDK sample"
venv=$(scripts/conformance-venv.sh)
printf '%s\n' 'import os' 'KEY = os.environ["KEY"]' "${python_sample//"http://127.0.0.1:8080"/"$API"}" >"$work/sdk.py"
"$venv/bin/python" "$work/sdk.py"
echo

# 4. Training, in the folder layout the commands expect, each cut short.
echo "== training"
acme_key=$(.build/release/popi keys create --tenant acme --data-dir "$data")
python3 - "$API" "$acme_key" <<'EOF'
import json, sys, urllib.request
api, key = sys.argv[1], sys.argv[2]
with open("bench/personas/personas-train.jsonl") as f:
    users = [json.loads(next(f)) for _ in range(2)]
for user in users:
    events = [{"kind": "pair", **pair} for pair in (user["signals"] + user["held_out"])[:8]]
    request = urllib.request.Request(f"{api}/v1/users/{user['user_id']}/feedback", json.dumps({"events": events}).encode(),
                                     {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
EOF
pkill -TERM -P "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
run_pid=""
mkdir -p "$work/run" "$work/shared/bench"
ln -s "$repo/bench" "$work/run/bench"
ln -s "$repo/models" "$work/run/models"
public=$repo/../shared/bench/personas-public.jsonl
# A clone without ../shared has the public split's first two users as a test fixture.
[ -f "$public" ] || public=$repo/Tests/PersonalizationTests/Fixtures/personas-2.jsonl
ln -s "$public" "$work/shared/bench/personas-public.jsonl"
python3 - "$training" "$repo/.build/release/popi" >"$work/training.sh" <<'EOF'
import sys
shorter = {"train summarizer": "--steps 1 --warmup-steps 0 --users-per-step 1 --group-size 2 --summary-tokens 48",
           "train generator": "--steps 1 --pairs-per-step 2",
           "eval": "--limit 1 --generations 1"}
for command in sys.argv[1].replace("\\\n", " ").splitlines():
    command = command.split(" # ")[0].strip()
    if not command or command.startswith("#"):
        continue
    # A dataset script that the next commands read runs as written.
    if command.startswith("python3 bench/"):
        print(command)
        continue
    assert command.startswith("popi "), command
    extra = next(flags for verb, flags in shorter.items() if command.startswith("popi " + verb))
    # The last value of a repeated option counts: 2 set-aside users instead of the sample's 16.
    if "--validation-users" in command:
        extra += " --validation-users 2"
    # A contrast needs a next user in the step.
    if "--contrast" in command:
        extra += " --users-per-step 2"
    print(f"{sys.argv[2]}{command[4:]} {extra}")
EOF
cat "$work/training.sh"
(cd "$work/run" && POPI_DATA_DIR="$data" bash -euo pipefail ../training.sh)
echo "readme-samples: every README sample ran"
