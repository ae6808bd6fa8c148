//! Integration tests for `check`.
