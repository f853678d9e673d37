//! The ABI's byte formats: serialized header maps ("pairs") and property paths.
//!
//! Pairs: `u32 count`, then `count` times (`u32 key_len`, `u32 value_len`), then every key and value followed by
//! one NUL byte; all integers little-endian; the NULs are not counted in the lengths.

use crate::types::{Bytes, Status};

/// Serializes `(key, value)` pairs into the pairs format.
pub fn serialize<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Bytes {
    let data_size: usize = pairs.iter().map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data_size);
    out.extend_from_slice(&(pairs.len() as u32).to_le_bytes());
    for (key, value) in pairs {
        out.extend_from_slice(&(key.as_ref().len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.as_ref().len() as u32).to_le_bytes());
    }
    for (key, value) in pairs {
        out.extend_from_slice(key.as_ref());
        out.push(0);
        out.extend_from_slice(value.as_ref());
        out.push(0);
    }
    out
}

/// Parses the pairs format. An empty input is an empty map; anything malformed (lengths running past the end,
/// missing NUL terminators, trailing bytes) is `Status::ParseFailure`.
pub fn deserialize(bytes: &[u8]) -> Result<Vec<(Bytes, Bytes)>, Status> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = read_u32(bytes, 0)? as usize;
    // Each pair needs at least 10 bytes (two lengths and two NULs): reject absurd counts before allocating.
    if count > bytes.len() / 10 {
        return Err(Status::ParseFailure);
    }
    let mut sizes = Vec::with_capacity(count);
    for i in 0..count {
        let key_len = read_u32(bytes, 4 + i * 8)? as usize;
        let value_len = read_u32(bytes, 8 + i * 8)? as usize;
        sizes.push((key_len, value_len));
    }
    let mut pos = 4 + count * 8;
    let mut pairs = Vec::with_capacity(count);
    for (key_len, value_len) in sizes {
        let key = take_terminated(bytes, &mut pos, key_len)?;
        let value = take_terminated(bytes, &mut pos, value_len)?;
        pairs.push((key, value));
    }
    if pos != bytes.len() {
        return Err(Status::ParseFailure);
    }
    Ok(pairs)
}

/// Parses the pairs format into UTF-8 strings; a non-UTF-8 key or value is `Status::ParseFailure`.
pub fn deserialize_strings(bytes: &[u8]) -> Result<Vec<(String, String)>, Status> {
    deserialize(bytes)?.into_iter().map(|(k, v)| Ok((utf8(k)?, utf8(v)?))).collect()
}

/// Parses the pairs format with UTF-8 keys and raw values.
pub fn deserialize_bytes_values(bytes: &[u8]) -> Result<Vec<(String, Bytes)>, Status> {
    deserialize(bytes)?.into_iter().map(|(k, v)| Ok((utf8(k)?, v))).collect()
}

/// Encodes a property path: segments joined by single NUL bytes, no trailing NUL.
pub fn serialize_property_path(path: &[&str]) -> Bytes {
    path.join("\0").into_bytes()
}

/// Converts bytes to a `String`, mapping invalid UTF-8 to `Status::ParseFailure`.
pub(crate) fn utf8(bytes: Bytes) -> Result<String, Status> {
    String::from_utf8(bytes).map_err(|_| Status::ParseFailure)
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, Status> {
    let chunk = bytes.get(at..at + 4).ok_or(Status::ParseFailure)?;
    Ok(u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
}

fn take_terminated(bytes: &[u8], pos: &mut usize, len: usize) -> Result<Bytes, Status> {
    let end = pos.checked_add(len).ok_or(Status::ParseFailure)?;
    let data = bytes.get(*pos..end).ok_or(Status::ParseFailure)?;
    if bytes.get(end) != Some(&0) {
        return Err(Status::ParseFailure);
    }
    *pos = end + 1;
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The worked example of the ABI reference: ("a","1"), ("b","22") is 29 bytes.
    const EXAMPLE: [u8; 29] =
        [2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, b'a', 0, b'1', 0, b'b', 0, b'2', b'2', 0];

    #[test]
    fn serializes_the_reference_example() {
        assert_eq!(serialize(&[("a", "1"), ("b", "22")]), EXAMPLE.to_vec());
    }

    #[test]
    fn round_trips_strings() {
        let pairs = deserialize_strings(&EXAMPLE).unwrap();
        assert_eq!(pairs, vec![("a".to_string(), "1".to_string()), ("b".to_string(), "22".to_string())]);
    }

    #[test]
    fn empty_forms_are_empty_maps() {
        assert_eq!(serialize::<&str, &str>(&[]), vec![0, 0, 0, 0]);
        assert!(deserialize(&[]).unwrap().is_empty());
        assert!(deserialize(&[0, 0, 0, 0]).unwrap().is_empty());
    }

    #[test]
    fn empty_values_survive() {
        let bytes = serialize(&[("k", "")]);
        assert_eq!(deserialize_strings(&bytes).unwrap(), vec![("k".to_string(), String::new())]);
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(deserialize(&EXAMPLE[..28]), Err(Status::ParseFailure));
        let mut no_nul = EXAMPLE;
        no_nul[21] = b'x';
        assert_eq!(deserialize(&no_nul), Err(Status::ParseFailure));
        let mut trailing = EXAMPLE.to_vec();
        trailing.push(0);
        assert_eq!(deserialize(&trailing), Err(Status::ParseFailure));
        assert_eq!(deserialize(&[255, 255, 255, 255]), Err(Status::ParseFailure));
    }

    #[test]
    fn rejects_non_utf8_strings_but_not_bytes() {
        let bytes = serialize(&[("k".as_bytes(), &[0xff_u8][..])]);
        assert_eq!(deserialize_strings(&bytes), Err(Status::ParseFailure));
        assert_eq!(deserialize_bytes_values(&bytes).unwrap(), vec![("k".to_string(), vec![0xff])]);
    }

    #[test]
    fn property_paths_are_nul_joined() {
        assert_eq!(serialize_property_path(&["request", "headers", "x-id"]), b"request\0headers\0x-id".to_vec());
        assert_eq!(serialize_property_path(&["plugin_root_id"]), b"plugin_root_id".to_vec());
    }
}
