//! Verified users. The host site's backend signs who is reading with the secret it shares with
//! BookChat: preferably a short-lived HS256 JWT (`sub` = its user id, `exp` required, as
//! Intercom's identity verification does), or — legacy, never expiring — `userHash =
//! hex(HMAC-SHA256(secret, userId))`. A verified user's history follows them to any device; the
//! first identify moves the guest's conversations to the user. Every change of who the session
//! belongs to issues a new token and ends the old one.

use crate::server::error::ServerResult;
use crate::server::db::{sessions, Caller};
use crate::server::state::AppState;
use crate::error::AppError;
use crate::model::{SessionInfo, UserInfo};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Constant-time check of a host-computed user hash (hex, either case).
pub fn verify(secret: &str, user_id: &str, user_hash: &str) -> bool {
    let Ok(given) = hex::decode(user_hash.trim()) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else { return false };
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
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Verify a host-signed JWT: HS256 only, signature and expiry checked (a minute of clock skew
/// allowed), `sub` required.
fn verify_token(secret: &str, token: &str) -> Result<Claims, String> {
    use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
    let mut v = Validation::new(Algorithm::HS256);
    v.set_required_spec_claims(&["exp", "sub"]);
    v.leeway = 60;
    decode::<Claims>(token.trim(), &DecodingKey::from_secret(secret.as_bytes()), &v).map(|d| d.claims).map_err(|e| e.to_string())
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
    let who = match credential {
        Credential::Token(token) => match verify_token(secret.expose(), &token) {
            Ok(claims) => Identity::parse(&claims.sub, email.or(claims.email), name.or(claims.name))?,
            Err(e) => {
                tracing::warn!(reason = %e, "identify with an invalid or expired token");
                return Err(AppError::Forbidden { message: "The user could not be verified.".into() }.into());
            }
        },
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
    fn verifies_hmac_sha256_hex() {
        // echo -n 'user-42' | openssl dgst -sha256 -hmac 'a-very-long-identity-secret'
        let secret = "a-very-long-identity-secret";
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(b"user-42");
        let good = hex::encode(mac.finalize().into_bytes());
        assert!(verify(secret, "user-42", &good));
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
        let good = sign(serde_json::json!({"sub": "reader-1", "exp": now + 300, "email": "a@b.c"}), secret);
        let c = verify_token(secret, &good).unwrap();
        assert_eq!((c.sub.as_str(), c.email.as_deref()), ("reader-1", Some("a@b.c")));
        let expired = sign(serde_json::json!({"sub": "reader-1", "exp": now - 3600}), secret);
        assert!(verify_token(secret, &expired).unwrap_err().contains("Expired"));
        let no_exp = sign(serde_json::json!({"sub": "reader-1"}), secret);
        assert!(verify_token(secret, &no_exp).is_err(), "a token that never expires is refused");
        let forged = sign(serde_json::json!({"sub": "reader-1", "exp": now + 300}), "another-secret-another-secret-xx");
        assert!(verify_token(secret, &forged).is_err());
        // alg "none": header {"alg":"none"}, no signature.
        let none = format!("eyJhbGciOiJub25lIn0.{}.", base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, format!("{{\"sub\":\"x\",\"exp\":{}}}", now + 300)));
        assert!(verify_token(secret, &none).is_err());
        assert!(verify_token(secret, "garbage").is_err());
    }

    #[test]
    fn identity_inputs_are_validated() {
        assert!(Identity::parse("  ", None, None).is_err());
        assert!(Identity::parse(&"x".repeat(256), None, None).is_err());
        let i = Identity::parse(" u1 ", Some("not-an-email".into()), Some(" Ada ".into())).unwrap();
        assert_eq!((i.user_id.as_str(), i.email, i.name.as_deref()), ("u1", None, Some("Ada")));
    }
}
