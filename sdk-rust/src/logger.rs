//! Logging through the host (`proxy_log`), with a level filter and a panic hook.
//!
//! Use the crate's macros: `proxy_wasm::info!("...")` etc. Messages below the level set with
//! [`crate::set_log_level`] (default `Info`) are not even formatted. A panic is logged at `Critical` before the VM
//! traps, so the host's log says why a plugin failed.

use crate::hostcalls;
use crate::types::LogLevel;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;

static LEVEL: AtomicU32 = AtomicU32::new(LogLevel::Info as u32);
static PANIC_HOOK: Once = Once::new();

pub(crate) fn set_log_level(level: LogLevel) {
    LEVEL.store(level as u32, Ordering::Relaxed);
    install_panic_hook();
}

/// Whether messages at `level` pass the plugin's own filter.
pub fn enabled(level: LogLevel) -> bool {
    level as u32 >= LEVEL.load(Ordering::Relaxed)
}

/// Formats and sends one message to the host if `level` is enabled (the macros call this).
pub fn log(level: LogLevel, args: fmt::Arguments) {
    if enabled(level) {
        // A failing log call has nowhere to report to; the message is dropped.
        let _ = hostcalls::log(level, &fmt::format(args));
    }
}

pub(crate) fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let _ = hostcalls::log(LogLevel::Critical, &info.to_string());
        }));
    });
}

/// Logs at `Trace` level, with `format!` syntax.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Trace, format_args!($($arg)+)) };
}

/// Logs at `Debug` level, with `format!` syntax.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Debug, format_args!($($arg)+)) };
}

/// Logs at `Info` level, with `format!` syntax.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Info, format_args!($($arg)+)) };
}

/// Logs at `Warn` level, with `format!` syntax.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Warn, format_args!($($arg)+)) };
}

/// Logs at `Error` level, with `format!` syntax.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Error, format_args!($($arg)+)) };
}

/// Logs at `Critical` level, with `format!` syntax.
#[macro_export]
macro_rules! critical {
    ($($arg:tt)+) => { $crate::logger::log($crate::types::LogLevel::Critical, format_args!($($arg)+)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_filters_messages() {
        set_log_level(LogLevel::Warn);
        assert!(!enabled(LogLevel::Info));
        assert!(enabled(LogLevel::Warn));
        assert!(enabled(LogLevel::Critical));
        set_log_level(LogLevel::Trace);
        assert!(enabled(LogLevel::Trace));
    }
}
