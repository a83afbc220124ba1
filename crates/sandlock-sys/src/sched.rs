//! CPU affinity of the calling thread: `sched_setaffinity`, `sched_getaffinity`, `getcpu`.
//!
//! A seccomp notification hands control from the sandboxed task to the supervisor and back;
//! keeping both on one CPU avoids two cross-CPU wake-ups per round trip, which cost tens of
//! microseconds on small VMs. Benchmarks and latency-sensitive tests pin with these.

use crate::Errno;

/// Number of CPUs a mask can describe: glibc's `CPU_SETSIZE`.
pub const MAX_CPUS: usize = 1024;

const MASK_WORDS: usize = MAX_CPUS / 64;

/// Restricts the calling thread to the CPUs listed in `cpus`.
///
/// Calls `sched_setaffinity(0, sizeof(mask), mask)`. Threads and processes created afterwards
/// inherit the mask. Only the calling *thread* is affected, not the rest of its process.
///
/// # Errors
/// `EINVAL` when `cpus` is empty, lists a CPU ≥ [`MAX_CPUS`], or contains no online CPU that the
/// thread's cpuset allows; `EPERM` for another user's thread (not possible here).
#[doc(alias = "sched_setaffinity")]
pub fn set_affinity(cpus: &[usize]) -> Result<(), Errno> {
    let mut mask = [0u64; MASK_WORDS];
    if cpus.is_empty() {
        return Err(Errno::EINVAL);
    }
    for &cpu in cpus {
        if cpu >= MAX_CPUS {
            return Err(Errno::EINVAL);
        }
        mask[cpu / 64] |= 1 << (cpu % 64);
    }
    // SAFETY: the kernel reads `size_of_val(&mask)` bytes from `mask`, which is that large.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_setaffinity,
            0,
            size_of_val(&mask),
            mask.as_ptr(),
        )
    };
    Errno::result(ret).map(drop)
}

/// The CPUs the calling thread may run on, in increasing order.
///
/// Calls `sched_getaffinity(0, sizeof(mask), mask)`.
#[doc(alias = "sched_getaffinity")]
pub fn affinity() -> Result<Vec<usize>, Errno> {
    let mut mask = [0u64; MASK_WORDS];
    // SAFETY: the kernel writes at most `size_of_val(&mask)` bytes into `mask`.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            0,
            size_of_val(&mask),
            mask.as_mut_ptr(),
        )
    };
    Errno::result(ret)?;
    Ok((0..MAX_CPUS)
        .filter(|&cpu| mask[cpu / 64] & (1 << (cpu % 64)) != 0)
        .collect())
}

/// The CPU the calling thread is running on (it may move right after the call).
///
/// Calls `getcpu(&cpu, NULL, NULL)` (2.6.19).
#[doc(alias = "getcpu")]
#[doc(alias = "sched_getcpu")]
pub fn current_cpu() -> Result<usize, Errno> {
    let mut cpu: libc::c_uint = 0;
    // SAFETY: the kernel writes one unsigned int into `cpu`; NULL node and cache are allowed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_getcpu,
            &mut cpu as *mut libc::c_uint,
            std::ptr::null_mut::<libc::c_uint>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    Errno::result(ret)?;
    Ok(cpu as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_to_current_cpu_in_a_thread() {
        // A separate thread, so the test harness's other threads keep their mask.
        std::thread::spawn(|| {
            let allowed = affinity().unwrap();
            assert!(!allowed.is_empty());
            let cpu = allowed[0];
            set_affinity(&[cpu]).unwrap();
            assert_eq!(affinity().unwrap(), vec![cpu]);
            assert_eq!(current_cpu().unwrap(), cpu);
            assert_eq!(set_affinity(&[]), Err(Errno::EINVAL));
            assert_eq!(set_affinity(&[MAX_CPUS]), Err(Errno::EINVAL));
        })
        .join()
        .unwrap();
    }
}
