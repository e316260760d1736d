//! Pieces shared by the widget and the full pages.

use crate::error::AppError;
use crate::model::{Message, MessageStatus, Role};
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
    let time = format_time(&message.created_at, state.locale);
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
                            title=t.helpful on:click=move |_| super::state::rate(state, id, if up { 0 } else { 1 }, None)>{icon(Icon::Up)}{t.helpful}</button>
                        <button type="button" class="bc-chip" class:bc-on=down data-testid="feedback-down" aria-pressed=down.to_string()
                            title=t.not_helpful on:click=move |_| {
                                if down {
                                    super::state::rate(state, id, 0, None);
                                } else {
                                    super::state::rate(state, id, -1, None);
                                    comment_open.set(true);
                                }
                            }>{icon(Icon::Down)}{t.not_helpful}</button>
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
                            Some(true) => view! { {icon(Icon::Check)}{t.copied} }.into_any(),
                            Some(false) => view! { {t.copy_failed} }.into_any(),
                            None => view! { {icon(Icon::Copy)}{t.copy} }.into_any(),
                        }}
                    </button>
                    <button type="button" class="bc-chip" data-testid="regenerate" title=t.regenerate_title
                        on:click=move |_| super::state::regenerate(state, id)>{icon(Icon::Regenerate)}{t.regenerate}</button>
                </div>
                {(down && !has_comment).then(|| view! {
                    <Show when=move || comment_open.get()>
                        <form class="bc-comment" on:submit=move |ev| {
                            ev.prevent_default();
                            super::state::rate(state, id, -1, Some(comment.get_untracked()));
                            comment_open.set(false);
                        }>
                            <input data-testid="feedback-comment" maxlength=crate::model::MAX_COMMENT_CHARS placeholder=t.what_was_wrong_placeholder
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
            {message.pinned.then(|| view! { <p class="bc-pinned" data-testid="msg-pinned">{t.from_author}</p> })}
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
            <time class="bc-time" datetime=crate::model::Instant::rfc3339(&message.created_at)>{time}</time>
        </article>
    }
}

/// A sentence a reader can act on, per error kind, in the interface's language (the server's
/// own English sentence where the language keeps it, or has none for that error).
pub fn describe(e: &AppError, t: &super::i18n::Strings) -> String {
    match e {
        AppError::Validation { message, rule, .. } => rule.and_then(t.invalid).unwrap_or_else(|| message.clone()),
        AppError::Busy { retry_after_secs } => (t.busy)(*retry_after_secs),
        AppError::RateLimited { retry_after_secs } => (t.rate_limited)(*retry_after_secs),
        AppError::Network { .. } => t.offline.to_owned(),
        other => (t.failure)(other).map(str::to_owned).unwrap_or_else(|| other.to_string()),
    }
}

/// How an instant is shown, by how long ago it was in the reader's zone: the time today, the
/// weekday and time this week, the day and month this year, the full date before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeStyle {
    Time,
    WeekdayTime,
    DayMonth,
    DayMonthYear,
}

impl TimeStyle {
    /// `at` and `now` in milliseconds since the epoch, `offset` the zone in minutes east of UTC.
    pub fn of(at: i64, now: i64, offset: i32) -> TimeStyle {
        use crate::model::time::{civil_from_days, local_day};
        let (day, today) = (local_day(at, offset), local_day(now, offset));
        match today - day {
            i64::MIN..=0 => TimeStyle::Time,
            1..=6 => TimeStyle::WeekdayTime,
            _ if civil_from_days(day).0 == civil_from_days(today).0 => TimeStyle::DayMonth,
            _ => TimeStyle::DayMonthYear,
        }
    }

    /// The `Intl.DateTimeFormat` options of the style.
    fn options(self) -> &'static [(&'static str, &'static str)] {
        match self {
            TimeStyle::Time => &[("hour", "2-digit"), ("minute", "2-digit")],
            TimeStyle::WeekdayTime => &[("weekday", "short"), ("hour", "2-digit"), ("minute", "2-digit")],
            TimeStyle::DayMonth => &[("day", "numeric"), ("month", "short")],
            TimeStyle::DayMonthYear => &[("day", "numeric"), ("month", "short"), ("year", "numeric")],
        }
    }
}

/// An instant for the reader ("14:05", "Mon 14:05", "3 Mar", "3 Mar 2025"), in their zone and in
/// the interface's language, by the browser's `Intl`. Rendered on the server (no browser zone):
/// the UTC date and time, numerically.
pub fn format_time(at: &crate::model::Timestamp, locale: super::i18n::Locale) -> String {
    use crate::model::Instant;
    let ms = at.epoch_millis();
    let now = super::browser::now_millis();
    let style = TimeStyle::of(ms, now, super::browser::zone_offset_minutes(now));
    super::browser::format_instant(ms, locale.tag(), style.options()).unwrap_or_else(|| {
        let (y, m, d) = crate::model::time::civil_from_days(ms.div_euclid(86_400_000));
        let minutes = ms.rem_euclid(86_400_000) / 60_000;
        format!("{y}-{m:02}-{d:02} {:02}:{:02} UTC", minutes / 60, minutes % 60)
    })
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
    /// `at` and `now` in milliseconds since the epoch, `offset` the zone in minutes east of UTC.
    pub fn of(at: i64, now: i64, offset: i32) -> Recency {
        use crate::model::time::local_day;
        match local_day(now, offset) - local_day(at, offset) {
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
    use chrono::{FixedOffset, TimeZone};

    /// Milliseconds of a wall-clock time in a zone `offset` minutes east of UTC.
    fn at(offset: i32, (y, mo, d): (i32, u32, u32), h: u32) -> i64 {
        FixedOffset::east_opt(offset * 60).unwrap().with_ymd_and_hms(y, mo, d, h, 0, 0).unwrap().timestamp_millis()
    }

    #[test]
    fn recency_groups_by_the_readers_calendar_day() {
        for offset in [0, 330, -480] {
            let now = at(offset, (2026, 11, 23), 10);
            assert_eq!(Recency::of(at(offset, (2026, 11, 23), 1), now, offset), Recency::Today);
            assert_eq!(Recency::of(at(offset, (2026, 11, 22), 23), now, offset), Recency::Yesterday);
            assert_eq!(Recency::of(at(offset, (2026, 11, 16), 12), now, offset), Recency::LastWeek);
            assert_eq!(Recency::of(at(offset, (2026, 11, 15), 12), now, offset), Recency::Older);
        }
        // 23:30 UTC is already tomorrow two hours east: "yesterday" there, "today" in London.
        let (now, msg) = (at(0, (2026, 11, 24), 1), at(0, (2026, 11, 23), 23) + 30 * 60_000);
        assert_eq!(Recency::of(msg, now, 0), Recency::Yesterday);
        assert_eq!(Recency::of(msg, now, 120), Recency::Today);
    }

    #[test]
    fn time_style_by_age() {
        let now = at(0, (2026, 11, 23), 10);
        assert_eq!(TimeStyle::of(at(0, (2026, 11, 23), 0), now, 0), TimeStyle::Time);
        assert_eq!(TimeStyle::of(at(0, (2026, 11, 17), 9), now, 0), TimeStyle::WeekdayTime);
        assert_eq!(TimeStyle::of(at(0, (2026, 11, 16), 9), now, 0), TimeStyle::DayMonth);
        assert_eq!(TimeStyle::of(at(0, (2026, 1, 1), 0), now, 0), TimeStyle::DayMonth);
        assert_eq!(TimeStyle::of(at(0, (2025, 12, 31), 23), now, 0), TimeStyle::DayMonthYear);
    }

    #[test]
    fn without_a_browser_the_time_is_shown_in_utc() {
        let t = chrono::Utc.with_ymd_and_hms(2025, 3, 3, 14, 5, 0).unwrap();
        assert_eq!(format_time(&t, crate::ui::i18n::Locale::En), "2025-03-03 14:05 UTC");
    }
}

/// The reader's yes or no to a shared conversation a link offers (`ChatState::offered_share`):
/// only a yes copies it into their history.
#[component]
pub fn SharedOffer(opened: Callback<uuid::Uuid>) -> impl IntoView {
    let state = expect_context::<super::state::ChatState>();
    let t = state.t();
    move || {
        state.offered_share.get().map(|share_id| {
            let id = StoredValue::new(share_id);
            view! {
                <div class="bc-notice bc-offer" role="dialog" aria-label=t.shared_offer data-testid="shared-offer">
                    <p>{t.shared_offer}</p>
                    <button type="button" class="bc-button" data-testid="shared-offer-yes"
                        on:click=move |_| super::state::continue_shared(state, id.get_value(), move |c| opened.run(c))>{t.shared_offer_yes}</button>
                    <button type="button" class="bc-button bc-secondary" data-testid="shared-offer-no"
                        on:click=move |_| state.offered_share.set(None)>{t.shared_offer_no}</button>
                </div>
            }
        })
    }
}

/// An icon drawn inline (SVG, `currentColor`): glyphs like ⧉ or ⎘ rely on a font having them, and
/// Debian's Chromium drew the Copy button's as a missing-glyph box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Icon {
    Copy,
    Check,
    Regenerate,
    Close,
    More,
    Up,
    Down,
}

pub fn icon(kind: Icon) -> impl IntoView {
    let d = match kind {
        Icon::Copy => "M9 9h10v10H9zM5 15V5h10",
        Icon::Check => "M5 12l4 4 10-10",
        Icon::Regenerate => "M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7",
        Icon::Close => "M6 6l12 12M18 6L6 18",
        Icon::More => "M5 12h.01M12 12h.01M19 12h.01",
        Icon::Up => "M6 15l6-6 6 6",
        Icon::Down => "M6 9l6 6 6-6",
    };
    let width = if kind == Icon::More { "3.5" } else { "2" };
    view! {
        <svg class="bc-svg" width="14" height="14" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=d fill="none" stroke="currentColor" stroke-width=width stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}
