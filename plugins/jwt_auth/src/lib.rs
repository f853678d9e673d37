//! jwt_auth: verifies HS256 JWTs from `Authorization: Bearer`, forwards configured claims as request headers,
//! and rejects missing or invalid tokens with 401 and a JSON body.

mod config;
mod jwt;

use config::Config;
use proxy_wasm::json;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};
use proxy_wasm::{debug, info, warn};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(JwtRoot { config: None }));
}}

struct JwtRoot {
    config: Option<Rc<Config>>,
}

impl Context for JwtRoot {}

impl RootContext for JwtRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                info!("jwt_auth configured with {} key(s)", config.keys.len());
                self.config = Some(Rc::new(config));
                true
            }
            Err(reason) => {
                warn!("jwt_auth: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // on_configure succeeded before any stream exists, so the configuration is present.
        let config = self.config.clone()?;
        Some(Box::new(JwtAuth { config }))
    }
}

struct JwtAuth {
    config: Rc<Config>,
}

impl JwtAuth {
    fn reject(&self, error: &str, description: &str) -> Action {
        let mut body = String::from("{\"error\":");
        json::write_string(&mut body, error);
        body.push_str(",\"message\":");
        json::write_string(&mut body, description);
        body.push('}');
        let challenge = if error == "missing_token" {
            "Bearer".to_string()
        } else {
            format!("Bearer error=\"invalid_token\", error_description=\"{}\"", description.replace('"', "'"))
        };
        self.send_http_response(
            401,
            vec![("content-type", "application/json"), ("www-authenticate", &challenge)],
            Some(body.as_bytes()),
        );
        Action::Pause
    }
}

impl Context for JwtAuth {}

impl HttpContext for JwtAuth {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Claim headers are ours to set: never let a client supply them.
        for (_, header) in &self.config.claims_to_headers {
            self.set_http_request_header(header, None);
        }
        let authorization = self.get_http_request_header("authorization");
        let token = match authorization.as_deref().and_then(jwt::bearer_token) {
            Some(token) => token,
            None => return self.reject("missing_token", "a Bearer token is required"),
        };
        let now = self.get_current_time().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = match jwt::verify(token, &self.config, now) {
            Ok(claims) => claims,
            Err(e) => {
                debug!("jwt_auth: rejected token: {}", e.message());
                return self.reject("invalid_token", &e.message());
            }
        };
        for (claim, header) in &self.config.claims_to_headers {
            if let Some(value) = claims.get(claim) {
                self.set_http_request_header(header, Some(&jwt::claim_header_value(value)));
            }
        }
        if !self.config.forward_token {
            self.set_http_request_header("authorization", None);
        }
        Action::Continue
    }
}
