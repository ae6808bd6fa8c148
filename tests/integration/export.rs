//! Integration tests for `export`.
