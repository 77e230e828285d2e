// A two-layer hardware-efficient ansatz with run-time inputs (OpenQASM 3).
OPENQASM 3.0;
include "stdgates.inc";
input array[float[64], 8] w;
qubit[4] q;
for int layer in [0:1] {
  for int i in [0:3] { ry(w[4 * layer + i]) q[i]; }
  for int i in [0:2] { cx q[i], q[i + 1]; }
}
