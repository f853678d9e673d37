//! Exercises the SDK's host calls against a real host, one request path per feature; `tests/plugins/test_sdk.py`
//! drives it through the gateway's harness. Results are reported in `x-probe-*` request headers.

use proxy_wasm::hostcalls;
use proxy_wasm::metrics::Metric;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel};
use proxy_wasm::{debug, info};
use std::time::{Duration, UNIX_EPOCH};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Debug);
    proxy_wasm::set_root_context(|_| Box::new(ProbeRoot { queue: 0, ticks: 0 }));
}}

struct ProbeRoot {
    queue: u32,
    ticks: u64,
}

impl Context for ProbeRoot {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, _body_size: usize, _num_trailers: usize) {
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        info!("root callout {} answered {} with {} headers", token, status, num_headers);
    }
}

impl RootContext for ProbeRoot {
    fn on_vm_start(&mut self, _size: usize) -> bool {
        let vm_config = self.get_vm_configuration().unwrap_or_default();
        info!("vm configuration: {}", String::from_utf8_lossy(&vm_config));
        true
    }

    fn on_configure(&mut self, _size: usize) -> bool {
        self.queue = self.register_shared_queue("probe");
        let tick_ms = self.get_plugin_configuration().and_then(|c| String::from_utf8(c).ok()?.parse().ok());
        if let Some(ms) = tick_ms {
            self.set_tick_period(Duration::from_millis(ms));
        }
        true
    }

    fn on_tick(&mut self) {
        self.ticks += 1;
        info!("tick {}", self.ticks);
        if self.ticks == 2 {
            let headers = vec![(":method", "GET"), (":path", "/from-root"), (":authority", "backend")];
            let token = self.dispatch_http_call("backend", headers, None, vec![], Duration::from_secs(1));
            info!("root dispatched {:?}", token);
        }
    }

    fn on_queue_ready(&mut self, queue_id: u32) {
        while let Ok(Some(item)) = self.dequeue_shared_queue(queue_id) {
            info!("dequeued {}", String::from_utf8_lossy(&item));
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Probe { context_id }))
    }
}

struct Probe {
    context_id: u32,
}

impl Probe {
    fn report(&self, name: &str, value: &str) {
        self.set_http_request_header(&format!("x-probe-{}", name), Some(value));
    }

    fn shared_data(&self) {
        let key = format!("probe-{}", self.context_id);
        let first = self.set_shared_data(&key, Some(b"v1"), None);
        let (value, cas) = self.get_shared_data(&key);
        let stale = cas.map(|c| c.wrapping_add(1));
        let conflict = self.set_shared_data(&key, Some(b"v2"), stale);
        let update = self.set_shared_data(&key, Some(b"v3"), cas);
        let (after, _) = self.get_shared_data(&key);
        let missing = self.get_shared_data("probe-never-set");
        self.report(
            "shared",
            &format!(
                "{:?} {} {:?} {:?} {} {}",
                first,
                String::from_utf8_lossy(&value.unwrap_or_default()),
                conflict,
                update,
                String::from_utf8_lossy(&after.unwrap_or_default()),
                missing == (None, None)
            ),
        );
    }

    fn metrics(&self) {
        let counter = Metric::counter("probe.requests").unwrap();
        let gauge = Metric::gauge("probe.level").unwrap();
        let histogram = Metric::histogram("probe.sizes").unwrap();
        counter.increment(2).unwrap();
        counter.record(3).unwrap();
        gauge.record(10).unwrap();
        gauge.increment(-4).unwrap();
        histogram.record(7).unwrap();
        let rejected = counter.increment(-1);
        let unreadable = histogram.value();
        self.report(
            "metrics",
            &format!("{} {} {:?} {:?}", counter.value().unwrap(), gauge.value().unwrap(), rejected, unreadable),
        );
    }

    fn properties(&self) {
        let text = |path: Vec<&str>| String::from_utf8_lossy(&self.get_property(path).unwrap_or_default()).into_owned();
        let port = self.get_property(vec!["source", "port"]).map(|v| v.len());
        self.report(
            "properties",
            &format!(
                "{} {} {:?} {:?}",
                text(vec!["request", "path"]),
                text(vec!["source", "address"]),
                port,
                self.get_property(vec!["no", "such"])
            ),
        );
        self.set_property(vec!["probe_state"], Some(b"stored"));
        self.report("property-roundtrip", &text(vec!["probe_state"]));
    }

    fn misc(&self) {
        let now = self.get_current_time().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let level = hostcalls::get_log_level();
        let grpc = self.dispatch_grpc_call("backend", "svc", "Method", vec![], None, Duration::from_secs(1));
        let foreign = self.call_foreign_function("no_such_function", None);
        let headers = self.get_http_request_headers();
        self.report("misc", &format!("{} {:?} {:?} {:?} {}", now, level, grpc, foreign, headers.len()));
        debug!("misc probe done");
    }
}

impl Context for Probe {
    fn on_http_call_response(&mut self, token: u32, num_headers: usize, body_size: usize, num_trailers: usize) {
        let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
        let status = self.get_http_call_response_header(":status").unwrap_or_default();
        let trailers = self.get_http_call_response_trailers();
        self.report(
            "callout",
            &format!(
                "{} {} {} {} {} {}",
                token,
                status,
                num_headers,
                String::from_utf8_lossy(&body),
                num_trailers,
                trailers.len()
            ),
        );
        self.resume_http_request();
    }
}

impl HttpContext for Probe {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        self.report("end-of-stream", &end_of_stream.to_string());
        match path.as_str() {
            "/shared" => self.shared_data(),
            "/metrics" => self.metrics(),
            "/properties" => self.properties(),
            "/misc" => self.misc(),
            "/enqueue" => {
                let queue = self.resolve_shared_queue("", "probe").expect("queue registered in on_configure");
                self.enqueue_shared_queue(queue, Some(b"hello")).unwrap();
                self.enqueue_shared_queue(queue, Some(b"again")).unwrap();
            }
            "/callout" => {
                let headers = vec![(":method", "GET"), (":path", "/check"), (":authority", "backend")];
                let result = self.dispatch_http_call("backend", headers, Some(b"ping"), vec![], Duration::from_secs(5));
                return match result {
                    Ok(_) => Action::Pause,
                    Err(status) => {
                        self.report("callout", &format!("{:?}", status));
                        Action::Continue
                    }
                };
            }
            "/reply" => {
                self.send_http_response(418, vec![("x-teapot", "yes")], Some(b"short and stout"));
                return Action::Pause;
            }
            "/panic" => panic!("probe panicked on purpose"),
            _ => {}
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if !end_of_stream {
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let upper = String::from_utf8_lossy(&body).to_uppercase();
        self.set_http_request_body(0, body_size, upper.as_bytes());
        let (size, _) = hostcalls::get_buffer_status(BufferType::HttpRequestBody).unwrap_or((0, 0));
        info!("request body now {} bytes", size);
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, num_trailers: usize) -> Action {
        self.add_http_response_trailer("x-probe-trailers", &num_trailers.to_string());
        Action::Continue
    }
}
