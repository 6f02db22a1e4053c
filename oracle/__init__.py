"""The NVML metering oracle (see issue: metering)."""
