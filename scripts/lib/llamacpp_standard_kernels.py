"""Imported first, before anything else of llama_cpp, by the scripts that run llama.cpp through
llama-cpp-python: turns off llama.cpp's extra weight buffer types and makes OpenMP threads wait
passively.

Why: a venv built with GGML_NATIVE on a CPU that reports AMX gets llama.cpp's AMX matrix kernels,
and on virtual machines that do not enable the AMX register state (this project's 2-core VM is
one) the first evaluation dies with SIGILL (`tilezero`). The extra buffer types (AMX, weight
repacking) only make llama.cpp faster; it computes the same without them, with the standard
kernels the reference fixtures were made with.

OpenMP threads spinning at barriers on a busy 2-core machine (tests, builds and llama.cpp side by
side) made the first generation take 4-19 s instead of 0.1 s.
"""
import os

# Read by libgomp when it loads, so before llama_cpp is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import llama_cpp.llama_cpp as llama_lib  # noqa: E402

_default_model_params = llama_lib.llama_model_default_params


def _model_params():
    params = _default_model_params()
    params.use_extra_bufts = False
    return params


# llama_cpp.Llama and the server read the defaults through this module attribute.
llama_lib.llama_model_default_params = _model_params
