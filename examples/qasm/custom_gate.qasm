// A custom parametrised gate used twice (OpenQASM 2).
OPENQASM 2.0;
include "qelib1.inc";
gate entangle(theta) a, b { h a; cx a, b; rz(theta) b; cx a, b; }
qreg q[3];
creg c[3];
entangle(pi/3) q[0], q[1];
entangle(-pi/5) q[1], q[2];
measure q -> c;
