//! header_rewrite: adds, sets and removes request and response headers as configured; values are templates that
//! may use host properties such as `{request.path}` and `{source.address}`.

mod config;
mod template;

use config::{Config, Rules};
use template::Template;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType};
use proxy_wasm::{hostcalls, info, warn};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(HeaderRewriteRoot { config: Rc::new(Config::default()) }));
}}

struct HeaderRewriteRoot {
    config: Rc<Config>,
}

impl Context for HeaderRewriteRoot {}

impl RootContext for HeaderRewriteRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                self.config = Rc::new(config);
                info!("header_rewrite configured");
                true
            }
            Err(reason) => {
                warn!("header_rewrite: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(HeaderRewrite { config: self.config.clone() }))
    }
}

struct HeaderRewrite {
    config: Rc<Config>,
}

/// Reads a property for a template; values that are not UTF-8 (e.g. 8-byte integers) are decoded per
/// `template::render_property`.
fn lookup(path: &[&str]) -> Option<Vec<u8>> {
    hostcalls::get_property(path.to_vec()).ok().flatten()
}

fn apply(rules: &Rules, map: MapType) {
    // Render every template before editing, so templates see the headers as they arrived.
    let render = |edits: &[(String, Template)]| -> Vec<(String, String)> {
        edits.iter().map(|(name, value)| (name.clone(), value.render(lookup))).collect()
    };
    let (set, add) = (render(&rules.set), render(&rules.add));
    for name in &rules.remove {
        let _ = hostcalls::remove_map_value(map, name);
    }
    for (name, value) in &set {
        let _ = hostcalls::set_map_value(map, name, Some(value));
    }
    for (name, value) in &add {
        let _ = hostcalls::add_map_value(map, name, value);
    }
}

impl Context for HeaderRewrite {}

impl HttpContext for HeaderRewrite {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        apply(&self.config.request, MapType::HttpRequestHeaders);
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        apply(&self.config.response, MapType::HttpResponseHeaders);
        Action::Continue
    }
}
