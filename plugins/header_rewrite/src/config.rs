//! The plugin configuration (JSON):
//! `{"request": {"add": {NAME: TEMPLATE}, "set": {NAME: TEMPLATE}, "remove": [NAME]}, "response": {...}}`.
//! Every part is optional; unknown keys are errors, so typos do not silently do nothing.

use crate::template::Template;
use proxy_wasm::json::{self, Value};

/// Header edits for one direction, applied in the order remove, set, add.
#[derive(Debug, Default, PartialEq)]
pub struct Rules {
    /// Header names to remove.
    pub remove: Vec<String>,
    /// Headers to set (replacing existing values).
    pub set: Vec<(String, Template)>,
    /// Headers to append (keeping existing values).
    pub add: Vec<(String, Template)>,
}

/// The whole configuration.
#[derive(Debug, Default, PartialEq)]
pub struct Config {
    /// Edits of request headers.
    pub request: Rules,
    /// Edits of response headers.
    pub response: Rules,
}

impl Config {
    /// Parses and validates the configuration; the error says what is wrong and where.
    pub fn parse(bytes: &[u8]) -> Result<Config, String> {
        let root = json::parse_bytes(bytes).map_err(|e| format!("configuration is not JSON: {}", e))?;
        let entries = root.as_object().ok_or("configuration must be a JSON object")?;
        let mut config = Config::default();
        for (key, value) in entries {
            match key.as_str() {
                "request" => config.request = parse_rules(value, "request")?,
                "response" => config.response = parse_rules(value, "response")?,
                other => return Err(format!("unknown field {:?} (expected \"request\" or \"response\")", other)),
            }
        }
        Ok(config)
    }
}

fn header_name(name: &str, at: &str) -> Result<String, String> {
    // RFC 9110 token characters; a leading ':' allows pseudo-headers such as ":path".
    let body = name.strip_prefix(':').unwrap_or(name);
    let valid = !body.is_empty() && body.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(format!("{}: invalid header name {:?}", at, name))
    }
}

fn templates(value: &Value, at: &str) -> Result<Vec<(String, Template)>, String> {
    let entries = value.as_object().ok_or_else(|| format!("{} must be an object of header name to value", at))?;
    entries
        .iter()
        .map(|(name, v)| {
            let here = format!("{}.{}", at, name);
            let text = v.as_str().ok_or_else(|| format!("{} must be a string", here))?;
            Ok((header_name(name, at)?, Template::parse(text).map_err(|e| format!("{}: {}", here, e))?))
        })
        .collect()
}

fn parse_rules(value: &Value, at: &str) -> Result<Rules, String> {
    let entries = value.as_object().ok_or_else(|| format!("{} must be an object", at))?;
    let mut rules = Rules::default();
    for (key, v) in entries {
        let here = format!("{}.{}", at, key);
        match key.as_str() {
            "add" => rules.add = templates(v, &here)?,
            "set" => rules.set = templates(v, &here)?,
            "remove" => {
                let names = v.as_array().ok_or_else(|| format!("{} must be an array of header names", here))?;
                for name in names {
                    let name = name.as_str().ok_or_else(|| format!("{} must hold strings", here))?;
                    rules.remove.push(header_name(name, &here)?);
                }
            }
            other => return Err(format!("{}: unknown field {:?} (expected add, set or remove)", at, other)),
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_configuration() {
        let config = Config::parse(
            br#"{"request": {"add": {"X-Path": "{request.path}"}, "set": {"x-a": "1"}, "remove": ["X-Secret"]},
                 "response": {"set": {"server": "gw"}}}"#,
        )
        .unwrap();
        assert_eq!(config.request.remove, vec!["x-secret"]);
        assert_eq!(config.request.add[0].0, "x-path");
        assert_eq!(config.request.set[0].1.render(|_| None), "1");
        assert_eq!(config.response.set[0].0, "server");
        assert!(config.response.add.is_empty());
    }

    #[test]
    fn empty_object_is_a_valid_no_op() {
        assert_eq!(Config::parse(b"{}").unwrap(), Config::default());
    }

    #[test]
    fn reports_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "not JSON"),
            (b"[]", "must be a JSON object"),
            (br#"{"requests": {}}"#, "unknown field \"requests\""),
            (br#"{"request": {"add": {"x": 1}}}"#, "request.add.x must be a string"),
            (br#"{"request": {"add": {"bad name": "v"}}}"#, "invalid header name"),
            (br#"{"response": {"remove": "x"}}"#, "must be an array"),
            (br#"{"response": {"set": {"x": "{oops"}}}"#, "response.set.x: unclosed"),
            (br#"{"response": {"delete": []}}"#, "unknown field \"delete\""),
        ];
        for (input, expected) in cases {
            let err = Config::parse(input).unwrap_err();
            assert!(err.contains(expected), "{:?}: {}", String::from_utf8_lossy(input), err);
        }
    }
}
