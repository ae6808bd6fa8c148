//! Integration tests for `env`.
