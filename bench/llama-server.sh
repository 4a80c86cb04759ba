#!/usr/bin/env bash
# Prints the path of llama.cpp's `llama-server` (the peer of bench/serving.sh), building it on
# first use. The source is the llama.cpp tree vendored in llama-cpp-python's source distribution
# on PyPI, the same version bench/llamacpp-venv.sh builds, so both peers are one llama.cpp; no
# GitHub download. Building takes minutes on 2 cores, so the binary is cached outside the clone
# (POPI_LLAMA_SERVER_DIR, default ~/.cache/popi/llama-server-<version>) and reused on this machine.
set -euo pipefail
VERSION=0.3.36
dir=${POPI_LLAMA_SERVER_DIR:-$HOME/.cache/popi/llama-server-$VERSION}
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/.complete" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "building llama-server from llama-cpp-python $VERSION into $dir (several minutes, once per machine)" >&2
  # cmake and ninja from PyPI build llama.cpp, and on the PATH they spare pip from fetching them
  # again to prepare the sdist's metadata. Only llama-cpp-python is taken as source: with
  # `--no-binary :all:` pip would also compile the build backend's own cmake from source.
  python3 -m venv "$dir/tools" >&2
  "$dir/tools/bin/pip" install --quiet cmake ninja >&2
  export PATH="$dir/tools/bin:$PATH"
  pip download --quiet --no-deps --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -d "$dir/sdist" >&2
  tar -xzf "$dir/sdist/llama_cpp_python-$VERSION.tar.gz" -C "$dir/sdist"
  # One static binary (no libllama.so beside it), so the build tree can go. Native code like
  # bench/llamacpp-venv.sh; curl only fetches models by URL, which the benchmark never does.
  cmake -S "$dir/sdist/llama_cpp_python-$VERSION/vendor/llama.cpp" -B "$dir/build" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF >&2
  cmake --build "$dir/build" --target llama-server >&2
  cp "$dir/build/bin/llama-server" "$dir/llama-server"
  rm -rf "$dir/build" "$dir/sdist" "$dir/tools"
  touch "$dir/.complete"
fi
echo "$dir/llama-server"
