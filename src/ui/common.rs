//! Pieces shared by the widget and the full pages.

use crate::error::AppError;
use crate::model::{Message, MessageStatus, Role};
use chrono::{DateTime, Datelike, Local, Utc};
use leptos::prelude::*;

/// How a citation link opens: inside an embed it navigates the host page (the reader stays on
/// the book, with the widget state kept); on a standalone page it opens a new tab.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LinkTarget {
    Top,
    Blank,
}

impl LinkTarget {
    pub fn attr(self) -> &'static str {
        match self {
            LinkTarget::Top => "_top",
            LinkTarget::Blank => "_blank",
        }
    }
}

#[component]
pub fn MessageView(message: Message, target: LinkTarget, #[prop(into)] focused: Signal<bool>) -> impl IntoView {
    let state = super::state::ChatState::expect();
    let t = state.t();
    let id = message.id;
    let dom_id = format!("m-{id}");
    let role_class = match message.role {
        Role::User => "bc-msg bc-user",
        Role::Assistant => "bc-msg bc-assistant",
    };
    let time = format_time(message.created_at, state.locale);
    let quote = message.quote.clone();
    let streaming = message.status == MessageStatus::Streaming;
    let body = match (message.role, streaming) {
        (Role::User, _) => view! { <div class="bc-text" dir="auto" data-testid="msg-body">{message.content.clone()}</div> }.into_any(),
        // While it is being written, an answer is plain text (its Markdown is incomplete).
        (Role::Assistant, true) => view! {
            <div class="bc-text bc-streaming" dir="auto" data-testid="msg-body">{move || state.messages.with(|list| {
                list.iter().find(|m| m.id == id).map(|m| m.content.clone()).unwrap_or_default()
            })}<span class="bc-caret" aria-hidden="true"></span></div>
        }
        .into_any(),
        (Role::Assistant, false) => {
            let html = message.html.clone().unwrap_or_default();
            view! { <div class="bc-md" dir="auto" data-testid="msg-body" inner_html=html></div> }.into_any()
        }
    };
    let status_note = match message.status {
        MessageStatus::Stopped => Some(view! { <p class="bc-status" data-testid="msg-stopped">{t.stopped}</p> }.into_any()),
        MessageStatus::Failed => Some(
            view! {
                <p class="bc-status bc-failed" role="alert" data-testid="msg-error">
                    {message.error.clone().unwrap_or_else(|| t.answer_failed.to_owned())}
                </p>
            }
            .into_any(),
        ),
        _ => None,
    };
    let citations = message.citations.clone();
    let rating = message.feedback.as_ref().map(|f| f.rating);
    let has_comment = message.feedback.as_ref().is_some_and(|f| f.comment.is_some());
    // Asked right after a thumbs-down (the view is rebuilt when the rating changes).
    let comment_open = RwSignal::new(true);
    let comment = RwSignal::new(String::new());
    // Copy gives the Markdown (what a reader pastes into notes), not the rendered HTML.
    let text_to_copy = message.content.clone();
    let copied = RwSignal::new(None::<bool>);
    let actions = (message.role == Role::Assistant).then(|| {
        if streaming {
            view! {
                <div class="bc-msg-actions">
                    <button type="button" class="bc-chip" data-testid="stop" on:click=move |_| super::state::stop(state, id)>{t.stop}</button>
                </div>
            }
            .into_any()
        } else {
            let up = rating == Some(1);
            let down = rating == Some(-1);
            view! {
                <div class="bc-msg-actions">
                    {(message.status != MessageStatus::Failed && !message.refused).then(|| view! {
                        <button type="button" class="bc-chip" class:bc-on=up data-testid="feedback-up" aria-pressed=up.to_string()
                            title=t.helpful on:click=move |_| super::state::rate(state, id, if up { 0 } else { 1 }, None)>"▲ "{t.helpful}</button>
                        <button type="button" class="bc-chip" class:bc-on=down data-testid="feedback-down" aria-pressed=down.to_string()
                            title=t.not_helpful on:click=move |_| {
                                if down {
                                    super::state::rate(state, id, 0, None);
                                } else {
                                    super::state::rate(state, id, -1, None);
                                    comment_open.set(true);
                                }
                            }>"▼ "{t.not_helpful}</button>
                    })}
                    <button type="button" class="bc-chip" data-testid="copy" title=t.copy_title
                        on:click=move |_| {
                            let text = text_to_copy.clone();
                            leptos::task::spawn_local(async move {
                                let ok = super::browser::copy_text(&text).await;
                                let _ = copied.try_set(Some(ok));
                                set_timeout(move || { let _ = copied.try_set(None); }, std::time::Duration::from_secs(2));
                            });
                        }>
                        {move || match copied.get() {
                            Some(true) => t.copied,
                            Some(false) => t.copy_failed,
                            None => t.copy,
                        }}
                    </button>
                    <button type="button" class="bc-chip" data-testid="regenerate" title=t.regenerate_title
                        on:click=move |_| super::state::regenerate(state, id)>{t.regenerate}</button>
                </div>
                {(down && !has_comment).then(|| view! {
                    <Show when=move || comment_open.get()>
                        <form class="bc-comment" on:submit=move |ev| {
                            ev.prevent_default();
                            super::state::rate(state, id, -1, Some(comment.get_untracked()));
                            comment_open.set(false);
                        }>
                            <input data-testid="feedback-comment" maxlength="1000" placeholder=t.what_was_wrong_placeholder
                                aria-label=t.what_was_wrong
                                prop:value=move || comment.get() on:input=move |ev| comment.set(event_target_value(&ev))/>
                            <button type="submit" data-testid="feedback-comment-send">"Send"</button>
                        </form>
                    </Show>
                })}
            }
            .into_any()
        }
    });
    view! {
        <article
            id=dom_id
            class=role_class
            class:bc-focused=move || focused.get()
            data-testid=if message.role == Role::User { "msg-user" } else { "msg-assistant" }
            data-message-id=id
            data-status=message.status.as_str()
        >
            {quote.map(|q| view! { <blockquote class="bc-quote" data-testid="msg-quote">{q}</blockquote> })}
            {message.scope.clone().map(|folder| view! {
                <p class="bc-scope-tag" data-testid="msg-scope" title=folder>{t.chapter_only}</p>
            })}
            {body}
            {status_note}
            {(!citations.is_empty()).then(|| view! {
                <ol class="bc-sources" aria-label=t.sources>
                    {citations.into_iter().enumerate().map(|(i, c)| {
                        let label = if c.section.is_empty() { c.title.clone() } else { format!("{} — {}", c.title, c.section) };
                        view! {
                            <li>
                                <a href=c.url.clone() target=target.attr() rel="noopener" data-testid="citation" title=c.snippet.clone()>
                                    <span class="bc-cite-n">{format!("[{}]", i + 1)}</span>" "{label}
                                </a>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            })}
            {actions}
            <time class="bc-time" datetime=message.created_at.to_rfc3339()>{time}</time>
        </article>
    }
}

/// A sentence a reader can act on, per error kind. (The server's own messages — a validation
/// error's text — come as the server wrote them.)
pub fn describe(e: &AppError, t: &super::i18n::Strings) -> String {
    match e {
        AppError::Validation { message, .. } => message.clone(),
        AppError::Busy { retry_after_secs } => (t.busy)(*retry_after_secs),
        AppError::RateLimited { retry_after_secs } => (t.rate_limited)(*retry_after_secs),
        AppError::Network { .. } => t.offline.to_owned(),
        AppError::Unavailable { message } => message.clone(),
        other => other.to_string(),
    }
}

/// "14:05" today, "Mon 14:05" this week, "3 Mar" otherwise (in English; other languages get
/// numeric dates rather than English month and day names).
pub fn format_time(at: DateTime<Utc>, locale: super::i18n::Locale) -> String {
    let local = at.with_timezone(&Local);
    let now = super::browser::now_local();
    let days = (now.date_naive() - local.date_naive()).num_days();
    if locale != super::i18n::Locale::En {
        return if days == 0 { local.format("%H:%M").to_string() } else { local.format("%-d/%-m/%Y %H:%M").to_string() };
    }
    if days == 0 {
        local.format("%H:%M").to_string()
    } else if (1..7).contains(&days) {
        local.format("%a %H:%M").to_string()
    } else if local.year() == now.year() {
        local.format("%-d %b").to_string()
    } else {
        local.format("%-d %b %Y").to_string()
    }
}

/// History groups by recency, in the reader's own time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Recency {
    Today,
    Yesterday,
    LastWeek,
    Older,
}

impl Recency {
    pub fn of(at: DateTime<Utc>, now: DateTime<Local>) -> Recency {
        let days = (now.date_naive() - at.with_timezone(&Local).date_naive()).num_days();
        match days {
            i64::MIN..=0 => Recency::Today,
            1 => Recency::Yesterday,
            2..=7 => Recency::LastWeek,
            _ => Recency::Older,
        }
    }

    pub fn label(self, t: &super::i18n::Strings) -> &'static str {
        match self {
            Recency::Today => t.today,
            Recency::Yesterday => t.yesterday,
            Recency::LastWeek => t.last_week,
            Recency::Older => t.older,
        }
    }
}

/// Render a search snippet with `[[match]]` markers as text and `<mark>` elements, never as
/// HTML parsed from the string.
pub fn highlighted(snippet: &str) -> impl IntoView {
    let mut parts = Vec::new();
    let mut rest = snippet;
    while let Some(start) = rest.find("[[") {
        let Some(len) = rest[start + 2..].find("]]") else { break };
        parts.push((rest[..start].to_owned(), false));
        parts.push((rest[start + 2..start + 2 + len].to_owned(), true));
        rest = &rest[start + 2 + len + 2..];
    }
    parts.push((rest.to_owned(), false));
    parts
        .into_iter()
        .map(|(text, hit)| if hit { view! { <mark>{text}</mark> }.into_any() } else { text.into_any() })
        .collect_view()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn recency_groups() {
        let now = Local.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
        let at = |d: u32, h: u32| Local.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(Recency::of(at(23, 1), now), Recency::Today);
        assert_eq!(Recency::of(at(22, 23), now), Recency::Yesterday);
        assert_eq!(Recency::of(at(16, 12), now), Recency::LastWeek);
        assert_eq!(Recency::of(at(15, 12), now), Recency::Older);
    }
}
