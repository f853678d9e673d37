//! Masking of JSON values by key and by path.

use crate::config::Config;
use proxy_wasm::json::Value;

/// Masks every configured field in `value`; returns how many values were replaced.
pub fn redact(value: &mut Value, config: &Config) -> usize {
    let mut count = 0;
    for path in &config.paths {
        count += redact_path(value, path, &config.mask);
    }
    count + redact_keys(value, &config.keys, &config.mask)
}

fn redact_keys(value: &mut Value, keys: &[String], mask: &str) -> usize {
    match value {
        Value::Object(entries) => entries
            .iter_mut()
            .map(|(key, child)| {
                if keys.contains(key) {
                    *child = Value::String(mask.to_string());
                    1
                } else {
                    redact_keys(child, keys, mask)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(|item| redact_keys(item, keys, mask)).sum(),
        _ => 0,
    }
}

fn redact_path(value: &mut Value, path: &[String], mask: &str) -> usize {
    let (first, rest) = match path.split_first() {
        Some(split) => split,
        None => return 0,
    };
    match value {
        Value::Array(items) => items.iter_mut().map(|item| redact_path(item, path, mask)).sum(),
        Value::Object(entries) => entries
            .iter_mut()
            .filter(|(key, _)| key == first)
            .map(|(_, child)| {
                if rest.is_empty() {
                    *child = Value::String(mask.to_string());
                    1
                } else {
                    redact_path(child, rest, mask)
                }
            })
            .sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxy_wasm::json;

    fn run(config: &str, body: &str) -> (String, usize) {
        let config = Config::parse(config.as_bytes()).unwrap();
        let mut value = json::parse(body).unwrap();
        let count = redact(&mut value, &config);
        (value.to_string(), count)
    }

    #[test]
    fn masks_keys_at_any_depth() {
        let (out, n) = run(
            r#"{"fields": ["password"]}"#,
            r#"{"password":"a","user":{"password":{"x":1}},"list":[{"password":2},{"other":3}]}"#,
        );
        assert_eq!(out, r#"{"password":"***","user":{"password":"***"},"list":[{"password":"***"},{"other":3}]}"#);
        assert_eq!(n, 3);
    }

    #[test]
    fn masks_paths_from_the_root_through_arrays() {
        let (out, n) = run(
            r#"{"fields": ["users.ssn"], "mask": "x"}"#,
            r#"{"users":[{"ssn":"1","name":"a"},{"name":"b"}],"ssn":"top","other":{"users":{"ssn":"2"}}}"#,
        );
        assert_eq!(out, r#"{"users":[{"ssn":"x","name":"a"},{"name":"b"}],"ssn":"top","other":{"users":{"ssn":"2"}}}"#);
        assert_eq!(n, 1);
    }

    #[test]
    fn leaves_documents_without_the_fields_unchanged() {
        let body = r#"[1,"password",{"a":null}]"#;
        assert_eq!(run(r#"{"fields": ["password", "a.b"]}"#, body), (body.to_string(), 0));
    }
}
