//! `/widget`: the chat widget. Standalone it draws its own floating launcher; embedded in a host
//! page (`?embed=1`, loaded by `embed.js`) the loader owns the launcher and this page is the
//! panel, talking to the loader through a small versioned postMessage protocol.

use super::browser;
use super::chat::{ChatPanel, PanelMode};
use super::history::{HistoryList, OpenWith};
use super::state::{self, ChatState};
use leptos::prelude::*;
#[cfg(any(feature = "hydrate", test))]
use crate::model::json::{FromJson, Json, JsonError};
use uuid::Uuid;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pane {
    Chat,
    History,
}

#[component]
pub fn WidgetPage() -> impl IntoView {
    let state = ChatState::provide();
    let t = state.t();
    let embedded = super::location::query("embed").is_some();
    let open = RwSignal::new(embedded);
    let pane = RwSignal::new(Pane::Chat);
    // A question sent from the server-rendered composer before the app started: sent once the
    // session is ready, in place of reopening the stored conversation (the reader asked it in
    // the empty chat they saw).
    let early_question = StoredValue::new(super::early::take_question());

    Effect::new(move |_| {
        browser::set_lang(browser::query_param("lang").as_deref());
        browser::mark("data-hydrated");
        // With `idp`, the host page is about to say who is reading: the stored conversation is
        // restored only after that (or after a few seconds without it).
        if browser::query_param("idp").is_some() {
            state::expect_host_identity();
        }
        state::init(state, move || {
            leptos::task::spawn_local(async move {
                state::settle_host_identity(state).await;
                // The session is the one the host page said (or a fresh guest): inline history
                // mounts on the host page may show it now.
                browser::notify_parent("settled");
                match (early_question.try_update_value(Option::take).flatten(), browser::query_param("share")) {
                    (Some(question), _) => state::send(state, question),
                    // Opened from a shared conversation's page: continue a copy of it.
                    (None, Some(share_id)) if !share_id.is_empty() => {
                        state::offer_shared(state, share_id, move |id| state::open_conversation(state, id, None));
                    }
                    _ => state::restore_open_conversation(state),
                }
            });
        });
        browser::notify_parent("ready");
    });

    listen_to_host(state);

    let close = move || {
        if embedded {
            browser::notify_parent("close");
        } else {
            open.set(false);
        }
    };

    let open_from_history = Callback::new(move |(id, focus): (Uuid, Option<i64>)| {
        state::open_conversation(state, id, focus);
        pane.set(Pane::Chat);
    });

    view! {
        <div class="bc-widget" lang=state.locale.tag() dir=state.locale.dir() class:bc-embedded=embedded class:bc-open=move || open.get()
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                let shortcut = (ev.meta_key() || ev.ctrl_key()) && !ev.alt_key() && !ev.shift_key() && ev.key().eq_ignore_ascii_case("i");
                if shortcut && embedded {
                    // ⌘I / Ctrl+I with focus inside: the host page decides (a site whose shortcut
                    // opened the widget closes it with the same keys).
                    ev.prevent_default();
                    browser::notify_parent("shortcut");
                } else if ev.key() == "Escape" {
                    close();
                } else if ev.key() == "Tab" && browser::trap_tab(".bc-panel", ev.shift_key()) {
                    // Keep keyboard focus inside the open panel.
                    ev.prevent_default();
                }
            }>
            {(!embedded).then(|| view! {
                <button type="button" class="bc-launcher" data-testid="launcher"
                    aria-label=move || if open.get() { t.close_widget } else { t.open_widget }
                    aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() {
                        view! { {super::common::icon(super::common::Icon::Close)} }.into_any()
                    } else {
                        view! {
                            <svg width="26" height="26" viewBox="0 0 24 24" aria-hidden="true">
                                <path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/>
                            </svg>
                        }.into_any()
                    }}
                </button>
            })}
            <div class="bc-panel" data-testid="panel" role="dialog" aria-label=t.widget_label hidden=move || !open.get()>
                {move || state.starting.get().then(|| view! {
                    <div class="bc-status" role="status" data-testid="starting">{t.starting}</div>
                })}
                {move || state.fatal.get().map(|e| view! {
                    <div class="bc-error" role="alert" data-testid="fatal">{super::common::describe(&e, t)}</div>
                })}
                {move || match pane.get() {
                    Pane::Chat => view! {
                        <ChatPanel
                            mode=PanelMode::Widget { embedded }
                            on_history=Callback::new(move |_| pane.set(Pane::History))
                            on_close=Callback::new(move |_| close())
                        />
                    }.into_any(),
                    Pane::History => view! {
                        <HistoryList open_with=OpenWith::Callback(open_from_history) on_back=Callback::new(move |_| pane.set(Pane::Chat))/>
                    }.into_any(),
                }}
            </div>
        </div>
    }
}

/// Messages from the embed loader on the host page: protocol v1, accepted only from the origin
/// the loader declared (and that the server allowed to frame us).
fn listen_to_host(state: ChatState) {
    #[cfg(feature = "hydrate")]
    {
        let Some(parent) = browser::embed_parent_origin() else { return };
        let handle = window_event_listener(leptos::ev::message, move |ev: leptos::web_sys::MessageEvent| {
            // Only our actual parent (framed: so `frame-ancestors` vetted it), from the origin it
            // declared.
            // (Compared as plain JS values: a window of another realm fails `instanceof Window`.)
            let me = leptos::prelude::window();
            let from_parent = match (ev.source(), me.parent()) {
                (Some(src), Ok(Some(p))) => {
                    let (src, p): (wasm_bindgen::JsValue, wasm_bindgen::JsValue) = (src.into(), p.into());
                    src == p && p != wasm_bindgen::JsValue::from(me)
                }
                _ => false,
            };
            if ev.origin() != parent || !from_parent {
                return;
            }
            let Some(json) = js_sys::JSON::stringify(&ev.data()).ok().and_then(|s| s.as_string()) else { return };
            let Ok(msg) = crate::model::json::from_slice::<FromHost>(json.as_bytes()) else { return };
            if msg.source != "bookchat" || msg.v != 1 {
                return;
            }
            // `identify(null)` (no payload) says nobody is signed in.
            let has_payload = msg.payload.is_some();
            let payload = msg.payload.unwrap_or_default();
            match msg.kind.as_str() {
                "open" => browser::focus_composer(),
                "context" => state.page.set(Some(crate::model::PageContext { url: payload.url, title: payload.title, selection: None })),
                "ask" => {
                    if let Some(sel) = payload.selection.filter(|s| !s.trim().is_empty()) {
                        let sel: String = sel.trim().chars().take(crate::model::MAX_PASSAGE_CHARS).collect();
                        state.quote.set(Some(sel));
                    }
                    match payload.text.filter(|t| !t.trim().is_empty()) {
                        Some(text) => state::send(state, text),
                        None => browser::focus_composer(),
                    }
                }
                "theme" => browser::set_theme(payload.theme.as_deref()),
                "identify" => {
                    let who = has_payload.then(|| state::Credential {
                        user_token: payload.user_token,
                        user_id: payload.user_id,
                        user_hash: payload.user_hash,
                        email: payload.email,
                        name: payload.name,
                    });
                    leptos::task::spawn_local(async move {
                        let reply = match state::identify(state, who).await {
                            Ok(user) => Identified::Ok { ok: true, user },
                            Err(e) => Identified::Failed { ok: false, error: e.to_string() },
                        };
                        browser::post_to_parent("identified", Some(reply));
                    });
                }
                "reset" => leptos::task::spawn_local(async move {
                    state::reset(state).await;
                    browser::post_to_parent("reset", Some(Done { ok: true }));
                }),
                _ => {}
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = state;
}

/// A message from the embed loader: `{source: "bookchat", v: 1, type, payload}`. One flat payload
/// record for every type (the fields a type does not use are absent).
#[cfg(any(feature = "hydrate", test))]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
struct FromHost {
    source: String,
    v: u32,
    kind: String,
    payload: Option<HostPayload>,
}

#[cfg(any(feature = "hydrate", test))]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Default)]
struct HostPayload {
    url: Option<String>,
    title: Option<String>,
    selection: Option<String>,
    text: Option<String>,
    theme: Option<String>,
    user_token: Option<String>,
    user_id: Option<String>,
    user_hash: Option<String>,
    email: Option<String>,
    name: Option<String>,
}

#[cfg(any(feature = "hydrate", test))]
impl FromJson for FromHost {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        Ok(FromHost { source: o.take("source")?, v: o.take("v")?, kind: o.take("type")?, payload: o.take("payload")? })
    }
}

/// The loader's names are JavaScript's (camelCase).
#[cfg(any(feature = "hydrate", test))]
impl FromJson for HostPayload {
    fn from_json(value: Json) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        Ok(HostPayload {
            url: o.take("url")?,
            title: o.take("title")?,
            selection: o.take("selection")?,
            text: o.take("text")?,
            theme: o.take("theme")?,
            user_token: o.take("userToken")?,
            user_id: o.take("userId")?,
            user_hash: o.take("userHash")?,
            email: o.take("email")?,
            name: o.take("name")?,
        })
    }
}

/// The answer to `identify`: `{ok: true, user}` or `{ok: false, error}`.
#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Identified {
    Ok { ok: bool, user: Option<crate::model::UserInfo> },
    Failed { ok: bool, error: String },
}

#[cfg(feature = "hydrate")]
#[derive(serde::Serialize)]
struct Done {
    ok: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::json::from_slice;

    #[test]
    fn reads_the_loaders_messages() {
        let m: FromHost = from_slice(
            br#"{"source":"bookchat","v":1,"type":"identify","payload":{"userToken":"t","userId":null,"email":"a@b.c","extra":[1]}}"#,
        )
        .unwrap();
        assert_eq!((m.source.as_str(), m.v, m.kind.as_str()), ("bookchat", 1, "identify"));
        let p = m.payload.unwrap();
        assert_eq!((p.user_token.as_deref(), p.user_id, p.email.as_deref(), p.url), (Some("t"), None, Some("a@b.c"), None));
        // `identify(null)`: no payload at all.
        let m: FromHost = from_slice(br#"{"source":"bookchat","v":1,"type":"identify","payload":null}"#).unwrap();
        assert!(m.payload.is_none());
        let m: FromHost = from_slice(br#"{"source":"bookchat","v":1,"type":"open"}"#).unwrap();
        assert!(m.payload.is_none());
        // Not a loader message: ignored by the caller.
        for bad in [&br#"{"v":1,"type":"open"}"#[..], br#"{"source":"bookchat","v":"1","type":"open"}"#, br#""hello""#] {
            assert!(from_slice::<FromHost>(bad).is_err());
        }
    }
}
