//! "Book health" on `/admin`: the coverage-gaps report (`answer::gaps`) with its CSV, and the
//! pinned answers written from it (`answer::pins`). Behind the admin page's authentication; the
//! forms post to this origin only.

use super::admin::{cell, check, esc};
use crate::model::Citation;
use crate::server::answer::gaps::{self, GapQuestion, SectionGaps};
use crate::server::answer::pins::PIN_SIMILARITY;
use crate::server::db::pins as db;
use crate::server::error::{Context, ServerError, ServerResult};
use crate::server::state::AppState;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The report covers this many days.
pub const DAYS: i32 = 90;
/// "Answered with low confidence": the best section had less than this share of the
/// question's informative words (the lexical evidence bar, `compose::MIN_COVERAGE_LEXICAL`).
const LOW_RELEVANCE: f64 = crate::server::answer::compose::MIN_COVERAGE_LEXICAL as f64;
/// Rows read, and distinct wordings embedded for grouping (the rest group by identical wording).
const MAX_ROWS: i64 = 5000;
const MAX_EMBEDDED: usize = 500;
/// A pin's limits (the database checks them too).
const MAX_PIN_ANSWER_CHARS: usize = 8000;
const MAX_PIN_QUESTIONS: usize = 50;
const MAX_PIN_QUESTION_CHARS: usize = 2000;

/// The report: gap questions grouped.
pub async fn report(state: &AppState) -> ServerResult<Vec<SectionGaps>> {
    let rows = db::gaps(&state.read_pool, DAYS, LOW_RELEVANCE, MAX_ROWS).await?;
    let questions: Vec<GapQuestion> = rows
        .into_iter()
        .map(|r| GapQuestion {
            question: r.question,
            week: r.week.to_string(),
            refused: r.refused,
            rated_down: r.rated_down,
            section_title: match (r.section_title, r.section_heading) {
                (Some(t), Some(h)) if !h.is_empty() => format!("{t} — {h}"),
                (Some(t), _) => t,
                _ => String::new(),
            },
            section_url: r.section_url.unwrap_or_default(),
        })
        .collect();
    let vectors = embed_wordings(state, &questions).await;
    Ok(gaps::group(&questions, PIN_SIMILARITY, |k| vectors.get(k).map(Vec::as_slice)))
}

/// The most asked distinct wordings' embeddings (none without a model, or if embedding fails).
async fn embed_wordings(state: &AppState, questions: &[GapQuestion]) -> HashMap<String, Vec<f32>> {
    let Some(embedder) = state.library.embedder().cloned() else { return HashMap::new() };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for q in questions {
        *counts.entry(gaps::normalize(&q.question)).or_default() += 1;
    }
    let mut keys: Vec<(String, usize)> = counts.into_iter().filter(|(k, _)| !k.is_empty()).collect();
    keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    keys.truncate(MAX_EMBEDDED);
    let keys: Vec<String> = keys.into_iter().map(|(k, _)| k).collect();
    let texts = keys.clone();
    let computed = tokio::task::spawn_blocking(move || embedder.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>())).await;
    match computed.map_err(|e| e.to_string()).and_then(|r| r.map_err(|e| e.to_string())) {
        Ok(vs) => keys.into_iter().zip(vs).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "embedding the report's questions failed: grouping identical wordings only");
            HashMap::new()
        }
    }
}

/// The report and the pins as the admin page's "Book health" sections.
pub async fn render(state: &AppState) -> ServerResult<String> {
    let report = report(state).await?;
    let stored = db::list(&state.read_pool).await?;
    let mut h = format!(
        r#"<h2 id="health">Book health</h2>
<p>Questions of the last {DAYS} days the book did not answer well — refused, rated not helpful, or answered from a
section holding under half their words — with near-duplicates together, under the section that came closest.
Write an answer for a group to pin it: later questions this close to one of its wordings get it first, marked as
yours. <a href="/admin/health.csv" data-testid="health-csv">Download (CSV)</a></p>
<table data-testid="health"><tr><th>Questions</th><th>Asked</th><th>Why</th><th>Per week</th><th>Pin an answer</th></tr>"#
    );
    if report.is_empty() {
        h.push_str(r#"<tr><td colspan="5">No gaps: every question was answered well.</td></tr>"#);
    }
    for s in &report {
        let label = if s.title.is_empty() { "No section came close".to_owned() } else { s.title.clone() };
        let link = if s.url.is_empty() { esc(&label) } else { format!("<a href=\"{}\">{}</a>", esc(&s.url), esc(&label)) };
        h.push_str(&format!(r#"<tr class="sec" data-testid="gap-section"><th colspan="5">{link} · {} questions</th></tr>"#, s.count));
        for g in &s.groups {
            let others: Vec<String> = g.wordings.iter().skip(1).map(|(w, n)| format!("<li>{} ({n})</li>", esc(w))).collect();
            let others = if others.is_empty() { String::new() } else { format!("<details><summary>{} more wordings</summary><ul>{}</ul></details>", others.len(), others.concat()) };
            let why = [("refused", g.reasons.refused), ("rated not helpful", g.reasons.rated_down), ("low confidence", g.reasons.low_confidence)]
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(w, n)| format!("{w} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            let weeks = g.weeks.iter().map(|(w, n)| format!("{w}: {n}")).collect::<Vec<_>>().join("<br>");
            let questions = g.wordings.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join("\n");
            h.push_str(&format!(
                r#"<tr data-testid="gap-group"><td><b data-testid="gap-question">{}</b>{others}</td><td data-testid="gap-count">{}</td><td>{why}</td><td>{weeks}</td>
<td><form method="post" action="/admin/pins" data-testid="pin-form"><textarea name="questions" rows="2" aria-label="Questions it answers">{}</textarea>
<textarea name="answer" rows="3" required maxlength="{MAX_PIN_ANSWER_CHARS}" placeholder="Your answer (Markdown)" aria-label="Your answer"></textarea>
<input name="citation" value="{}" aria-label="Cite (a link to a section of the book)" placeholder="Cite: a link to a section">
<button type="submit">Pin this answer</button></form></td></tr>"#,
                esc(&g.representative),
                g.count,
                esc(&questions),
                esc(&s.url),
            ));
        }
    }
    h.push_str("</table><h2 id=\"pins\">Pinned answers</h2><table data-testid=\"pins\"><tr><th>Answers</th><th>Answer</th><th>Cites</th><th>Since</th><th></th></tr>");
    if stored.is_empty() {
        h.push_str(r#"<tr><td colspan="5">None yet.</td></tr>"#);
    }
    for p in &stored {
        let qs = p.questions.iter().map(|(q, _, _)| format!("<li>{}</li>", esc(q))).collect::<String>();
        let cites = p.citations.iter().map(|c| format!("<a href=\"{}\">{}</a>", esc(&c.url), esc(&label_of(c)))).collect::<Vec<_>>().join("<br>");
        let answer: String = p.answer.chars().take(400).collect();
        h.push_str(&format!(
            r#"<tr data-testid="pin"><td><ul>{qs}</ul></td><td>{}</td><td>{cites}</td><td>{}</td>
<td><form method="post" action="/admin/pins/{}/delete"><button type="submit" data-testid="pin-delete">Remove</button></form></td></tr>"#,
            esc(&answer),
            p.created_at.format("%Y-%m-%d"),
            p.id
        ));
    }
    h.push_str("</table>");
    Ok(h)
}

fn label_of(c: &Citation) -> String {
    if c.section.is_empty() {
        c.title.clone()
    } else {
        format!("{} — {}", c.title, c.section)
    }
}

pub async fn csv(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, headers: HeaderMap) -> Response {
    if let Some(denied) = check(&state, &headers, Some(peer)) {
        return denied;
    }
    let report = match report(&state).await {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let mut out = String::from("section,section_url,question,count,refused,rated_not_helpful,low_confidence,weeks,wordings\n");
    for s in &report {
        for g in &s.groups {
            let weeks = g.weeks.iter().map(|(w, n)| format!("{w}:{n}")).collect::<Vec<_>>().join(" ");
            let wordings = g.wordings.iter().map(|(w, n)| format!("{w} ({n})")).collect::<Vec<_>>().join(" | ");
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                cell(&s.title),
                cell(&s.url),
                cell(&g.representative),
                g.count,
                g.reasons.refused,
                g.reasons.rated_down,
                g.reasons.low_confidence,
                cell(&weeks),
                cell(&wordings)
            ));
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"bookchat-book-health.csv\""),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response()
}

fn failed(e: ServerError) -> Response {
    let e = e.context("book health").into_app_error();
    (StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), e.to_string()).into_response()
}

/// A form post from this origin: the admin's browser sends its credentials with any site's
/// form, so a post that a browser says came from elsewhere is refused (clients that are not
/// browsers send neither header).
fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_ok = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|o| o.split_once("://").is_some_and(|(_, rest)| rest == host));
    let site_ok = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_none_or(|s| s == "same-origin" || s == "none");
    origin_ok && site_ok
}

fn invalid(why: String) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{why}\n\nGo back to fix it: nothing was saved.")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct PinForm {
    pub answer: String,
    /// One question per line.
    pub questions: String,
    #[serde(default)]
    pub citation: Option<String>,
}

/// A checked pin: its answer, questions and citation.
struct NewPin {
    answer: String,
    questions: Vec<String>,
    citation: Option<Citation>,
}

async fn validate(state: &AppState, form: PinForm) -> ServerResult<Result<NewPin, String>> {
    let answer = form.answer.trim().to_owned();
    if answer.is_empty() {
        return Ok(Err("The answer is empty.".into()));
    }
    if answer.chars().count() > MAX_PIN_ANSWER_CHARS {
        return Ok(Err(format!("The answer is longer than {MAX_PIN_ANSWER_CHARS} characters.")));
    }
    let mut questions: Vec<String> = Vec::new();
    for q in form.questions.lines().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > MAX_PIN_QUESTION_CHARS {
            return Ok(Err(format!("A question is longer than {MAX_PIN_QUESTION_CHARS} characters.")));
        }
        if !questions.iter().any(|x| x == q) {
            questions.push(q.to_owned());
        }
    }
    if questions.is_empty() {
        return Ok(Err("Say which questions it answers (one per line).".into()));
    }
    if questions.len() > MAX_PIN_QUESTIONS {
        return Ok(Err(format!("At most {MAX_PIN_QUESTIONS} questions per pinned answer.")));
    }
    let citation = match form.citation.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(link) => match cite(state, link).await? {
            Some(c) => Some(c),
            None => return Ok(Err(format!("\"{link}\" is not a section of this book: cite a link to one (as the report's are), or none."))),
        },
    };
    Ok(Ok(NewPin { answer, questions, citation }))
}

/// The citation for a link to a section of the book.
async fn cite(state: &AppState, link: &str) -> ServerResult<Option<Citation>> {
    let config = &state.config;
    let Some((route, anchor)) = crate::server::mcp::route_and_anchor(link, &config.site_base_url) else { return Ok(None) };
    let index = state.library.index(&state.pool).await?;
    let found = index.sections.iter().find(|s| s.route == route && (s.anchor == anchor || (anchor.is_empty() && s.level <= 1)));
    Ok(found.map(|s| Citation {
        title: s.doc_title.clone(),
        section: if s.level <= 1 { String::new() } else { s.heading.clone() },
        url: config.citation_url(&s.route, &s.anchor),
        snippet: s.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join(" ").chars().take(220).collect(),
        score: 1.0,
    }))
}

pub async fn create(State(state): State<AppState>, ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>, headers: HeaderMap, Form(form): Form<PinForm>) -> Response {
    if let Some(denied) = check(&state, &headers, Some(peer)) {
        return denied;
    }
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "Pins are written from the admin page.").into_response();
    }
    let pin = match validate(&state, form).await {
        Ok(Ok(p)) => p,
        Ok(Err(why)) => return invalid(why),
        Err(e) => return failed(e),
    };
    match store(&state, pin).await {
        Ok(_) => Redirect::to("/admin#pins").into_response(),
        Err(e) => failed(e),
    }
}

async fn store(state: &AppState, pin: NewPin) -> ServerResult<Uuid> {
    let embedder = state.library.embedder().cloned();
    let model = embedder.as_ref().map(|e| e.id().to_owned());
    let vectors: Vec<Option<Vec<u8>>> = match embedder {
        Some(e) => {
            let texts = pin.questions.clone();
            let vs = tokio::task::spawn_blocking(move || e.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>()))
                .await
                .context("embedding a pin's questions")?
                .map_err(|e| ServerError::internal("embedding a pin's questions", e))?;
            vs.iter().map(|v| Some(crate::server::book::embed::to_bytes(v))).collect()
        }
        None => vec![None; pin.questions.len()],
    };
    let questions: Vec<(String, Option<Vec<u8>>)> = pin.questions.into_iter().zip(vectors).collect();
    let citations: Vec<Citation> = pin.citation.into_iter().collect();
    let id = db::create(&state.pool, &pin.answer, &citations, &questions, model.as_deref()).await?;
    state.library.pins().invalidate();
    Ok(id)
}

pub async fn delete(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(denied) = check(&state, &headers, Some(peer)) {
        return denied;
    }
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "Pins are removed from the admin page.").into_response();
    }
    let Ok(id) = Uuid::parse_str(&id) else { return (StatusCode::NOT_FOUND, "No such pin.").into_response() };
    match db::delete(&state.pool, id).await {
        Ok(true) => {
            state.library.pins().invalidate();
            Redirect::to("/admin#pins").into_response()
        }
        Ok(false) => (StatusCode::NOT_FOUND, "No such pin.").into_response(),
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::HeaderMap;

    #[test]
    fn forms_from_other_sites_are_refused() {
        let h = |pairs: &[(&'static str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        assert!(same_origin(&h(&[("host", "chat.example.org"), ("origin", "https://chat.example.org"), ("sec-fetch-site", "same-origin")])));
        assert!(same_origin(&h(&[("host", "chat.example.org")])), "curl sends neither");
        assert!(!same_origin(&h(&[("host", "chat.example.org"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&h(&[("host", "chat.example.org"), ("sec-fetch-site", "cross-site")])));
    }
}
