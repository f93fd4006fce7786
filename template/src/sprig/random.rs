//! Sprig's random strings (`randAlphaNum`, `randAlpha`, `randAscii`,
//! `randNumeric`), `shuffle` and `uuidv4`, all drawing on the injected
//! random source ([`Env::random`]) so rendering stays testable.
//!
//! The random strings are Masterminds/goutils' `CryptoRandom*`
//! (`cryptorandomstringutils.go`), which Sprig's `strings.go` calls:
//! characters are drawn uniformly from `' '..='z'` (or `' '..='~'` for
//! `randAscii`) by Go's `crypto/rand.Int`, rejected unless they are a
//! letter or digit as asked, and written from the end of the buffer to its
//! start. This module reproduces that draw byte for byte, so the same
//! random bytes give the same string Go would.

use crate::func::{Env, FuncError, Param, Registry};
use crate::value::Value;

/// The longest random string or byte run one call may ask for. Go would
/// try to allocate whatever is asked; one controller renders every
/// namespace's templates, so a template cannot make it allocate without
/// bound.
pub(super) const MAX_RANDOM_LEN: i64 = 1 << 20;

pub(super) fn register(r: &mut Registry) {
    r.add("randAlphaNum", &[Param::Int], None, rand_alpha_num);
    r.add("randAlpha", &[Param::Int], None, rand_alpha);
    r.add("randAscii", &[Param::Int], None, rand_ascii);
    r.add("randNumeric", &[Param::Int], None, rand_numeric);
    r.add("shuffle", &[Param::Str], None, shuffle);
    r.add("uuidv4", &[], None, uuidv4);
}

/// An RNG for crates that want one (`rand_core` 0.6: RSA, ECDSA, DSA key
/// generation, RSA blinding), drawing only on the injected source.
pub(super) struct EnvRng<'r> {
    fill: &'r mut dyn FnMut(&mut [u8]),
}

impl<'r> EnvRng<'r> {
    /// An RNG over `env`'s random source.
    pub(super) fn new(env: &'r mut Env<'_>) -> Self {
        EnvRng {
            fill: &mut *env.random,
        }
    }
}

impl rand_core::RngCore for EnvRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        (self.fill)(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        (self.fill)(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        (self.fill)(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        (self.fill)(dest);
        Ok(())
    }
}

// The injected source is the controller's CSPRNG (tests inject a
// deterministic one).
impl rand_core::CryptoRng for EnvRng<'_> {}

/// Go's `crypto/rand.Int(rand.Reader, max)` for `max >= 1`: reads
/// `ceil(bitlen(max-1)/8)` bytes, masks the top byte to the bit length and
/// retries until the number is below `max`.
pub(super) fn go_rand_int(env: &mut Env<'_>, max: u64) -> u64 {
    let top = max.saturating_sub(1);
    let bit_len = 64 - top.leading_zeros();
    if bit_len == 0 {
        return 0;
    }
    let k = bit_len.div_ceil(8) as usize;
    let b = match bit_len % 8 {
        0 => 8,
        b => b,
    };
    let mask = ((1u16 << b) - 1) as u8;
    let mut bytes = [0u8; 8];
    loop {
        let buf = &mut bytes[..k];
        (env.random)(buf);
        buf[0] &= mask;
        let n = buf.iter().fold(0u64, |n, &x| (n << 8) | u64::from(x));
        if n < max {
            return n;
        }
    }
}

/// Which characters goutils' `CryptoRandom` keeps.
#[derive(Clone, Copy)]
enum Keep {
    Letters,
    Digits,
    LettersAndDigits,
    Any,
}

/// goutils' `CryptoRandom(count, start, end, letters, numbers)` over
/// ASCII `start..end`.
fn crypto_random(
    env: &mut Env<'_>,
    name: &str,
    count: i64,
    start: u8,
    end: u8,
    keep: Keep,
) -> Result<Value, FuncError> {
    // Go: a negative count is an error Sprig drops, giving "".
    if count <= 0 {
        return Ok(Value::str(""));
    }
    if count > MAX_RANDOM_LEN {
        return Err(FuncError::new(format!(
            "{name}: length exceeds the limit of {MAX_RANDOM_LEN}"
        )));
    }
    let count = count as usize;
    let gap = u64::from(end - start);
    let mut buffer = vec![0u8; count];
    let mut filled = count;
    while filled > 0 {
        // `gap` is below 256, so the draw is a byte.
        let ch = start + go_rand_int(env, gap) as u8;
        let kept = match keep {
            Keep::Letters => ch.is_ascii_alphabetic(),
            Keep::Digits => ch.is_ascii_digit(),
            Keep::LettersAndDigits => ch.is_ascii_alphanumeric(),
            Keep::Any => true,
        };
        if kept {
            filled -= 1;
            buffer[filled] = ch;
        }
    }
    Ok(Value::str(buffer))
}

fn count_arg(args: &[Value]) -> i64 {
    match args.first() {
        Some(Value::Int(n)) => *n,
        _ => 0,
    }
}

/// `randAlphaNum`: goutils' `CryptoRandomAlphaNumeric`.
fn rand_alpha_num(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    crypto_random(
        env,
        "randAlphaNum",
        count_arg(&args),
        b' ',
        b'z' + 1,
        Keep::LettersAndDigits,
    )
}

/// `randAlpha`: goutils' `CryptoRandomAlphabetic`.
fn rand_alpha(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    crypto_random(
        env,
        "randAlpha",
        count_arg(&args),
        b' ',
        b'z' + 1,
        Keep::Letters,
    )
}

/// `randAscii`: goutils' `CryptoRandomAscii`, `CryptoRandom(count, 32,
/// 127, false, false)`.
fn rand_ascii(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    crypto_random(env, "randAscii", count_arg(&args), 32, 127, Keep::Any)
}

/// `randNumeric`: goutils' `CryptoRandomNumeric`.
fn rand_numeric(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    crypto_random(
        env,
        "randNumeric",
        count_arg(&args),
        b' ',
        b'z' + 1,
        Keep::Digits,
    )
}

/// Go's `[]rune(s)`: each byte that does not start a valid UTF-8 sequence
/// becomes one U+FFFD.
pub(super) fn go_runes(s: &[u8]) -> Vec<char> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let width = match s[i] {
            0x00..=0x7f => 1,
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 0,
        };
        let decoded = s
            .get(i..i + width.max(1))
            .filter(|_| width > 0)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(|t| t.chars().next());
        match decoded {
            Some(c) => {
                out.push(c);
                i += width;
            }
            None => {
                out.push(char::REPLACEMENT_CHARACTER);
                i += 1;
            }
        }
    }
    out
}

/// `shuffle`: huandu/xstrings' `Shuffle` (`convert.go`), a Fisher–Yates
/// shuffle of the string's runes (Go's `math/rand` there; the injected
/// source here).
fn shuffle(env: &mut Env<'_>, args: Vec<Value>) -> Result<Value, FuncError> {
    let s = match args.first() {
        Some(Value::Str(s)) => s.clone(),
        _ => return Ok(Value::str("")),
    };
    if s.is_empty() {
        return Ok(Value::Str(s));
    }
    let mut runes = go_runes(s.as_bytes());
    for i in (1..runes.len()).rev() {
        let j = go_rand_int(env, i as u64 + 1) as usize;
        runes.swap(i, j);
    }
    Ok(Value::str(runes.into_iter().collect::<String>()))
}

/// `uuidv4`: google/uuid's `New()`, an RFC 4122 version 4 UUID from 16
/// random bytes, lower-case and hyphenated.
fn uuidv4(env: &mut Env<'_>, _args: Vec<Value>) -> Result<Value, FuncError> {
    let mut b = [0u8; 16];
    (env.random)(&mut b);
    let id = uuid::Builder::from_random_bytes(b).into_uuid();
    Ok(Value::str(id.hyphenated().to_string()))
}

/// Deterministic environments for the tests of the modules here.
#[cfg(test)]
pub(super) mod testing {
    #![allow(clippy::unwrap_used)]

    use crate::func::Env;

    /// A fixed `now`: 2019-06-13T20:39:39Z (the instant Sprig's date tests
    /// use).
    pub(crate) fn fixed_now() -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(1_560_458_379).unwrap()
    }

    /// splitmix64: a deterministic byte stream from a seed.
    pub(crate) struct Source(u64);

    impl Source {
        pub(crate) fn new(seed: u64) -> Self {
            Source(seed)
        }

        pub(crate) fn fill(&mut self, buf: &mut [u8]) {
            for chunk in buf.chunks_mut(8) {
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^= z >> 31;
                chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
            }
        }
    }

    /// Runs `f` with an [`Env`] whose random bytes come from `seed` and
    /// whose clock is [`fixed_now`].
    pub(crate) fn with_env<R>(seed: u64, f: impl FnOnce(&mut Env<'_>) -> R) -> R {
        let mut src = Source::new(seed);
        let mut fill = |b: &mut [u8]| src.fill(b);
        let mut env = Env {
            now: fixed_now(),
            random: &mut fill,
        };
        f(&mut env)
    }

    /// Runs `f` with an [`Env`] whose random bytes are `script`, repeated.
    pub(crate) fn with_script<R>(script: &[u8], f: impl FnOnce(&mut Env<'_>) -> R) -> R {
        let mut pos = 0;
        let mut fill = |b: &mut [u8]| {
            for x in b.iter_mut() {
                *x = script[pos % script.len()];
                pos += 1;
            }
        };
        let mut env = Env {
            now: fixed_now(),
            random: &mut fill,
        };
        f(&mut env)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::testing::{with_env, with_script};
    use super::*;

    fn call(env: &mut Env<'_>, name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let mut r = Registry::new();
        register(&mut r);
        (r.get(name).unwrap().body)(env, args)
    }

    fn text(v: Value) -> String {
        String::from_utf8(v.to_go_string()).unwrap()
    }

    // Sprig strings_test.go TestRandomString, and goutils
    // cryptorandomstringutils_test.go TestCryptoRandom{Ascii,Numeric,
    // Alphabetic,AlphaNumeric}: lengths 0 to 100, each of the right class.
    #[test]
    fn random_strings_have_the_length_and_class_asked() {
        type Class = fn(u8) -> bool;
        let cases: [(&str, Class); 4] = [
            ("randAlphaNum", |c| c.is_ascii_alphanumeric()),
            ("randAlpha", |c| c.is_ascii_alphabetic()),
            ("randAscii", |c| (32..127).contains(&c)),
            ("randNumeric", |c| c.is_ascii_digit()),
        ];
        for (name, class) in cases {
            with_env(7, |env| {
                for n in 0..=100 {
                    let s = text(call(env, name, vec![Value::Int(n)]).unwrap());
                    assert_eq!(s.len(), n as usize, "{name} {n}");
                    assert!(s.bytes().all(class), "{name}: {s}");
                }
            });
        }
    }

    // goutils TestCryptoRandAlphaNumeric_FuzzOnlyNumeric: alphanumeric
    // strings are not all digits.
    #[test]
    fn alphanumeric_strings_are_not_only_digits() {
        with_env(11, |env| {
            for len in 1..=16 {
                let numeric = (0..1000)
                    .filter(|_| {
                        let s = text(call(env, "randAlphaNum", vec![Value::Int(len)]).unwrap());
                        s.bytes().all(|c| c.is_ascii_digit())
                    })
                    .count();
                assert!(numeric < 1000, "length {len}");
            }
        });
    }

    #[test]
    fn random_strings_follow_gos_draw_byte_for_byte() {
        // crypto/rand.Int(91) reads one byte masked to 7 bits and retries
        // at 91 and above; characters fill the buffer from its end.
        // 0x10 -> '0', 0xd1 -> 0x51 = 81 -> 'q', 0x7f -> 127: retried,
        // 0x21 -> 'A', 0x00 -> ' ': not alphanumeric, dropped.
        let s = with_script(&[0x10, 0xd1, 0x7f, 0x21, 0x00], |env| {
            text(call(env, "randAlphaNum", vec![Value::Int(3)]).unwrap())
        });
        assert_eq!(s, "Aq0");
        let s = with_script(&[0x10, 0xd1, 0x11], |env| {
            text(call(env, "randNumeric", vec![Value::Int(2)]).unwrap())
        });
        assert_eq!(s, "10");
        // randAscii: Int(95), 7 bits, retried at 95 and above.
        let s = with_script(&[0x5f, 0x5e, 0x00], |env| {
            text(call(env, "randAscii", vec![Value::Int(2)]).unwrap())
        });
        assert_eq!(s, " ~");
    }

    #[test]
    fn negative_lengths_give_empty_and_huge_ones_are_refused() {
        with_env(1, |env| {
            assert_eq!(
                text(call(env, "randAlpha", vec![Value::Int(-3)]).unwrap()),
                ""
            );
            let err = call(env, "randAlpha", vec![Value::Int(MAX_RANDOM_LEN + 1)]).unwrap_err();
            assert_eq!(err.0, "randAlpha: length exceeds the limit of 1048576");
        });
    }

    // huandu/xstrings convert_test.go TestShuffle: the shuffled string has
    // the same runes.
    #[test]
    fn shuffle_keeps_the_runes() {
        for (input, sorted) in [
            ("", ""),
            ("facgbheidjk", "abcdefghijk"),
            ("尝试中文", "中尝文试"),
            ("zh英文hun排", "hhnuz排文英"),
        ] {
            with_env(3, |env| {
                let out = text(call(env, "shuffle", vec![Value::str(input)]).unwrap());
                let mut runes: Vec<char> = out.chars().collect();
                runes.sort_unstable();
                assert_eq!(runes.into_iter().collect::<String>(), sorted);
            });
        }
    }

    #[test]
    fn shuffle_moves_runes() {
        let out = with_env(5, |env| {
            text(
                call(
                    env,
                    "shuffle",
                    vec![Value::str("abcdefghijklmnopqrstuvwxyz")],
                )
                .unwrap(),
            )
        });
        assert_ne!(out, "abcdefghijklmnopqrstuvwxyz");
    }

    #[test]
    fn invalid_utf8_becomes_one_replacement_per_byte() {
        assert_eq!(
            go_runes(b"a\xf0\x9fb"),
            vec!['a', '\u{fffd}', '\u{fffd}', 'b']
        );
        assert_eq!(go_runes("é".as_bytes()), vec!['é']);
    }

    // Sprig crypto_test.go TestUUIDGeneration: 36 characters, different
    // each call; and RFC 4122's version and variant bits.
    #[test]
    fn uuidv4_is_a_version_4_uuid() {
        let (a, b) = with_env(9, |env| {
            (
                text(call(env, "uuidv4", vec![]).unwrap()),
                text(call(env, "uuidv4", vec![]).unwrap()),
            )
        });
        assert_eq!(a.len(), 36);
        assert_ne!(a, b);
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(a, a.to_lowercase());
    }

    #[test]
    fn uuidv4_is_the_random_bytes_with_version_and_variant() {
        let s = with_script(&[0xff], |env| text(call(env, "uuidv4", vec![]).unwrap()));
        assert_eq!(s, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn go_rand_int_masks_and_retries() {
        // max 1: nothing read.
        assert_eq!(with_script(&[0xff], |env| go_rand_int(env, 1)), 0);
        // max 2^128-style whole bytes: max 256 -> one byte, mask 0xff.
        assert_eq!(with_script(&[0xab], |env| go_rand_int(env, 256)), 0xab);
        // max 300 -> two bytes, top masked to 1 bit: 0x01ff = 511 retried,
        // 0x012c = 300 retried, 0x012b = 299 kept.
        assert_eq!(
            with_script(&[0xff, 0xff, 0x01, 0x2c, 0x01, 0x2b], |env| go_rand_int(
                env, 300
            )),
            299
        );
    }
}
