"""Tour section of quantum chemistry: a LiH dissociation curve by VQE beside HF, CCSD(T), CASCI and FCI."""

from __future__ import annotations

from qtandem.report import Section
from qtandem.tour import TourContext, register

LIH = "Li 0 0 0; H 0 0 {d}"
"""The LiH geometry template (angstrom)."""


@register("Chemistry: a LiH dissociation curve against FCI", order=90)
def chem_section(section: Section, ctx: TourContext) -> None:
    """UCCSD-VQE along LiH's bond, CAS(2,5), warm-started by aligned transfer from equilibrium outward."""
    from qtandem.chem.curve import curve
    from qtandem.chem.report import curve_rows, plot_energies, plot_errors

    distances = [1.6, 2.4, 3.2] if ctx.quick else [1.0, 1.3, 1.6, 2.0, 2.4, 2.8, 3.2, 3.6]
    active = (2, 3) if ctx.quick else (2, 5)
    ctx.progress(f"chem: LiH curve, {len(distances)} points")
    res = curve(LIH, distances, active=active, ansatz="uccsd", init="transfer", optimizer="bfgs", seed=ctx.seed)
    section.text(f"LiH in STO-3G, active space CAS{active} (Jordan-Wigner, {2 * active[1]} qubits), Givens-rotation "
                 "UCCSD solved by BFGS with exact adjoint gradients (qtandem.chem.curve). The point with the lowest "
                 "CASCI energy is solved first from Hartree-Fock; every other point starts from its aligned "
                 "neighbour's parameters (qtandem.chem.align keeps orbital signs and order along the bond). "
                 "PySCF's HF, CCSD(T), CASCI and full-space FCI are beside every point; CASCI's gap to FCI is the "
                 "active space's own error, not the solver's.")
    section.table(["d (Å)", "E VQE (Ha)", "VQE - CASCI (mHa)", "VQE - FCI (mHa)", "evaluations", "to 1.6 mHa",
                   "CNOTs", "start"], curve_rows(res))
    section.figure(plot_energies({"uccsd": res}), "chem_lih_energies", "LiH total energies along the bond.")
    section.figure(plot_errors({"uccsd": res}), "chem_lih_errors", "Errors against FCI (log scale); the band is "
                   "chemical accuracy.")
