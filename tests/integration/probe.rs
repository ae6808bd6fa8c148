//! Integration tests for `probe`.
