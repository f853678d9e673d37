//! A dependency-free Rust SDK for proxy-wasm plugins (ABI 0.2.1), written for the gateway and compatible with
//! Envoy and other proxy-wasm hosts.
//!
//! Its names follow the upstream `proxy-wasm` crate, so a plugin written for it ports by changing the dependency
//! line (see `README.md` for every difference). A plugin implements [`traits::RootContext`] and
//! [`traits::HttpContext`] (or [`traits::StreamContext`] for TCP), and registers its root factory in
//! [`main!`]:
//!
//! ```no_run
//! use proxy_wasm::traits::{Context, HttpContext, RootContext};
//! use proxy_wasm::types::{Action, ContextType, LogLevel};
//!
//! proxy_wasm::main! {{
//!     proxy_wasm::set_log_level(LogLevel::Info);
//!     proxy_wasm::set_root_context(|_| Box::new(Root));
//! }}
//!
//! struct Root;
//! impl Context for Root {}
//! impl RootContext for Root {
//!     fn get_type(&self) -> Option<ContextType> {
//!         Some(ContextType::HttpContext)
//!     }
//!     fn create_http_context(&self, _id: u32) -> Option<Box<dyn HttpContext>> {
//!         Some(Box::new(Hello))
//!     }
//! }
//!
//! struct Hello;
//! impl Context for Hello {}
//! impl HttpContext for Hello {
//!     fn on_http_request_headers(&mut self, _: usize, _: bool) -> Action {
//!         self.add_http_request_header("x-hello", "world");
//!         Action::Continue
//!     }
//! }
//! ```
#![deny(missing_docs)]

pub mod base64;
pub mod crypto;
pub mod hostcalls;
pub mod json;
pub mod logger;
pub mod metrics;
pub mod pairs;
pub mod traits;
pub mod types;

mod abi;
mod allocator;
mod dispatcher;

/// Sets the plugin's own log filter (default `Info`) and installs the panic hook that logs panics through the
/// host.
pub fn set_log_level(level: types::LogLevel) {
    logger::set_log_level(level);
}

/// Registers the factory of the plugin's root context (one per plugin configuration using this VM).
pub fn set_root_context(factory: types::NewRootContext) {
    logger::install_panic_hook();
    dispatcher::set_root_context(factory);
}

/// Registers a factory for TCP stream contexts, used when the root context's `get_type()` is `None`.
pub fn set_stream_context(factory: types::NewStreamContext) {
    logger::install_panic_hook();
    dispatcher::set_stream_context(factory);
}

/// Registers a factory for HTTP contexts, used when the root context's `get_type()` is `None`.
pub fn set_http_context(factory: types::NewHttpContext) {
    logger::install_panic_hook();
    dispatcher::set_http_context(factory);
}

/// Declares the plugin's entry point: the block runs once when the VM starts (exported as the WASI reactor's
/// `_initialize`), and is where the plugin registers its context factories.
#[macro_export]
macro_rules! main {
    ($code:block) => {
        #[cfg(target_os = "wasi")]
        extern "C" {
            fn __wasm_call_ctors();
        }

        /// Entry point run by the host once per VM instance.
        #[no_mangle]
        pub extern "C" fn _initialize() {
            // A WASI reactor runs its static constructors (wasi-libc's) from its own entry point.
            #[cfg(target_os = "wasi")]
            unsafe {
                __wasm_call_ctors();
            }
            $code;
        }
    };
}

/// The ABI version marker the host reads (never called).
#[no_mangle]
pub extern "C" fn proxy_abi_version_0_2_1() {}
