//! Code shared by several bench binaries.

pub(crate) mod hot_path;
