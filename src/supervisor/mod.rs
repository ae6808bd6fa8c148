//! The supervision engine: spawn, watch, restart and stop services per the Plan.
