//! The token bucket and its shared-data encoding.
//!
//! Time is divided into refill periods of `refill_interval_ms`. The tick timer publishes the current period
//! number in shared data; a bucket remembers the period it was last refilled in and, when next used, catches up by
//! `refill_tokens` per period elapsed (capped at capacity). Because a period is refilled once however many VMs
//! tick, the rate does not grow with the number of workers.

use proxy_wasm::crypto;

/// A bucket's state as stored in shared data (`"<tokens> <period>"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: u64,
    /// The refill period the tokens were last topped up in.
    pub period: u64,
}

impl Bucket {
    /// A full bucket as of `period`.
    pub fn full(capacity: u64, period: u64) -> Bucket {
        Bucket { tokens: capacity, period }
    }

    /// Decodes the stored form; `None` if it is malformed.
    pub fn decode(bytes: &[u8]) -> Option<Bucket> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (tokens, period) = text.split_once(' ')?;
        Some(Bucket { tokens: tokens.parse().ok()?, period: period.parse().ok()? })
    }

    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        format!("{} {}", self.tokens, self.period).into_bytes()
    }

    /// The bucket after refilling up to `period`.
    pub fn refilled(self, period: u64, capacity: u64, refill_tokens: u64) -> Bucket {
        if period <= self.period {
            return self;
        }
        let added = (period - self.period).saturating_mul(refill_tokens);
        Bucket { tokens: self.tokens.saturating_add(added).min(capacity), period }
    }

    /// Takes one token if there is one: `(allowed, bucket after)`.
    pub fn take(self) -> (bool, Bucket) {
        if self.tokens > 0 {
            (true, Bucket { tokens: self.tokens - 1, period: self.period })
        } else {
            (false, self)
        }
    }
}

/// The refill period that `now_ms` falls in.
pub fn period_at(now_ms: u64, interval_ms: u64) -> u64 {
    now_ms / interval_ms
}

/// Whole seconds (rounded up, at least 1) until the next refill, for `retry-after` and `x-ratelimit-reset`.
pub fn seconds_until_refill(now_ms: u64, interval_ms: u64) -> u64 {
    let remaining_ms = interval_ms - now_ms % interval_ms;
    ((remaining_ms + 999) / 1000).max(1)
}

/// Header values longer than this are stored by their SHA-256, which bounds every shared-data key.
const MAX_KEY_VALUE: usize = 64;

/// The shared-data key of a request's bucket: by the key header's value when the request has it, else by the
/// client's IP.
pub fn bucket_key(prefix: &str, header_value: Option<&str>, source_address: &str) -> String {
    let key = match header_value {
        Some(value) if value.len() > MAX_KEY_VALUE => {
            format!("h#{}", crypto::to_hex(&crypto::sha256(value.as_bytes())))
        }
        Some(value) => format!("h:{}", value),
        None => format!("ip:{}", client_ip(source_address)),
    };
    format!("{}:bucket:{}", prefix, key)
}

/// The client's IP from Envoy's `source.address` (`ip:port`, or `[v6]:port`).
pub fn client_ip(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        // Only strip a port from an IPv4 address or name: a bare IPv6 address has several colons.
        Some((ip, port)) if !ip.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => ip,
        _ => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_until_empty() {
        let b = Bucket::full(2, 0);
        let (ok1, b) = b.take();
        let (ok2, b) = b.take();
        let (ok3, b) = b.take();
        assert!(ok1 && ok2 && !ok3);
        assert_eq!(b.tokens, 0);
    }

    #[test]
    fn refills_per_elapsed_period_up_to_capacity() {
        let empty = Bucket { tokens: 0, period: 10 };
        assert_eq!(empty.refilled(10, 5, 2), empty);
        assert_eq!(empty.refilled(9, 5, 2), empty);
        assert_eq!(empty.refilled(11, 5, 2), Bucket { tokens: 2, period: 11 });
        assert_eq!(empty.refilled(13, 5, 2), Bucket { tokens: 5, period: 13 });
        assert_eq!(empty.refilled(u64::MAX, 5, u64::MAX).tokens, 5);
    }

    #[test]
    fn round_trips_the_stored_form() {
        let b = Bucket { tokens: 7, period: 123456 };
        assert_eq!(b.encode(), b"7 123456".to_vec());
        assert_eq!(Bucket::decode(&b.encode()), Some(b));
        assert_eq!(Bucket::decode(b"7"), None);
        assert_eq!(Bucket::decode(b"x 1"), None);
    }

    #[test]
    fn computes_periods_and_reset_times() {
        assert_eq!(period_at(2500, 1000), 2);
        assert_eq!(seconds_until_refill(2500, 1000), 1);
        assert_eq!(seconds_until_refill(1000, 60_000), 59);
        assert_eq!(seconds_until_refill(0, 50), 1);
    }

    #[test]
    fn keys_by_header_value_or_client_ip_with_bounded_length() {
        assert_eq!(bucket_key("rl", Some("alice"), "10.0.0.1:5"), "rl:bucket:h:alice");
        assert_eq!(bucket_key("rl", None, "10.0.0.1:5"), "rl:bucket:ip:10.0.0.1");
        let long = "x".repeat(1000);
        let key = bucket_key("rl", Some(&long), "");
        assert_eq!(key.len(), "rl:bucket:h#".len() + 64);
        assert_ne!(key, bucket_key("rl", Some(&"y".repeat(1000)), ""));
    }

    #[test]
    fn extracts_client_ips() {
        assert_eq!(client_ip("10.1.2.3:5555"), "10.1.2.3");
        assert_eq!(client_ip("[::1]:443"), "::1");
        assert_eq!(client_ip("::1"), "::1");
        assert_eq!(client_ip("10.1.2.3"), "10.1.2.3");
    }
}
