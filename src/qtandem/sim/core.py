"""The simulator core: :func:`statevector` and :func:`unitary`.

One simulator serves every capability. Two execution paths share one plan:

* the **torch path** (:mod:`qtandem.sim.apply`): batched over parameter sets,
  differentiable with autograd, any device and dtype;
* the **native path** (:mod:`qtandem.sim.fast`): fused gates applied in place by
  compiled kernels; used for unbatched CPU runs that need no gradient.

Both give the same state to machine precision (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from qtandem.circuit.circuit import Circuit
from qtandem.circuit.gates import controlled_matrix, gate_matrix, get_gate
from qtandem.circuit.instruction import Instruction
from qtandem.circuit.parameter import Parameter, ParameterExpression
from qtandem.errors import ParameterError, SimulationError
from qtandem.random import Seed, as_generator
from qtandem.sim.apply import apply_controlled, apply_diagonal, apply_matrix
from qtandem.sim.memory import check_memory, format_bytes, state_bytes
from qtandem.sim.plan import fuse_plan

__all__ = ["ParamSpec", "apply_ops", "condition_mask", "evaluate_angle", "fuse_ops", "resolve_params", "statevector",
           "unitary"]

Tensor = torch.Tensor
_COMPLEX = (torch.complex64, torch.complex128)
_DENSE_CTRL_MAX = 5  # controlled gates up to this many qubits become dense matrices


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype == torch.complex64 else torch.float64


@dataclass
class ParamSpec:
    """Parameter values resolved against a circuit.

    Attributes:
        values: real tensor ``(P,)`` or ``(B, P)`` in the order of ``circuit.parameters``.
        batch: ``B`` or ``None`` when unbatched.
        index: parameter name -> column.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> spec = resolve_params(Circuit(1).rx(Parameter("a"), 0).rz(Parameter("b"), 0), [[0.1, 0.2], [0.3, 0.4]])
        >>> spec.batch, spec.index, tuple(spec.values.shape)
        (2, {'a': 0, 'b': 1}, (2, 2))
    """

    values: Tensor | None
    batch: int | None
    index: dict[str, int]


def named_values(params: Mapping[Any, Any], names: Sequence[str]) -> list[Any]:
    """The values of a ``{name or Parameter: value}`` mapping in the order of ``names``.

    Raises:
        ParameterError: a key that is not in ``names``, or a name with no value.
    """
    given = {(k.name if isinstance(k, Parameter) else str(k)): v for k, v in params.items()}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; the circuit has {list(names)}")
    missing = [nm for nm in names if nm not in given]
    if missing:
        raise ParameterError(f"no value for parameter(s) {missing}")
    return [given[nm] for nm in names]


def resolve_params(circuit: Circuit, params: Any, *, dtype: torch.dtype = torch.complex128,
                   device: torch.device | str | None = None) -> ParamSpec:
    """Turn the ``params`` argument of the simulator functions into a tensor.

    Accepted forms: ``None`` (circuit must have no free parameters); a mapping
    ``{Parameter or name: value}`` (values may be tensors of shape ``(B,)``); a
    sequence, array or tensor of shape ``(P,)`` or ``(B, P)`` in the order of
    ``circuit.parameters``.

    Raises:
        ParameterError: missing, unknown or wrongly shaped values.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> c = Circuit(1).rx(Parameter("a"), 0)
        >>> resolve_params(c, {"a": 0.5}).values.tolist(), resolve_params(c, {"a": 0.5}).batch
        ([0.5], None)
        >>> resolve_params(c, {"b": 0.5})
        Traceback (most recent call last):
        ...
        qtandem.errors.ParameterError: unknown parameter(s) ['b']; the circuit has ['a']
    """
    plist = circuit.parameters
    index = {p.name: i for i, p in enumerate(plist)}
    real = _real_dtype(dtype)
    if params is None:
        if plist:
            raise ParameterError(f"circuit has free parameters {[p.name for p in plist]}: pass params= "
                                 "(a mapping, or values in the order of circuit.parameters)")
        return ParamSpec(None, None, index)
    if isinstance(params, Mapping):
        cols: list[Tensor] = []
        for v in named_values(params, list(index)):
            cols.append(v.to(device=device, dtype=real) if isinstance(v, Tensor)
                        else torch.as_tensor(np.asarray(v, dtype=float), dtype=real, device=device))
        shapes = {tuple(c.shape) for c in cols}
        if len(shapes) > 1 and any(len(s) > 1 for s in shapes):
            raise ParameterError(f"parameter values must be scalars or 1-D batches, got shapes {sorted(shapes)}")
        batch_sizes = {c.shape[0] for c in cols if c.dim() == 1}
        if len(batch_sizes) > 1:
            raise ParameterError(f"parameter batches have different sizes {sorted(batch_sizes)}")
        if batch_sizes:
            b = batch_sizes.pop()
            values = torch.stack([c.expand(b) for c in cols], dim=-1) if cols else None
            return ParamSpec(values, b, index)
        values = torch.stack(cols) if cols else torch.zeros(0, dtype=real, device=device)
        return ParamSpec(values, None, index)
    values = params.to(device=device, dtype=real) if isinstance(params, Tensor) else \
        torch.as_tensor(np.asarray(params, dtype=float), dtype=real, device=device)
    if values.dim() not in (1, 2) or values.shape[-1] != len(plist):
        raise ParameterError(f"params has shape {tuple(values.shape)}; expected ({len(plist)},) or "
                             f"(batch, {len(plist)}) for parameters {[p.name for p in plist]}")
    return ParamSpec(values, values.shape[0] if values.dim() == 2 else None, index)


def evaluate_angle(value: float | ParameterExpression, spec: ParamSpec) -> float | Tensor:
    """Value of a gate angle: a float, or a tensor ``(B,)``/``()`` for an expression of parameters.

    Examples:
        >>> from qtandem import Circuit, Parameter
        >>> a = Parameter("a")
        >>> spec = resolve_params(Circuit(1).rx(a, 0), {"a": torch.tensor([1.0, 2.0])})
        >>> evaluate_angle(2 * a + 0.5, spec).tolist(), evaluate_angle(0.25, spec)
        ([2.5, 4.5], 0.25)
    """
    if not isinstance(value, ParameterExpression):
        return float(value)
    assert spec.values is not None
    out: Tensor | float = value.const
    for p, c in value.terms.items():
        out = out + c * spec.values[..., spec.index[p.name]]
    return out


def instruction_matrix(inst: Instruction, spec: ParamSpec | None = None, *, dtype: torch.dtype = torch.complex128,
                       device: torch.device | str | None = None, expand_ctrl: bool = True) -> Tensor:
    """Matrix of a gate instruction, with its angles evaluated and modifiers applied.

    Returns ``(2**k, 2**k)`` or ``(B, 2**k, 2**k)`` when angles are batched. With
    ``expand_ctrl=False`` the ``ctrl`` modifier is left out (caller applies it).
    """
    if inst.name == "unitary":
        assert inst.matrix is not None
        m = torch.tensor(np.array(inst.matrix), dtype=dtype, device=device)
    else:
        spec = spec or ParamSpec(None, None, {})
        angles = [evaluate_angle(p, spec) for p in inst.params]
        k = len(inst.qubits) - inst.ctrl
        m = gate_matrix(inst.name, angles, num_qubits=k, dtype=dtype, device=device)
    if inst.inverted:
        m = m.conj().transpose(-1, -2)
    if inst.ctrl and expand_ctrl:
        m = controlled_matrix(m, inst.ctrl)
    return m


def _is_diagonal(inst: Instruction) -> bool:
    return inst.name != "unitary" and get_gate(inst.name).diagonal


def apply_instruction(state: Tensor, inst: Instruction, spec: ParamSpec, n: int) -> Tensor:
    """Apply one gate instruction to a ``(B, 2**n)`` state on the torch path."""
    dtype, device = state.dtype, state.device
    width = len(inst.qubits)
    if inst.name == "mcx" or (inst.ctrl and width > _DENSE_CTRL_MAX):
        nctrl = inst.ctrl + (width - inst.ctrl - 1 if inst.name == "mcx" else 0)
        base = gate_matrix("x", (), dtype=dtype, device=device) if inst.name == "mcx" else \
            instruction_matrix(inst, spec, dtype=dtype, device=device, expand_ctrl=False)
        if width <= _DENSE_CTRL_MAX:
            return apply_matrix(state, controlled_matrix(base, nctrl), inst.qubits, n)
        return apply_controlled(state, base, inst.qubits[:nctrl], inst.qubits[nctrl:], n)
    m = instruction_matrix(inst, spec, dtype=dtype, device=device)
    if _is_diagonal(inst) and not inst.ctrl:
        return apply_diagonal(state, torch.diagonal(m, dim1=-2, dim2=-1), inst.qubits, n)
    return apply_matrix(state, m, inst.qubits, n)


TORCH_FUSION_QUBITS = 4
"""Largest fused block on the torch path (measured best for batched 12-16 qubit runs)."""


def _block_matrix(qubits: tuple[int, ...], ops: Sequence[tuple[tuple[int, ...], Tensor]], dtype: torch.dtype,
                  device: Any) -> Tensor:
    """Product of ``ops`` (in order) as one ``(2**m, 2**m)`` matrix on ``qubits``, batched if any op is."""
    local = {q: i for i, q in enumerate(qubits)}
    m = len(qubits)
    dim = 2**m
    batch = max((g.shape[0] for _, g in ops if g.dim() == 3), default=None)
    # columns of the block matrix evolve like states: rows = (batch, column), entries = row index
    cols = torch.eye(dim, dtype=dtype, device=device)
    if batch is not None:
        cols = cols.unsqueeze(0).expand(batch, dim, dim).reshape(batch * dim, dim)
    for op_qubits, g in ops:
        if g.dim() == 3:
            g = g.repeat_interleave(dim, dim=0)
        cols = apply_matrix(cols, g, tuple(local[q] for q in op_qubits), m)
    mat = cols.reshape(-1, dim, dim).transpose(-1, -2)
    return mat if batch is not None else mat[0]


def fuse_ops(ops: Sequence[tuple[tuple[int, ...], Tensor]], max_qubits: int | None = None, *,
             dtype: torch.dtype = torch.complex128, device: Any = None) -> list[tuple[tuple[int, ...], Tensor]]:
    """Fuse ``(qubits, matrix)`` ops into blocks of at most ``max_qubits`` qubits (differentiable).

    A block of one op keeps its matrix; others are multiplied out (batched when any member is).

    Examples:
        >>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2 ** 0.5
        >>> cx = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=torch.complex128)
        >>> [(qubits, tuple(m.shape)) for qubits, m in fuse_ops([((0,), h), ((0, 1), cx)], max_qubits=2)]
        [((0, 1), (4, 4))]
    """
    k = max_qubits or TORCH_FUSION_QUBITS
    out: list[tuple[tuple[int, ...], Tensor]] = []
    for block in fuse_plan([q for q, _ in ops], k):
        if len(block.members) == 1:
            qubits, mat = ops[block.members[0]]
            out.append((qubits, mat.to(dtype)))
        else:
            out.append((block.qubits, _block_matrix(block.qubits, [ops[i] for i in block.members], dtype, device)))
    return out


def apply_ops(state: Tensor, ops: Sequence[tuple[tuple[int, ...], Tensor]], n: int,
              max_qubits: int | None = None) -> Tensor:
    """Apply explicit ``(qubits, matrix)`` operations (matrices need not be unitary), fused into blocks.

    Matrices may be batched ``(B, d, d)``; the result is differentiable in them.
    This is the torch engine shared by state vectors and density matrices.

    Examples:
        >>> h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / 2 ** 0.5
        >>> cx = torch.tensor([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]], dtype=torch.complex128)
        >>> state = torch.zeros(1, 4, dtype=torch.complex128); state[0, 0] = 1
        >>> (apply_ops(state, [((0,), h), ((0, 1), cx)], 2).abs() ** 2).round(decimals=6).tolist()   # a Bell pair
        [[0.5, 0.0, 0.0, 0.5]]
    """
    k = max_qubits or TORCH_FUSION_QUBITS
    for block in fuse_plan([q for q, _ in ops], k):
        if len(block.members) == 1:
            qubits, mat = ops[block.members[0]]
            mat = mat.to(state.dtype)
            diag = torch.diagonal(mat, dim1=-2, dim2=-1)
            if bool((mat - torch.diag_embed(diag)).abs().max() == 0):
                state = apply_diagonal(state, diag, qubits, n)  # phases: an elementwise product
            else:
                state = apply_matrix(state, mat, qubits, n)
            continue
        mat = _block_matrix(block.qubits, [ops[i] for i in block.members], state.dtype, state.device)
        state = apply_matrix(state, mat, block.qubits, n)
    return state


def apply_fused(state: Tensor, segment: Sequence[Instruction], spec: ParamSpec, n: int,
                max_qubits: int | None = None) -> Tensor:
    """Apply a measurement-free run of gates on the torch path, fused into blocks."""
    run_ops: list[tuple[tuple[int, ...], Tensor]] = []
    for inst in segment:
        if _unfusable(inst):
            state = apply_ops(state, run_ops, n, max_qubits)
            run_ops = []
            state = apply_instruction(state, inst, spec, n)
            continue
        run_ops.append((inst.qubits, _fusable_matrix(inst, spec, state.dtype, state.device)))
    return apply_ops(state, run_ops, n, max_qubits)


def _fusable_matrix(inst: Instruction, spec: ParamSpec, dtype: torch.dtype, device: Any) -> Tensor:
    if inst.name == "mcx":
        return controlled_matrix(gate_matrix("x", (), dtype=dtype, device=device), len(inst.qubits) - 1)
    return instruction_matrix(inst, spec, dtype=dtype, device=device)


def _unfusable(inst: Instruction) -> bool:
    return (inst.name == "mcx" and len(inst.qubits) > _DENSE_CTRL_MAX) or bool(inst.ctrl and
                                                                            len(inst.qubits) > _DENSE_CTRL_MAX)


# ---------------------------------------------------------------------------
# measurement, reset and classical conditions (torch ops, shared by every path)

def _qubit_prob_one(state: Tensor, q: int, n: int) -> Tensor:
    b = state.shape[0]
    view = state.reshape(b, 2 ** (n - 1 - q), 2, 2**q)
    return (view[:, :, 1, :].abs() ** 2).sum(dim=(1, 2))


def _collapse(state: Tensor, q: int, n: int, outcome: Tensor, *, reset: bool) -> Tensor:
    """Project qubit ``q`` onto ``outcome`` (per batch row) and renormalise; ``reset`` then maps it to |0>."""
    b = state.shape[0]
    view = state.reshape(b, 2 ** (n - 1 - q), 2, 2**q)
    keep = outcome.to(torch.long).view(b, 1, 1)
    picked = torch.gather(view, 2, keep.view(b, 1, 1, 1).expand(b, view.shape[1], 1, view.shape[3])).squeeze(2)
    norm = picked.abs().pow(2).sum(dim=(1, 2)).sqrt().clamp_min(1e-300).view(b, 1, 1)
    picked = picked / norm
    zero = torch.zeros_like(picked)
    if reset:
        new = torch.stack([picked, zero], dim=2)
    else:
        one = (keep == 1).view(b, 1, 1)
        new = torch.stack([torch.where(one, zero, picked), torch.where(one, picked, zero)], dim=2)
    return new.reshape(b, -1)


def condition_mask(condition: tuple[tuple[int, ...], int], clbits: np.ndarray) -> np.ndarray:
    """Which rows of ``clbits`` ``(B, n_clbits)`` satisfy ``condition = (bits, value)``.

    ``bits[j]`` is bit ``j`` of the register compared with ``value`` (classical control).

    Examples:
        >>> import numpy as np
        >>> condition_mask(((0, 2), 2), np.array([[0, 0, 1], [1, 0, 1]], dtype=np.uint8)).tolist()
        [True, False]
    """
    bits, value = condition
    reg = np.zeros(clbits.shape[0], dtype=np.int64)
    for j, c in enumerate(bits):
        reg |= clbits[:, c].astype(np.int64) << j
    return reg == value


def _measure(state: Tensor, q: int, n: int, rng: np.random.Generator, *, reset: bool) -> tuple[Tensor, np.ndarray]:
    p1 = _qubit_prob_one(state, q, n).detach().to(torch.float64).cpu().numpy().clip(0.0, 1.0)
    outcome = (rng.random(p1.shape[0]) < p1).astype(np.int8)
    return _collapse(state, q, n, torch.as_tensor(outcome, device=state.device), reset=reset), outcome


# ---------------------------------------------------------------------------
# the driver

def _initial(n: int, batch: int, initial_state: Any, dtype: torch.dtype, device: Any) -> Tensor:
    if initial_state is None:
        state = torch.zeros(batch, 2**n, dtype=dtype, device=device)
        state[:, 0] = 1
        return state
    init = initial_state if isinstance(initial_state, Tensor) else torch.as_tensor(np.asarray(initial_state))
    init = init.to(device=device, dtype=dtype)
    if init.shape[-1] != 2**n or init.dim() not in (1, 2):
        raise SimulationError(f"initial_state has shape {tuple(init.shape)}; expected ({2**n},) or (batch, {2**n})")
    norms = init.detach().abs().pow(2).sum(-1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-6 if dtype == torch.complex64 else 1e-10):
        raise SimulationError(f"initial_state is not normalised (squared norms {norms.flatten()[:4].tolist()})")
    if init.dim() == 1:
        return init.unsqueeze(0).expand(batch, -1).clone()
    if batch != 1 and init.shape[0] != batch:
        raise SimulationError(f"initial_state batch {init.shape[0]} does not match params batch {batch}")
    return init.clone()


def _ndim(x: Any) -> int:
    if x is None:
        return 0
    if isinstance(x, Tensor):
        return x.dim()
    return int(np.ndim(x))


def is_batched(circuit: Circuit, params: Any, initial_state: Any = None) -> bool:
    """True if ``params`` or ``initial_state`` carries a leading batch dimension."""
    if _ndim(initial_state) == 2:
        return True
    if params is None:
        return False
    if isinstance(params, Mapping):
        return any(_ndim(v) == 1 for v in params.values())
    return _ndim(params) == 2


def _native_available() -> bool:
    try:
        from qtandem.sim import fast
    except ImportError:  # pragma: no cover - partial installs
        return False
    return fast.available()


def _wants_grad(spec: ParamSpec, initial_state: Any) -> bool:
    if not torch.is_grad_enabled():
        return False
    if spec.values is not None and spec.values.requires_grad:
        return True
    return isinstance(initial_state, Tensor) and initial_state.requires_grad


def run(circuit: Circuit, params: Any = None, initial_state: Any = None, *, dtype: torch.dtype = torch.complex128,
        device: torch.device | str | None = None, seed: Seed = None, batch: int | None = None,
        skip_measure: bool = False, native: bool | None = None) -> tuple[Tensor, np.ndarray]:
    """Run ``circuit`` and return ``(state (B, 2**n), clbits (B, n_clbits) uint8)``.

    ``batch`` forces a batch size (independent trajectories for mid-circuit
    measurement). ``skip_measure`` ignores measurements (used for sampling the
    final distribution). ``native`` forces (True) or forbids (False) the native path.
    """
    if not isinstance(circuit, Circuit):
        raise SimulationError(f"expected a qtandem Circuit, got {type(circuit).__name__}")
    if dtype not in _COMPLEX:
        raise SimulationError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
    n = circuit.n_qubits
    spec = resolve_params(circuit, params, dtype=dtype, device=device)
    if spec.values is not None and device is None:
        device = spec.values.device
    if isinstance(initial_state, Tensor) and device is None:
        device = initial_state.device
    b = spec.batch or 1
    init_batched = _ndim(initial_state) == 2
    if init_batched:
        b = max(b, int(initial_state.shape[0]))
    if batch is not None:
        if spec.batch not in (None, batch):
            raise SimulationError(f"batch={batch} conflicts with a params batch of {spec.batch}")
        b = batch
    grad = _wants_grad(spec, initial_state)
    workspace = 1 if (not grad and b == 1) else 3
    check_memory(state_bytes(n, dtype, b) * workspace,
                 f"statevector of {n} qubits ({str(dtype).replace('torch.', '')}"
                 + (f", batch {b}" if b > 1 else "") + ")", device)
    state = _initial(n, b, initial_state, dtype, device)
    clbits = np.zeros((b, circuit.n_clbits), dtype=np.uint8)
    rng = as_generator(seed)
    use_native = native
    if use_native is None:
        use_native = (not grad and b == 1 and state.device.type == "cpu" and spec.batch is None)
    if use_native:
        use_native = native is True or _native_available()
    segment: list[Instruction] = []

    def flush(state: Tensor) -> Tensor:
        if not segment:
            return state
        if use_native:
            state = _run_native(state, segment, spec, n)
        else:
            state = apply_fused(state, segment, spec, n)
        segment.clear()
        return state

    for inst in circuit:
        if inst.name in ("barrier", "delay"):  # an ideal delay is the identity
            continue
        if inst.condition is None and inst.is_gate:
            segment.append(inst)
            continue
        state = flush(state)
        if inst.condition is not None:
            mask = condition_mask(inst.condition, clbits)
            if not mask.any():
                continue
            new = _apply_one(state, inst.replace(condition=None), spec, n, rng, clbits, skip_measure)
            if mask.all():
                state = new
            else:
                m = torch.as_tensor(mask, device=state.device).view(-1, 1)
                state = torch.where(m, new, state)
            continue
        state = _apply_one(state, inst, spec, n, rng, clbits, skip_measure)
    state = flush(state)
    return state, clbits


def _apply_one(state: Tensor, inst: Instruction, spec: ParamSpec, n: int, rng: np.random.Generator,
               clbits: np.ndarray, skip_measure: bool) -> Tensor:
    if inst.is_gate:
        return apply_instruction(state, inst, spec, n)
    if inst.name == "measure":
        if skip_measure:
            return state
        for q, c in zip(inst.qubits, inst.clbits, strict=True):
            state, outcome = _measure(state, q, n, rng, reset=False)
            clbits[:, c] = outcome
        return state
    if inst.name == "reset":
        for q in inst.qubits:
            state, _ = _measure(state, q, n, rng, reset=True)
        return state
    raise SimulationError(f"cannot simulate instruction {inst.label!r}")  # pragma: no cover


def numeric_ops(segment: Sequence[Instruction], spec: ParamSpec) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Bound complex128 matrices for a run of gates (the native path's input).

    Gates of the same kind are evaluated together in one batched registry call,
    so the cost per gate is a few microseconds.
    """
    mats: list[np.ndarray | None] = [None] * len(segment)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, inst in enumerate(segment):
        if inst.name == "unitary" or not inst.params:
            mats[i] = instruction_matrix(inst, spec).detach().cpu().resolve_conj().numpy()
        else:
            groups.setdefault((inst.name, len(inst.qubits) - inst.ctrl), []).append(i)
    for (name, k), idx in groups.items():
        cols = [[evaluate_angle(segment[i].params[j], spec) for i in idx] for j in range(len(segment[idx[0]].params))]
        angles = [torch.stack([torch.as_tensor(a, dtype=torch.float64) for a in col]).detach() for col in cols]
        batch = gate_matrix(name, angles, num_qubits=k).numpy()
        for row, i in enumerate(idx):
            m = batch[row]
            inst = segment[i]
            if inst.inverted:
                m = m.conj().T
            if inst.ctrl:
                m = controlled_matrix(torch.from_numpy(np.ascontiguousarray(m)), inst.ctrl).numpy()
            mats[i] = m
    return [(inst.qubits, m) for inst, m in zip(segment, mats, strict=True) if m is not None]


def _run_native(state: Tensor, segment: list[Instruction], spec: ParamSpec, n: int) -> Tensor:
    from qtandem.sim import fast

    out = state[0]
    pending: list[Instruction] = []

    def run_pending(out: Tensor) -> Tensor:
        if pending:
            if fast.available():
                values = None if spec.values is None else spec.values.detach().cpu().numpy().tobytes()
                segment_ops = list(pending)
                program = fast.compile_cached(("statevector", tuple(segment_ops), values), n,
                                              lambda: numeric_ops(segment_ops, spec), dtype=out.dtype)
                out = fast.run_compiled(out.contiguous(), program)
            else:
                out = fast.simulate_numeric(n, numeric_ops(pending, spec), dtype=out.dtype, initial_state=out)
            pending.clear()
        return out

    for inst in segment:
        if _unfusable(inst):  # too wide for a dense matrix: controlled slice update on the torch path
            out = run_pending(out)
            out = apply_instruction(out.unsqueeze(0), inst, spec, n)[0]
            continue
        if inst.name == "mcx":
            inst = Instruction("x", inst.qubits, ctrl=len(inst.qubits) - 1)
        pending.append(inst)
    out = run_pending(out)
    return out.unsqueeze(0)


def statevector(
    circuit: Circuit,
    params: Any = None,
    initial_state: Any = None,
    dtype: torch.dtype = torch.complex128,
    device: torch.device | str | None = None,
    *,
    seed: Seed = None,
) -> Tensor:
    """Simulate ``circuit`` and return its final state vector.

    Args:
        circuit: the circuit. Measurements and resets collapse the state by
            sampling with ``seed``; barriers and delays are ignored.
        params: values of the circuit's free parameters: a mapping
            ``{Parameter or name: value}`` or a tensor ``(P,)`` / ``(batch, P)`` in
            the order of ``circuit.parameters``. Tensors that require grad make
            the result differentiable.
        initial_state: optional ``(2**n,)`` or ``(batch, 2**n)`` start state
            (default ``|0...0>``).
        dtype: ``torch.complex128`` (default) or ``torch.complex64``.
        device: torch device (default: that of ``params``, else CPU).
        seed: seed for mid-circuit measurement and reset outcomes.

    Returns:
        ``(2**n,)`` tensor, or ``(batch, 2**n)`` when ``params`` or
        ``initial_state`` is batched. Index ``i`` is the amplitude of the basis
        state whose bit ``q`` is qubit ``q`` (qubit 0 least significant).

    Raises:
        ParameterError: missing or mis-shaped parameter values.
        ResourceError: the state would not fit in memory (says how much it needs).
        SimulationError: bad ``dtype`` or ``initial_state``.

    Examples:
        >>> import qtandem
        >>> bell = qtandem.Circuit(2).h(0).cx(0, 1)
        >>> (qtandem.statevector(bell).real.round(decimals=4) + 0).tolist()
        [0.7071, 0.0, 0.0, 0.7071]
    """
    state, _ = run(circuit, params, initial_state, dtype=dtype, device=device, seed=seed)
    return state if is_batched(circuit, params, initial_state) else state[0]


def unitary(circuit: Circuit, params: Any = None, *, dtype: torch.dtype = torch.complex128,
            device: torch.device | str | None = None, max_qubits: int = 14) -> Tensor:
    """The ``(2**n, 2**n)`` unitary of a circuit without measurements or resets.

    Column ``j`` is the circuit applied to basis state ``j``. Differentiable in
    ``params`` (unbatched).

    Raises:
        ResourceError: the ``4**n`` entries do not fit in memory (says how much they need).
        SimulationError: the circuit measures or resets, or ``n > max_qubits``.

    Examples:
        >>> import qtandem
        >>> qtandem.sim.unitary(qtandem.Circuit(1).x(0)).real.tolist()
        [[0.0, 1.0], [1.0, 0.0]]
    """
    if any(inst.name in ("measure", "reset") or inst.condition is not None for inst in circuit):
        raise SimulationError("unitary() needs a circuit without measure, reset or classically controlled gates")
    n = circuit.n_qubits
    check_memory(state_bytes(n, dtype, density=True),
                 f"unitary of {n} qubits (2^{n} x 2^{n} entries, {str(dtype).replace('torch.', '')})", device)
    if n > max_qubits:
        raise SimulationError(f"unitary() of {n} qubits is a dense 2^{n} x 2^{n} matrix "
                              f"({format_bytes(state_bytes(n, dtype, density=True))}); max_qubits={max_qubits}")
    eye = torch.eye(2**n, dtype=dtype, device=device)
    spec = resolve_params(circuit, params, dtype=dtype, device=device)
    if spec.batch is not None:
        raise SimulationError("unitary() takes unbatched params")
    state, _ = run(circuit, params, eye, dtype=dtype, device=device, native=False)
    return state.transpose(0, 1).contiguous()

