//! The smallest useful plugin: adds `x-hello: <greeting>` to every response; the greeting is the plugin
//! configuration (default "world").

use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(HelloRoot { greeting: String::new() }));
}}

struct HelloRoot {
    greeting: String,
}

impl Context for HelloRoot {}

impl RootContext for HelloRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = self.get_plugin_configuration().unwrap_or_default();
        match String::from_utf8(config) {
            Ok(text) => {
                self.greeting = if text.is_empty() { "world".to_string() } else { text };
                proxy_wasm::info!("hello_world will greet {:?}", self.greeting);
                true
            }
            Err(_) => {
                proxy_wasm::warn!("hello_world: the configuration must be UTF-8 text");
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Hello { greeting: self.greeting.clone() }))
    }
}

struct Hello {
    greeting: String,
}

impl Context for Hello {}

impl HttpContext for Hello {
    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        self.set_http_response_header("x-hello", Some(&self.greeting));
        Action::Continue
    }
}
