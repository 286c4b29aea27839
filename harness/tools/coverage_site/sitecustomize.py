"""Starts shm_line_tracer in processes the Python agent starts (CPython's resource tracker) when
shm-harness --py-coverage asked for it (SHM_AGENT_COVERAGE set)."""

import shm_line_tracer

shm_line_tracer.start()
