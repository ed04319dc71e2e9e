//! Scheduler tests: a deterministic harness (in-memory state, fixed node order, seeded RNG)
//! and table tests per concern.

mod canary;
mod classes;
mod harness;
mod lifecycle;
mod operators;
mod placement;
mod scale;
mod seeds;
mod system;
