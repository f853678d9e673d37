//! HS256 JSON Web Token verification (RFC 7519 / RFC 7515, compact serialization only).

use crate::config::Config;
use proxy_wasm::json::{self, Value};
use proxy_wasm::{base64, crypto};

/// Why a token was rejected; the message is safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, or the parts are not JSON objects.
    Malformed(&'static str),
    /// `alg` is not HS256.
    UnsupportedAlgorithm(String),
    /// No configured key matches the signature.
    BadSignature,
    /// `exp` has passed.
    Expired,
    /// `nbf` is in the future.
    NotYetValid,
    /// `iss` differs from the configured issuer.
    WrongIssuer,
    /// `aud` names none of the configured audiences.
    WrongAudience,
}

impl JwtError {
    /// A short description for the 401 body.
    pub fn message(&self) -> String {
        match self {
            JwtError::Malformed(why) => format!("malformed token: {}", why),
            JwtError::UnsupportedAlgorithm(alg) => format!("unsupported algorithm {:?}", alg),
            JwtError::BadSignature => "invalid signature".to_string(),
            JwtError::Expired => "token expired".to_string(),
            JwtError::NotYetValid => "token not yet valid".to_string(),
            JwtError::WrongIssuer => "issuer not accepted".to_string(),
            JwtError::WrongAudience => "audience not accepted".to_string(),
        }
    }
}

fn decode_object(part: &str, what: &'static str) -> Result<Value, JwtError> {
    let bytes = base64::decode_url(part).map_err(|_| JwtError::Malformed(what))?;
    let value = json::parse_bytes(&bytes).map_err(|_| JwtError::Malformed(what))?;
    if value.as_object().is_none() {
        return Err(JwtError::Malformed(what));
    }
    Ok(value)
}

/// Extracts the token from an `Authorization` header value (`Bearer <token>`, scheme case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    if scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() {
        Some(token)
    } else {
        None
    }
}

/// Verifies `token` at time `now` (seconds since the epoch) and returns its claims.
/// Order: structure, algorithm, signature, then time, issuer and audience, so that nothing from an unsigned
/// payload is trusted.
pub fn verify(token: &str, config: &Config, now: u64) -> Result<Value, JwtError> {
    let mut parts = token.split('.');
    let (header_b64, payload_b64, signature_b64) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(JwtError::Malformed("expected three dot-separated parts")),
    };
    let header = decode_object(header_b64, "header is not a base64url JSON object")?;
    match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => {}
        Some(other) => return Err(JwtError::UnsupportedAlgorithm(other.to_string())),
        None => return Err(JwtError::Malformed("header has no alg")),
    }
    let signature = base64::decode_url(signature_b64).map_err(|_| JwtError::Malformed("signature is not base64url"))?;
    let kid = header.get("kid").and_then(Value::as_str);
    let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
    let valid = config
        .keys
        .iter()
        .filter(|key| kid.is_none() || key.kid.as_deref() == kid)
        .any(|key| crypto::constant_time_eq(&crypto::hmac_sha256(&key.secret, signed.as_bytes()), &signature));
    if !valid {
        return Err(JwtError::BadSignature);
    }
    let claims = decode_object(payload_b64, "payload is not a base64url JSON object")?;
    let skew = config.clock_skew_seconds;
    if let Some(exp) = claims.get("exp") {
        let exp = exp.as_f64().ok_or(JwtError::Malformed("exp is not a number"))?;
        if (now as f64) >= exp + skew as f64 {
            return Err(JwtError::Expired);
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_f64().ok_or(JwtError::Malformed("nbf is not a number"))?;
        if (now as f64) + (skew as f64) < nbf {
            return Err(JwtError::NotYetValid);
        }
    }
    if let Some(issuer) = &config.issuer {
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(JwtError::WrongIssuer);
        }
    }
    if !config.audiences.is_empty() {
        let accepted = |aud: &Value| aud.as_str().map_or(false, |a| config.audiences.iter().any(|c| c == a));
        let ok = match claims.get("aud") {
            Some(Value::Array(list)) => list.iter().any(accepted),
            Some(aud) => accepted(aud),
            None => false,
        };
        if !ok {
            return Err(JwtError::WrongAudience);
        }
    }
    Ok(claims)
}

/// A claim as header text: strings as is, arrays of strings joined with ",", anything else as JSON.
pub fn claim_header_value(claim: &Value) -> String {
    match claim {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Key;

    fn config() -> Config {
        Config {
            keys: vec![Key { kid: None, secret: b"secret".to_vec() }],
            issuer: Some("issuer".into()),
            audiences: vec!["api".into()],
            claims_to_headers: vec![],
            clock_skew_seconds: 0,
            forward_token: true,
        }
    }

    fn sign(header: &str, payload: &str, secret: &[u8]) -> String {
        let signed = format!("{}.{}", base64::encode_url(header.as_bytes()), base64::encode_url(payload.as_bytes()));
        let mac = crypto::hmac_sha256(secret, signed.as_bytes());
        format!("{}.{}", signed, base64::encode_url(&mac))
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    #[test]
    fn verifies_a_known_token() {
        // The widely published jwt.io example token, signed with "your-256-bit-secret".
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let mut c = config();
        c.keys[0].secret = b"your-256-bit-secret".to_vec();
        c.issuer = None;
        c.audiences.clear();
        let claims = verify(token, &c, 1_600_000_000).unwrap();
        assert_eq!(claims.get("sub").unwrap().as_str(), Some("1234567890"));
        c.keys[0].secret = b"other".to_vec();
        assert_eq!(verify(token, &c, 0), Err(JwtError::BadSignature));
    }

    #[test]
    fn checks_time_issuer_and_audience() {
        let c = config();
        let good = sign(HS256, r#"{"iss":"issuer","aud":["x","api"],"exp":200,"nbf":100}"#, b"secret");
        assert!(verify(&good, &c, 150).is_ok());
        assert_eq!(verify(&good, &c, 200), Err(JwtError::Expired));
        assert_eq!(verify(&good, &c, 99), Err(JwtError::NotYetValid));
        let mut skewed = config();
        skewed.clock_skew_seconds = 10;
        assert!(verify(&good, &skewed, 205).is_ok());
        assert!(verify(&good, &skewed, 95).is_ok());
        let wrong_iss = sign(HS256, r#"{"iss":"other","aud":"api"}"#, b"secret");
        assert_eq!(verify(&wrong_iss, &c, 0), Err(JwtError::WrongIssuer));
        let wrong_aud = sign(HS256, r#"{"iss":"issuer","aud":"web"}"#, b"secret");
        assert_eq!(verify(&wrong_aud, &c, 0), Err(JwtError::WrongAudience));
        let no_aud = sign(HS256, r#"{"iss":"issuer"}"#, b"secret");
        assert_eq!(verify(&no_aud, &c, 0), Err(JwtError::WrongAudience));
    }

    #[test]
    fn rejects_other_algorithms_and_malformed_tokens() {
        let c = config();
        let none = sign(r#"{"alg":"none"}"#, r#"{"iss":"issuer","aud":"api"}"#, b"secret");
        assert_eq!(verify(&none, &c, 0), Err(JwtError::UnsupportedAlgorithm("none".into())));
        assert!(matches!(verify("a.b", &c, 0), Err(JwtError::Malformed(_))));
        assert!(matches!(verify("a.b.c.d", &c, 0), Err(JwtError::Malformed(_))));
        assert!(matches!(verify("!!.e30.e30", &c, 0), Err(JwtError::Malformed(_))));
        let bad_exp = sign(HS256, r#"{"iss":"issuer","aud":"api","exp":"soon"}"#, b"secret");
        assert!(matches!(verify(&bad_exp, &c, 0), Err(JwtError::Malformed(_))));
    }

    #[test]
    fn selects_keys_by_kid() {
        let mut c = config();
        c.keys = vec![
            Key { kid: Some("a".into()), secret: b"ka".to_vec() },
            Key { kid: Some("b".into()), secret: b"kb".to_vec() },
        ];
        let payload = r#"{"iss":"issuer","aud":"api"}"#;
        assert!(verify(&sign(r#"{"alg":"HS256","kid":"b"}"#, payload, b"kb"), &c, 0).is_ok());
        assert_eq!(verify(&sign(r#"{"alg":"HS256","kid":"a"}"#, payload, b"kb"), &c, 0), Err(JwtError::BadSignature));
        assert!(verify(&sign(HS256, payload, b"ka"), &c, 0).is_ok());
    }

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }

    #[test]
    fn renders_claims_as_header_values() {
        let claims = json::parse(r#"{"s":"x","n":42,"l":["a","b"],"o":{"k":true}}"#).unwrap();
        assert_eq!(claim_header_value(claims.get("s").unwrap()), "x");
        assert_eq!(claim_header_value(claims.get("n").unwrap()), "42");
        assert_eq!(claim_header_value(claims.get("l").unwrap()), "a,b");
        assert_eq!(claim_header_value(claims.get("o").unwrap()), r#"{"k":true}"#);
    }
}
