// Gate modifiers and loops (OpenQASM 3): a 3-controlled phase, an inverted QFT-like ladder.
OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
bit[4] c;
for int i in [0:3] { h q[i]; }
ctrl(3) @ p(pi / 8) q[0], q[1], q[2], q[3];
for int j in [0:2] { inv @ ctrl @ p(pi / 2 ** (j + 1)) q[j], q[3]; }
negctrl @ x q[0], q[1];
pow(3) @ s q[2];
c = measure q;
