//! Header value templates: literal text with `{property.path}` placeholders (`{{` and `}}` for literal braces).
//!
//! Parsed once at configuration time; rendering only looks properties up.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Property(Vec<String>),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Properties whose Envoy encoding is an 8-byte little-endian integer rather than text.
const INTEGER_PROPERTIES: &[&str] = &[
    "source.port",
    "destination.port",
    "upstream.port",
    "response.code",
    "response.grpc_status",
    "response.flags",
    "response.size",
    "response.total_size",
    "request.size",
    "request.total_size",
    "connection.id",
    "connection_id",
];

impl Template {
    /// Parses `text`; errors name the problem (unclosed `{`, stray `}`, bad property name).
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => return Err(format!("stray '}}' in {:?} (write '}}}}' for a literal brace)", text)),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) => name.push(c),
                            None => return Err(format!("unclosed '{{' in {:?}", text)),
                        }
                    }
                    let valid = !name.is_empty()
                        && name.split('.').all(|s| !s.is_empty())
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-:".contains(c));
                    if !valid {
                        return Err(format!("invalid property name {:?} in {:?}", name, text));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Property(name.split('.').map(str::to_string).collect()));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// Renders with `lookup` answering property paths; an absent property renders as nothing.
    pub fn render(&self, lookup: impl Fn(&[&str]) -> Option<Vec<u8>>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Property(path) => {
                    let segments: Vec<&str> = path.iter().map(String::as_str).collect();
                    if let Some(value) = lookup(&segments) {
                        out.push_str(&render_property(&path.join("."), &value));
                    }
                }
            }
        }
        out
    }
}

/// Turns a property value into header text: integers from their 8-byte encoding, other values as UTF-8 (with
/// invalid bytes replaced).
pub fn render_property(name: &str, value: &[u8]) -> String {
    if INTEGER_PROPERTIES.contains(&name) && value.len() == 8 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(value);
        return i64::from_le_bytes(raw).to_string();
    }
    String::from_utf8_lossy(value).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(path: &[&str]) -> Option<Vec<u8>> {
        match path {
            ["request", "path"] => Some(b"/a?b=1".to_vec()),
            ["source", "address"] => Some(b"10.0.0.1:5000".to_vec()),
            ["source", "port"] => Some(5000i64.to_le_bytes().to_vec()),
            _ => None,
        }
    }

    #[test]
    fn renders_properties_and_literals() {
        let t = Template::parse("path={request.path} from {source.address}:{source.port}").unwrap();
        assert_eq!(t.render(fake), "path=/a?b=1 from 10.0.0.1:5000:5000");
    }

    #[test]
    fn absent_properties_render_empty_and_braces_escape() {
        let t = Template::parse("{{x}} [{no.such}]").unwrap();
        assert_eq!(t.render(fake), "{x} []");
    }

    #[test]
    fn rejects_malformed_templates() {
        assert!(Template::parse("{request.path").unwrap_err().contains("unclosed"));
        assert!(Template::parse("a}b").unwrap_err().contains("stray"));
        assert!(Template::parse("{}").unwrap_err().contains("invalid property name"));
        assert!(Template::parse("{a..b}").is_err());
        assert!(Template::parse("{a b}").is_err());
    }
}
