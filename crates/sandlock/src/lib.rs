//! sandlock: the facade (to be completed).
#![forbid(unsafe_code)]
