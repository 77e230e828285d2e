"""Plain-text circuit drawings.

Examples:
    >>> from qtandem import Circuit
    >>> print(Circuit(2).h(0).cx(0, 1).measure_all().draw())
    q0: ─H──■──M────
            │  ║
    q1: ────X──╫──M─
               ║  ║
    c:  ═══════0══1═
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtandem.circuit.parameter import ParameterExpression, format_angle

if TYPE_CHECKING:
    from qtandem.circuit.circuit import Circuit
    from qtandem.circuit.instruction import Instruction

__all__ = ["draw_text"]

_TARGET_X = {"cx", "ccx", "mcx"}


def _angle(p: object) -> str:
    if isinstance(p, ParameterExpression):
        return p.to_text(pi_symbol=True)
    text = format_angle(float(p))  # type: ignore[arg-type]
    return text if len(text) <= 8 else f"{float(p):.4g}"  # type: ignore[arg-type]


def _duration(ns: float) -> str:
    """A delay's duration in the largest unit that keeps it >= 1 (``20ns``, ``1.5us``, ``2ms``)."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.4g}{unit}"
    return f"{ns:.4g}ns"


def _labels(inst: Instruction) -> dict[int, str]:
    """Symbol drawn on each qubit the instruction touches."""
    name, qs = inst.name, inst.qubits
    if name == "delay":  # one label per qubit, no connector: the qubits idle side by side
        return dict.fromkeys(qs, f"delay({_duration(float(inst.params[0]))})")  # type: ignore[arg-type]
    nctrl = inst.ctrl
    base_ctrl = {"cx": 1, "cy": 1, "cz": 1, "ch": 1, "csx": 1, "crx": 1, "cry": 1, "crz": 1, "cp": 1, "cu3": 1,
                 "cu": 1, "ccx": 2, "ccz": 2, "cswap": 1, "c3sqrtx": 3, "mcx": len(qs) - 1 - inst.ctrl}.get(name, 0)
    total_ctrl = nctrl + base_ctrl
    out = dict.fromkeys(qs[:total_ctrl], "■")
    targets = qs[total_ctrl:]
    params = f"({','.join(_angle(p) for p in inst.params)})" if inst.params else ""
    core = name[1:] if base_ctrl and name.startswith("c") else name
    if name in _TARGET_X:
        core = "x"
    if name == "mcx":
        core = "x"
    if core == "x" and not params and not inst.inverted:
        sym = "X"
    elif name in ("swap", "cswap"):
        sym = "x"
    elif name == "barrier":
        sym = "░"
    elif name == "reset":
        sym = "|0>"
    elif name == "measure":
        sym = "M"
    else:
        sym = (core.upper() if len(core) <= 2 and not params else core) + params
        if inst.inverted:
            sym += "†"
    if name in {"cz", "ccz"}:
        sym = "■"
    for i, q in enumerate(targets):
        out[q] = sym if len(targets) == 1 or name in ("swap", "cswap", "barrier", "cz", "ccz") else f"{sym}_{i}"
    return out


def draw_text(circuit: Circuit, *, max_width: int = 120) -> str:
    """Draw ``circuit`` as text: one wire per qubit, a ``c`` wire for classical bits.

    Gates occupy columns; a gate spanning several qubits draws ``│`` across the
    wires in between; measurement writes the classical bit index on the ``c`` wire.
    A ``delay`` shows its duration on each qubit it covers (``delay(1.5us)``).
    Long circuits wrap at ``max_width`` characters.

    Examples:
        >>> from qtandem import Circuit
        >>> print(draw_text(Circuit(2).h(0).cx(0, 1)))
        q0: ─H──■─
                │
        q1: ────X─
    """
    n = circuit.n_qubits
    has_c = circuit.n_clbits > 0
    rows = 2 * n + (1 if has_c else 0)
    columns: list[list[str]] = []  # each column is a list of cells (one per row)
    level = [0] * n
    placed: list[tuple[int, dict[int, str], Instruction]] = []
    for inst in circuit:
        lo, hi = (min(inst.qubits), max(inst.qubits)) if inst.qubits else (0, n - 1)
        span = range(lo, hi + 1)
        if inst.name == "measure" or inst.condition is not None:
            span = range(lo, n)
        col = max((level[q] for q in span), default=0)
        for q in span:
            level[q] = col + 1
        placed.append((col, _labels(inst), inst))
    ncols = max(level, default=0)
    for _ in range(ncols):
        columns.append([""] * rows)
    for col, labels, inst in placed:
        cells = columns[col]
        for q, s in labels.items():
            cells[2 * q] = s
        lo, hi = (min(inst.qubits), max(inst.qubits)) if inst.qubits else (0, 0)
        for q in range(lo, hi):
            if inst.name not in ("barrier", "delay"):
                cells[2 * q + 1] = "│"
                if q + 1 < hi and 2 * (q + 1) not in [2 * k for k in labels]:
                    cells[2 * (q + 1)] = "┼"
        if inst.name == "measure" and has_c:
            q = inst.qubits[0]
            for r in range(2 * q + 1, rows - 1):
                if not cells[r]:
                    cells[r] = "║" if r % 2 else "╫"
            cells[rows - 1] = str(inst.clbits[0])
        if inst.condition is not None and has_c:
            cells[rows - 1] = f"if={inst.condition[1]}"
    names = [f"q{q}:" for q in range(n)]
    width_name = max([len(s) for s in names] + ([3] if has_c else [1]))
    lines = [""] * rows
    for r in range(rows):
        if r % 2 == 0 and r // 2 < n:
            lines[r] = names[r // 2].ljust(width_name) + " "
        elif has_c and r == rows - 1:
            lines[r] = "c:".ljust(width_name) + " "
        else:
            lines[r] = " " * (width_name + 1)
    chunks: list[list[str]] = [lines[:]]
    for cells in columns:
        w = max([len(c) for c in cells] + [1])
        if len(chunks[-1][0]) > len(lines[0]) and len(chunks[-1][0]) + w + 2 > max_width:
            chunks.append(lines[:])  # fold before a column that would pass max_width
        for r in range(rows):
            c = cells[r]
            wire_row = r % 2 == 0 and r // 2 < n
            c_row = has_c and r == rows - 1
            if wire_row:
                txt = "─" + c.center(w, "─") + "─"
            elif c_row:
                txt = "═" + c.center(w, "═") + "═"
            else:
                txt = " " + c.center(w) + " "
            chunks[-1][r] += txt
    def finish(chunk: list[str]) -> str:
        return "\n".join(line if (r % 2 == 0 or r == rows - 1) else line.rstrip() for r, line in enumerate(chunk))

    text = "\n\n".join(finish(ch) for ch in chunks)
    return text
