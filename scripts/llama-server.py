"""Runs llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server ARGS...`) with
llama.cpp's extra weight buffer types turned off.

Why: a venv built with GGML_NATIVE on a CPU that reports AMX gets llama.cpp's AMX matrix kernels,
and on virtual machines that do not enable the AMX register state (this project's 2-core VM is
one) the first generation dies with SIGILL (`tilezero`). The extra buffer types (AMX, weight
repacking) only make generation faster; the server answers the same without them.

Also OpenMP threads wait passively: spinning at barriers on a busy 2-core machine (tests, builds
and this server side by side) made the first generation take 4-19 s instead of 0.1 s.
"""
import os
import sys

# Read by libgomp when it loads, so before llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp.llama_cpp as llama_lib  # noqa: E402

_default_model_params = llama_lib.llama_model_default_params


def _model_params():
    params = _default_model_params()
    params.use_extra_bufts = False
    return params


llama_lib.llama_model_default_params = _model_params

from llama_cpp.server.__main__ import main  # noqa: E402  (after the patch, on purpose)

sys.argv[0] = "llama_cpp.server"
main()
