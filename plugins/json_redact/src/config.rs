//! The plugin configuration (JSON):
//! `{"fields": ["password", "user.ssn"], "mask": "***", "max_body_bytes": 65536,
//!   "content_types": ["application/json"]}`. Only `fields` is required.
//!
//! A field without a dot is masked wherever an object has that key; a dotted field is a path from the document's
//! root, where arrays along the path apply the rest of the path to each element.

use proxy_wasm::json;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Keys masked at any depth.
    pub keys: Vec<String>,
    /// Paths from the root, split into segments.
    pub paths: Vec<Vec<String>>,
    /// Replacement for masked values (always a JSON string).
    pub mask: String,
    /// Bodies larger than this pass through unmodified.
    pub max_body_bytes: usize,
    /// Media types treated as JSON (lower case, without parameters).
    pub content_types: Vec<String>,
}

impl Config {
    /// Parses and validates the configuration; the error says what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let root = json::parse_bytes(bytes).map_err(|e| format!("configuration is not JSON: {}", e))?;
        let entries = root.as_object().ok_or("configuration must be a JSON object")?;
        let mut config = Config {
            keys: Vec::new(),
            paths: Vec::new(),
            mask: "***".to_string(),
            max_body_bytes: 64 * 1024,
            content_types: vec!["application/json".to_string()],
        };
        let mut have_fields = false;
        for (key, v) in entries {
            match key.as_str() {
                "fields" => {
                    have_fields = true;
                    let list = v.as_array().ok_or("fields must be an array of strings")?;
                    for field in list {
                        let field = field.as_str().ok_or("fields must be an array of strings")?;
                        let segments: Vec<String> = field.split('.').map(str::to_string).collect();
                        if segments.iter().any(String::is_empty) {
                            return Err(format!("fields: {:?} is not a key or a dotted path", field));
                        }
                        if segments.len() == 1 {
                            config.keys.extend(segments);
                        } else {
                            config.paths.push(segments);
                        }
                    }
                }
                "mask" => config.mask = v.as_str().ok_or("mask must be a string")?.to_string(),
                "max_body_bytes" => {
                    config.max_body_bytes =
                        v.as_u64()
                            .filter(|n| *n > 0 && *n <= u32::MAX as u64)
                            .ok_or("max_body_bytes must be a positive integer")? as usize
                }
                "content_types" => {
                    let list = v.as_array().ok_or("content_types must be an array of strings")?;
                    config.content_types = list
                        .iter()
                        .map(|t| t.as_str().map(|s| s.trim().to_ascii_lowercase()).filter(|s| s.contains('/')))
                        .collect::<Option<Vec<_>>>()
                        .ok_or("content_types must hold media types such as \"application/json\"")?;
                }
                other => return Err(format!("unknown field {:?}", other)),
            }
        }
        if !have_fields || (config.keys.is_empty() && config.paths.is_empty()) {
            return Err("fields: at least one field is required".to_string());
        }
        Ok(config)
    }

    /// Whether a `content-type` header value names a JSON type this plugin handles
    /// (`application/json` also covers `application/*+json`).
    pub fn is_json(&self, content_type: &str) -> bool {
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        self.content_types.contains(&media)
            || (media.starts_with("application/")
                && media.ends_with("+json")
                && self.content_types.iter().any(|t| t == "application/json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_and_paths() {
        let config =
            Config::parse(br#"{"fields": ["password", "user.ssn"], "mask": "[x]", "max_body_bytes": 10}"#).unwrap();
        assert_eq!(config.keys, vec!["password"]);
        assert_eq!(config.paths, vec![vec!["user".to_string(), "ssn".to_string()]]);
        assert_eq!(config.mask, "[x]");
        assert_eq!(config.max_body_bytes, 10);
    }

    #[test]
    fn recognises_json_content_types() {
        let config = Config::parse(br#"{"fields": ["a"]}"#).unwrap();
        assert!(config.is_json("application/json"));
        assert!(config.is_json("Application/JSON; charset=utf-8"));
        assert!(config.is_json("application/problem+json"));
        assert!(!config.is_json("text/html"));
        assert!(!config.is_json(""));
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"[", "not JSON"),
            (b"{}", "at least one field"),
            (br#"{"fields": []}"#, "at least one field"),
            (br#"{"fields": ["a..b"]}"#, "not a key or a dotted path"),
            (br#"{"fields": [1]}"#, "array of strings"),
            (br#"{"fields": ["a"], "max_body_bytes": 0}"#, "max_body_bytes must be"),
            (br#"{"fields": ["a"], "content_types": ["json"]}"#, "media types"),
            (br#"{"fields": ["a"], "masks": "x"}"#, "unknown field \"masks\""),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(err.contains(expected), "{:?}: {}", String::from_utf8_lossy(input), err);
        }
    }
}
