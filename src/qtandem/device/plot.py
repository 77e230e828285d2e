"""Drawing a device: coupling map coloured by error rates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx

from qtandem.device.device import Device

__all__ = ["draw_device"]


def draw_device(device: Device, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """Draw the coupling map: nodes coloured by readout error, edges by two-qubit gate error.

    Args:
        device: the device.
        path: save the figure as PNG here (atomically) when given.
        ax: an existing matplotlib axes.

    Returns:
        The matplotlib figure.

    Examples:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from qtandem.device import Device
        >>> fig = draw_device(Device.preset("heavy_hex_27"))
        >>> len(fig.axes) >= 1
        True
        >>> import matplotlib.pyplot as plt; plt.close(fig)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 6))
    g = device.coupling_map
    stored = device.extra.get("positions") if isinstance(device.extra, dict) else None
    if stored and len(stored) == device.num_qubits:
        pos = {int(q): tuple(xy) for q, xy in stored.items()}
    else:
        pos = nx.kamada_kawai_layout(g) if g.number_of_nodes() > 2 else nx.spring_layout(g, seed=1)
    node_err = [(q.readout_p01 + q.readout_p10) / 2 for q in device.qubits]
    edges = list(g.edges())
    edge_err = [device.edges[(min(e), max(e))].error for e in edges]
    ec = nx.draw_networkx_edges(g, pos, ax=ax, edgelist=edges, edge_color=edge_err, edge_cmap=plt.cm.viridis_r,
                                width=4)
    nc = nx.draw_networkx_nodes(g, pos, ax=ax, node_color=node_err, cmap=plt.cm.YlOrRd, node_size=420,
                                edgecolors="black")
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=8, font_color="black")
    fig.subplots_adjust(bottom=0.2)
    cbar = fig.colorbar(nc, cax=fig.add_axes((0.08, 0.08, 0.38, 0.03)), orientation="horizontal",
                        label="node: readout error (mean of p01, p10)")
    cbar.ax.locator_params(nbins=5)
    if edges:
        fig.colorbar(ec, cax=fig.add_axes((0.56, 0.08, 0.38, 0.03)), orientation="horizontal",
                     label="edge: two-qubit gate error")
    ax.set_title(f"{device.name}: {device.num_qubits} qubits, {len(edges)} couplings")
    ax.set_axis_off()
    if path is not None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp.png")
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        tmp.replace(path)
    return fig
