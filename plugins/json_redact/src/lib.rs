//! json_redact: buffers JSON response bodies (up to a limit) and masks configured fields. Other content types,
//! bodies over the limit and bodies that are not valid JSON pass through unmodified.

mod config;
mod redact;

use config::Config;
use proxy_wasm::json;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use proxy_wasm::{debug, info, warn};
use std::rc::Rc;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(JsonRedactRoot { config: None }));
}}

struct JsonRedactRoot {
    config: Option<Rc<Config>>,
}

impl Context for JsonRedactRoot {}

impl RootContext for JsonRedactRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                info!("json_redact configured: {} key(s), {} path(s)", config.keys.len(), config.paths.len());
                self.config = Some(Rc::new(config));
                true
            }
            Err(reason) => {
                warn!("json_redact: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(JsonRedact { config: self.config.clone()?, active: false }))
    }
}

struct JsonRedact {
    config: Rc<Config>,
    /// Whether this response's body is being buffered for redaction.
    active: bool,
}

impl Context for JsonRedact {}

impl HttpContext for JsonRedact {
    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if end_of_stream {
            return Action::Continue;
        }
        let content_type = self.get_http_response_header("content-type").unwrap_or_default();
        if !self.config.is_json(&content_type) {
            return Action::Continue;
        }
        // A compressed body cannot be read as JSON here.
        let encoding = self.get_http_response_header("content-encoding").unwrap_or_default();
        if !encoding.is_empty() && !encoding.eq_ignore_ascii_case("identity") {
            return Action::Continue;
        }
        let declared = self.get_http_response_header("content-length").and_then(|v| v.trim().parse::<usize>().ok());
        if declared == Some(0) || declared.map_or(false, |len| len > self.config.max_body_bytes) {
            debug!("json_redact: body of {:?} bytes is empty or over the limit; passing through", declared);
            return Action::Continue;
        }
        // The length may change and headers cannot be edited once the body flows, so drop it now.
        self.set_http_response_header("content-length", None);
        self.active = true;
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !self.active {
            return Action::Continue;
        }
        if body_size > self.config.max_body_bytes {
            debug!("json_redact: body grew over {} bytes; passing through", self.config.max_body_bytes);
            self.active = false;
            return Action::Continue;
        }
        if !end_of_stream {
            return Action::Pause;
        }
        self.active = false;
        let body = self.get_http_response_body(0, body_size).unwrap_or_default();
        let mut document = match json::parse_bytes(&body) {
            Ok(document) => document,
            Err(e) => {
                debug!("json_redact: body is not JSON ({}); passing through", e);
                return Action::Continue;
            }
        };
        if redact::redact(&mut document, &self.config) > 0 {
            self.set_http_response_body(0, body_size, document.to_string().as_bytes());
        }
        Action::Continue
    }
}
