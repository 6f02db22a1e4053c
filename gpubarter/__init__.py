"""GPU Barter: data pays for GPU compute."""
