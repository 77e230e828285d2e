// 4-qubit quantum Fourier transform written with OpenQASM 3 loops and modifiers.
OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
x q[0];
for int j in [0:3] {
  h q[3 - j];
  for int k in [0:2 - j] {
    ctrl @ p(pi / 2 ** (k + 1)) q[2 - j - k], q[3 - j];
  }
}
swap q[0], q[3];
swap q[1], q[2];
