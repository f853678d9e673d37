//! Base64 (RFC 4648) in the standard and the URL-safe alphabets, as JWTs and HTTP headers need.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Why input was not valid base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// A byte outside the alphabet, at this offset.
    InvalidByte(usize),
    /// The length cannot be the encoding of whole bytes (one leftover character).
    InvalidLength,
    /// Unused bits of the last character were not zero (a non-canonical encoding).
    NonCanonical,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            DecodeError::InvalidByte(at) => write!(f, "invalid base64 character at {}", at),
            DecodeError::InvalidLength => f.write_str("invalid base64 length"),
            DecodeError::NonCanonical => f.write_str("non-canonical base64"),
        }
    }
}

fn encode_with(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity((data.len() + 2) / 3 * 4);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (*b as u32) << (16 - 8 * i));
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

fn decode_with(text: &[u8], alphabet: &[u8; 64]) -> Result<Vec<u8>, DecodeError> {
    // Padding is optional: strip up to two trailing '='.
    let mut end = text.len();
    for _ in 0..2 {
        if end > 0 && text[end - 1] == b'=' {
            end -= 1;
        }
    }
    let text = &text[..end];
    if text.len() % 4 == 1 {
        return Err(DecodeError::InvalidLength);
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for (chunk_index, chunk) in text.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            let v = alphabet.iter().position(|&a| a == c).ok_or(DecodeError::InvalidByte(chunk_index * 4 + i))?;
            n |= (v as u32) << (18 - 6 * i);
        }
        let bytes = chunk.len() * 6 / 8;
        // Bits below the decoded bytes must be zero, or two inputs would decode to the same bytes.
        if n & ((1u32 << (24 - 8 * bytes)) - 1) != 0 {
            return Err(DecodeError::NonCanonical);
        }
        for i in 0..bytes {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Ok(out)
}

/// Standard alphabet with `=` padding.
pub fn encode(data: &[u8]) -> String {
    encode_with(data, STANDARD, true)
}

/// Standard alphabet; padding optional.
pub fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    decode_with(text.as_bytes(), STANDARD)
}

/// URL-safe alphabet without padding (JWT's base64url).
pub fn encode_url(data: &[u8]) -> String {
    encode_with(data, URL_SAFE, false)
}

/// URL-safe alphabet; padding optional.
pub fn decode_url(text: &str) -> Result<Vec<u8>, DecodeError> {
    decode_with(text.as_bytes(), URL_SAFE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes());
            assert_eq!(encode_url(plain.as_bytes()), encoded.trim_end_matches('='));
            assert_eq!(decode_url(encoded.trim_end_matches('=')).unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn url_alphabet_differs_from_standard() {
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_url("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(decode_url("+/8"), Err(DecodeError::InvalidByte(0)));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode_url("Zm9vY"), Err(DecodeError::InvalidLength));
        assert_eq!(decode_url("Zh"), Err(DecodeError::NonCanonical));
        assert_eq!(decode("Zm9v!A"), Err(DecodeError::InvalidByte(4)));
    }
}
