//! Attribute macros for `axum-download`; see that crate for documentation.
