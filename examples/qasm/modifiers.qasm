// Gate modifiers and loops (OpenQASM 3): a 3-controlled phase, an inverted QFT-like ladder.
OPENQASM 3.0;
include "stdgates.inc";
const int n = 4;
qubit[n] q;
bit[n] c;
gate cphase_ladder(a) x, y { ctrl @ p(a) x, y; }
for int i in [0:n - 1] { h q[i]; }
ctrl(3) @ p(pi / 8) q[0], q[1], q[2], q[3];
for int j in [0:2] { inv @ cphase_ladder(pi / 2 ** (j + 1)) q[j], q[3]; }
negctrl @ x q[0], q[1];
pow(3) @ s q[2];
c = measure q;
