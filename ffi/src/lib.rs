//! The C ABI of rtwire (see include/rtwire.h).
