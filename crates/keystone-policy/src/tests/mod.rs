//! Tests that reach the crate's private parts (the Python emulation's bounds and `literal`'s
//! kinds, the canonical text of a rule), so they live inside the crate rather than in `tests/`.

mod hostile;
mod kinds;
mod properties;
