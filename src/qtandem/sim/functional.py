"""One batched, differentiable entry point: :func:`run_batched`.

``circuit + parameter values (+ noise) -> states, probabilities, samples or
expectation values``, with the gradient method as an argument. It is what
:class:`qtandem.hybrid.QuantumLayer` calls, once per forward pass.

How it runs. qtandem parameters are linear, so every parametrised gate angle is
an *occurrence* ``theta_j = c_j + A[j] . params``; the circuit is compiled once
into that map (cached) and the occurrences are computed in torch, so gradients
reach every parameter. A parameter given as a scalar is the same for every row
of the batch: gates whose angles depend only on such parameters stay
un-batched ``(d, d)`` matrices, fused into 4-qubit blocks and applied to the
``(B, 2**n)`` state by broadcast matmuls; only the gates that read batched
parameters (typically a data encoder's) are per-row.

Gradients (``diff_method``):

* ``"backprop"`` -- autograd through the fused blocks; fastest; memory grows
  with depth (one state per fused block).
* ``"adjoint"`` -- :func:`qtandem.sim.adjoint.blocks_adjoint_expval`: a constant
  number of extra state vectors at any depth, about 1.5-2x the time of backprop.
* ``"parameter-shift"`` and ``"spsa"`` -- :mod:`qtandem.sim.gradients`: forward
  evaluations only, so they also work with ``shots=`` and ``noise=``.

Examples:
    >>> import torch, qtandem
    >>> from qtandem import Circuit, Parameter
    >>> x, w = Parameter("x"), Parameter("w")
    >>> c = Circuit(2).ry(x, 0).ry(w, 1).cx(0, 1)
    >>> xs = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)   # batched: one value per row
    >>> weight = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)   # shared by all rows
    >>> out = run_batched(c, {"x": xs, "w": weight}, observables=["Z0", "Z0 Z1"])
    >>> out.shape
    torch.Size([3, 2])
    >>> out.sum().backward()
    >>> round(float(weight.grad), 6)     # <Z0 Z1> = cos(w) on each of 3 rows: -3 sin(0.5)
    -1.438277
    >>> run_batched(c, {"x": xs, "w": weight}, observables=["Z0"], diff_method="parameter-shift").shape
    torch.Size([3, 1])
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import controlled_matrix, gate_matrix
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter, ParameterExpression
from qtandem.circuit.pauli import PauliSum
from qtandem.errors import ParameterError, SimulationError
from qtandem.random import Seed, as_generator
from qtandem.sim.adjoint import blocks_adjoint_expval
from qtandem.sim.core import ParamSpec, apply_ops, fuse_ops, instruction_matrix, named_values
from qtandem.sim.expectation import pauli_expectation_many
from qtandem.sim.gradients import check_shift_rules, shift_expval
from qtandem.sim.memory import check_memory, state_bytes

__all__ = ["DIFF_METHODS", "OUTPUTS", "check_options", "run_batched"]

Tensor = torch.Tensor
Op = tuple[tuple[int, ...], Tensor]
DIFF_METHODS = ("backprop", "adjoint", "parameter-shift", "spsa")
OUTPUTS = ("state", "probs", "samples", "expval")
#: rows of shifted circuits evaluated at once are bounded by states of this many bytes
_EVAL_CHUNK_BYTES = 256 * 2**20
_PROGRAM_CACHE_SIZE = 32


class _Program:
    """A gate-only circuit as occurrences ``theta = const + coef @ params`` and a flat twin.

    ``flat`` is the circuit with occurrence ``j`` replaced by parameter ``t{j}``
    (coefficient one), so the simulator's own :func:`instruction_matrix` and the
    density-matrix engine evaluate it from a ``(.., O)`` tensor of occurrences.
    """

    def __init__(self, circuit: Circuit) -> None:
        self.n = circuit.n_qubits
        self.names = [p.name for p in circuit.parameters]
        col = {name: i for i, name in enumerate(self.names)}
        consts: list[float] = []
        rows: list[list[tuple[int, float]]] = []
        self.flat = Circuit(self.n)
        self.gate_occ: list[tuple[int, ...]] = []  # occurrence columns of each flat gate
        self.occ_gate: list[tuple[str, int]] = []  # (gate name, ctrl) of each occurrence
        raw_slots: list[list[tuple[str, Any]]] = []
        for index, inst in enumerate(circuit):
            if inst.name in ("barrier", "delay"):
                continue
            if not inst.is_gate or inst.condition is not None:
                raise SimulationError(f"run_batched simulates gates only; instruction {index} is {inst.label} "
                                      "(measurement, reset or classical control)")
            params: list[Any] = []
            occ: list[int] = []
            slots: list[Any] = []  # per angle: ("occ", j) or ("const", value)
            for a in inst.params:
                if isinstance(a, ParameterExpression) and a.terms:
                    slots.append(("occ", len(consts)))
                    occ.append(len(consts))
                    params.append(Parameter(f"t{len(consts)}"))
                    consts.append(a.const)
                    rows.append([(col[p.name], c) for p, c in a.terms.items()])
                    self.occ_gate.append((inst.name, inst.ctrl))
                else:
                    slots.append(("const", float(a)))
                    params.append(float(a))
            self.flat.append(inst.replace(params=tuple(params)))
            self.gate_occ.append(tuple(occ))
            raw_slots.append(slots)
        self.n_occ = len(consts)
        # angles of parametrised gates index [occurrences, angle_consts]
        extra: list[float] = []
        self.gate_slots: list[list[int]] = []
        for slots in raw_slots:
            row = []
            for kind, v in slots:
                if kind == "occ":
                    row.append(v)
                else:
                    row.append(self.n_occ + len(extra))
                    extra.append(v)
            self.gate_slots.append(row)
        self.angle_consts = torch.tensor(extra, dtype=torch.float64)
        self._group_cache: dict[tuple[Any, ...], dict[tuple[Any, ...], tuple[list[int], list[Tensor]]]] = {}
        self.flat_index = {f"t{j}": j for j in range(self.n_occ)}
        self.const = torch.tensor(consts, dtype=torch.float64)
        self.coef = torch.zeros(self.n_occ, len(self.names), dtype=torch.float64)
        for j, row in enumerate(rows):
            for i, c in row:
                self.coef[j, i] += c
        self._fixed: dict[tuple[int, torch.dtype, Any], Tensor] = {}
        self._maps: dict[tuple[Any, ...], tuple[Tensor, Tensor, Tensor, Tensor, list[bool]]] = {}

    def occurrences(self, shared: Tensor, batched: Tensor | None, bcols: tuple[int, ...]) -> tuple[
            Tensor, Tensor | None, list[bool]]:
        """``(shared (O,), batched (B, O) or None, per occurrence: reads a batched parameter)``.

        ``shared`` holds the scalar parameters (in column order, batched ones left out);
        ``batched`` the ``(B, len(bcols))`` values of the batched columns ``bcols``.
        """
        key = (bcols, shared.dtype, shared.device)
        maps = self._maps.get(key)
        if maps is None:
            scols = [i for i in range(len(self.names)) if i not in set(bcols)]
            coef = self.coef.to(dtype=shared.dtype, device=shared.device)
            a_b = coef[:, list(bcols)]
            mask = (a_b != 0).any(dim=1)
            maps = (self.const.to(coef), coef[:, scols], a_b.T.contiguous(), mask, mask.tolist())
            self._maps[key] = maps
        const, a_s, a_b_t, _, mask_list = maps
        occ_s = const + a_s @ shared if a_s.shape[1] else const
        if batched is None:
            return occ_s, None, [False] * self.n_occ
        return occ_s, occ_s + batched @ a_b_t, mask_list

    def ops(self, occ_s: Tensor | None, occ_b: Tensor | None, mask: list[bool], dtype: torch.dtype,
            device: Any) -> list[Op]:
        """Gate matrices: ``(d, d)`` where every angle is shared, ``(B, d, d)`` where one is batched.

        Parametrised gates of one kind are built together: one registry call per kind
        and per shared/batched, with their angles gathered from the occurrences.
        """
        mats: list[Tensor | None] = [None] * len(self.gate_occ)
        for k, occ in enumerate(self.gate_occ):
            if not occ:
                key = (k, dtype, device)
                mat = self._fixed.get(key)
                if mat is None:
                    mat = self._fixed[key] = _matrix(self.flat[k], ParamSpec(None, None, {}), dtype, device)
                mats[k] = mat
        for (batched, name, width, inverted, ctrl), (members, gather) in self._groups(mask, occ_s is None).items():
            src = occ_b if batched else occ_s
            assert src is not None
            lead = src.shape[:-1]
            ext = torch.cat([src, self.angle_consts.to(src).expand(*lead, -1)], dim=-1)
            angles = [ext[..., g.to(ext.device)] for g in gather]  # each (.., len(members))
            m = gate_matrix(name, angles, num_qubits=width, dtype=dtype, device=device)
            if inverted:
                m = m.conj().transpose(-1, -2)
            if ctrl:
                m = controlled_matrix(m, ctrl)
            for pos, k in enumerate(members):
                mats[k] = m[..., pos, :, :]
        return [(inst.qubits, mat) for inst, mat in zip(self.flat, mats, strict=True) if mat is not None]

    def _groups(self, mask: list[bool], all_batched: bool) -> dict[tuple[Any, ...], tuple[list[int], list[Tensor]]]:
        """``(batched, name, width, inverted, ctrl) -> (gate indices, per angle slot: gather indices)``.

        Gather indices point into ``[occurrences, angle_consts]``.
        """
        key = (all_batched, tuple(mask))
        groups = self._group_cache.get(key)
        if groups is not None:
            return groups
        members: dict[tuple[Any, ...], list[int]] = {}
        for k, occ in enumerate(self.gate_occ):
            inst = self.flat[k]
            if not occ:
                continue
            batched = all_batched or any(mask[j] for j in occ)
            members.setdefault((batched, inst.name, len(inst.qubits) - inst.ctrl, inst.inverted, inst.ctrl),
                               []).append(k)
        groups = {}
        for gkey, idx in members.items():
            slots = len(self.gate_slots[idx[0]])
            gather = [torch.tensor([self.gate_slots[k][j] for k in idx], dtype=torch.long) for j in range(slots)]
            groups[gkey] = (idx, gather)
        self._group_cache[key] = groups
        return groups


def _matrix(inst: Instruction, spec: ParamSpec, dtype: torch.dtype, device: Any) -> Tensor:
    if inst.name == "mcx":
        return controlled_matrix(gate_matrix("x", (), dtype=dtype, device=device), len(inst.qubits) - 1)
    return instruction_matrix(inst, spec, dtype=dtype, device=device)


_PROGRAMS: OrderedDict[tuple[Any, ...], _Program] = OrderedDict()


def _program(circuit: Circuit) -> _Program:
    """The compiled :class:`_Program` of ``circuit`` (cached by its instructions)."""
    key = (circuit.n_qubits, tuple(circuit))
    prog = _PROGRAMS.get(key)
    if prog is None:
        prog = _PROGRAMS[key] = _Program(circuit)
        if len(_PROGRAMS) > _PROGRAM_CACHE_SIZE:
            _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(key)
    return prog


def check_options(circuit: Circuit, *, output: str = "expval", diff_method: str = "backprop",
                  shots: int | None = None, noise: Any = None) -> None:
    """Raise a clear error for a combination :func:`run_batched` cannot run.

    Raises:
        ParameterError: unknown ``output`` / ``diff_method``, bad ``shots``, or a
            method that cannot differentiate the requested output (finite shots by
            backprop, noise by adjoint, a gate without a shift rule...).
        SimulationError: the circuit measures, resets or has classical control.
        NoiseError: ``noise`` is not a noise model.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> c = Circuit(1).rx(Parameter("a"), 0)
        >>> check_options(c, diff_method="adjoint")            # fine: returns None
        >>> check_options(c, output="amplitudes")
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: ...
        >>> check_options(c, shots=100, diff_method="backprop")
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: finite shots are not differentiable by backprop: use ...
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    if diff_method not in DIFF_METHODS:
        raise ParameterError(f"diff_method must be one of {DIFF_METHODS}, got {diff_method!r}")
    if output not in OUTPUTS:
        raise ParameterError(f"output must be one of {OUTPUTS}, got {output!r}")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1):
        raise ParameterError(f"shots must be a positive integer or None, got {shots!r}")
    if shots is not None and diff_method in ("backprop", "adjoint") and output == "expval":
        raise ParameterError(f"finite shots are not differentiable by {diff_method}: use "
                             "diff_method='parameter-shift' or 'spsa'")
    if noise is not None:
        from qtandem.sim.sampling import as_noisy_simulation

        as_noisy_simulation(noise)  # a clear NoiseError for anything that is not a noise model
    if noise is not None and diff_method == "adjoint":
        raise ParameterError("adjoint differentiation needs unitary circuits; with noise use backprop, "
                             "parameter-shift or spsa")
    if noise is not None and output == "state":
        raise ParameterError("a noisy circuit has no state vector: ask for output='probs' or 'expval'")
    if diff_method in ("adjoint", "parameter-shift", "spsa") and output != "expval":
        raise ParameterError(f"diff_method={diff_method!r} differentiates expectation values; output "
                             f"{output!r} needs backprop")
    if diff_method == "parameter-shift":
        check_shift_rules(_program(circuit).occ_gate)


def _split_params(prog: _Program, params: Any, real: torch.dtype | None) -> tuple[Tensor, Tensor | None,
                                                                                   tuple[int, ...]]:
    """``(shared (P_s,), batched (B, P_b) or None, batched columns)`` from a mapping or a tensor."""
    names = prog.names
    if params is None:
        params = {}
    if isinstance(params, Mapping):
        vals = [v if isinstance(v, Tensor) else torch.as_tensor(np.asarray(v, dtype=float)) for v in
                named_values(params, names)]
        if real is None:
            real = next((v.dtype for v in vals if v.is_floating_point()), torch.float64)
        bad = [(nm, v) for nm, v in zip(names, vals, strict=True) if v.dim() > 1]
        if bad:
            raise ParameterError(f"parameter values must be scalars (shared) or (batch,) tensors, got shape "
                                 f"{tuple(bad[0][1].shape)} for {bad[0][0]!r}")
        bcols = tuple(i for i, v in enumerate(vals) if v.dim() == 1)
        sizes = sorted({int(vals[i].shape[0]) for i in bcols})
        if len(sizes) > 1:
            raise ParameterError(f"batched parameters have different sizes {sizes}")
        scalars = [vals[i].to(real) for i in range(len(vals)) if i not in set(bcols)]
        device = vals[0].device if vals else None
        shared = torch.stack(scalars) if scalars else torch.zeros(0, dtype=real, device=device)
        batched = torch.stack([vals[i].to(real) for i in bcols], dim=1) if bcols else None
        return shared, batched, bcols
    values = params if isinstance(params, Tensor) else torch.as_tensor(np.asarray(params, dtype=float))
    if real is not None or not values.is_floating_point():
        values = values.to(real or torch.float64)
    if values.dim() not in (1, 2) or values.shape[-1] != len(names):
        raise ParameterError(f"params has shape {tuple(values.shape)}; expected ({len(names)},) or "
                             f"(batch, {len(names)}) for parameters {names}")
    if values.dim() == 1:
        return values, None, ()
    return values.new_zeros(0), values, tuple(range(len(names)))


def _product_prefix(ops: list[Op], n: int, b: int, dtype: torch.dtype, device: Any) -> tuple[Tensor, list[Op]]:
    """Start from ``|0...0>``: one-qubit gates before any multi-qubit gate on their qubit make a
    product state, built directly (``B * 2**n`` work instead of one pass per gate); the rest remain.
    """
    local: dict[int, Tensor] = {}
    blocked: set[int] = set()
    rest = []
    for qubits, mat in ops:
        if len(qubits) == 1 and qubits[0] not in blocked:
            q = qubits[0]
            v = local.get(q)
            local[q] = mat[..., :, 0] if v is None else (mat @ v.unsqueeze(-1)).squeeze(-1)
        else:
            blocked.update(qubits)
            rest.append((qubits, mat))
    zero = torch.tensor([1, 0], dtype=dtype, device=device)
    state = torch.ones(b, 1, dtype=dtype, device=device)
    for q in range(n - 1, -1, -1):  # qubit n-1 is the most significant bit
        v = local.get(q, zero).to(dtype)
        v = v.expand(b, 2) if v.dim() == 1 else v
        state = (state.unsqueeze(-1) * v.unsqueeze(1)).reshape(b, -1)
    return state, rest


def _state(prog: _Program, occ_s: Tensor | None, occ_b: Tensor | None, mask: list[bool], init: Tensor | None,
           b: int, dtype: torch.dtype, device: Any) -> Tensor:
    n = prog.n
    check_memory(state_bytes(n, dtype, b) * 3, f"run_batched state of {n} qubits, batch {b}", device)
    ops = prog.ops(occ_s, occ_b, mask, dtype, device)
    if init is None:
        state, ops = _product_prefix(ops, n, b, dtype, device)
    else:
        state = init
    return apply_ops(state, ops, n)


def _density(prog: _Program, occ: Tensor, init: Tensor | None, noise: Any, dtype: torch.dtype) -> Tensor:
    from qtandem.sim.sampling import as_noisy_simulation  # sim does not import noise: the model runs itself

    if init is not None:
        raise SimulationError("noisy run_batched starts from |0...0>; a batched initial_state (amplitude "
                              "encoding) is not supported with noise=")
    return as_noisy_simulation(noise).density_matrix(prog.flat, occ, initial_state=None, dtype=dtype,
                                                     device=occ.device)


def _expectations(state: Tensor, observables: list[PauliSum], density: bool, shots: int | None,
                  rng: np.random.Generator | None) -> Tensor:
    """``(B, m)`` expectation values; with ``shots``, each Pauli term estimated from that many shots."""
    from qtandem.sim.expectation import dm_expectation

    def exact(obs: list[PauliSum]) -> Tensor:
        if density:
            return torch.stack([dm_expectation(state, o).real for o in obs], dim=-1)
        return pauli_expectation_many(state, obs).real

    if shots is None:
        return exact(observables)
    assert rng is not None
    cols = []
    for o in observables:
        vals = exact([PauliSum({word: 1.0}) for _, word in o.terms])
        p_plus = ((1 + vals.detach().double().cpu().numpy()) / 2).clip(0, 1)
        est = torch.as_tensor(2 * rng.binomial(shots, p_plus) / shots - 1, dtype=vals.dtype, device=vals.device)
        coefs = torch.tensor([complex(c).real for c, _ in o.terms], dtype=vals.dtype, device=vals.device)
        cols.append(est @ coefs)
    return torch.stack(cols, dim=-1)


def _samples(probs: Tensor, shots: int, rng: np.random.Generator) -> Tensor:
    """``(B, shots, n)`` bits (qubit ``q`` in column ``q``) drawn from ``(B, 2**n)`` probabilities."""
    b, dim = probs.shape
    n = dim.bit_length() - 1
    cdf = np.cumsum(probs.detach().double().cpu().numpy(), axis=1)
    u = rng.random((b, shots))
    idx = np.stack([np.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right") for i in range(b)]).clip(max=dim - 1)
    return torch.as_tensor((idx[..., None] >> np.arange(n)) & 1, dtype=torch.uint8)


def _initial_state(init: Any, n: int, dtype: torch.dtype, device: Any) -> Tensor | None:
    if init is None:
        return None
    t = init if isinstance(init, Tensor) else torch.as_tensor(np.asarray(init))
    if t.dim() not in (1, 2) or t.shape[-1] != 2**n:
        raise SimulationError(f"initial_state has shape {tuple(t.shape)}; expected ({2**n},) or (batch, {2**n})")
    t = t.to(dtype=dtype, device=device)
    return t.unsqueeze(0) if t.dim() == 1 else t


def run_batched(circuit: Circuit, params: Any = None, *, observables: Sequence[PauliSum | str] | None = None,
                output: str | None = None, noise: Any = None, diff_method: str = "backprop",
                shots: int | None = None, seed: Seed = None, initial_state: Any = None,
                dtype: torch.dtype | None = None, spsa_step: float = 0.05) -> Tensor:
    """Run a gate circuit on a batch of parameter values: the simulator's one functional entry point.

    Args:
        circuit: a circuit of gates (no measurement, reset or classical control).
        params: a mapping ``{Parameter or name: value}`` whose values are scalars
            (shared by every row) or ``(B,)`` tensors (one per row), or a tensor
            ``(P,)`` (shared) / ``(B, P)`` in the order of ``circuit.parameters``.
            Tensors that require grad make the result differentiable.
        observables: Pauli sums (or strings) for ``output="expval"``.
        output: ``"expval"`` (the default when ``observables`` are given),
            ``"state"`` (the default otherwise), ``"probs"`` or ``"samples"``
            (``shots`` measured bitstrings per row, not differentiable).
        noise: a :class:`~qtandem.noise.NoiseModel`: exact density matrices.
        diff_method: ``"backprop"``, ``"adjoint"``, ``"parameter-shift"`` or ``"spsa"``.
        shots: with ``"expval"``, estimate each Pauli term from this many shots;
            with ``"samples"``, the samples per row (default 1).
        seed: seeds shot sampling and SPSA directions (pass one ``Generator`` to
            continue its stream across calls).
        initial_state: ``(2**n,)`` or ``(B, 2**n)`` start state (default ``|0...0>``).
        dtype: ``torch.complex64`` or ``torch.complex128``; default from the
            parameters' dtype (float32 -> complex64, otherwise complex128).
        spsa_step: SPSA perturbation size.

    Returns:
        Always with a leading batch dimension ``B`` (1 when nothing is batched).

    Shape:
        - ``"state"``: ``(B, 2**n)`` complex; ``"probs"``: ``(B, 2**n)``;
          ``"expval"``: ``(B, len(observables))``; ``"samples"``: ``(B, shots, n)`` uint8,
          qubit ``q`` in column ``q``.

    Raises:
        ParameterError: missing, unknown or mis-shaped parameters; an option
            combination no method can differentiate (see :func:`check_options`).
        SimulationError: non-gate instructions, bad ``initial_state`` or ``dtype``.
        ResourceError: the states would not fit in memory.

    Examples:
        >>> import torch
        >>> from qtandem import Circuit, Parameter
        >>> c = Circuit(1).ry(Parameter("t"), 0)
        >>> t = torch.tensor([[0.0], [torch.pi]], dtype=torch.float64)
        >>> run_batched(c, t, observables=["Z0"]).round(decimals=6).tolist()
        [[1.0], [-1.0]]
        >>> run_batched(c, t, output="probs").round(decimals=6).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    obs = None if observables is None else [o if isinstance(o, PauliSum) else PauliSum.from_string(o)
                                            for o in observables]
    output = output or ("expval" if obs is not None else "state")
    check_options(circuit, output=output, diff_method=diff_method, shots=shots, noise=noise)
    if output == "expval":
        if not obs:
            raise ParameterError("output='expval' needs observables")
        for o in obs:
            if o.num_qubits > circuit.n_qubits:
                raise ParameterError(f"observable {o} acts on qubits beyond the circuit's {circuit.n_qubits}")
    if dtype is not None and dtype not in (torch.complex64, torch.complex128):
        raise SimulationError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    real = None if dtype is None else (torch.float32 if dtype == torch.complex64 else torch.float64)
    prog = _program(circuit)
    n = prog.n
    shared, batched, bcols = _split_params(prog, params, real)
    cd = dtype or (torch.complex64 if shared.dtype == torch.float32 else torch.complex128)
    device = shared.device if batched is None else batched.device
    init = _initial_state(initial_state, n, cd, device)
    b = 1 if batched is None else batched.shape[0]
    if init is not None and init.shape[0] != b:
        if batched is not None and init.shape[0] != 1:
            raise SimulationError(f"initial_state batch {init.shape[0]} does not match the params batch {b}")
        b = max(b, init.shape[0])
        init = init.expand(b, -1)
    occ_s, occ_b, mask = prog.occurrences(shared, batched, bcols)
    needs_rng = shots is not None or diff_method == "spsa" or output == "samples"
    rng = as_generator(seed) if needs_rng else None

    def every_row() -> Tensor:
        """All occurrences as ``(B, O)`` (shared ones repeated)."""
        return occ_b if occ_b is not None else occ_s.expand(b, prog.n_occ)

    if output in ("state", "probs", "samples"):
        if noise is not None:
            rho = _density(prog, every_row(), init, noise, cd)
            probs = torch.diagonal(rho, dim1=-2, dim2=-1).real
        else:
            state = _state(prog, occ_s, occ_b, mask, init, b, cd, device)
            if output == "state":
                return state
            probs = state.real**2 + state.imag**2
        if output == "probs":
            return probs
        assert rng is not None
        return _samples(probs, shots or 1, rng)
    assert obs is not None
    if diff_method in ("parameter-shift", "spsa"):
        per_row = state_bytes(n, cd, 1) * (4**n if noise is not None else 1)

        def evaluate(angles: Tensor, init_rows: Tensor | None) -> Tensor:
            chunk = max(1, _EVAL_CHUNK_BYTES // max(per_row, 1))
            outs = []
            for lo in range(0, angles.shape[0], chunk):
                rows = angles[lo:lo + chunk]
                sub = None if init_rows is None else init_rows[lo:lo + chunk]
                if noise is not None:
                    outs.append(_expectations(_density(prog, rows, sub, noise, cd), obs, True, shots, rng))
                else:
                    state = _state(prog, None, rows, [True] * prog.n_occ, sub, rows.shape[0], cd, device)
                    outs.append(_expectations(state, obs, False, shots, rng))
            return torch.cat(outs)

        return shift_expval(evaluate, every_row(), init, method=diff_method, gates=prog.occ_gate,
                            shared=~torch.tensor(mask, dtype=torch.bool), spsa_step=spsa_step, seed=rng,
                            max_rows=max(1, _EVAL_CHUNK_BYTES // max(per_row, 1)))
    if noise is not None:
        return _expectations(_density(prog, every_row(), init, noise, cd), obs, True, None, None)
    if diff_method == "adjoint":
        check_memory(state_bytes(n, cd, b) * 4, f"run_batched state of {n} qubits, batch {b}", device)
        ops = prog.ops(occ_s, occ_b, mask, cd, device)
        if init is None:
            init, ops = _product_prefix(ops, n, b, cd, device)
        return blocks_adjoint_expval(init, fuse_ops(ops, dtype=cd, device=device), obs, n)
    return _expectations(_state(prog, occ_s, occ_b, mask, init, b, cd, device), obs, False, None, None)
