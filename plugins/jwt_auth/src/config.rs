//! The plugin configuration (JSON):
//! ```json
//! {"keys": [{"kid": "k1", "secret": "text"}, {"secret_base64url": "c2VjcmV0"}],
//!  "issuer": "https://issuer.example", "audiences": ["api"],
//!  "claims_to_headers": {"sub": "x-jwt-sub"}, "clock_skew_seconds": 60, "forward_token": true}
//! ```
//! Only `keys` is required.

use proxy_wasm::base64;
use proxy_wasm::json::{self, Value};

/// An HMAC key, optionally selected by the token's `kid` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Key id; a token with a `kid` is verified only with the key of that id.
    pub kid: Option<String>,
    /// The secret bytes.
    pub secret: Vec<u8>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Keys to verify signatures with.
    pub keys: Vec<Key>,
    /// Required `iss`, if any.
    pub issuer: Option<String>,
    /// Accepted audiences; when non-empty, `aud` must name one of them.
    pub audiences: Vec<String>,
    /// Claim name to request header name.
    pub claims_to_headers: Vec<(String, String)>,
    /// Tolerance for `exp` and `nbf`, in seconds.
    pub clock_skew_seconds: u64,
    /// Whether the `authorization` header is passed on upstream.
    pub forward_token: bool,
}

fn string_field(value: &Value, at: &str) -> Result<String, String> {
    value.as_str().map(str::to_string).ok_or_else(|| format!("{} must be a string", at))
}

fn parse_key(value: &Value, at: &str) -> Result<Key, String> {
    let entries = value.as_object().ok_or_else(|| format!("{} must be an object", at))?;
    let mut kid = None;
    let mut secret = None;
    for (name, v) in entries {
        let here = format!("{}.{}", at, name);
        let bytes = match name.as_str() {
            "kid" => {
                kid = Some(string_field(v, &here)?);
                continue;
            }
            "secret" => string_field(v, &here)?.into_bytes(),
            "secret_base64url" => {
                base64::decode_url(&string_field(v, &here)?).map_err(|e| format!("{}: {}", here, e))?
            }
            other => return Err(format!("{}: unknown field {:?}", at, other)),
        };
        if secret.replace(bytes).is_some() {
            return Err(format!("{}: give only one of secret and secret_base64url", at));
        }
    }
    match secret {
        Some(secret) if !secret.is_empty() => Ok(Key { kid, secret }),
        Some(_) => Err(format!("{}: the secret is empty", at)),
        None => Err(format!("{}: secret or secret_base64url is required", at)),
    }
}

impl Config {
    /// Parses and validates the configuration; the error says what is wrong and where.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let root = json::parse_bytes(bytes).map_err(|e| format!("configuration is not JSON: {}", e))?;
        let entries = root.as_object().ok_or("configuration must be a JSON object")?;
        let mut config = Config {
            keys: Vec::new(),
            issuer: None,
            audiences: Vec::new(),
            claims_to_headers: Vec::new(),
            clock_skew_seconds: 0,
            forward_token: true,
        };
        for (name, v) in entries {
            match name.as_str() {
                "keys" => {
                    let keys = v.as_array().ok_or("keys must be an array")?;
                    for (i, key) in keys.iter().enumerate() {
                        config.keys.push(parse_key(key, &format!("keys[{}]", i))?);
                    }
                }
                "issuer" => config.issuer = Some(string_field(v, "issuer")?),
                "audiences" => {
                    let list = v.as_array().ok_or("audiences must be an array of strings")?;
                    for aud in list {
                        config.audiences.push(string_field(aud, "audiences[]")?);
                    }
                }
                "claims_to_headers" => {
                    let map = v.as_object().ok_or("claims_to_headers must be an object of claim to header")?;
                    for (claim, header) in map {
                        let header = string_field(header, &format!("claims_to_headers.{}", claim))?;
                        let valid = !header.is_empty()
                            && header.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                        if !valid {
                            return Err(format!("claims_to_headers.{}: invalid header name {:?}", claim, header));
                        }
                        config.claims_to_headers.push((claim.clone(), header.to_ascii_lowercase()));
                    }
                }
                "clock_skew_seconds" => {
                    config.clock_skew_seconds = v.as_u64().ok_or("clock_skew_seconds must be a non-negative integer")?
                }
                "forward_token" => config.forward_token = v.as_bool().ok_or("forward_token must be a boolean")?,
                other => return Err(format!("unknown field {:?}", other)),
            }
        }
        if config.keys.is_empty() {
            return Err("keys: at least one key is required".to_string());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_configuration() {
        let config = Config::parse(
            br#"{"keys": [{"kid": "a", "secret": "s1"}, {"secret_base64url": "czI"}], "issuer": "me",
                 "audiences": ["api"], "claims_to_headers": {"sub": "X-Sub"}, "clock_skew_seconds": 5,
                 "forward_token": false}"#,
        )
        .unwrap();
        assert_eq!(config.keys[0], Key { kid: Some("a".into()), secret: b"s1".to_vec() });
        assert_eq!(config.keys[1], Key { kid: None, secret: b"s2".to_vec() });
        assert_eq!(config.issuer.as_deref(), Some("me"));
        assert_eq!(config.audiences, vec!["api"]);
        assert_eq!(config.claims_to_headers, vec![("sub".to_string(), "x-sub".to_string())]);
        assert_eq!(config.clock_skew_seconds, 5);
        assert!(!config.forward_token);
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"nope", "not JSON"),
            (b"{}", "at least one key"),
            (br#"{"keys": [{}]}"#, "keys[0]: secret or secret_base64url is required"),
            (br#"{"keys": [{"secret": ""}]}"#, "the secret is empty"),
            (br#"{"keys": [{"secret": "a", "secret_base64url": "YQ"}]}"#, "only one of"),
            (br#"{"keys": [{"secret_base64url": "!!"}]}"#, "invalid base64"),
            (br#"{"keys": [{"secret": "a"}], "claims_to_headers": {"sub": "bad header"}}"#, "invalid header name"),
            (br#"{"keys": [{"secret": "a"}], "issuer": 3}"#, "issuer must be a string"),
            (br#"{"keys": [{"secret": "a"}], "isuer": "x"}"#, "unknown field \"isuer\""),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(err.contains(expected), "{:?}: {}", String::from_utf8_lossy(input), err);
        }
    }
}
