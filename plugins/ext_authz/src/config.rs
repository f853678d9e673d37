//! The plugin configuration (JSON):
//! ```json
//! {"cluster": "authz", "authority": "authz.internal", "path_prefix": "/check", "timeout_ms": 200,
//!  "failure_mode_allow": false, "status_on_error": 403,
//!  "allowed_request_headers": ["authorization", "cookie"],
//!  "allowed_upstream_headers": ["x-user-id"], "allowed_client_headers": ["www-authenticate"]}
//! ```
//! Only `cluster` is required.

use proxy_wasm::json::{self, Value};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Cluster of the authorization service.
    pub cluster: String,
    /// `:authority` of check requests (default: the cluster name).
    pub authority: String,
    /// Prepended to the original path to form the check request's path.
    pub path_prefix: String,
    /// How long to wait for the service.
    pub timeout_ms: u32,
    /// Let requests through when the service fails (no answer, timeout, 5xx) instead of rejecting them.
    pub failure_mode_allow: bool,
    /// Status of the rejection when the service fails and `failure_mode_allow` is false.
    pub status_on_error: u32,
    /// Request headers copied into the check request.
    pub allowed_request_headers: Vec<String>,
    /// Headers of an allowing answer copied onto the request sent upstream.
    pub allowed_upstream_headers: Vec<String>,
    /// Headers of a denying answer copied onto the reply to the client.
    pub allowed_client_headers: Vec<String>,
}

fn string(value: &Value, field: &str) -> Result<String, String> {
    value.as_str().map(str::to_string).ok_or_else(|| format!("{} must be a string", field))
}

fn header_list(value: &Value, field: &str) -> Result<Vec<String>, String> {
    let list = value.as_array().ok_or_else(|| format!("{} must be an array of header names", field))?;
    list.iter()
        .map(|v| match v.as_str() {
            Some(s) if !s.is_empty() && !s.starts_with(':') && !s.contains(char::is_whitespace) => {
                Ok(s.to_ascii_lowercase())
            }
            _ => Err(format!("{} must hold header names (no pseudo-headers)", field)),
        })
        .collect()
}

impl Config {
    /// Parses and validates the configuration; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let root = json::parse_bytes(bytes).map_err(|e| format!("configuration is not JSON: {}", e))?;
        let entries = root.as_object().ok_or("configuration must be a JSON object")?;
        let mut cluster = None;
        let mut authority = None;
        let mut config = Config {
            cluster: String::new(),
            authority: String::new(),
            path_prefix: String::new(),
            timeout_ms: 200,
            failure_mode_allow: false,
            status_on_error: 403,
            allowed_request_headers: vec!["authorization".to_string()],
            allowed_upstream_headers: Vec::new(),
            allowed_client_headers: vec!["www-authenticate".to_string()],
        };
        for (key, v) in entries {
            match key.as_str() {
                "cluster" => cluster = Some(string(v, "cluster")?),
                "authority" => authority = Some(string(v, "authority")?),
                "path_prefix" => {
                    config.path_prefix = string(v, "path_prefix")?;
                    if !config.path_prefix.is_empty() && !config.path_prefix.starts_with('/') {
                        return Err("path_prefix must start with '/'".to_string());
                    }
                }
                "timeout_ms" => {
                    config.timeout_ms = v
                        .as_u64()
                        .filter(|t| (1..=i32::MAX as u64).contains(t))
                        .ok_or("timeout_ms must be a positive integer")? as u32
                }
                "failure_mode_allow" => {
                    config.failure_mode_allow = v.as_bool().ok_or("failure_mode_allow must be a boolean")?
                }
                "status_on_error" => {
                    config.status_on_error = v
                        .as_u64()
                        .filter(|s| (200..=599).contains(s))
                        .ok_or("status_on_error must be an HTTP status between 200 and 599")?
                        as u32
                }
                "allowed_request_headers" => config.allowed_request_headers = header_list(v, key)?,
                "allowed_upstream_headers" => config.allowed_upstream_headers = header_list(v, key)?,
                "allowed_client_headers" => config.allowed_client_headers = header_list(v, key)?,
                other => return Err(format!("unknown field {:?}", other)),
            }
        }
        config.cluster = cluster.filter(|c| !c.is_empty()).ok_or("cluster is required")?;
        config.authority = authority.unwrap_or_else(|| config.cluster.clone());
        Ok(config)
    }
}

/// What to do with a request given the service's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through.
    Allow,
    /// Reject it with the service's status (and its body and allowed headers).
    Deny(u32),
    /// The service failed: apply the failure mode.
    Failed,
}

/// Classifies an answer: `None` status means the call failed without a response. 2xx allows, 5xx is a failure
/// of the service (as Envoy's ext_authz treats it), anything else denies with that status.
pub fn verdict(status: Option<u32>) -> Verdict {
    match status {
        Some(s) if (200..300).contains(&s) => Verdict::Allow,
        Some(s) if (100..500).contains(&s) => Verdict::Deny(s),
        _ => Verdict::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_defaults() {
        let config = Config::parse(br#"{"cluster": "authz"}"#).unwrap();
        assert_eq!(config.authority, "authz");
        assert_eq!(config.timeout_ms, 200);
        assert!(!config.failure_mode_allow);
        assert_eq!(config.status_on_error, 403);
        assert_eq!(config.allowed_request_headers, vec!["authorization"]);
        let config = Config::parse(
            br#"{"cluster": "a", "authority": "b", "path_prefix": "/check", "allowed_upstream_headers": ["X-User"],
                 "failure_mode_allow": true, "timeout_ms": 50}"#,
        )
        .unwrap();
        assert_eq!(config.authority, "b");
        assert_eq!(config.allowed_upstream_headers, vec!["x-user"]);
        assert!(config.failure_mode_allow);
        assert_eq!(config.timeout_ms, 50);
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"x", "not JSON"),
            (b"{}", "cluster is required"),
            (br#"{"cluster": ""}"#, "cluster is required"),
            (br#"{"cluster": "a", "timeout_ms": 0}"#, "timeout_ms must be"),
            (br#"{"cluster": "a", "path_prefix": "check"}"#, "must start with '/'"),
            (br#"{"cluster": "a", "status_on_error": 42}"#, "status_on_error must be"),
            (br#"{"cluster": "a", "allowed_upstream_headers": [":path"]}"#, "no pseudo-headers"),
            (br#"{"cluster": "a", "fail_open": true}"#, "unknown field \"fail_open\""),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(err.contains(expected), "{:?}: {}", String::from_utf8_lossy(input), err);
        }
    }

    #[test]
    fn classifies_answers() {
        assert_eq!(verdict(Some(200)), Verdict::Allow);
        assert_eq!(verdict(Some(204)), Verdict::Allow);
        assert_eq!(verdict(Some(401)), Verdict::Deny(401));
        assert_eq!(verdict(Some(302)), Verdict::Deny(302));
        assert_eq!(verdict(Some(503)), Verdict::Failed);
        assert_eq!(verdict(None), Verdict::Failed);
    }
}
