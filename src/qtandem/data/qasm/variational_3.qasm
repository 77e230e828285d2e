// A parametrised 3-qubit ansatz; theta and phi are inputs bound at run time.
OPENQASM 3.0;
include "stdgates.inc";
input float[64] theta;
input float[64] phi;
qubit[3] q;
ry(theta) q[0];
ry(2 * theta + pi / 4) q[1];
rz(phi) q[2];
cx q[0], q[1];
cx q[1], q[2];
inv @ s q[2];
rx(-phi / 2) q[0];
