//! WebSocket benchmarks (filled in below).
fn main() {}
