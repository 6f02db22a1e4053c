"""Test support: a fake ``libnvidia-ml.so.1`` compiled from C, so tests drive real pynvml."""
