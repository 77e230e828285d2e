"""Data files shipped with qtandem (OpenQASM examples used by the tour)."""
