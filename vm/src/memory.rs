//! Memory behaviour of the VM. The protocols allocate large vectors every
//! round; mimalloc (the allocator of `mpcvm`) reuses them, and with purging off
//! it keeps freed memory instead of returning it to the operating system, which
//! would hand it back zero-filled on the next round (page clearing and faults
//! were a third of the CPU time of the rep3 benchmark). Peak memory is bounded
//! by the program's live registers anyway. Transparent huge pages stay as the
//! system sets them (mimalloc asks for them on its regions): on these virtual
//! machines a fresh party's first touch of its tensors costs about a third as
//! much in 2 MiB pages as in 4 KiB ones (1M multiplications ran 17% faster,
//! MobileNet 7%, than with them turned off).

/// `mi_option_purge_delay` in mimalloc.h (the Rust bindings leave it unnamed).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Tells mimalloc never to return freed memory to the operating system.
pub fn keep_freed_memory() {
    // SAFETY: setting an option is a plain store in mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
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
    }
}
