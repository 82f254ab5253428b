//! `memcache_security_strategy` as keystonemiddleware 13.0.1 applies it
//! (`auth_token/_memcache_crypt.py`), byte for byte, so that either side reads what the other
//! wrote:
//!
//! - `None`: the key is `tokens/` and the SHA-256 of the token in lower-case hex; the value is
//!   the JSON as it is.
//! - `MAC` and `ENCRYPT`: HMAC-SHA384, keyed with the secret, of the token followed by the
//!   strategy exactly as configured, gives three 16-byte keys: the cache key, the MAC key and
//!   the AES-128 key. The memcached key is `tokens/b'<base64 of the cache key>'` (Python 3
//!   formats the bytes with their `b'...'`). The value is the base64 HMAC-SHA384 (MAC key) of
//!   the base64 text that follows it: the JSON (`MAC`), or the IV and the AES-128-CBC PKCS#7
//!   ciphertext of the JSON (`ENCRYPT`, only when the strategy is exactly `ENCRYPT`; Python
//!   compares case-sensitively, and so do we).

use aes::Aes128;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use keystone_types::Secret;
use sha2::{Digest, Sha256, Sha384};
use subtle::ConstantTimeEq;

/// The base64 of a 48-byte HMAC-SHA384: the first 64 bytes of a protected value.
const MAC_LEN: usize = 64;

/// How entries are protected.
#[derive(Clone)]
pub(crate) enum Protection {
    /// `None`: keys are the token's SHA-256, values plain JSON.
    Plain,
    /// `MAC` or `ENCRYPT` (`strategy` as configured: it enters the key derivation).
    Keyed {
        strategy: String,
        secret: Secret,
        encrypt: bool,
    },
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protection::Plain => f.write_str("None"),
            Protection::Keyed { strategy, .. } => f.write_str(strategy),
        }
    }
}

/// Why a stored value was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadValue {
    /// Too short, or its MAC does not match (another secret, or tampered with).
    Mac,
    /// Not base64, or does not decrypt.
    Decrypt,
}

/// One token's memcached key and the keys that protect its value.
pub(crate) struct TokenKeys {
    /// The memcached key.
    pub(crate) key: String,
    mac_key: [u8; 16],
    aes_key: [u8; 16],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").finish_non_exhaustive()
    }
}

fn hmac_sha384(key: &[u8], parts: &[&[u8]]) -> [u8; 48] {
    // HMAC takes a key of any length: new_from_slice cannot fail
    let mut mac = <Hmac<Sha384> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl Protection {
    /// From `memcache_security_strategy` (`None`, `MAC`, `ENCRYPT`, any case, as oslo.config
    /// accepts them) and `memcache_secret_key`: `Err` names what is wrong.
    pub(crate) fn new(strategy: Option<&str>, secret: Option<&Secret>) -> Result<Self, String> {
        let Some(strategy) = strategy.filter(|s| !s.eq_ignore_ascii_case("none")) else {
            return Ok(Protection::Plain);
        };
        if !strategy.eq_ignore_ascii_case("mac") && !strategy.eq_ignore_ascii_case("encrypt") {
            return Err("must be None, MAC or ENCRYPT".to_owned());
        }
        match secret.filter(|s| !s.expose().is_empty()) {
            None => Err(format!(
                "memcache_security_strategy = {strategy} needs memcache_secret_key"
            )),
            Some(secret) => Ok(Protection::Keyed {
                strategy: strategy.to_owned(),
                secret: secret.clone(),
                encrypt: strategy == "ENCRYPT",
            }),
        }
    }

    /// The keys for `token`.
    pub(crate) fn keys(&self, token: &[u8]) -> TokenKeys {
        match self {
            Protection::Plain => {
                let digest = Sha256::digest(token);
                let mut key = String::with_capacity(71);
                key.push_str("tokens/");
                for b in digest {
                    key.push_str(&format!("{b:02x}"));
                }
                TokenKeys {
                    key,
                    mac_key: [0; 16],
                    aes_key: [0; 16],
                }
            }
            Protection::Keyed {
                strategy, secret, ..
            } => {
                let d = hmac_sha384(secret.expose().as_bytes(), &[token, strategy.as_bytes()]);
                let mut mac_key = [0; 16];
                let mut aes_key = [0; 16];
                mac_key.copy_from_slice(&d[16..32]);
                aes_key.copy_from_slice(&d[32..48]);
                TokenKeys {
                    key: format!("tokens/b'{}'", STANDARD.encode(&d[..16])),
                    mac_key,
                    aes_key,
                }
            }
        }
    }

    /// The value stored for `plain` (the JSON).
    pub(crate) fn protect(&self, keys: &TokenKeys, plain: &[u8]) -> Vec<u8> {
        let encrypt = match self {
            Protection::Plain => return plain.to_vec(),
            Protection::Keyed { encrypt, .. } => *encrypt,
        };
        let payload = if encrypt {
            let iv: [u8; 16] = rand::random();
            let mut sealed = iv.to_vec();
            sealed.extend(
                cbc::Encryptor::<Aes128>::new(&keys.aes_key.into(), &iv.into())
                    .encrypt_padded_vec_mut::<Pkcs7>(plain),
            );
            STANDARD.encode(sealed)
        } else {
            STANDARD.encode(plain)
        };
        let mac = STANDARD.encode(hmac_sha384(&keys.mac_key, &[payload.as_bytes()]));
        let mut value = mac.into_bytes();
        value.extend_from_slice(payload.as_bytes());
        value
    }

    /// The JSON in a stored value, once its MAC is checked (in constant time) and it is
    /// decrypted.
    pub(crate) fn unprotect(&self, keys: &TokenKeys, value: Vec<u8>) -> Result<Vec<u8>, BadValue> {
        let encrypt = match self {
            Protection::Plain => return Ok(value),
            Protection::Keyed { encrypt, .. } => *encrypt,
        };
        if value.len() < MAC_LEN {
            return Err(BadValue::Mac);
        }
        let (provided, payload) = value.split_at(MAC_LEN);
        let expected = STANDARD.encode(hmac_sha384(&keys.mac_key, &[payload]));
        if !bool::from(provided.ct_eq(expected.as_bytes())) {
            return Err(BadValue::Mac);
        }
        let decoded = STANDARD.decode(payload).map_err(|_| BadValue::Decrypt)?;
        if !encrypt {
            return Ok(decoded);
        }
        if decoded.len() < 16 {
            return Err(BadValue::Decrypt);
        }
        let (iv, sealed) = decoded.split_at(16);
        let iv: [u8; 16] = iv.try_into().map_err(|_| BadValue::Decrypt)?;
        cbc::Decryptor::<Aes128>::new(&keys.aes_key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(sealed)
            .map_err(|_| BadValue::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    //! Vectors written by keystonemiddleware 13.0.1 itself (its `_memcache_crypt` functions,
    //! and values read raw from a memcached it wrote to).

    use super::*;

    const TOKEN: &str = "gAAAAABtest-token-1";
    const PLAIN: &str = r#"{"token": {"expires_at": "2099-01-01T00:00:00.000000Z", "user": {"id": "u1"}, "version": "v3", "auth_token": "gAAAAABtest-token-1"}}"#;

    fn keyed(strategy: &str) -> Protection {
        Protection::new(Some(strategy), Some(&Secret::new("s3cret"))).unwrap()
    }

    #[test]
    fn keys_as_keystonemiddleware_derives_them() {
        for (strategy, key) in [
            (
                "None",
                "tokens/d56228e77096da7cf344da60c3ae1a26834c489bd2fd7b0f43a0e1a73c45f896",
            ),
            ("MAC", "tokens/b'A++NCmE/MmqIlbb/v9FYEg=='"),
            ("ENCRYPT", "tokens/b'ka/HngayCXyUcmP0huU0Rw=='"),
            // the strategy enters the derivation as written
            ("mac", "tokens/b'fBWmBHo9ttxS9jAJZY8K1w=='"),
            ("encrypt", "tokens/b'MxTUbF3hxWYcNrGb8xWsKA=='"),
        ] {
            assert_eq!(
                keyed(strategy).keys(TOKEN.as_bytes()).key,
                key,
                "{strategy}"
            );
        }
    }

    #[test]
    fn mac_values_are_byte_for_byte_keystonemiddlewares() {
        let p = keyed("MAC");
        let keys = p.keys(TOKEN.as_bytes());
        let value = p.protect(&keys, PLAIN.as_bytes());
        let expected = "ucRHAaRGIyyQiCqs5wJYu3Vl9oM4Wq6DFmo53BlGzLohJj9TLGGmQrj/Hc+bVOJYeyJ0b2tlbiI6IHsiZXhwaXJlc19hdCI6ICIyMDk5LTAxLTAxVDAwOjAwOjAwLjAwMDAwMFoiLCAidXNlciI6IHsiaWQiOiAidTEifSwgInZlcnNpb24iOiAidjMiLCAiYXV0aF90b2tlbiI6ICJnQUFBQUFCdGVzdC10b2tlbi0xIn19";
        assert_eq!(String::from_utf8(value).unwrap(), expected);
        assert_eq!(
            p.unprotect(&keys, expected.as_bytes().to_vec()).unwrap(),
            PLAIN.as_bytes()
        );
    }

    #[test]
    fn encrypted_values_keystonemiddleware_wrote_decrypt() {
        let p = keyed("ENCRYPT");
        let keys = p.keys(TOKEN.as_bytes());
        for written in [
            // IV 000102...0f
            "LVWCnnEs8t0GKTYFPoMr0yisL5IFWySVWHfIxL5GQ45AetLUqSP7NPhhUVoihBJfAAECAwQFBgcICQoLDA0ODwfVyR9qh7GoFIOd47XxqC5v7KiBNQ2ikV4enHr91gEzTfcNVz/7rVQsLW4R4pEbiWcFsq8nqrjkzdmxG5Pqi7Y/6l5jAdU482zPGmDYnRu61qqPqimOpicEY5kOjz/c8SXzUSjSc2JlPLFe++xOKSC/bKRDfWuFsQcWChbY8w9vFP11wKhGL/HNSYsC1B9iiw==",
            // read raw from memcached
            "RZBMOF0chbZ4gG6DMdIXzXy4uOI7HqQX4mGbwJMKnbKM3wn2fdkQxyvxr70gQVSbiR63JJKomlTLDF33GsL7LbQySbN5h8gfrbOajroPjT8b1Mfk3FuvOJZiqW8XX1OypEkXSlj5HPwsTjdN3XnnK/wMGrYd42Uufa8vSvSJF5ak3L297PYP3kU4kf56HH8urlB0UQu2E39i2m+m8t9NGrMlgzJU/LLGmYndk1bLgGAklRvY8zCxRZxxQZjafR42rBg+5ldQ6nZdOdz3UfVj/A==",
        ] {
            assert_eq!(
                p.unprotect(&keys, written.as_bytes().to_vec()).unwrap(),
                PLAIN.as_bytes()
            );
        }
        // ours: a fresh IV each time, and it reads back
        let a = p.protect(&keys, PLAIN.as_bytes());
        let b = p.protect(&keys, PLAIN.as_bytes());
        assert_ne!(a, b);
        assert_eq!(p.unprotect(&keys, a).unwrap(), PLAIN.as_bytes());
    }

    #[test]
    fn tampered_short_or_foreign_values_are_refused() {
        let p = keyed("ENCRYPT");
        let keys = p.keys(TOKEN.as_bytes());
        let good = p.protect(&keys, PLAIN.as_bytes());
        let mut flipped = good.clone();
        let last = flipped.len() - 3;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(p.unprotect(&keys, flipped), Err(BadValue::Mac));
        assert_eq!(p.unprotect(&keys, b"short".to_vec()), Err(BadValue::Mac));
        assert_eq!(p.unprotect(&keys, Vec::new()), Err(BadValue::Mac));
        // another secret: another MAC key
        let other = Protection::new(Some("ENCRYPT"), Some(&Secret::new("other"))).unwrap();
        assert_eq!(
            other.unprotect(&other.keys(TOKEN.as_bytes()), good),
            Err(BadValue::Mac)
        );
        // a valid MAC over text that is not base64
        let bad = "!!!not base64!!!";
        let mac = STANDARD.encode(hmac_sha384(&keys.mac_key, &[bad.as_bytes()]));
        assert_eq!(
            p.unprotect(&keys, format!("{mac}{bad}").into_bytes()),
            Err(BadValue::Decrypt)
        );
        // a valid MAC over a ciphertext that is not whole blocks
        let odd = STANDARD.encode([7u8; 21]);
        let mac = STANDARD.encode(hmac_sha384(&keys.mac_key, &[odd.as_bytes()]));
        assert_eq!(
            p.unprotect(&keys, format!("{mac}{odd}").into_bytes()),
            Err(BadValue::Decrypt)
        );
    }

    #[test]
    fn a_strategy_needs_its_secret() {
        assert!(matches!(Protection::new(None, None), Ok(Protection::Plain)));
        assert!(matches!(
            Protection::new(Some("none"), None),
            Ok(Protection::Plain)
        ));
        let e = Protection::new(Some("MAC"), None).unwrap_err();
        assert!(e.contains("memcache_secret_key"), "{e}");
        assert!(Protection::new(Some("ENCRYPT"), Some(&Secret::new(""))).is_err());
        assert!(Protection::new(Some("AES"), Some(&Secret::new("x"))).is_err());
        // lower case passes, and only exactly ENCRYPT encrypts (as in Python)
        assert!(matches!(
            keyed("encrypt"),
            Protection::Keyed { encrypt: false, .. }
        ));
        assert!(!format!("{:?}", keyed("MAC")).contains("s3cret"));
    }
}
