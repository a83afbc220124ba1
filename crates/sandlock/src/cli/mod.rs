//! The option groups of `sandlock run`, one module per supervised feature: each defines its
//! options (flattened into `RunArgs`) and how they go into the [`PolicyBuilder`].
//!
//! [`PolicyBuilder`]: sandlock::PolicyBuilder

pub(crate) mod determinism;
pub(crate) mod network;
pub(crate) mod resources;
pub(crate) mod views;
