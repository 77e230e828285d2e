"""Optimization passes, one per module; each has ``run(circuit, props) -> Circuit``."""
