//! SSE parser benchmarks.
fn main() {}
