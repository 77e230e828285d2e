// A two-layer hardware-efficient ansatz with run-time inputs (OpenQASM 3).
// `theta` and `w[0..7]` become qtandem Parameters; angles are linear in them.
OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input array[float[64], 8] w;
qubit[4] q;
for int layer in [0:1] {
  for int i in [0:3] { ry(w[4 * layer + i]) q[i]; }
  for int i in [0:2] { cx q[i], q[i + 1]; }
  rz(2 * theta + pi / 2) q[3];
}
