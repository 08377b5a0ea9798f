"""Engine version: bump whenever the same inputs and seed could give different outputs."""

ENGINE_VERSION = "1.3.0"
