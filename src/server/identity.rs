//! Verified users. The host site's backend signs its user id — `userHash =
//! hex(HMAC-SHA256(secret, userId))`, the convention of Intercom and Chatwoot — and the page
//! passes both to `BookChat.identify`. A verified user's history follows them to any device;
//! the first identify moves the guest's conversations to the user.

use super::db::{sessions, Caller};
use super::state::AppState;
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

/// What the host hands us, validated.
pub struct Identity {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Identity {
    pub fn parse(user_id: &str, email: Option<String>, name: Option<String>) -> Result<Identity, AppError> {
        let user_id = user_id.trim();
        if user_id.is_empty() || user_id.chars().count() > 255 || user_id.chars().any(char::is_control) {
            return Err(AppError::validation("user_id", "The user id must be 1–255 printable characters."));
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

/// Identify the caller as a host user. Returns the session to use from now on (with a new token
/// when the browser switched from one user to another).
pub async fn identify(state: &AppState, caller: &Caller, who: Identity, user_hash: &str) -> Result<SessionInfo, AppError> {
    let Some(secret) = &state.config.identity_secret else {
        return Err(AppError::Forbidden { message: "User identification is not enabled on this server.".into() });
    };
    if !verify(secret.expose(), &who.user_id, user_hash) {
        tracing::warn!("identify with an invalid user hash");
        return Err(AppError::Forbidden { message: "The user could not be verified.".into() });
    }
    let user = sessions::upsert_user(&state.pool, &who.user_id, who.email.as_deref(), who.name.as_deref()).await?;
    match caller.user_id {
        Some(current) if current == user.id => {
            let s = sessions::touch(&state.pool, caller.session_id).await?;
            Ok(SessionInfo { token: None, session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at })
        }
        Some(_) => {
            // Another user signed in on this browser: a fresh session; nothing is merged.
            sessions::end(&state.pool, caller.session_id).await?;
            let (s, token) = sessions::create_for_user(&state.pool, user.id).await?;
            Ok(SessionInfo { token: Some(token), session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at })
        }
        None => {
            let (s, moved) = sessions::attach_guest_to_user(&state.pool, caller.session_id, user.id).await?;
            tracing::info!(moved, "guest identified; conversations moved to the user");
            Ok(SessionInfo { token: None, session_id: s.id, user: Some(info(&user)), expires_at: s.expires_at })
        }
    }
}

/// The session info of an authenticated caller.
pub async fn session_info(state: &AppState, row: &sessions::SessionRow) -> Result<SessionInfo, AppError> {
    let user = match row.user_id {
        Some(id) => sessions::user(&state.pool, id).await?.map(|u| info(&u)),
        None => None,
    };
    Ok(SessionInfo { token: None, session_id: row.id, user, expires_at: row.expires_at })
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
    fn identity_inputs_are_validated() {
        assert!(Identity::parse("  ", None, None).is_err());
        assert!(Identity::parse(&"x".repeat(256), None, None).is_err());
        let i = Identity::parse(" u1 ", Some("not-an-email".into()), Some(" Ada ".into())).unwrap();
        assert_eq!((i.user_id.as_str(), i.email, i.name.as_deref()), ("u1", None, Some("Ada")));
    }
}
