//! Raw calls into foreign syscall ABIs (x32, i386), for probes and attack tests (to be completed).
