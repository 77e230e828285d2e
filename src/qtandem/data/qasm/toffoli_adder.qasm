// 1-bit full adder (a, b, carry-in -> sum, carry-out) with a custom majority gate.
OPENQASM 2.0;
include "qelib1.inc";
gate maj a, b, c { cx c, b; cx c, a; ccx a, b, c; }
gate uma a, b, c { ccx a, b, c; cx c, a; cx a, b; }
qreg cin[1];
qreg a[1];
qreg b[1];
qreg cout[1];
x a[0];
x b[0];
maj cin[0], b[0], a[0];
cx a[0], cout[0];
uma cin[0], b[0], a[0];
