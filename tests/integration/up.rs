//! Integration tests for `up`.
