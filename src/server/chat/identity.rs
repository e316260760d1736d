//! Verified users. The host site's backend signs who is reading with the secret it shares with
//! BookChat: a short-lived HS256 JWT (`sub` = its user id, `exp` required and at most a day
//! away, optional `aud`/`iss` checked when configured — as Intercom's identity verification
//! does). The legacy `userHash = hex(HMAC-SHA256(key, userId))` never expires, so it is off
//! unless turned on, and its key is derived from the secret with HKDF: were it the secret itself,
//! the hash of a string an attacker chose (`<jwt header>.<payload>`) would be a valid token
//! signature. A verified user's history follows them to any device; the first identify moves the
//! guest's conversations to the user. Every change of who the session belongs to issues a new
//! token and ends the old one.

use crate::server::error::ServerResult;
use crate::server::db::{sessions, Caller};
use crate::server::state::AppState;
use crate::error::AppError;
use crate::model::{SessionInfo, UserInfo};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the legacy user-hash key is derived for (HKDF-SHA256 `info`).
const LEGACY_HASH_INFO: &[u8] = b"bookchat identity legacy userHash v1";

/// The key of the legacy `userHash` scheme: HKDF-SHA256 of the identity secret (no salt),
/// 32 bytes. Hosts that turn the scheme on hash with this key (`bookchat identity-key`).
pub fn legacy_hash_key(secret: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    // Expanding to 32 bytes with SHA-256 cannot fail (the limit is 255 × 32).
    let _ = hkdf::Hkdf::<Sha256>::new(None, secret.as_bytes()).expand(LEGACY_HASH_INFO, &mut key);
    key
}

/// Constant-time check of a host-computed user hash (hex, either case) under the legacy key.
pub fn verify(secret: &str, user_id: &str, user_hash: &str) -> bool {
    let Ok(given) = hex::decode(user_hash.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&legacy_hash_key(secret)) else { return false };
    mac.update(user_id.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// How the host proved who the reader is.
pub enum Credential {
    /// An HS256 JWT: `sub` (the host's user id), `exp` (required), optional `email`, `name`.
    Token(String),
    /// Legacy: the user id and hex(HMAC-SHA256(secret, user id)).
    Hash { user_id: String, user_hash: String },
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// What a token must satisfy besides its signature.
#[derive(Debug, Clone, Default)]
pub struct TokenRules {
    pub audience: Option<String>,
    pub issuer: Option<String>,
    /// Longest lifetime, in seconds.
    pub max_lifetime: u64,
}

/// Verify a host-signed JWT: HS256 only, signature and expiry checked (a minute of clock skew
/// allowed), `sub` required and canonical (no surrounding spaces, no control characters: what
/// was signed is the id, not something trimmed into it), a lifetime of at most
/// `max_lifetime` (a token valid until 2100 is a password), `aud` and `iss` when configured.
fn verify_token(secret: &str, token: &str, rules: &TokenRules) -> Result<Claims, String> {
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
    let mut v = Validation::new(Algorithm::HS256);
    let mut required = vec!["exp", "sub"];
    required.extend(rules.audience.as_ref().map(|_| "aud"));
    required.extend(rules.issuer.as_ref().map(|_| "iss"));
    v.set_required_spec_claims(&required);
    v.leeway = 60;
    match &rules.audience {
        Some(aud) => v.set_audience(&[aud]),
        None => v.validate_aud = false,
    }
    if let Some(iss) = &rules.issuer {
        v.set_issuer(&[iss]);
    }
    let claims = decode::<Claims>(token.trim(), &DecodingKey::from_secret(secret.as_bytes()), &v).map(|d| d.claims).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let from = claims.iat.unwrap_or(now).min(now);
    if claims.exp.saturating_sub(from) > rules.max_lifetime {
        return Err(format!("the token is valid for more than {} s", rules.max_lifetime));
    }
    if claims.sub.trim() != claims.sub || claims.sub.is_empty() || claims.sub.chars().any(char::is_control) {
        return Err("the token's sub is not a canonical user id".into());
    }
    Ok(claims)
}

/// What the host hands us, validated.
pub struct Identity {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Identity {
    pub fn parse(user_id: &str, email: Option<String>, name: Option<String>) -> ServerResult<Identity> {
        let user_id = user_id.trim();
        if user_id.is_empty() || user_id.chars().count() > 255 || user_id.chars().any(char::is_control) {
            return Err(AppError::validation("user_id", "The user id must be 1–255 printable characters.").into());
        }
        let clean = |v: Option<String>, max: usize| -> Option<String> {
            v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control))
        };
        let email = clean(email, 320).filter(|e| e.contains('@'));
        let name = clean(name, 255);
        Ok(Identity { user_id: user_id.to_owned(), email, name })
    }
}

fn info(u: &sessions::UserRow) -> UserInfo {
    UserInfo { external_id: u.external_id.clone(), email: u.email.clone(), name: u.display_name.clone() }
}

/// Identify the caller as a host user. Returns the session to use from now on: always with a
/// new token when the session changes hands (guest → user, or another user on this browser);
/// the old token stops working.
pub async fn identify(
    state: &AppState,
    caller: &Caller,
    credential: Credential,
    email: Option<String>,
    name: Option<String>,
) -> ServerResult<SessionInfo> {
    let Some(secret) = &state.config.identity_secret else {
        return Err(AppError::Forbidden { message: "User identification is not enabled on this server.".into() }.into());
    };
    let config = &state.config;
    let rules = TokenRules {
        audience: config.identity_audience.clone(),
        issuer: config.identity_issuer.clone(),
        max_lifetime: config.identity_max_token_secs,
    };
    let who = match credential {
        // What the host signed wins over what the request says beside it.
        Credential::Token(token) => match verify_token(secret.expose(), &token, &rules) {
            Ok(claims) => Identity::parse(&claims.sub, claims.email.or(email), claims.name.or(name))?,
            Err(e) => {
                tracing::warn!(reason = %e, "identify with an invalid or expired token");
                return Err(AppError::Forbidden { message: "The user could not be verified.".into() }.into());
            }
        },
        Credential::Hash { .. } if !config.identity_legacy_hash => {
            return Err(AppError::Forbidden {
                message: "The legacy userHash is turned off on this server; sign the reader with a short-lived token (userToken).".into(),
            }
            .into());
        }
        Credential::Hash { user_id, user_hash } => {
            let who = Identity::parse(&user_id, email, name)?;
            if !verify(secret.expose(), &who.user_id, &user_hash) {
                tracing::warn!("identify with an invalid user hash");
                return Err(AppError::Forbidden { message: "The user could not be verified.".into() }.into());
            }
            who
        }
    };
    let user = sessions::upsert_user(&state.pool, &who.user_id, who.email.as_deref(), who.name.as_deref()).await?;
    match caller.user_id {
        Some(current) if current == user.id => {
            let s = sessions::touch(&state.pool, caller.session_id).await?;
            Ok(SessionInfo { token: None, session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at, switched: false })
        }
        Some(_) => {
            // Another user signed in on this browser: a fresh session; nothing is merged.
            sessions::end(&state.pool, caller.session_id).await?;
            let (s, token) = sessions::create_for_user(&state.pool, user.id).await?;
            Ok(SessionInfo { token: Some(token), session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at, switched: true })
        }
        None => {
            let (s, token, moved) = sessions::promote_guest(&state.pool, caller.session_id, user.id).await?;
            tracing::info!(moved, "guest identified; conversations moved to the user, token rotated");
            Ok(SessionInfo { token: Some(token), session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at, switched: false })
        }
    }
}

/// The session info of an authenticated caller.
pub async fn session_info(state: &AppState, row: &sessions::SessionRow) -> ServerResult<SessionInfo> {
    let user = match row.user_id {
        Some(id) => sessions::user(&state.pool, id).await?.map(|u| info(&u)),
        None => None,
    };
    Ok(SessionInfo { token: None, session_id: row.id, user, expires_at: row.expires_at, switched: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_hmac_sha256_hex_under_the_derived_key_never_the_secret() {
        let secret = "a-very-long-identity-secret";
        let mut mac = Hmac::<Sha256>::new_from_slice(&legacy_hash_key(secret)).unwrap();
        mac.update(b"user-42");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(verify(secret, "user-42", &good));
        // The hash under the secret itself — what a JWT's signature is — is no user hash.
        let mut raw = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        raw.update(b"user-42");
        assert!(!verify(secret, "user-42", &hex::encode(raw.finalize().into_bytes())));
        assert_ne!(legacy_hash_key(secret).as_slice(), secret.as_bytes());
        assert!(verify(secret, "user-42", &good.to_uppercase()));
        assert!(!verify(secret, "user-43", &good));
        assert!(!verify("another-long-secret-value", "user-42", &good));
        assert!(!verify(secret, "user-42", "not hex"));
        assert!(!verify(secret, "user-42", ""));
    }

    #[test]
    fn tokens_are_verified_with_signature_expiry_and_algorithm() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let secret = "0123456789abcdef0123456789abcdef";
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let sign = |claims: serde_json::Value, key: &str| {
            encode(&Header::default(), &claims, &EncodingKey::from_secret(key.as_bytes())).unwrap()
        };
        let rules = TokenRules { max_lifetime: 86_400, ..Default::default() };
        let good = sign(serde_json::json!({"sub": "reader-1", "exp": now + 300, "email": "a@b.c"}), secret);
        let c = verify_token(secret, &good, &rules).unwrap();
        assert_eq!((c.sub.as_str(), c.email.as_deref()), ("reader-1", Some("a@b.c")));
        let expired = sign(serde_json::json!({"sub": "reader-1", "exp": now - 3600}), secret);
        assert!(verify_token(secret, &expired, &rules).unwrap_err().contains("Expired"));
        let no_exp = sign(serde_json::json!({"sub": "reader-1"}), secret);
        assert!(verify_token(secret, &no_exp, &rules).is_err(), "a token that never expires is refused");
        let forged = sign(serde_json::json!({"sub": "reader-1", "exp": now + 300}), "another-secret-another-secret-xx");
        assert!(verify_token(secret, &forged, &rules).is_err());
        // alg "none": header {"alg":"none"}, no signature.
        let none = format!("eyJhbGciOiJub25lIn0.{}.", base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, format!("{{\"sub\":\"x\",\"exp\":{}}}", now + 300)));
        assert!(verify_token(secret, &none, &rules).is_err());
        assert!(verify_token(secret, "garbage", &rules).is_err());
    }

    #[test]
    fn tokens_are_short_lived_canonical_and_for_this_audience() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let secret = "0123456789abcdef0123456789abcdef";
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let sign = |claims: serde_json::Value| encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap();
        let rules = TokenRules { max_lifetime: 3_600, ..Default::default() };
        let forever = sign(serde_json::json!({"sub": "u", "exp": 4_102_444_800u64}));
        assert!(verify_token(secret, &forever, &rules).is_err(), "exp in 2100 is refused");
        let long_iat = sign(serde_json::json!({"sub": "u", "iat": now - 10, "exp": now + 7_200}));
        assert!(verify_token(secret, &long_iat, &rules).is_err());
        assert!(verify_token(secret, &sign(serde_json::json!({"sub": " u", "exp": now + 60})), &rules).is_err(), "a sub is not trimmed into another id");
        assert!(verify_token(secret, &sign(serde_json::json!({"sub": "u\n", "exp": now + 60})), &rules).is_err());
        let scoped = TokenRules { audience: Some("bookchat".into()), issuer: Some("https://book.example".into()), max_lifetime: 3_600 };
        let right = sign(serde_json::json!({"sub": "u", "exp": now + 60, "aud": "bookchat", "iss": "https://book.example"}));
        assert!(verify_token(secret, &right, &scoped).is_ok());
        for wrong in [
            serde_json::json!({"sub": "u", "exp": now + 60}),
            serde_json::json!({"sub": "u", "exp": now + 60, "aud": "another-app", "iss": "https://book.example"}),
            serde_json::json!({"sub": "u", "exp": now + 60, "aud": "bookchat", "iss": "https://evil.example"}),
        ] {
            assert!(verify_token(secret, &sign(wrong.clone()), &scoped).is_err(), "{wrong}");
        }
    }

    #[test]
    fn identity_inputs_are_validated() {
        assert!(Identity::parse("  ", None, None).is_err());
        assert!(Identity::parse(&"x".repeat(256), None, None).is_err());
        let i = Identity::parse(" u1 ", Some("not-an-email".into()), Some(" Ada ".into())).unwrap();
        assert_eq!((i.user_id.as_str(), i.email, i.name.as_deref()), ("u1", None, Some("Ada")));
    }
}
