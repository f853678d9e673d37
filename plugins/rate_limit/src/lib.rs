//! rate_limit: a token bucket per key (a request header, or the client address) shared by all VMs of the same
//! `vm_id` through shared data with compare-and-swap retries. The tick timer refills; an empty bucket answers
//! 429 with `retry-after` and `x-ratelimit-*` headers. Every decision is counted in a metric.

mod bucket;
mod config;

use bucket::Bucket;
use config::Config;
use proxy_wasm::hostcalls;
use proxy_wasm::metrics::Metric;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, Status};
use proxy_wasm::{info, warn};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

/// Attempts of a read-modify-write before giving up on a contended key.
const CAS_ATTEMPTS: usize = 16;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| Box::new(RateLimitRoot { shared: None }));
}}

/// What the root shares with its streams.
struct Shared {
    config: Config,
    allowed: Metric,
    limited: Metric,
    failed_open: Metric,
}

impl Shared {
    fn period_key(&self) -> String {
        format!("{}:period", self.config.shared_key_prefix)
    }
}

fn now_ms() -> u64 {
    hostcalls::get_current_time()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
}

/// Publishes the current refill period if it is newer than the stored one (one writer wins per period).
fn publish_period(shared: &Shared) -> Result<(), Status> {
    let current = bucket::period_at(now_ms(), shared.config.refill_interval_ms);
    let key = shared.period_key();
    let (value, cas) = hostcalls::get_shared_data(&key)?;
    let stored = value.and_then(|v| String::from_utf8(v).ok()).and_then(|s| s.parse::<u64>().ok());
    if stored.map_or(true, |p| p < current) {
        match hostcalls::set_shared_data(&key, Some(current.to_string().as_bytes()), cas) {
            // Another VM published first: the period is current either way.
            Ok(()) | Err(Status::CasMismatch) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

struct RateLimitRoot {
    shared: Option<Rc<Shared>>,
}

impl RateLimitRoot {
    fn configure(&mut self) -> Result<(), String> {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config = Config::parse(&bytes)?;
        let metric = |name: &str| {
            Metric::counter(&format!("{}.{}", config.stat_prefix, name))
                .map_err(|e| format!("cannot define metric {}: {:?}", name, e))
        };
        let shared = Shared {
            allowed: metric("allowed")?,
            limited: metric("limited")?,
            failed_open: metric("failed_open")?,
            config,
        };
        publish_period(&shared).map_err(|e| format!("shared data unavailable: {:?}", e))?;
        self.set_tick_period(Duration::from_millis(shared.config.refill_interval_ms));
        info!(
            "rate_limit configured: capacity {}, +{} every {} ms",
            shared.config.capacity, shared.config.refill_tokens, shared.config.refill_interval_ms
        );
        self.shared = Some(Rc::new(shared));
        Ok(())
    }
}

impl Context for RateLimitRoot {}

impl RootContext for RateLimitRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        match self.configure() {
            Ok(()) => true,
            Err(reason) => {
                warn!("rate_limit: invalid configuration: {}", reason);
                false
            }
        }
    }

    fn on_tick(&mut self) {
        if let Some(shared) = &self.shared {
            if let Err(e) = publish_period(shared) {
                warn!("rate_limit: could not publish the refill period: {:?}", e);
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(RateLimit { shared: self.shared.clone()?, remaining: None }))
    }
}

struct RateLimit {
    shared: Rc<Shared>,
    /// Tokens left after this request's decision, for the response headers.
    remaining: Option<u64>,
}

impl RateLimit {
    fn key(&self) -> String {
        let config = &self.shared.config;
        let header_value = config.key_header.as_ref().and_then(|h| self.get_http_request_header(h));
        let address = hostcalls::get_property(vec!["source", "address"]).ok().flatten().unwrap_or_default();
        bucket::bucket_key(&config.shared_key_prefix, header_value.as_deref(), &String::from_utf8_lossy(&address))
    }

    /// Takes a token from the key's bucket: `Ok((allowed, tokens left))`.
    fn decide(&self, key: &str) -> Result<(bool, u64), Status> {
        let config = &self.shared.config;
        for _ in 0..CAS_ATTEMPTS {
            let (period_value, _) = hostcalls::get_shared_data(&self.shared.period_key())?;
            let period = period_value.and_then(|v| String::from_utf8(v).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
            let (value, cas) = hostcalls::get_shared_data(key)?;
            let current =
                value.as_deref().and_then(Bucket::decode).unwrap_or_else(|| Bucket::full(config.capacity, period));
            let (allowed, next) = current.refilled(period, config.capacity, config.refill_tokens).take();
            // A new key is written with cas 0 (unconditional): two VMs creating the same key at the same instant
            // may each take a token from a fresh bucket, which errs towards allowing.
            match hostcalls::set_shared_data(key, Some(&next.encode()), cas) {
                Ok(()) => return Ok((allowed, next.tokens)),
                Err(Status::CasMismatch) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(Status::CasMismatch)
    }
}

impl Context for RateLimit {}

impl HttpContext for RateLimit {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        let key = self.key();
        let config = &self.shared.config;
        match self.decide(&key) {
            Ok((true, remaining)) => {
                let _ = self.shared.allowed.increment(1);
                self.remaining = Some(remaining);
                Action::Continue
            }
            Ok((false, _)) => {
                let _ = self.shared.limited.increment(1);
                let reset = bucket::seconds_until_refill(now_ms(), config.refill_interval_ms).to_string();
                let limit = config.capacity.to_string();
                self.send_http_response(
                    429,
                    vec![
                        ("content-type", "text/plain"),
                        ("retry-after", &reset),
                        ("x-ratelimit-limit", &limit),
                        ("x-ratelimit-remaining", "0"),
                        ("x-ratelimit-reset", &reset),
                    ],
                    Some(b"rate limit exceeded\n"),
                );
                Action::Pause
            }
            Err(e) => {
                // Shared data failing must not take the service down: allow, and count it.
                warn!("rate_limit: shared data error for {}: {:?}; allowing", key, e);
                let _ = self.shared.failed_open.increment(1);
                Action::Continue
            }
        }
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        if let Some(remaining) = self.remaining {
            let config = &self.shared.config;
            let reset = bucket::seconds_until_refill(now_ms(), config.refill_interval_ms);
            self.set_http_response_header("x-ratelimit-limit", Some(&config.capacity.to_string()));
            self.set_http_response_header("x-ratelimit-remaining", Some(&remaining.to_string()));
            self.set_http_response_header("x-ratelimit-reset", Some(&reset.to_string()));
        }
        Action::Continue
    }
}
