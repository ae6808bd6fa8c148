//! Environment resolution with provenance: the six layers of the SPEC, `${VAR}`
//! interpolation, the dotenv reader with line numbers and the migration lint.
//! Never calls `std::env::set_var`.
