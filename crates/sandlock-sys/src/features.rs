//! Kernel feature probing (to be completed).
