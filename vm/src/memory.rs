//! Memory behaviour of the VM. The protocols allocate large vectors every
//! round; mimalloc (the allocator of `mpcvm`) reuses them, and with purging off
//! it keeps freed memory instead of returning it to the operating system, which
//! would hand it back zero-filled on the next round (page clearing and faults
//! were a third of the CPU time of the rep3 benchmark). Peak memory is bounded
//! by the program's live registers anyway. Transparent huge pages are turned
//! off: with them, the first touch of memory zeroes 2 MiB at a time, which on
//! these virtual machines took a third of a fresh party's CPU time on MobileNet.

/// `mi_option_purge_delay` in mimalloc.h (the Rust bindings leave it unnamed).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to return freed memory to the operating system, and
/// the kernel not to back this process with transparent huge pages.
pub fn keep_freed_memory() {
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of this process; an old
    // kernel that lacks it returns an error, which leaves things as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_is_the_purge_delay() {
        // Its default in mimalloc v3's option table (src/options.c) is 1000 ms:
        // a renumbering in a new mimalloc fails here.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
        }
        keep_freed_memory();
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), -1);
        }
        #[cfg(target_os = "linux")]
        assert_eq!(
            unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) },
            1
        );
    }
}
