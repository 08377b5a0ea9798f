"""Pure domain arithmetic (no Django): position formulas and vectorised exposure aggregates."""
