//! The plugin configuration (JSON):
//! `{"capacity": 3, "refill_tokens": 1, "refill_interval_ms": 1000, "key_header": "x-api-key",
//!   "shared_key_prefix": "rate_limit", "stat_prefix": "rate_limit"}`.
//! Only `capacity` is required. Without `key_header` (or when a request lacks it) the key is the client address.

use proxy_wasm::json::{self, Value};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Tokens in a full bucket: the burst a key may send.
    pub capacity: u64,
    /// Tokens added to every bucket per refill interval.
    pub refill_tokens: u64,
    /// Length of a refill interval (also the tick period).
    pub refill_interval_ms: u64,
    /// Request header whose value is the bucket key.
    pub key_header: Option<String>,
    /// Prefix of the shared-data keys (lets several plugins share a VM id without sharing buckets).
    pub shared_key_prefix: String,
    /// Prefix of the metric names.
    pub stat_prefix: String,
}

fn positive(value: &Value, name: &str) -> Result<u64, String> {
    match value.as_u64() {
        Some(n) if n > 0 => Ok(n),
        _ => Err(format!("{} must be a positive integer", name)),
    }
}

fn name(value: &Value, field: &str) -> Result<String, String> {
    match value.as_str() {
        Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => Ok(s.to_string()),
        _ => Err(format!("{} must be a non-empty string without spaces", field)),
    }
}

impl Config {
    /// Parses and validates the configuration; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let root = json::parse_bytes(bytes).map_err(|e| format!("configuration is not JSON: {}", e))?;
        let entries = root.as_object().ok_or("configuration must be a JSON object")?;
        let mut capacity = None;
        let mut config = Config {
            capacity: 0,
            refill_tokens: 1,
            refill_interval_ms: 1000,
            key_header: None,
            shared_key_prefix: "rate_limit".to_string(),
            stat_prefix: "rate_limit".to_string(),
        };
        for (key, v) in entries {
            match key.as_str() {
                "capacity" => capacity = Some(positive(v, "capacity")?),
                "refill_tokens" => config.refill_tokens = positive(v, "refill_tokens")?,
                "refill_interval_ms" => {
                    config.refill_interval_ms = positive(v, "refill_interval_ms")?;
                    if config.refill_interval_ms > u32::MAX as u64 {
                        return Err("refill_interval_ms is too large".to_string());
                    }
                }
                "key_header" => config.key_header = Some(name(v, "key_header")?.to_ascii_lowercase()),
                "shared_key_prefix" => config.shared_key_prefix = name(v, "shared_key_prefix")?,
                "stat_prefix" => config.stat_prefix = name(v, "stat_prefix")?,
                other => return Err(format!("unknown field {:?}", other)),
            }
        }
        config.capacity = capacity.ok_or("capacity is required")?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_defaults() {
        let config = Config::parse(br#"{"capacity": 3}"#).unwrap();
        assert_eq!(config.capacity, 3);
        assert_eq!(config.refill_tokens, 1);
        assert_eq!(config.refill_interval_ms, 1000);
        assert_eq!(config.key_header, None);
        let config = Config::parse(br#"{"capacity": 5, "key_header": "X-Api-Key", "refill_interval_ms": 50}"#).unwrap();
        assert_eq!(config.key_header.as_deref(), Some("x-api-key"));
        assert_eq!(config.refill_interval_ms, 50);
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "not JSON"),
            (b"{}", "capacity is required"),
            (br#"{"capacity": 0}"#, "capacity must be a positive integer"),
            (br#"{"capacity": 1.5}"#, "capacity must be a positive integer"),
            (br#"{"capacity": 1, "refill_interval_ms": -1}"#, "refill_interval_ms must be"),
            (br#"{"capacity": 1, "key_header": ""}"#, "key_header must be"),
            (br#"{"capacity": 1, "burst": 2}"#, "unknown field \"burst\""),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(err.contains(expected), "{:?}: {}", String::from_utf8_lossy(input), err);
        }
    }
}
