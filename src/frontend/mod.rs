//! The front end: HCL files → [`Stack`].

mod stack;

pub use stack::{
    BackendKind, BackendSettings, Dependency, DependencyKind, Gate, JobAddress, JobOptions, ModuleInstance,
    Output, SourceSpan, Stack, StackJob, StackSettings, VariableValue,
};
