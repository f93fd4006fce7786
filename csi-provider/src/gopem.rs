//! PEM blocks read and written as Go's `encoding/pem` reads and writes
//! them, so the `.crt` and `.key` files of
//! `--write-cert-and-key-in-separate-files` hold the bytes the Go provider
//! writes (its `splitCertAndKey` decodes each block and encodes it again).
//!
//! Reading is lenient as Go's is: text around blocks is skipped, a block
//! whose END line or base64 is wrong is skipped, headers (`Proc-Type: …`)
//! are kept. Writing gives 64-column base64 and LF endings.

use std::collections::BTreeMap;

use base64::{
    Engine, alphabet,
    engine::{GeneralPurpose, GeneralPurposeConfig},
};

/// Go's `base64.StdEncoding`: padded, and (unlike strict decoders) the
/// unused bits of the last character may be set.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

/// One PEM block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The label: `CERTIFICATE`, `PRIVATE KEY`, ...
    pub label: String,
    /// `Key: value` lines between the BEGIN line and the base64.
    pub headers: BTreeMap<String, String>,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// Splits a line off `data` as Go's `getLine` does: without its `\n` (or
/// `\r\n`) and trailing spaces and tabs.
fn line(data: &[u8]) -> (&[u8], &[u8]) {
    let (mut end, next) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (i, i + 1),
        None => (data.len(), data.len()),
    };
    if end > 0 && end < data.len() && data[end - 1] == b'\r' {
        end -= 1;
    }
    (trim_end(&data[..end]), &data[next..])
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn trim(s: &[u8]) -> &[u8] {
    let s = trim_end(s);
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let s = &s[start..];
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &s[..end]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Every block Go's `pem.Decode` would return from `data`, in order.
#[must_use]
pub fn decode_all(mut data: &[u8]) -> Vec<Block> {
    let mut blocks = Vec::new();
    while let Some((block, rest)) = decode(data) {
        blocks.push(block);
        data = rest;
    }
    blocks
}

/// Go's `pem.Decode`: the first valid block and what follows it.
fn decode(data: &[u8]) -> Option<(Block, &[u8])> {
    const BEGIN: &[u8] = b"\n-----BEGIN ";
    const END: &[u8] = b"\n-----END ";
    const DASHES: &[u8] = b"-----";
    let mut rest = data;
    loop {
        if let Some(after) = rest.strip_prefix(&BEGIN[1..]) {
            rest = after;
        } else {
            rest = &rest[find(rest, BEGIN)? + BEGIN.len()..];
        }
        let (type_line, after_type) = line(rest);
        rest = after_type;
        let Some(label) = type_line.strip_suffix(DASHES) else {
            continue;
        };
        let mut headers = BTreeMap::new();
        let mut body = rest;
        loop {
            if body.is_empty() {
                return None;
            }
            let (header, next) = line(body);
            let Some(colon) = header.iter().position(|&b| b == b':') else {
                break;
            };
            headers.insert(
                String::from_utf8_lossy(trim(&header[..colon])).into_owned(),
                String::from_utf8_lossy(trim(&header[colon + 1..])).into_owned(),
            );
            body = next;
        }
        let (end_index, trailer_index) = if headers.is_empty() && body.starts_with(&END[1..]) {
            (0, END.len() - 1)
        } else {
            match find(body, END) {
                Some(i) => (i, i + END.len()),
                None => continue,
            }
        };
        let trailer = &body[trailer_index..];
        let trailer_len = label.len() + DASHES.len();
        if trailer.len() < trailer_len {
            continue;
        }
        let (end_line, after_end) = trailer.split_at(trailer_len);
        if !end_line.starts_with(label) || !end_line.ends_with(DASHES) {
            continue;
        }
        if !line(after_end).0.is_empty() {
            continue;
        }
        // Go drops spaces and tabs; its decoder skips CR and LF.
        let base64: Vec<u8> = body[..end_index]
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        let Ok(bytes) = GO_STD.decode(base64) else {
            continue;
        };
        let (_, after) = line(&body[end_index + END.len() - 1..]);
        let block = Block {
            label: String::from_utf8_lossy(label).into_owned(),
            headers,
            bytes,
        };
        return Some((block, after));
    }
}

/// Go's `pem.EncodeToMemory`: `Proc-Type` first, other headers sorted, a
/// blank line after them, base64 in 64-column lines.
#[must_use]
pub fn encode(block: &Block) -> Vec<u8> {
    let mut out = format!("-----BEGIN {}-----\n", block.label).into_bytes();
    if !block.headers.is_empty() {
        let proc_type = block.headers.get_key_value("Proc-Type");
        let others = block.headers.iter().filter(|(k, _)| *k != "Proc-Type");
        for (key, value) in proc_type.into_iter().chain(others) {
            out.extend(format!("{key}: {value}\n").into_bytes());
        }
        out.push(b'\n');
    }
    let text = GO_STD.encode(&block.bytes);
    for chunk in text.as_bytes().chunks(64) {
        out.extend(chunk);
        out.push(b'\n');
    }
    out.extend(format!("-----END {}-----\n", block.label).into_bytes());
    out
}

/// The Go provider's `splitCertAndKey` (`pkg/provider/provider.go`): the
/// `CERTIFICATE` blocks, then every other block (the keys), each written
/// again as Go writes PEM, in their order. Either may be empty, as in
/// the Go provider, where a PFX kept as is yields two empty files.
#[must_use]
pub fn split_cert_and_key(data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut certs, mut keys) = (Vec::new(), Vec::new());
    for block in decode_all(data) {
        let out = if block.label == "CERTIFICATE" {
            &mut certs
        } else {
            &mut keys
        };
        out.extend(encode(&block));
    }
    (certs, keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(label: &str, bytes: &[u8]) -> Vec<u8> {
        encode(&Block {
            label: label.into(),
            headers: BTreeMap::new(),
            bytes: bytes.to_vec(),
        })
    }

    #[test]
    fn encodes_as_go_does() {
        let bytes: Vec<u8> = (0..=99).collect();
        let text = String::from_utf8(block("CERTIFICATE", &bytes)).unwrap();
        let expected =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &bytes).unwrap();
        assert_eq!(text, expected);
        let mut headers = BTreeMap::new();
        headers.insert("DEK-Info".to_owned(), "AES-128-CBC,00".to_owned());
        headers.insert("Proc-Type".to_owned(), "4,ENCRYPTED".to_owned());
        let text = encode(&Block {
            label: "RSA PRIVATE KEY".into(),
            headers,
            bytes: vec![1, 2, 3],
        });
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAQID\n-----END RSA PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn decodes_leniently_as_go_does() {
        // Text around blocks, CRLF, a 76-column body, trailing spaces.
        let bytes: Vec<u8> = (0..=200).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let wide: Vec<&str> = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let input = format!(
            "Bag Attributes\r\n-----BEGIN CERTIFICATE----- \r\n{}\r\n-----END CERTIFICATE-----\r\njunk\n-----BEGIN BROKEN-----\n!!!\n-----END BROKEN-----\n-----BEGIN PRIVATE KEY-----\nAQID\n-----END PRIVATE KEY-----",
            wide.join("\r\n")
        );
        let blocks = decode_all(input.as_bytes());
        assert_eq!(
            blocks
                .iter()
                .map(|b| (b.label.as_str(), b.bytes.len()))
                .collect::<Vec<_>>(),
            [("CERTIFICATE", 201), ("PRIVATE KEY", 3)]
        );
        assert_eq!(blocks[0].bytes, bytes);
        // A mismatched END label is not a block.
        assert!(decode_all(b"-----BEGIN A-----\nAQID\n-----END B-----\n").is_empty());
        assert!(decode_all(b"no pem here").is_empty());
        assert!(decode_all(b"").is_empty());
    }

    #[test]
    fn splits_certificates_from_keys_in_order() {
        let (leaf, inter, key) = (
            block("CERTIFICATE", b"leaf"),
            block("CERTIFICATE", b"intermediate"),
            block("PRIVATE KEY", b"key"),
        );
        let ec = block("EC PRIVATE KEY", b"ec");
        let all = [key.clone(), leaf.clone(), ec.clone(), inter.clone()].concat();
        let (certs, keys) = split_cert_and_key(&all);
        assert_eq!(certs, [leaf, inter].concat());
        assert_eq!(keys, [key, ec].concat());
        assert_eq!(split_cert_and_key(b"MIIK...base64 pfx"), (vec![], vec![]));
    }
}
