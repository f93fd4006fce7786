//! ESO's PEM functions (`filterPEM`, `filterCertChain`, `certSANs`) and
//! the Go encodings ESO's PKCS#12, JWK and `rsaDecrypt` functions share:
//! Go's `encoding/pem`, the DER subset `encoding/asn1` reads and writes
//! for them, certificates as `crypto/x509` parses them, and private and
//! public keys as `crypto/x509` parses and marshals them.
//!
//! Sources: external-secrets/external-secrets `runtime/template/v2/pem.go`
//! and `pem_chain.go` (the functions and their errors), golang/go
//! `src/encoding/pem/pem.go` (the decoder as Go 1.26 has it: a block
//! begins at the start of the input or of a line, so junk before a
//! `-----BEGIN` on the same line is not skipped, which is why ESO trims
//! leading junk itself), `src/crypto/x509/pkcs1.go`, `pkcs8.go`,
//! `sec1.go` and `x509.go` (key parsing and marshalling).

use std::collections::BTreeMap;

use base64::Engine as _;
use rsa::BigUint;
use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    r.add("filterPEM", &[Param::Str, Param::Str], None, filter_pem);
    r.add(
        "filterCertChain",
        &[Param::Str, Param::Str],
        None,
        filter_cert_chain,
    );
    r.add("certSANs", &[Param::Str], None, cert_sans);
}

/// The PEM type of certificates ESO writes (`pemTypeCertificate`).
pub(super) const TYPE_CERTIFICATE: &str = "CERTIFICATE";
/// The PEM type of the PKCS#8 keys ESO writes (`pemTypeKey`).
pub(super) const TYPE_PRIVATE_KEY: &str = "PRIVATE KEY";

/// Go's text when a nil `*pem.Block` is dereferenced: ESO's
/// `pemToPkcs12` family dereferences `pem.Decode`'s result unchecked, and
/// `text/template` turns the panic into the call's error.
pub(super) const NIL_DEREFERENCE: &str =
    "runtime error: invalid memory address or nil pointer dereference";

fn str_arg(args: &[Value], i: usize) -> &[u8] {
    match args.get(i) {
        Some(Value::Str(s)) => s.as_bytes(),
        _ => &[],
    }
}

/// `filterPEM(pemType, input string) (string, error)`: the blocks of
/// `input` whose type equals `pemType` ignoring case, re-encoded.
fn filter_pem(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let pem_type = str_arg(&args, 0);
    let input = trim_junk(str_arg(&args, 1));
    let mut data = input;
    let mut blocks = Vec::new();
    let rest = loop {
        let (block, rest) = decode(data);
        data = rest;
        let Some(block) = block else { break rest };
        if !equal_fold(&block.typ, pem_type) {
            continue;
        }
        blocks.extend_from_slice(&encode_block(&block));
    };
    if blocks.is_empty() && !rest.is_empty() {
        return Err(FuncError::new("error filtering pem: found junk"));
    }
    Ok(Value::str(blocks))
}

/// ESO's `trimJunk`: everything before the first `-----BEGIN`, as
/// `pem.Decode` skipped it before Go 1.26.
pub(super) fn trim_junk(input: &[u8]) -> &[u8] {
    match find(input, b"-----BEGIN") {
        Some(i) => input.get(i..).unwrap_or(input),
        None => input,
    }
}

/// Go's `strings.EqualFold` over the runes of two byte strings.
fn equal_fold(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (go_string_lossy(a), go_string_lossy(b));
    let (mut ai, mut bi) = (a.chars(), b.chars());
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                if x == y || fold_eq(x, y) {
                    continue;
                }
                return false;
            }
            _ => return false,
        }
    }
}

fn fold_eq(x: char, y: char) -> bool {
    let single = |mut it: std::iter::Peekable<std::char::ToLowercase>| {
        let c = it.next();
        if it.peek().is_some() { None } else { c }
    };
    let lx = single(x.to_lowercase().peekable());
    let ly = single(y.to_lowercase().peekable());
    lx.is_some() && lx == ly
}

/// `filterCertChain(certType, input string) (string, error)`: the leaf,
/// the intermediates or the root of the chain in `input`.
fn filter_cert_chain(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let cert_type = str_arg(&args, 0);
    let ordered = order_chain(str_arg(&args, 1)).map_err(FuncError::new)?;
    let out = match cert_type {
        b"leaf" => match ordered.first() {
            Some(cert)
                if cert.authority_key_id.is_some()
                    && cert.authority_key_id.as_deref().unwrap_or_default()
                        != cert.subject_key_id.as_deref().unwrap_or_default() =>
            {
                encode(TYPE_CERTIFICATE, &cert.raw)
            }
            _ => Vec::new(),
        },
        b"intermediate" => {
            let mut out = Vec::new();
            for cert in ordered.iter().skip(1) {
                if cert.is_root() {
                    break;
                }
                out.extend_from_slice(&encode(TYPE_CERTIFICATE, &cert.raw));
            }
            out
        }
        b"root" => match ordered.last() {
            Some(cert) if cert.is_root() => encode(TYPE_CERTIFICATE, &cert.raw),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(Value::str(out))
}

/// `certSANs(input string) ([]string, error)`: the first certificate's
/// DNS names, IP addresses, e-mail addresses and URIs, in that order.
fn cert_sans(_: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let input = trim_junk(str_arg(&args, 0));
    let (Some(block), _) = decode(input) else {
        return Err(FuncError::new("failed to decode PEM block"));
    };
    let cert = parse_certificate(&block.bytes)
        .map_err(|e| FuncError::new(format!("failed to parse certificate: {e}")))?;
    Ok(Value::list(cert.sans.into_iter().map(Value::str).collect()))
}

// ---------------------------------------------------------------------
// Chains (ESO's pem_chain.go, after Azure's secrets-store provider).

/// ESO's `fetchX509CertChains`: the certificates of `data` (every PEM
/// block must be one) ordered leaf first, each followed by the one whose
/// subject key id is its authority key id, when a single chain results.
pub(super) fn order_chain(data: &[u8]) -> Result<Vec<Certificate>, String> {
    let mut certs = Vec::new();
    let mut data = data;
    loop {
        let (block, rest) = decode(data);
        data = rest;
        let Some(block) = block else { break };
        certs.push(parse_certificate(&block.bytes)?);
    }
    let n = certs.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut is_parent = vec![false; n];
    for (i, ci) in certs.iter().enumerate() {
        for (j, cj) in certs.iter().enumerate() {
            if i == j {
                continue;
            }
            // Go compares the byte slices: an absent id equals an empty
            // or absent one.
            if ci.authority_key_id.as_deref().unwrap_or_default()
                == cj.subject_key_id.as_deref().unwrap_or_default()
            {
                if let Some(p) = is_parent.get_mut(j) {
                    *p = true;
                }
                if let Some(p) = parent.get_mut(i) {
                    *p = Some(j);
                }
                break;
            }
        }
    }
    let mut leaf = None;
    for (i, p) in is_parent.iter().enumerate() {
        if !p {
            if leaf.is_some() {
                return Err("found multiple leaf or disjunct certificates".into());
            }
            leaf = Some(i);
        }
    }
    let Some(mut at) = leaf else {
        return Err("no leaf certificate found".into());
    };
    let mut order = Vec::new();
    loop {
        if order.len() >= n {
            return Err("constructing chain resulted in cycle".into());
        }
        order.push(at);
        match parent.get(at).copied().flatten() {
            Some(next) => at = next,
            None => break,
        }
    }
    let mut slots: Vec<Option<Certificate>> = certs.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect())
}

// ---------------------------------------------------------------------
// Go's encoding/pem.

/// A PEM block as Go's `pem.Block` holds it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Block {
    /// The type between `-----BEGIN ` and `-----`.
    pub(crate) typ: Vec<u8>,
    /// `Key: Value` header lines.
    pub(super) headers: BTreeMap<Vec<u8>, Vec<u8>>,
    /// The decoded body.
    pub(crate) bytes: Vec<u8>,
}

impl std::fmt::Debug for Block {
    // The body may be a key: never shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Block({}, {} bytes)",
            String::from_utf8_lossy(&self.typ),
            self.bytes.len()
        )
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Go's `getLine`: the first line without its line break and trailing
/// blanks, the rest, and how many bytes were consumed.
fn get_line(data: &[u8]) -> (&[u8], &[u8], usize) {
    let (mut i, j) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (i, i + 1),
        None => (data.len(), data.len()),
    };
    if j > i && i > 0 && data.get(i - 1) == Some(&b'\r') {
        i -= 1;
    }
    let line = data.get(..i).unwrap_or_default();
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |p| p + 1);
    (
        line.get(..end).unwrap_or_default(),
        data.get(j..).unwrap_or_default(),
        j,
    )
}

/// Go's `bytes.TrimSpace`.
fn trim_space(b: &[u8]) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim().as_bytes(),
        Err(_) => b.trim_ascii(),
    }
}

const PEM_START: &[u8] = b"-----BEGIN ";
const PEM_END: &[u8] = b"\n-----END ";
const PEM_END_OF_LINE: &[u8] = b"-----";

/// Go's `pem.Decode`: the next block and the rest, or `None` and all of
/// `data` when there is none.
pub(crate) fn decode(data: &[u8]) -> (Option<Block>, &[u8]) {
    let mut rest = data;
    let mut end_trailer_index: isize = 0;
    loop {
        // Skip past the END already seen.
        let Some(r) = usize::try_from(end_trailer_index)
            .ok()
            .and_then(|i| rest.get(i..))
        else {
            return (None, data);
        };
        rest = r;
        // The first END line, then the last BEGIN before it.
        let Some(end) = find(rest, PEM_END) else {
            return (None, data);
        };
        let mut end_index = end as isize;
        end_trailer_index = end_index + PEM_END.len() as isize;
        let Some(begin) = rfind(rest.get(..end).unwrap_or_default(), PEM_START) else {
            continue;
        };
        if begin > 0 && rest.get(begin - 1) != Some(&b'\n') {
            continue;
        }
        let skip = begin + PEM_START.len();
        rest = rest.get(skip..).unwrap_or_default();
        end_index -= skip as isize;
        end_trailer_index -= skip as isize;

        let (type_line, next, consumed) = get_line(rest);
        rest = next;
        if !type_line.ends_with(PEM_END_OF_LINE) {
            continue;
        }
        end_index -= consumed as isize;
        end_trailer_index -= consumed as isize;
        let typ = type_line
            .get(..type_line.len() - PEM_END_OF_LINE.len())
            .unwrap_or_default();

        let mut headers = BTreeMap::new();
        loop {
            if rest.is_empty() {
                return (None, data);
            }
            let (line, next, consumed) = get_line(rest);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                break;
            };
            let (key, val) = (&line[..colon], &line[colon + 1..]);
            headers.insert(trim_space(key).to_vec(), trim_space(val).to_vec());
            rest = next;
            end_index -= consumed as isize;
            end_trailer_index -= consumed as isize;
        }
        // With headers, a line break must separate them from the END line.
        if !headers.is_empty() && end_index < 0 {
            continue;
        }
        let Some(end_trailer) = usize::try_from(end_trailer_index)
            .ok()
            .and_then(|i| rest.get(i..))
        else {
            continue;
        };
        let trailer_len = typ.len() + PEM_END_OF_LINE.len();
        if end_trailer.len() < trailer_len {
            continue;
        }
        let (end_trailer, rest_of_end_line) = end_trailer.split_at(trailer_len);
        if !end_trailer.starts_with(typ) || !end_trailer.ends_with(PEM_END_OF_LINE) {
            continue;
        }
        // The END line must end with only whitespace.
        if !get_line(rest_of_end_line).0.is_empty() {
            continue;
        }
        let mut bytes = Vec::new();
        if end_index > 0 {
            let body: Vec<u8> = rest
                .get(..end_index as usize)
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|&b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .collect();
            match GO_STD_BASE64.decode(&body) {
                Ok(b) => bytes = b,
                Err(_) => continue,
            }
        }
        // `endIndex+len(pemEnd)-1`: inside the END line, whose rest is
        // skipped.
        let after = usize::try_from(end_index + PEM_END.len() as isize - 1)
            .ok()
            .and_then(|i| rest.get(i..))
            .unwrap_or_default();
        let (_, after, _) = get_line(after);
        return (
            Some(Block {
                typ: typ.to_vec(),
                headers,
                bytes,
            }),
            after,
        );
    }
}

/// Go's `base64.StdEncoding` decoder: padding required, non-zero
/// trailing bits accepted.
pub(super) const GO_STD_BASE64: base64::engine::GeneralPurpose =
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );

/// Go's `pem.Encode` of a block without headers.
pub(crate) fn encode(typ: &str, bytes: &[u8]) -> Vec<u8> {
    encode_block(&Block {
        typ: typ.as_bytes().to_vec(),
        headers: BTreeMap::new(),
        bytes: bytes.to_vec(),
    })
}

/// Go's `pem.Encode`: the `Proc-Type` header first, the others sorted,
/// the body in lines of 64 characters.
pub(super) fn encode_block(block: &Block) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(PEM_START);
    out.extend_from_slice(&block.typ);
    out.extend_from_slice(b"-----\n");
    if !block.headers.is_empty() {
        let write = |out: &mut Vec<u8>, k: &[u8], v: &[u8]| {
            out.extend_from_slice(k);
            out.extend_from_slice(b": ");
            out.extend_from_slice(v);
            out.push(b'\n');
        };
        if let Some(v) = block.headers.get(b"Proc-Type".as_slice()) {
            write(&mut out, b"Proc-Type", v);
        }
        for (k, v) in &block.headers {
            if k != b"Proc-Type" {
                write(&mut out, k, v);
            }
        }
        out.push(b'\n');
    }
    let body = base64::engine::general_purpose::STANDARD.encode(&block.bytes);
    for line in body.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(&PEM_END[1..]);
    out.extend_from_slice(&block.typ);
    out.extend_from_slice(b"-----\n");
    out
}

/// A Go string's runes as Go's `range` yields them: each byte of an
/// invalid UTF-8 sequence becomes U+FFFD (as `encoding/json` and
/// `[]rune(s)` do), unlike `String::from_utf8_lossy`.
pub(super) fn go_string_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len()).max(1);
                for _ in 0..bad.min(after.len()) {
                    out.push(char::REPLACEMENT_CHARACTER);
                }
                rest = after.get(bad..).unwrap_or_default();
            }
        }
    }
}

// ---------------------------------------------------------------------
// The DER subset of Go's encoding/asn1 these functions use.

/// DER reading and writing, with Go's `encoding/asn1` strictness where it
/// matters (definite, minimal lengths; minimal integers).
pub(super) mod der {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const NUMERIC_STRING: u8 = 0x12;
    pub(crate) const PRINTABLE_STRING: u8 = 0x13;
    pub(crate) const T61_STRING: u8 = 0x14;
    pub(crate) const IA5_STRING: u8 = 0x16;
    pub(crate) const BMP_STRING: u8 = 0x1e;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;

    /// A context-specific tag `[n]`.
    pub(crate) const fn context(n: u8, constructed: bool) -> u8 {
        0x80 | if constructed { 0x20 } else { 0 } | n
    }

    /// One element: its identifier octet, contents and whole encoding.
    #[derive(Clone, Copy)]
    pub(crate) struct Tlv<'a> {
        pub(crate) tag: u8,
        pub(crate) content: &'a [u8],
        pub(crate) raw: &'a [u8],
    }

    /// Reads the elements of a constructed value in order.
    pub(crate) struct Reader<'a> {
        data: &'a [u8],
    }

    pub(crate) fn syntax(msg: &str) -> String {
        format!("asn1: syntax error: {msg}")
    }

    pub(crate) fn structure(msg: &str) -> String {
        format!("asn1: structure error: {msg}")
    }

    impl<'a> Reader<'a> {
        pub(crate) fn new(data: &'a [u8]) -> Self {
            Reader { data }
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.data.is_empty()
        }

        pub(crate) fn rest(&self) -> &'a [u8] {
            self.data
        }

        pub(crate) fn peek_tag(&self) -> Option<u8> {
            self.data.first().copied()
        }

        /// The next element.
        pub(crate) fn read(&mut self) -> Result<Tlv<'a>, String> {
            let data = self.data;
            let (&tag, after) = data
                .split_first()
                .ok_or_else(|| syntax("sequence truncated"))?;
            if tag & 0x1f == 0x1f {
                return Err(structure("high-tag-number form not supported here"));
            }
            let (&first, mut after) = after
                .split_first()
                .ok_or_else(|| syntax("data truncated"))?;
            let len = if first & 0x80 == 0 {
                usize::from(first)
            } else {
                let n = usize::from(first & 0x7f);
                if n == 0 {
                    return Err(syntax("indefinite length found (not DER)"));
                }
                if n > 4 {
                    return Err(structure("length too large"));
                }
                let bytes = after.get(..n).ok_or_else(|| syntax("data truncated"))?;
                if bytes.first() == Some(&0) {
                    return Err(structure("superfluous leading zeros in length"));
                }
                after = after.get(n..).unwrap_or_default();
                let len = bytes.iter().fold(0usize, |l, &b| (l << 8) | usize::from(b));
                if len < 0x80 {
                    return Err(structure("non-minimal length"));
                }
                len
            };
            let content = after.get(..len).ok_or_else(|| syntax("data truncated"))?;
            let header = data.len() - after.len();
            let raw = data.get(..header + len).unwrap_or_default();
            self.data = data.get(header + len..).unwrap_or_default();
            Ok(Tlv { tag, content, raw })
        }

        /// The next element, which must have `tag`.
        pub(crate) fn expect(&mut self, tag: u8) -> Result<&'a [u8], String> {
            let tlv = self.read()?;
            if tlv.tag != tag {
                return Err(structure("tags don't match"));
            }
            Ok(tlv.content)
        }

        /// The next element when it has `tag` (an OPTIONAL field).
        pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
            if self.peek_tag() == Some(tag) {
                self.expect(tag).map(Some)
            } else {
                Ok(None)
            }
        }
    }

    /// Go's `checkInteger`.
    fn check_integer(content: &[u8]) -> Result<(), String> {
        match content {
            [] => Err(structure("empty integer")),
            [0, b, ..] if b & 0x80 == 0 => Err(structure("integer not minimally-encoded")),
            [0xff, b, ..] if b & 0x80 != 0 => Err(structure("integer not minimally-encoded")),
            _ => Ok(()),
        }
    }

    /// An INTEGER that must fit Go's `int`.
    pub(crate) fn int(content: &[u8]) -> Result<i64, String> {
        check_integer(content)?;
        if content.len() > 8 {
            return Err(structure("integer too large"));
        }
        let negative = content.first().is_some_and(|b| b & 0x80 != 0);
        let mut v: i64 = if negative { -1 } else { 0 };
        for &b in content {
            v = (v << 8) | i64::from(b);
        }
        Ok(v)
    }

    /// An INTEGER as a big integer: `Ok(None)` when it is negative.
    pub(crate) fn big(content: &[u8]) -> Result<Option<super::BigUint>, String> {
        check_integer(content)?;
        if content.first().is_some_and(|b| b & 0x80 != 0) {
            return Ok(None);
        }
        Ok(Some(super::BigUint::from_bytes_be(content)))
    }

    fn push_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }

    /// An element with `tag` and `content`.
    pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(content.len() + 6);
        out.push(tag);
        push_len(&mut out, content.len());
        out.extend_from_slice(content);
        out
    }

    /// A SEQUENCE of already encoded elements.
    pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
        tlv(SEQUENCE, &parts.concat())
    }

    /// An INTEGER from a non-negative big-endian magnitude.
    pub(crate) fn uint(be: &[u8]) -> Vec<u8> {
        let skip = be.iter().take_while(|&&b| b == 0).count();
        let mut content = Vec::with_capacity(be.len() + 1);
        match be.get(skip) {
            None => content.push(0),
            Some(&b) => {
                if b & 0x80 != 0 {
                    content.push(0);
                }
                content.extend_from_slice(&be[skip..]);
            }
        }
        tlv(INTEGER, &content)
    }

    /// An INTEGER from a Go `int`.
    pub(crate) fn int_of(v: i64) -> Vec<u8> {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 7 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        tlv(INTEGER, &bytes[start..])
    }

    /// A BIT STRING of whole bytes.
    pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
        let mut content = Vec::with_capacity(bytes.len() + 1);
        content.push(0);
        content.extend_from_slice(bytes);
        tlv(BIT_STRING, &content)
    }
}

/// Object identifiers (their DER contents).
pub(super) mod oid {
    pub(crate) const RSA_ENCRYPTION: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub(crate) const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    pub(crate) const X25519: &[u8] = &[0x2b, 0x65, 0x6e];
    pub(crate) const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub(crate) const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    pub(crate) const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
}

// ---------------------------------------------------------------------
// Certificates.

/// What ESO's functions use of an `x509.Certificate`.
#[derive(Clone)]
pub(super) struct Certificate {
    /// The DER encoding (`Raw`).
    pub(super) raw: Vec<u8>,
    /// The subject's DER encoding (`RawSubject`).
    pub(super) subject: Vec<u8>,
    /// `SubjectKeyId` (`None` for Go's nil).
    pub(super) subject_key_id: Option<Vec<u8>>,
    /// `AuthorityKeyId` (`None` for Go's nil).
    pub(super) authority_key_id: Option<Vec<u8>>,
    /// DNS names, IP addresses, e-mail addresses and URIs as `certSANs`
    /// lists them.
    pub(super) sans: Vec<String>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({} bytes)", self.raw.len())
    }
}

impl Certificate {
    /// ESO's `isRootCertificate`.
    pub(super) fn is_root(&self) -> bool {
        match &self.authority_key_id {
            None => true,
            Some(aki) => aki.as_slice() == self.subject_key_id.as_deref().unwrap_or_default(),
        }
    }
}

/// Go's `x509.ParseCertificate`: exactly one certificate.
pub(super) fn parse_certificate(der: &[u8]) -> Result<Certificate, String> {
    use x509_parser::extensions::{GeneralName, ParsedExtension};

    let (rest, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|_| "x509: malformed certificate".to_string())?;
    if !rest.is_empty() {
        return Err("x509: trailing data".into());
    }
    let raw = der
        .get(..der.len() - rest.len())
        .unwrap_or_default()
        .to_vec();
    let mut subject_key_id = None;
    let mut authority_key_id = None;
    let (mut dns, mut ips, mut emails, mut uris) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(kid) => subject_key_id = Some(kid.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                authority_key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(s) => {
                            if !s.is_ascii() {
                                return Err("x509: SAN dNSName is malformed".into());
                            }
                            dns.push((*s).to_string());
                        }
                        GeneralName::RFC822Name(s) => {
                            if !s.is_ascii() {
                                return Err("x509: SAN rfc822Name is malformed".into());
                            }
                            emails.push((*s).to_string());
                        }
                        GeneralName::URI(s) => {
                            if !s.is_ascii() {
                                return Err(
                                    "x509: SAN uniformResourceIdentifier is malformed".into()
                                );
                            }
                            uris.push((*s).to_string());
                        }
                        GeneralName::IPAddress(ip) => ips.push(go_ip_string(ip)?),
                        GeneralName::Invalid(tag, _) => {
                            return Err(match tag.0 {
                                1 => "x509: SAN rfc822Name is malformed".into(),
                                2 => "x509: SAN dNSName is malformed".into(),
                                6 => "x509: SAN uniformResourceIdentifier is malformed".into(),
                                _ => "x509: malformed certificate".into(),
                            });
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::ParseError { .. } => {
                return Err("x509: malformed extension".into());
            }
            _ => {}
        }
    }
    let mut sans = dns;
    sans.append(&mut ips);
    sans.append(&mut emails);
    sans.append(&mut uris);
    Ok(Certificate {
        raw,
        subject: cert.tbs_certificate.subject.as_raw().to_vec(),
        subject_key_id,
        authority_key_id,
        sans,
    })
}

/// Go's `x509.ParseCertificates`: concatenated DER certificates.
pub(super) fn parse_certificates(mut der: &[u8]) -> Result<Vec<Certificate>, String> {
    let mut certs = Vec::new();
    while !der.is_empty() {
        let mut reader = der::Reader::new(der);
        let tlv = reader
            .read()
            .map_err(|_| "x509: malformed certificate".to_string())?;
        certs.push(parse_certificate(tlv.raw)?);
        der = reader.rest();
    }
    Ok(certs)
}

/// Go's `net.IP.String()` of a SAN's address (4 or 16 bytes).
fn go_ip_string(ip: &[u8]) -> Result<String, String> {
    match ip.len() {
        4 => Ok(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string()),
        16 => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(ip);
            // An IPv4-mapped address prints in dotted form.
            if octets[..10].iter().all(|&b| b == 0) && octets[10] == 0xff && octets[11] == 0xff {
                return Ok(
                    std::net::Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15])
                        .to_string(),
                );
            }
            let groups: Vec<u16> = octets
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            // The longest run of two or more zero groups (the first of
            // equal runs) becomes "::".
            let (mut best, mut best_len, mut i) = (usize::MAX, 0, 0);
            while i < 8 {
                if groups[i] == 0 {
                    let start = i;
                    while i < 8 && groups[i] == 0 {
                        i += 1;
                    }
                    if i - start > best_len && i - start >= 2 {
                        best = start;
                        best_len = i - start;
                    }
                } else {
                    i += 1;
                }
            }
            let mut out = String::new();
            let mut i = 0;
            while i < 8 {
                if i == best {
                    out.push_str("::");
                    i += best_len;
                    continue;
                }
                if i > 0 && !out.ends_with(':') {
                    out.push(':');
                }
                out.push_str(&format!("{:x}", groups[i]));
                i += 1;
            }
            Ok(out)
        }
        n => Err(format!("x509: cannot parse IP address of length {n}")),
    }
}

// ---------------------------------------------------------------------
// Keys.

/// The curves Go's `crypto/x509` names (but P-224, which no RustCrypto
/// crate here implements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Curve {
    /// NIST P-256.
    P256,
    /// NIST P-384.
    P384,
    /// NIST P-521.
    P521,
}

impl Curve {
    pub(super) fn from_oid(oid: &[u8]) -> Option<Curve> {
        match oid {
            oid::P256 => Some(Curve::P256),
            oid::P384 => Some(Curve::P384),
            oid::P521 => Some(Curve::P521),
            _ => None,
        }
    }

    fn oid(self) -> &'static [u8] {
        match self {
            Curve::P256 => oid::P256,
            Curve::P384 => oid::P384,
            Curve::P521 => oid::P521,
        }
    }

    /// Bytes of a scalar or coordinate.
    pub(super) fn size(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The uncompressed public point of the scalar `d` (`size` bytes), or
    /// `None` when `d` is zero or not below the order.
    fn public_point(self, d: &[u8]) -> Option<Vec<u8>> {
        macro_rules! point {
            ($c:ident) => {{
                use $c::elliptic_curve::sec1::ToEncodedPoint as _;
                $c::SecretKey::from_slice(d)
                    .ok()
                    .map(|k| k.public_key().to_encoded_point(false).as_bytes().to_vec())
            }};
        }
        match self {
            Curve::P256 => point!(p256),
            Curve::P384 => point!(p384),
            Curve::P521 => point!(p521),
        }
    }

    /// Whether the uncompressed `point` is on the curve (Go's
    /// `IsOnCurve`).
    pub(super) fn is_on_curve(self, point: &[u8]) -> bool {
        match self {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(point).is_ok(),
            Curve::P384 => p384::PublicKey::from_sec1_bytes(point).is_ok(),
            Curve::P521 => p521::PublicKey::from_sec1_bytes(point).is_ok(),
        }
    }
}

/// A private key of a type Go's `crypto/x509` parses.
pub(super) enum PrivateKey {
    /// `*rsa.PrivateKey`.
    Rsa(Box<rsa::RsaPrivateKey>),
    /// `*ecdsa.PrivateKey`: the scalar (`size` bytes) and the
    /// uncompressed public point.
    Ec {
        /// The curve.
        curve: Curve,
        /// The private scalar, left-padded to the curve's size.
        d: Vec<u8>,
        /// `04 || X || Y`.
        point: Vec<u8>,
    },
    /// `ed25519.PrivateKey`: the seed.
    Ed25519([u8; 32]),
    /// `*ecdh.PrivateKey` on X25519: the scalar.
    X25519([u8; 32]),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PrivateKey::Rsa(_) => "PrivateKey(RSA)",
            PrivateKey::Ec { .. } => "PrivateKey(EC)",
            PrivateKey::Ed25519(_) => "PrivateKey(Ed25519)",
            PrivateKey::X25519(_) => "PrivateKey(X25519)",
        })
    }
}

/// A public key as `x509.MarshalPKIXPublicKey` writes it.
pub(super) enum PublicKey {
    /// `*rsa.PublicKey`.
    Rsa {
        /// The modulus.
        n: BigUint,
        /// The exponent.
        e: BigUint,
    },
    /// `*ecdsa.PublicKey`: `04 || X || Y`.
    Ec {
        /// The curve.
        curve: Curve,
        /// The uncompressed point.
        point: Vec<u8>,
    },
    /// `ed25519.PublicKey`.
    Ed25519(Vec<u8>),
}

#[cfg(test)]
fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

impl PrivateKey {
    /// The public half (the tests compare it with certificates').
    #[cfg(test)]
    pub(super) fn public(&self) -> Option<PublicKey> {
        match self {
            PrivateKey::Rsa(k) => Some(PublicKey::Rsa {
                n: k.n().clone(),
                e: k.e().clone(),
            }),
            PrivateKey::Ec { curve, point, .. } => Some(PublicKey::Ec {
                curve: *curve,
                point: point.clone(),
            }),
            PrivateKey::Ed25519(seed) => Some(PublicKey::Ed25519(ed25519_public(seed).to_vec())),
            // MarshalPKIXPublicKey would take an *ecdh.PublicKey; no
            // function here needs it.
            PrivateKey::X25519(_) => None,
        }
    }
}

/// Go's `x509.MarshalPKIXPublicKey`.
pub(super) fn marshal_pkix_public_key(key: &PublicKey) -> Result<Vec<u8>, String> {
    let (algorithm, bits) = match key {
        PublicKey::Rsa { n, e } => (
            der::seq(&[
                &der::tlv(der::OID, oid::RSA_ENCRYPTION),
                &der::tlv(der::NULL, &[]),
            ]),
            der::seq(&[&der::uint(&n.to_bytes_be()), &der::uint(&e.to_bytes_be())]),
        ),
        PublicKey::Ec { curve, point } => {
            if !curve.is_on_curve(point) {
                return Err("x509: invalid elliptic curve public key".into());
            }
            (
                der::seq(&[
                    &der::tlv(der::OID, oid::EC_PUBLIC_KEY),
                    &der::tlv(der::OID, curve.oid()),
                ]),
                point.clone(),
            )
        }
        PublicKey::Ed25519(pk) => (der::seq(&[&der::tlv(der::OID, oid::ED25519)]), pk.clone()),
    };
    Ok(der::seq(&[&algorithm, &der::bit_string(&bits)]))
}

/// Go's `MarshalPKCS1PrivateKey` of a two-prime key.
fn marshal_pkcs1(k: &rsa::RsaPrivateKey) -> Result<Vec<u8>, String> {
    let [p, q] = k.primes() else {
        return Err("x509: multi-prime RSA keys are not supported".into());
    };
    let one = BigUint::from(1u8);
    let dp = k.d() % (p - &one);
    let dq = k.d() % (q - &one);
    let qinv = k
        .crt_coefficient()
        .ok_or_else(|| "crypto/rsa: invalid CRT coefficient".to_string())?;
    Ok(der::seq(&[
        &der::int_of(0),
        &der::uint(&k.n().to_bytes_be()),
        &der::uint(&k.e().to_bytes_be()),
        &der::uint(&k.d().to_bytes_be()),
        &der::uint(&p.to_bytes_be()),
        &der::uint(&q.to_bytes_be()),
        &der::uint(&dp.to_bytes_be()),
        &der::uint(&dq.to_bytes_be()),
        &der::uint(&qinv.to_bytes_be()),
    ]))
}

/// Go's `MarshalECPrivateKey` body without the curve (as PKCS#8 embeds
/// it).
pub(super) fn marshal_sec1_without_curve(d: &[u8], point: &[u8]) -> Vec<u8> {
    der::seq(&[
        &der::int_of(1),
        &der::tlv(der::OCTET_STRING, d),
        &der::tlv(der::context(1, true), &der::bit_string(point)),
    ])
}

/// Go's `x509.MarshalPKCS8PrivateKey`.
pub(super) fn marshal_pkcs8(key: &PrivateKey) -> Result<Vec<u8>, String> {
    let (algorithm, private) = match key {
        PrivateKey::Rsa(k) => (
            der::seq(&[
                &der::tlv(der::OID, oid::RSA_ENCRYPTION),
                &der::tlv(der::NULL, &[]),
            ]),
            marshal_pkcs1(k)?,
        ),
        PrivateKey::Ec { curve, d, point } => {
            if !curve.is_on_curve(point) {
                return Err(
                    "x509: failed to marshal EC private key while building PKCS#8: invalid elliptic key public key"
                        .into(),
                );
            }
            (
                der::seq(&[
                    &der::tlv(der::OID, oid::EC_PUBLIC_KEY),
                    &der::tlv(der::OID, curve.oid()),
                ]),
                marshal_sec1_without_curve(d, point),
            )
        }
        PrivateKey::Ed25519(seed) => (
            der::seq(&[&der::tlv(der::OID, oid::ED25519)]),
            der::tlv(der::OCTET_STRING, seed),
        ),
        PrivateKey::X25519(scalar) => (
            der::seq(&[&der::tlv(der::OID, oid::X25519)]),
            der::tlv(der::OCTET_STRING, scalar),
        ),
    };
    Ok(der::seq(&[
        &der::int_of(0),
        &algorithm,
        &der::tlv(der::OCTET_STRING, &private),
    ]))
}

/// Whether `der` reads as the start of a PKCS#8 structure (Go's hint in
/// its errors).
fn looks_like_pkcs8(der: &[u8]) -> bool {
    let mut outer = der::Reader::new(der);
    let Ok(seq) = outer.expect(der::SEQUENCE) else {
        return false;
    };
    let mut r = der::Reader::new(seq);
    r.expect(der::INTEGER).is_ok()
        && r.expect(der::SEQUENCE).is_ok()
        && r.expect(der::OCTET_STRING).is_ok()
}

/// Whether `der` reads as the start of an SEC 1 EC key.
fn looks_like_sec1(der: &[u8]) -> bool {
    let mut outer = der::Reader::new(der);
    let Ok(seq) = outer.expect(der::SEQUENCE) else {
        return false;
    };
    let mut r = der::Reader::new(seq);
    r.expect(der::INTEGER).is_ok() && r.expect(der::OCTET_STRING).is_ok() && {
        matches!(r.peek_tag(), None | Some(0xa0) | Some(0xa1))
    }
}

/// Go's `x509.ParsePKCS1PrivateKey`.
pub(super) fn parse_pkcs1_private_key(input: &[u8]) -> Result<rsa::RsaPrivateKey, String> {
    let fields: Result<_, String> = (|| {
        let mut outer = der::Reader::new(input);
        let seq = outer.expect(der::SEQUENCE)?;
        if !outer.is_empty() {
            return Err(der::syntax("trailing data"));
        }
        let mut r = der::Reader::new(seq);
        let version = der::int(r.expect(der::INTEGER)?)?;
        let n = der::big(r.expect(der::INTEGER)?)?;
        let e = der::int(r.expect(der::INTEGER)?)?;
        let d = der::big(r.expect(der::INTEGER)?)?;
        let p = der::big(r.expect(der::INTEGER)?)?;
        let q = der::big(r.expect(der::INTEGER)?)?;
        for _ in 0..3 {
            if let Some(c) = r.optional(der::INTEGER)? {
                der::big(c)?;
            }
        }
        let multi_prime = r.optional(der::SEQUENCE)?.is_some_and(|s| !s.is_empty());
        Ok((version, n, e, d, p, q, multi_prime))
    })();
    let (version, n, e, d, p, q, multi_prime) = match fields {
        Ok(f) => f,
        Err(err) => {
            if looks_like_sec1(input) {
                return Err(
                    "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)".into(),
                );
            }
            if looks_like_pkcs8(input) {
                return Err(
                    "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".into(),
                );
            }
            return Err(err);
        }
    };
    if version > 1 {
        return Err("x509: unsupported private key version".into());
    }
    let zero = BigUint::from(0u8);
    let (Some(n), Some(d), Some(p), Some(q)) = (n, d, p, q) else {
        return Err("x509: private key contains zero or negative value".into());
    };
    if n == zero || d == zero || p == zero || q == zero {
        return Err("x509: private key contains zero or negative value".into());
    }
    if multi_prime {
        return Err("x509: multi-prime RSA keys are not supported".into());
    }
    let e = u64::try_from(e).map_err(|_| "crypto/rsa: public exponent too small".to_string())?;
    rsa::RsaPrivateKey::from_components(n, BigUint::from(e), d, vec![p, q])
        .map_err(|e| format!("crypto/rsa: invalid private key: {e}"))
}

/// Go's `parseECPrivateKey` (SEC 1), the curve named by PKCS#8 when
/// `named_curve` is given.
fn parse_ec_private_key(named_curve: Option<&[u8]>, input: &[u8]) -> Result<PrivateKey, String> {
    let fields: Result<_, String> = (|| {
        let mut outer = der::Reader::new(input);
        let mut r = der::Reader::new(outer.expect(der::SEQUENCE)?);
        let version = der::int(r.expect(der::INTEGER)?)?;
        let private = r.expect(der::OCTET_STRING)?;
        let curve = match r.optional(der::context(0, true))? {
            Some(c) => Some(der::Reader::new(c).expect(der::OID)?),
            None => None,
        };
        Ok((version, private, curve))
    })();
    let (version, private, own_curve) = match fields {
        Ok(f) => f,
        Err(err) => {
            if looks_like_pkcs8(input) {
                return Err(
                    "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)".into(),
                );
            }
            if parse_pkcs1_shape(input) {
                return Err(
                    "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)".into(),
                );
            }
            return Err(format!("x509: failed to parse EC private key: {err}"));
        }
    };
    if version != 1 {
        return Err(format!("x509: unknown EC private key version {version}"));
    }
    let curve = named_curve
        .or(own_curve)
        .and_then(Curve::from_oid)
        .ok_or_else(|| "x509: unknown elliptic curve".to_string())?;
    let size = curve.size();
    // Leading zero padding beyond the size is tolerated, as are missing
    // leading zeros (OpenSSL used to strip them).
    let mut k = private;
    while k.len() > size {
        match k.split_first() {
            Some((0, rest)) => k = rest,
            _ => return Err("x509: invalid private key length".into()),
        }
    }
    let mut d = vec![0u8; size - k.len()];
    d.extend_from_slice(k);
    let point = curve
        .public_point(&d)
        .ok_or_else(|| "x509: invalid elliptic curve private key value".to_string())?;
    Ok(PrivateKey::Ec { curve, d, point })
}

fn parse_pkcs1_shape(input: &[u8]) -> bool {
    let mut outer = der::Reader::new(input);
    let Ok(seq) = outer.expect(der::SEQUENCE) else {
        return false;
    };
    let mut r = der::Reader::new(seq);
    (0..6).all(|_| r.expect(der::INTEGER).is_ok())
}

/// Go's `x509.ParsePKCS8PrivateKey`.
pub(super) fn parse_pkcs8_private_key(input: &[u8]) -> Result<PrivateKey, String> {
    let fields: Result<_, String> = (|| {
        let mut outer = der::Reader::new(input);
        let mut r = der::Reader::new(outer.expect(der::SEQUENCE)?);
        der::int(r.expect(der::INTEGER)?)?;
        let mut algo = der::Reader::new(r.expect(der::SEQUENCE)?);
        let algorithm = algo.expect(der::OID)?;
        let params = if algo.is_empty() {
            None
        } else {
            Some(algo.read()?)
        };
        let private = r.expect(der::OCTET_STRING)?;
        Ok((algorithm, params, private))
    })();
    let (algorithm, params, private) = match fields {
        Ok(f) => f,
        Err(err) => {
            if looks_like_sec1(input) {
                return Err(
                    "x509: failed to parse private key (use ParseECPrivateKey instead for this key format)".into(),
                );
            }
            if parse_pkcs1_shape(input) {
                return Err(
                    "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)".into(),
                );
            }
            return Err(err);
        }
    };
    match algorithm {
        oid::RSA_ENCRYPTION => parse_pkcs1_private_key(private)
            .map(|k| PrivateKey::Rsa(Box::new(k)))
            .map_err(|e| format!("x509: failed to parse RSA private key embedded in PKCS#8: {e}")),
        oid::EC_PUBLIC_KEY => {
            let named = params.filter(|p| p.tag == der::OID).map(|p| p.content);
            parse_ec_private_key(named, private).map_err(|e| {
                format!("x509: failed to parse EC private key embedded in PKCS#8: {e}")
            })
        }
        oid::ED25519 | oid::X25519 => {
            let name = if algorithm == oid::ED25519 {
                "Ed25519"
            } else {
                "X25519"
            };
            if params.is_some() {
                return Err(format!("x509: invalid {name} private key parameters"));
            }
            let key = der::Reader::new(private)
                .expect(der::OCTET_STRING)
                .map_err(|e| format!("x509: invalid {name} private key: {e}"))?;
            let Ok(key) = <[u8; 32]>::try_from(key) else {
                return Err(if algorithm == oid::ED25519 {
                    format!("x509: invalid Ed25519 private key length: {}", key.len())
                } else {
                    "crypto/ecdh: invalid private key size".into()
                });
            };
            Ok(if algorithm == oid::ED25519 {
                PrivateKey::Ed25519(key)
            } else {
                PrivateKey::X25519(key)
            })
        }
        _ => Err(format!(
            "x509: PKCS#8 wrapping contained private key with unknown algorithm: {}",
            oid_string(algorithm)
        )),
    }
}

/// ESO's `parsePrivateKey`: PKCS#1, else PKCS#8, else SEC 1; `None`
/// when none reads (ESO then reports only "unable to parse private key
/// type").
pub(super) fn parse_private_key(der: &[u8]) -> Option<PrivateKey> {
    if let Ok(k) = parse_pkcs1_private_key(der) {
        return Some(PrivateKey::Rsa(Box::new(k)));
    }
    if let Ok(k) = parse_pkcs8_private_key(der) {
        return Some(k);
    }
    parse_ec_private_key(None, der).ok()
}

/// An OID's dotted form (Go's `ObjectIdentifier.String()`).
pub(super) fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<u128> = Vec::new();
    let mut v: u128 = 0;
    for &b in content {
        v = (v << 7) | u128::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (first, second) = match v {
                    0..=39 => (0, v),
                    40..=79 => (1, v - 40),
                    _ => (2, v - 80),
                };
                arcs.push(first);
                arcs.push(second);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    arcs.iter()
        .map(u128::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used, clippy::type_complexity)]

    use super::*;

    /// `certData` of ESO's pem_test.go (also `pkcs12Cert` of
    /// template_test.go).
    pub(crate) const CERT_DATA: &str = include_str!("../../tests/data/eso/certData.pem");
    /// `otherCert` of ESO's pem_test.go.
    pub(crate) const OTHER_CERT: &str = include_str!("../../tests/data/eso/otherCert.pem");
    /// `keyData` of ESO's pem_test.go (also `pkcs12Key` of
    /// template_test.go).
    pub(crate) const KEY_DATA: &str = include_str!("../../tests/data/eso/keyData.pem");
    /// `jwkPrivRSAPKCS8` of ESO's template_test.go.
    pub(crate) const JWK_PRIV_RSA_PKCS8: &str =
        include_str!("../../tests/data/eso/jwkPrivRSAPKCS8.pem");

    pub(crate) const FOO_CRT: &str = include_str!("../../tests/data/eso/foo.crt");
    pub(crate) const INTERMEDIATE_CRT: &str =
        include_str!("../../tests/data/eso/intermediate-ca.crt");
    pub(crate) const ROOT_CRT: &str = include_str!("../../tests/data/eso/root-ca.crt");
    const ROOT_KEY: &str = include_str!("../../tests/data/eso/root-ca.key");
    const SANS_CRT: &str = include_str!("../../tests/data/eso/sans.crt");

    pub(crate) fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        super::super::register(&mut r);
        let mut random = |buf: &mut [u8]| buf.fill(7);
        let mut env = Env {
            now: time::OffsetDateTime::UNIX_EPOCH,
            random: &mut random,
        };
        (r.get(name).unwrap().body)(&mut env, args)
    }

    /// A certificate's SubjectPublicKeyInfo, DER.
    pub(crate) fn spki(cert_der: &[u8]) -> Vec<u8> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der).unwrap();
        cert.tbs_certificate.subject_pki.raw.to_vec()
    }

    pub(crate) fn s(v: &str) -> Value {
        Value::str(v)
    }

    fn out(v: Result<Value, FuncError>) -> String {
        match v.unwrap() {
            Value::Str(s) => s.to_str_lossy().into_owned(),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn filter_pem_cases() {
        // ESO: pem_test.go TestFilterPEM (filterPrivateKey = "private key",
        // filterCert = "certificate").
        let k = KEY_DATA;
        let c = CERT_DATA;
        let o = OTHER_CERT;
        let cases: Vec<(&str, String, &str, Option<String>)> = vec![
            (
                "extract cert / cert first",
                format!("{c}{k}"),
                "certificate",
                Some(c.into()),
            ),
            (
                "extract cert / key first",
                format!("{k}{c}"),
                "certificate",
                Some(c.into()),
            ),
            (
                "extract multiple certs",
                format!("{k}{c}{k}{o}"),
                "certificate",
                Some(format!("{c}{o}")),
            ),
            (
                "extract key",
                format!("{k}{c}"),
                "private key",
                Some(k.into()),
            ),
            (
                "key with junk",
                format!("{c}{k}some ---junk---"),
                "private key",
                Some(k.into()),
            ),
            (
                "begin/end with junk",
                format!("some junk{c}{k}some ---junk---"),
                "private key",
                Some(k.into()),
            ),
            (
                "interleaved junk",
                format!("{c}some junk{k}"),
                "private key",
                None,
            ),
            ("err when junk", "---junk---".into(), "private key", None),
        ];
        for (name, input, typ, want) in cases {
            let got = call("filterPEM", vec![s(typ), s(&input)]);
            match want {
                Some(want) => assert_eq!(out(got), want, "{name}"),
                None => assert_eq!(
                    got.unwrap_err(),
                    FuncError::new("error filtering pem: found junk"),
                    "{name}"
                ),
            }
        }
    }

    #[test]
    fn filter_pem_in_template_cases() {
        // ESO: template_test.go TestExecute "filter pem certificate".
        let input = format!("{JWK_PRIV_RSA_PKCS8}{CERT_DATA}");
        assert_eq!(
            out(call("filterPEM", vec![s("CERTIFICATE"), s(&input)])),
            CERT_DATA
        );
        // ESO: template_test.go TestExecute "certSANs combined with
        // filterPEM pipeline".
        let input = format!("{KEY_DATA}{CERT_DATA}");
        let pem = call("filterPEM", vec![s("CERTIFICATE"), s(&input)]).unwrap();
        let sans = call("certSANs", vec![pem]).unwrap();
        assert_eq!(sans.to_go_string(), b"[gooble.com]");
    }

    #[test]
    fn filter_cert_chain_cases() {
        // ESO: pem_test.go TestFilterCertChain.
        let (leaf, inter, root) = (FOO_CRT, INTERMEDIATE_CRT, ROOT_CRT);
        let cases: Vec<(&str, Vec<&str>, &str, Result<&str, ()>)> = vec![
            (
                "extract leaf cert / empty cert chain",
                vec![],
                "leaf",
                Err(()),
            ),
            (
                "extract leaf cert / cert chain with pkey",
                vec![leaf, ROOT_KEY],
                "leaf",
                Err(()),
            ),
            (
                "extract leaf cert / leaf cert only",
                vec![leaf],
                "leaf",
                Ok(leaf),
            ),
            (
                "extract leaf cert / cert chain without root",
                vec![leaf, inter],
                "leaf",
                Ok(leaf),
            ),
            (
                "extract leaf cert / root cert only",
                vec![root],
                "leaf",
                Ok(""),
            ),
            (
                "extract leaf cert / full cert chain",
                vec![leaf, inter, root],
                "leaf",
                Ok(leaf),
            ),
            (
                "extract intermediate cert / leaf cert only",
                vec![leaf],
                "intermediate",
                Ok(""),
            ),
            (
                "extract intermediate cert / cert chain without root",
                vec![leaf, inter],
                "intermediate",
                Ok(inter),
            ),
            (
                "extract intermediate cert / full cert chain",
                vec![leaf, inter, root],
                "intermediate",
                Ok(inter),
            ),
            (
                "extract root cert / leaf cert only",
                vec![leaf],
                "root",
                Ok(""),
            ),
            (
                "extract root cert / root cert only",
                vec![root],
                "root",
                Ok(root),
            ),
            (
                "extract root cert / full cert chain",
                vec![leaf, inter, root],
                "root",
                Ok(root),
            ),
        ];
        for (name, input, typ, want) in cases {
            let got = call("filterCertChain", vec![s(typ), s(&input.concat())]);
            match want {
                Ok(want) => assert_eq!(out(got), want, "{name}"),
                Err(()) => assert!(got.is_err(), "{name}"),
            }
        }
        // The errors' texts, as ESO's pem_chain.go has them.
        assert_eq!(
            call("filterCertChain", vec![s("leaf"), s("")]).unwrap_err(),
            FuncError::new("no leaf certificate found")
        );
        let disjunct = include_str!("../../tests/data/eso/disjunct-chain.pem");
        assert_eq!(
            call("filterCertChain", vec![s("leaf"), s(disjunct)]).unwrap_err(),
            FuncError::new("found multiple leaf or disjunct certificates")
        );
    }

    #[test]
    fn cert_sans_cases() {
        // ESO: pem_test.go TestCertSANs.
        let cases: Vec<(&str, String, Option<Vec<&str>>)> = vec![
            (
                "extract DNS SANs from cert",
                CERT_DATA.into(),
                Some(vec!["gooble.com"]),
            ),
            ("invalid PEM input", "not a pem".into(), None),
            ("empty input", String::new(), None),
            (
                "cert with junk before PEM",
                format!("some junk\n{CERT_DATA}"),
                Some(vec!["gooble.com"]),
            ),
            (
                "cert from file with all types of SANs",
                SANS_CRT.into(),
                Some(vec![
                    "example.com",
                    "www.example.com",
                    "192.168.1.10",
                    "10.0.0.1",
                    "admin@example.com",
                    "https://example.com",
                ]),
            ),
        ];
        for (name, input, want) in cases {
            let got = call("certSANs", vec![s(&input)]);
            match want {
                Some(want) => {
                    let want = Value::list(want.into_iter().map(Value::str).collect());
                    assert_eq!(got.unwrap().to_go_string(), want.to_go_string(), "{name}");
                }
                None => assert!(got.is_err(), "{name}"),
            }
        }
        // ESO: template_test.go TestExecute "certSANs with invalid PEM".
        assert_eq!(
            call("certSANs", vec![s("not-a-pem")]).unwrap_err(),
            FuncError::new("failed to decode PEM block")
        );
        // ESO: template_test.go TestExecute "certSANs extract first SAN
        // with index" / "... as comma-separated string" / "... with
        // toJson": one element, a string.
        match call("certSANs", vec![s(CERT_DATA)]).unwrap() {
            Value::List(l) => {
                assert_eq!(l.len(), 1);
                assert_eq!(l[0].as_str().unwrap().as_bytes(), b"gooble.com");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pem_round_trips_as_go_encodes() {
        let (block, rest) = decode(CERT_DATA.as_bytes());
        let block = block.unwrap();
        assert!(rest.is_empty());
        assert_eq!(block.typ, b"CERTIFICATE");
        assert_eq!(encode_block(&block), CERT_DATA.as_bytes());
        // Headers: Proc-Type first, then sorted; values trimmed.
        let text = "-----BEGIN RSA PRIVATE KEY-----\nb: 2 \nProc-Type:  4,ENCRYPTED\na: 1\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let (block, _) = decode(text.as_bytes());
        let block = block.unwrap();
        assert_eq!(block.bytes, [0, 1, 2]);
        assert_eq!(
            String::from_utf8(encode_block(&block)).unwrap(),
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\na: 1\nb: 2\n\nAAEC\n-----END RSA PRIVATE KEY-----\n"
        );
        // Junk on the BEGIN line is not skipped (Go 1.26); junk on lines
        // before it is.
        assert!(
            decode(b"x-----BEGIN A-----\nAAEC\n-----END A-----\n")
                .0
                .is_none()
        );
        let (b, rest) = decode(b"junk\n-----BEGIN A-----\nAAEC\n-----END A-----\nmore");
        assert_eq!(b.unwrap().bytes, [0, 1, 2]);
        assert_eq!(rest, b"more");
        // An empty body; a bad body is skipped.
        let (b, _) = decode(b"-----BEGIN A-----\n-----END A-----\n");
        assert!(b.unwrap().bytes.is_empty());
        assert!(
            decode(b"-----BEGIN A-----\n!!!!\n-----END A-----\n")
                .0
                .is_none()
        );
        // Lines of 64.
        let long = encode("X", &[0u8; 60]);
        let lines: Vec<&[u8]> = long.split(|&b| b == b'\n').collect();
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 16);
    }

    #[test]
    fn keys_marshal_as_go() {
        // keyData is Go's MarshalPKCS8PrivateKey of an RSA key: parsed and
        // marshalled again, it is the same bytes.
        let (block, _) = decode(KEY_DATA.as_bytes());
        let block = block.unwrap();
        let key = parse_pkcs8_private_key(&block.bytes).unwrap();
        assert_eq!(marshal_pkcs8(&key).unwrap(), block.bytes);
        // ESO's parsePrivateKey reads it too; a PKCS#1 key is not PKCS#8.
        assert!(parse_private_key(&block.bytes).is_some());
        assert!(parse_private_key(b"invalid").is_none());
        let PrivateKey::Rsa(rsa) = key else { panic!() };
        let pkcs1 = marshal_pkcs1(&rsa).unwrap();
        assert_eq!(
            parse_pkcs8_private_key(&pkcs1).unwrap_err(),
            "x509: failed to parse private key (use ParsePKCS1PrivateKey instead for this key format)"
        );
        assert_eq!(
            parse_pkcs1_private_key(&block.bytes).unwrap_err(),
            "x509: failed to parse private key (use ParsePKCS8PrivateKey instead for this key format)"
        );
        // foo.key (step's P-256 key, SEC 1) as PKCS#8, with its point.
        let foo_key = include_str!("../../tests/data/eso/foo.key");
        let (block, _) = decode(foo_key.as_bytes());
        let key = parse_private_key(&block.unwrap().bytes).unwrap();
        let PrivateKey::Ec {
            curve, ref point, ..
        } = key
        else {
            panic!()
        };
        assert_eq!(curve, Curve::P256);
        let pkcs8 = marshal_pkcs8(&key).unwrap();
        let again = parse_pkcs8_private_key(&pkcs8).unwrap();
        let PrivateKey::Ec { point: p2, .. } = again else {
            panic!()
        };
        assert_eq!(&p2, point);
        // root-ca.key (Ed25519, PKCS#8) marshals back to itself.
        let (block, _) = decode(ROOT_KEY.as_bytes());
        let block = block.unwrap();
        let key = parse_private_key(&block.bytes).unwrap();
        assert!(matches!(key, PrivateKey::Ed25519(_)));
        assert_eq!(marshal_pkcs8(&key).unwrap(), block.bytes);
        // Its public key is the root certificate's.
        let (cert, _) = decode(ROOT_CRT.as_bytes());
        assert_eq!(
            marshal_pkix_public_key(&key.public().unwrap()).unwrap(),
            spki(&cert.unwrap().bytes)
        );
    }

    #[test]
    fn der_integers_and_oids() {
        assert_eq!(der::int_of(0), [2, 1, 0]);
        assert_eq!(der::int_of(2048), [2, 2, 8, 0]);
        assert_eq!(der::int_of(128), [2, 2, 0, 128]);
        assert_eq!(der::int_of(-1), [2, 1, 0xff]);
        assert_eq!(der::uint(&[0, 0, 0x80]), [2, 2, 0, 0x80]);
        assert_eq!(der::uint(&[]), [2, 1, 0]);
        assert_eq!(der::int(&[0x08, 0x00]).unwrap(), 2048);
        assert!(der::int(&[0, 1]).is_err());
        assert_eq!(oid_string(oid::RSA_ENCRYPTION), "1.2.840.113549.1.1.1");
        assert_eq!(oid_string(oid::ED25519), "1.3.101.112");
        let long = der::tlv(der::OCTET_STRING, &[1u8; 300]);
        assert_eq!(&long[..4], &[4, 0x82, 1, 44]);
        let mut r = der::Reader::new(&long);
        assert_eq!(r.expect(der::OCTET_STRING).unwrap().len(), 300);
        assert!(der::Reader::new(&[4, 0x80, 0, 0]).read().is_err());
        assert!(
            der::Reader::new(&[4, 0x81, 5, 0, 0, 0, 0, 0])
                .read()
                .is_err()
        );
    }

    #[test]
    fn ip_addresses_print_as_go() {
        for (ip, want) in [
            (vec![10, 0, 0, 1], "10.0.0.1"),
            (
                vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4],
                "1.2.3.4",
            ),
            (vec![0; 16], "::"),
            (
                vec![0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
                "2001:db8::1:0:0:1",
            ),
            (vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            (
                vec![0x20, 0x01, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0],
                "2001:1:1:1:1:1:1:0",
            ),
        ] {
            assert_eq!(go_ip_string(&ip).unwrap(), want);
        }
        assert_eq!(
            go_ip_string(&[1, 2, 3]).unwrap_err(),
            "x509: cannot parse IP address of length 3"
        );
    }

    #[test]
    fn lossy_strings_replace_each_bad_byte() {
        assert_eq!(
            go_string_lossy(b"a\xf0\x9f\x98b"),
            "a\u{fffd}\u{fffd}\u{fffd}b"
        );
        assert_eq!(go_string_lossy("é".as_bytes()), "é");
        assert!(equal_fold(b"Private Key", b"PRIVATE KEY"));
        assert!(!equal_fold(b"PRIVATE KEYS", b"PRIVATE KEY"));
    }
}
