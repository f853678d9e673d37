//! The allocator export through which the host hands data to the plugin.
//!
//! The host calls it with the exact byte count it wants to copy in; the SDK later takes the block back with
//! `Vec::from_raw_parts(ptr, size, size)` (see `hostcalls`), so the block must be a boxed slice of that size.
//! wasm32-unknown-unknown has no libc, so the function is exported there under the C++ host's name `malloc`.

#[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), export_name = "malloc")]
#[cfg_attr(not(all(target_arch = "wasm32", target_os = "unknown")), no_mangle)]
extern "C" fn proxy_on_memory_allocate(size: usize) -> *mut u8 {
    let block: Box<[u8]> = vec![0u8; size].into_boxed_slice();
    Box::into_raw(block) as *mut u8
}
