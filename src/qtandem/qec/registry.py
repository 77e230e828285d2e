"""Decoders by name, as the CLI, the benchmark and the tour name them.

Names: ``pymatching``, ``pymatching-correlated``, ``bposd`` (needs ``ldpc``) and
``pretrained:<name>`` (a shipped neural decoder, resolved lazily through
``qtandem.qec.pretrained(name)``; its ``.circuit`` must be the circuit being decoded up to
noise strength, i.e. equal after ``stim.Circuit.without_noise()``).

Examples:
    >>> from qtandem.qec.codes import surface_code
    >>> from qtandem.qec.registry import make_decoder
    >>> make_decoder("pymatching-correlated", surface_code(3, 3, p=0.005)).correlated
    True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import stim

from qtandem.errors import DecoderError
from qtandem.qec.decoder import Decoder

__all__ = ["BASELINES", "circuit_mismatch", "list_pretrained_or_empty", "make_decoder", "pretrained_api"]

BASELINES = ("pymatching", "pymatching-correlated", "bposd")
"""Decoders every install knows (``bposd`` needs ``ldpc``)."""


def pretrained_api() -> tuple[Callable[[str], Any], Callable[[], list[str]]] | None:
    """``(pretrained, list_pretrained)`` if this install ships neural decoders, else ``None``.

    Examples:
        >>> api = pretrained_api()
        >>> api is None or (callable(api[0]) and isinstance(api[1](), list))
        True
    """
    pkg = importlib.import_module("qtandem.qec")
    fn, lst = getattr(pkg, "pretrained", None), getattr(pkg, "list_pretrained", None)
    if callable(fn) and callable(lst) and not isinstance(fn, type(importlib)):
        return fn, lst
    for module in ("qtandem.qec.pretrained", "qtandem.qec.zoo"):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        fn, lst = getattr(mod, "pretrained", None), getattr(mod, "list_pretrained", None)
        if callable(fn) and callable(lst):
            return fn, lst
    return None


def list_pretrained_or_empty() -> list[str]:
    """Names of shipped neural decoders (``[]`` when none are shipped).

    Examples:
        >>> isinstance(list_pretrained_or_empty(), list)
        True
    """
    api = pretrained_api()
    return list(api[1]()) if api else []


def circuit_mismatch(trained: stim.Circuit, circuit: stim.Circuit) -> str:
    """How ``circuit`` differs from ``trained``, noise aside (a short phrase for error messages).

    Examples:
        >>> from qtandem.qec.codes import surface_code
        >>> circuit_mismatch(surface_code(3, 3, p=0.005), surface_code(5, 5, p=0.005))
        'trained for 24 detectors, 1 observable(s), 26 qubits; this circuit has 120, 1, 64'
        >>> print(circuit_mismatch(surface_code(3, 3, p=0.005), surface_code(3, 3, basis="X", p=0.005)))
        same sizes (24 detectors, 1 observable(s), 26 qubits) but different gates from instruction 17: 'RX 1 ...', ...
    """
    a, b = trained.without_noise(), circuit.without_noise()
    sizes_a = (a.num_detectors, a.num_observables, a.num_qubits)
    sizes_b = (b.num_detectors, b.num_observables, b.num_qubits)
    if sizes_a != sizes_b:
        return (f"trained for {sizes_a[0]} detectors, {sizes_a[1]} observable(s), {sizes_a[2]} qubits; this circuit "
                f"has {sizes_b[0]}, {sizes_b[1]}, {sizes_b[2]}")
    la, lb = str(a.flattened()).splitlines(), str(b.flattened()).splitlines()
    i = next((k for k, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
    got = lb[i] if i < len(lb) else "(end)"
    want = la[i] if i < len(la) else "(end)"
    return (f"same sizes ({sizes_a[0]} detectors, {sizes_a[1]} observable(s), {sizes_a[2]} qubits) but different "
            f"gates from instruction {i}: {got[:60]!r}, trained with {want[:60]!r}")


def make_decoder(name: str, circuit: stim.Circuit, **options: Any) -> Decoder:
    """The decoder called ``name`` for ``circuit``.

    Args:
        name: one of :data:`BASELINES` or ``pretrained:<name>``.
        circuit: the noisy circuit whose shots will be decoded.
        **options: passed to the baseline's constructor (e.g. ``osd_order=`` for BP-OSD).

    Returns:
        The :class:`~qtandem.qec.decoder.Decoder`.

    Raises:
        DecoderError: unknown name, no pretrained models shipped, a pretrained model for a
            different circuit, or a missing optional dependency.

    Examples:
        >>> from qtandem.qec.codes import repetition_code
        >>> from qtandem.qec.data import sample
        >>> circuit = repetition_code(3, 2, p=0.01)
        >>> dets, _ = sample(circuit, 10, seed=1)
        >>> make_decoder("pymatching", circuit).decode(dets).shape
        (10, 1)
        >>> make_decoder("pymatchin", circuit)
        Traceback (most recent call last):
        ...
        qtandem.errors.DecoderError: ...
    """
    if name == "pymatching":
        from qtandem.qec.matching import MatchingDecoder

        return MatchingDecoder(circuit, **options)
    if name == "pymatching-correlated":
        from qtandem.qec.matching import MatchingDecoder

        return MatchingDecoder(circuit, correlated=True, **options)
    if name == "bposd":
        from qtandem.qec.bposd import BPOSDDecoder

        return BPOSDDecoder(circuit, **options)
    if name.startswith("pretrained:"):
        key = name.split(":", 1)[1]
        api = pretrained_api()
        if api is None:
            raise DecoderError(f"decoder {name!r}: this install ships no pretrained decoders")
        names = list(api[1]())
        if key not in names:
            raise DecoderError(f"decoder {name!r}: unknown pretrained model; shipped: {', '.join(names) or 'none'}")
        dec = api[0](key)
        trained = getattr(dec, "circuit", None)
        if trained is not None and trained.without_noise() != circuit.without_noise():
            raise DecoderError(f"decoder {name!r} was trained for a different circuit: "
                               f"{circuit_mismatch(trained, circuit)}; "
                               f"it decodes only the circuit it was trained for (any noise strength): use the "
                               f"code, distance, rounds and basis it was trained for, or a matching decoder")
        if not isinstance(dec, Decoder):
            raise DecoderError(f"pretrained({key!r}) returned {type(dec).__name__}, not a qtandem Decoder")
        return dec
    raise DecoderError(f"unknown decoder {name!r}; use one of {', '.join(BASELINES)} or pretrained:<name> "
                       f"(shipped: {', '.join(list_pretrained_or_empty()) or 'none'})")
