"""Regenerate this folder's example: a noisy Stim circuit and 2,000 recorded shots of it.

Run from the repository root: python examples/qec/make_example.py (Stim 1.16; seeded, so the
files come out the same on the same Stim version). Use them as your own data:

    qtandem qec eval --circuit examples/qec/repetition_d5.stim \\
        --dets examples/qec/repetition_d5_dets.b8 --obs examples/qec/repetition_d5_obs.01
"""

from pathlib import Path

import stim

HERE = Path(__file__).resolve().parent

circuit = stim.Circuit.generated("repetition_code:memory", distance=5, rounds=5,
                                 after_clifford_depolarization=0.02, before_measure_flip_probability=0.02)
(HERE / "repetition_d5.stim").write_text(str(circuit))
dets, obs = circuit.compile_detector_sampler(seed=2026).sample(2000, separate_observables=True)
stim.write_shot_data_file(data=dets, path=str(HERE / "repetition_d5_dets.b8"), format="b8",
                          num_detectors=circuit.num_detectors)
stim.write_shot_data_file(data=obs, path=str(HERE / "repetition_d5_obs.01"), format="01",
                          num_observables=circuit.num_observables)
