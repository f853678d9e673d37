//! ext_authz: for each request, asks an authorization service (an HTTP callout to a configured cluster) and
//! lets the request through on 2xx, copying configured headers from the answer; rejects it with the service's
//! status otherwise. When the service fails (no answer within the timeout, or 5xx) the request is allowed or
//! rejected according to `failure_mode_allow`.

mod config;

use config::{Config, Verdict};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use proxy_wasm::{debug, info, warn};
use std::rc::Rc;
use std::time::Duration;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(ExtAuthzRoot { config: None }));
}}

struct ExtAuthzRoot {
    config: Option<Rc<Config>>,
}

impl Context for ExtAuthzRoot {}

impl RootContext for ExtAuthzRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                info!("ext_authz configured: cluster {}, timeout {} ms", config.cluster, config.timeout_ms);
                self.config = Some(Rc::new(config));
                true
            }
            Err(reason) => {
                warn!("ext_authz: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(ExtAuthz { config: self.config.clone()? }))
    }
}

struct ExtAuthz {
    config: Rc<Config>,
}

impl ExtAuthz {
    /// Applies the failure mode; returns what the current callback should answer.
    fn on_failure(&self, why: &str) -> Action {
        if self.config.failure_mode_allow {
            warn!("ext_authz: {}; allowing (failure_mode_allow)", why);
            Action::Continue
        } else {
            warn!("ext_authz: {}; rejecting", why);
            self.send_http_response(self.config.status_on_error, vec![], Some(b"authorization service unavailable\n"));
            Action::Pause
        }
    }

    fn check_request_headers(&self) -> Vec<(String, String)> {
        let method = self.get_http_request_header(":method").unwrap_or_else(|| "GET".to_string());
        let path = self.get_http_request_header(":path").unwrap_or_else(|| "/".to_string());
        let mut headers = vec![
            (":method".to_string(), method),
            (":path".to_string(), format!("{}{}", self.config.path_prefix, path)),
            (":authority".to_string(), self.config.authority.clone()),
        ];
        for name in &self.config.allowed_request_headers {
            if let Some(value) = self.get_http_request_header(name) {
                headers.push((name.clone(), value));
            }
        }
        headers
    }
}

impl Context for ExtAuthz {
    fn on_http_call_response(&mut self, _token: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        let status = if num_headers == 0 {
            None
        } else {
            self.get_http_call_response_header(":status").and_then(|s| s.parse::<u32>().ok())
        };
        match config::verdict(status) {
            Verdict::Allow => {
                for name in &self.config.allowed_upstream_headers {
                    if let Some(value) = self.get_http_call_response_header(name) {
                        self.set_http_request_header(name, Some(&value));
                    }
                }
                debug!("ext_authz: allowed");
                self.resume_http_request();
            }
            Verdict::Deny(status) => {
                let answer_headers = self.get_http_call_response_headers();
                let copied: Vec<(&str, &str)> = answer_headers
                    .iter()
                    .filter(|(k, _)| self.config.allowed_client_headers.contains(k))
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let body = if body_size > 0 { self.get_http_call_response_body(0, body_size) } else { None };
                debug!("ext_authz: denied with {}", status);
                self.send_http_response(status, copied, body.as_deref());
            }
            Verdict::Failed => {
                let why = match status {
                    Some(s) => format!("authorization service answered {}", s),
                    None => "authorization call failed or timed out".to_string(),
                };
                if self.on_failure(&why) == Action::Continue {
                    self.resume_http_request();
                }
            }
        }
    }
}

impl HttpContext for ExtAuthz {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let headers = self.check_request_headers();
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let timeout = Duration::from_millis(self.config.timeout_ms as u64);
        match self.dispatch_http_call(&self.config.cluster, refs, None, vec![], timeout) {
            Ok(_) => Action::Pause,
            Err(status) => self.on_failure(&format!("cannot call cluster {}: {:?}", self.config.cluster, status)),
        }
    }
}
