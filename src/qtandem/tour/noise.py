"""Tour section of noise and devices: a GHZ state on a preset device."""

from __future__ import annotations

import numpy as np
import torch

import qtandem
from qtandem import Circuit, PauliSum
from qtandem.device import Device
from qtandem.device.plot import draw_device
from qtandem.noise.density import density_matrix, dm_expectation
from qtandem.report import Section
from qtandem.tour import TourContext, register


def _ghz(n: int, echoes: int) -> Circuit:
    """GHZ on a line in the device's native gates, then ``echoes`` rounds of (cx chain, its inverse)."""
    c = Circuit(n)
    c.rz(np.pi / 2, 0).sx(0).rz(np.pi / 2, 0)  # = h up to a global phase
    for q in range(n - 1):
        c.cx(q, q + 1)
    for _ in range(echoes):
        for q in reversed(range(n - 1)):
            c.cx(q, q + 1)
        for q in range(n - 1):
            c.cx(q, q + 1)
    return c


@register("Noise and devices: GHZ on a preset device", order=20)
def noise_section(section: Section, ctx: TourContext) -> None:
    """Fidelity and parity decay with depth; noisy against ideal histograms."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dev = Device.preset("line_5")
    model = dev.noise_model()
    n = 5
    section.text(f"Device preset {dev.name}: {dev.description}. {dev.source}")
    fig = draw_device(dev)
    section.figure(fig, "noise_device", "Coupling map; colours show readout and two-qubit gate errors.")

    ctx.progress("GHZ decay with depth")
    ideal = qtandem.statevector(_ghz(n, 0)).numpy()
    parity = PauliSum.from_string(" ".join(f"X{q}" for q in range(n)))
    depths, fids, pars = [], [], []
    for echoes in range(5 if ctx.quick else 9):
        c = _ghz(n, echoes)
        rho = density_matrix(c, noise=model).numpy()
        depths.append(c.depth())
        fids.append(float(np.real(ideal.conj() @ rho @ ideal)))
        pars.append(float(dm_expectation(torch.as_tensor(rho), parity)))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(depths, fids, "o-", label="fidelity with ideal GHZ")
    ax.plot(depths, pars, "s-", label="parity <X...X>")
    ax.set_xlabel("circuit depth (GHZ + echo layers)")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"GHZ-{n} on {dev.name}: decay with depth (exact density matrices)")
    section.figure(fig, "noise_decay", "Fidelity and GHZ parity against depth under the device's noise model.")
    section.table(["depth", "fidelity", "parity"], [[d, f, p] for d, f, p in zip(depths, fids, pars, strict=True)])

    ctx.progress("noisy sampling")
    meas = _ghz(n, 2)
    meas_m = Circuit(n, n).compose(meas).measure(range(n), range(n))
    shots = 4000
    ideal_counts = qtandem.sample(meas_m, shots=shots, seed=ctx.seed).counts
    noisy = qtandem.sample(meas_m, shots=shots, seed=ctx.seed, noise=model, method="density").counts
    traj = qtandem.sample(meas_m, shots=shots, seed=ctx.seed, noise=model, method="trajectories").counts
    keys = sorted(set(ideal_counts) | set(noisy) | set(traj), key=lambda k: -noisy.get(k, 0))[:12]
    x = np.arange(len(keys))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.bar(x - 0.27, [ideal_counts.get(k, 0) for k in keys], 0.27, label="ideal")
    ax.bar(x, [noisy.get(k, 0) for k in keys], 0.27, label="noisy (density matrix)")
    ax.bar(x + 0.27, [traj.get(k, 0) for k in keys], 0.27, label="noisy (trajectories)")
    ax.set_xticks(x, keys, rotation=45)
    ax.set_ylabel(f"counts of {shots}")
    ax.legend()
    ax.set_title("GHZ-5 with 2 echo rounds: ideal against noisy samples (readout errors included)")
    section.figure(fig, "noise_histograms", "The two noisy methods agree; errors spread weight off 00000/11111.")
    good = {name: (c.get("0" * n, 0) + c.get("1" * n, 0)) / shots
            for name, c in (("ideal", ideal_counts), ("density", noisy), ("trajectories", traj))}
    section.table(["method", "P(00000) + P(11111)"], [[k, v] for k, v in good.items()])
