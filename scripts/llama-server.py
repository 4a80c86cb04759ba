"""Runs llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server ARGS...`) with
llama.cpp's extra weight buffer types turned off and passive OpenMP waits (see
lib/llamacpp_standard_kernels.py for why).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import llamacpp_standard_kernels  # noqa: E402,F401  (before the server, on purpose)

from llama_cpp.server.__main__ import main  # noqa: E402

sys.argv[0] = "llama_cpp.server"
main()
