//! The built-in cluster. Part 1 holds the scheduler; the Raft core, FSM and HTTP API join it.

pub mod scheduler;
