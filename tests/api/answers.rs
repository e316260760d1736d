use crate::fake_llm::{FakeLlm, FULL_ANSWER};
use crate::helpers::{id_of, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;
use uuid::Uuid;

async fn llm_app(pool: PgPool) -> (TestApp, FakeLlm) {
    let (fake, url) = FakeLlm::start().await;
    let app = TestApp::spawn_with(pool, true, |c| {
        c.llm.base_url = Some(url);
        c.llm.timeout_secs = 1;
    })
    .await;
    (app, fake)
}

const ZMP: &str = "What is the zero moment point?";

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_model_answer_is_grounded_cited_and_logged(pool: PgPool) {
    let (app, fake) = llm_app(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, ZMP).await;
    let answer = &r["answer"];
    assert_eq!(answer["status"], "complete", "{answer}");
    assert_eq!(answer["content"], FULL_ANSWER.concat());
    assert_eq!(answer["citations"][0]["section"], "The Zero-Moment Point");

    // The real wire format went out: streaming, the passages numbered in the instructions.
    let req = fake.last();
    assert_eq!(req["stream"], true);
    assert_eq!(req["model"], "test-model");
    let system = req["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("ONLY"), "{system}");
    assert!(system.contains("[1] Chapter 6: Humanoid Locomotion and Balance › The Zero-Moment Point"), "{system}");
    assert_eq!(req["messages"].as_array().unwrap().last().unwrap()["content"], ZMP);

    // The citations stored are exactly the passages given to the model.
    let given = system.matches("\n[").count();
    assert_eq!(answer["citations"].as_array().unwrap().len(), given);

    let (provider, model, status, ms, first, relevance, cited): (String, Option<String>, String, i32, Option<i32>, f64, Value) =
        sqlx::query_as(
            "SELECT provider, model, status, response_time_ms, first_token_ms, relevance_score, cited FROM rag_queries",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((provider.as_str(), model.as_deref(), status.as_str()), ("openai-compatible", Some("test-model"), "complete"));
    assert!(ms > 0 && first.unwrap() <= ms, "{ms} {first:?}");
    assert!((0.0..=1.0).contains(&relevance) && relevance > 0.5, "{relevance}");
    assert_eq!(cited.as_array().unwrap().len(), given);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_prompt_carries_recent_turns_and_the_selected_passage(pool: PgPool) {
    let (app, fake) = llm_app(pool).await;
    let g = app.guest().await;
    let conv = id_of(&g.ask(None, ZMP).await["conversation"]);
    let (s, r) = g
        .call(
            "chat/send",
            json!({
                "conversation_id": conv, "client_id": Uuid::new_v4(), "content": "How does that relate to the support polygon?",
                "context": { "url": "https://book.example/docs/locomotion/bipedal-walking", "selection": "the support polygon, the convex hull" }
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let msgs = fake.last()["messages"].as_array().unwrap().clone();
    let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, vec!["system", "user", "assistant", "user"]);
    assert_eq!(msgs[1]["content"], ZMP);
    assert_eq!(msgs[2]["content"], FULL_ANSWER.concat());
    let last = msgs[3]["content"].as_str().unwrap();
    assert!(last.contains("the support polygon, the convex hull"), "{last}");
    assert!(last.ends_with("How does that relate to the support polygon?"));
    assert_eq!(r["question"]["quote"], "the support polygon, the convex hull");
}

async fn failing(app: &TestApp, tag: &str) -> Value {
    let g = app.guest().await;
    let r = g.ask(None, &format!("{ZMP} {tag}")).await;
    assert_eq!(r["question"]["content"], format!("{ZMP} {tag}"), "the question is kept");
    assert_eq!(r["conversation"]["message_count"], 2);
    r["answer"].clone()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn provider_failures_become_clear_messages_and_keep_the_question(pool: PgPool) {
    let (app, _fake) = llm_app(pool.clone()).await;

    let a = failing(&app, "[error]").await;
    assert_eq!(a["status"], "failed");
    assert!(a["error"].as_str().unwrap().contains("had a problem"), "{a}");

    let a = failing(&app, "[busy]").await;
    assert_eq!(a["status"], "failed");
    assert!(a["error"].as_str().unwrap().contains("busy"), "{a}");

    let a = failing(&app, "[drop]").await;
    assert_eq!(a["status"], "failed");
    assert_eq!(a["content"], FULL_ANSWER[..3].concat(), "the partial answer is kept");
    assert!(a["error"].as_str().unwrap().contains("dropped"), "{a}");

    let a = failing(&app, "[hang]").await;
    assert_eq!(a["status"], "failed");
    assert!(a["error"].as_str().unwrap().contains("too long"), "{a}");

    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM rag_queries WHERE status = 'failed'").fetch_one(&pool).await.unwrap();
    assert_eq!(failed, 4, "failures are logged too");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn stop_keeps_the_partial_answer_marked_stopped(pool: PgPool) {
    let (app, _fake) = llm_app(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask_streaming(None, &format!("{ZMP} [slow]")).await;
    assert_eq!(r["answer"]["status"], "streaming");
    let id = r["answer"]["id"].as_i64().unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, stopped) = g.call("chat/stop", json!({ "message_id": id })).await;
    assert_eq!(s, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    let text = stopped["content"].as_str().unwrap().to_owned();
    assert!(!text.is_empty() && text.len() < 40 * 4, "{text}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (content, status): (String, String) =
        sqlx::query_as("SELECT content, status FROM messages WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!((content.as_str(), status.as_str()), (text.as_str(), "stopped"), "nothing written after the stop");
    let logged: String = sqlx::query_scalar("SELECT status FROM rag_queries WHERE message_id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(logged, "stopped");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn a_late_follower_catches_up_then_streams_to_the_end(pool: PgPool) {
    let (app, _fake) = llm_app(pool).await;
    let g = app.guest().await;
    let r = g.ask_streaming(None, &format!("{ZMP} [slow]")).await;
    let id = r["answer"]["id"].as_i64().unwrap();
    // As after a reload: the answer is half-written when the page starts following it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let events = g.stream(id).await;
    let deltas: Vec<&Value> = events.iter().filter(|e| e["t"] == "delta").collect();
    assert!(deltas.len() >= 2, "{events:?}");
    assert_eq!(deltas[0]["offset"], 0);
    assert!(deltas[0]["text"].as_str().unwrap().len() > 10, "catch-up first: {}", deltas[0]);
    let mut text = String::new();
    for d in &deltas {
        assert_eq!(d["offset"].as_u64().unwrap() as usize, text.len(), "contiguous deltas");
        text.push_str(d["text"].as_str().unwrap());
    }
    let done = events.last().unwrap();
    assert_eq!(done["t"], "done");
    assert_eq!(done["message"]["status"], "complete");
    assert_eq!(done["message"]["content"].as_str().unwrap(), text);
    assert_eq!(text.matches("zero-moment").count(), 7, "{text}");

    // Following a finished answer just returns it.
    let again = g.stream(id).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["message"]["content"].as_str().unwrap(), text);
    // And nobody else can follow it.
    let other = app.guest().await;
    let (s, _) = other.call("chat/stream", json!({ "message_id": id })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn an_answer_abandoned_by_a_dead_generator_is_settled_as_failed(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, ZMP).await;
    let id = r["answer"]["id"].as_i64().unwrap();
    sqlx::query("UPDATE messages SET status = 'streaming', content = 'half an ans', updated_at = now() - interval '5 minutes' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let events = g.stream(id).await;
    let done = events.last().unwrap();
    assert_eq!(done["message"]["status"], "failed");
    assert_eq!(done["message"]["content"], "half an ans");
    assert!(done["message"]["error"].as_str().unwrap().contains("interrupted"));
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn regenerate_writes_the_answer_again(pool: PgPool) {
    let (app, fake) = llm_app(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, &format!("{ZMP} [error]")).await;
    let id = r["answer"]["id"].as_i64().unwrap();
    assert_eq!(r["answer"]["status"], "failed");
    let before = fake.count();

    // Make the provider succeed this time: regenerate re-asks the same stored question, so
    // rewrite it as the provider's success case.
    sqlx::query("UPDATE messages SET content = $2 WHERE id = $1")
        .bind(r["question"]["id"].as_i64().unwrap())
        .bind(ZMP)
        .execute(&pool)
        .await
        .unwrap();
    let (s, m) = g.call("chat/regenerate", json!({ "message_id": id })).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["status"], "streaming");
    assert_eq!(m["id"], id, "the same message is rewritten");
    let done = g.stream(id).await.last().cloned().unwrap();
    assert_eq!(done["message"]["status"], "complete");
    assert_eq!(done["message"]["content"], FULL_ANSWER.concat());
    assert_eq!(fake.count(), before + 1);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM rag_queries WHERE message_id = $1").bind(id).fetch_one(&pool).await.unwrap();
    assert_eq!(rows, 1, "the log keeps one row per answer");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 2);

    let (s, _) = g.call("chat/regenerate", json!({ "message_id": r["question"]["id"] })).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "only answers can be regenerated");
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn weak_evidence_is_refused_without_calling_the_model(pool: PgPool) {
    let (app, fake) = llm_app(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, "Who won the football world cup in 1998?").await;
    assert!(r["answer"]["refused"].as_bool().unwrap());
    assert_eq!(fake.count(), 0);
    let refused: bool = sqlx::query_scalar("SELECT refused FROM rag_queries").fetch_one(&pool).await.unwrap();
    assert!(refused);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn feedback_is_stored_changeable_and_private(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, ZMP).await;
    let id = r["answer"]["id"].as_i64().unwrap();

    let (s, m) = g.call("chat/feedback", json!({"message_id": id, "rating": 1})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["feedback"], json!({"rating": 1, "comment": null}));
    let (_, m) = g.call("chat/feedback", json!({"message_id": id, "rating": -1, "comment": "  Too short. "})).await;
    assert_eq!(m["feedback"], json!({"rating": -1, "comment": "Too short."}));
    let conv = id_of(&r["conversation"]);
    let (_, page) = g.call("conversations/messages", json!({"conversation_id": conv})).await;
    assert_eq!(page["messages"][1]["feedback"]["rating"], -1, "shown when the conversation is loaded");

    for bad in [json!({"message_id": id, "rating": 2}), json!({"message_id": id, "rating": -1, "comment": "x".repeat(1001)})] {
        let (s, b) = g.call("chat/feedback", bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    }
    let (s, _) = g.call("chat/feedback", json!({"message_id": r["question"]["id"], "rating": 1})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let other = app.guest().await;
    let (s, _) = other.call("chat/feedback", json!({"message_id": id, "rating": 1})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, m) = g.call("chat/feedback", json!({"message_id": id, "rating": 0})).await;
    assert!(m["feedback"].is_null());
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM message_feedback").fetch_one(&pool).await.unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn suggestions_come_from_the_current_pages_headings(pool: PgPool) {
    let app = TestApp::spawn(pool).await;
    let g = app.guest().await;
    let (s, r) = g.call("chat/suggestions", json!({"page_url": "https://book.example/docs/ros2/ros2-architecture"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let qs: Vec<&str> = r["questions"].as_array().unwrap().iter().map(|q| q.as_str().unwrap()).collect();
    assert_eq!(qs.len(), 4);
    assert!(qs.contains(&"Why ROS 2 Replaced ROS 1?"), "{qs:?}");
    assert!(qs.contains(&"What is the DDS Foundation?"), "{qs:?}");
    let (_, r) = g.call("chat/suggestions", json!({})).await;
    assert!(!r["questions"].as_array().unwrap().is_empty());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_query_log_enforces_its_ranges(pool: PgPool) {
    let insert = |ms: i32, first: Option<i32>, rel: f64| {
        let pool = pool.clone();
        async move {
            sqlx::query(
                "INSERT INTO rag_queries (question, answer, provider, status, response_time_ms, first_token_ms, relevance_score)
                 VALUES ('q', 'a', 'extractive', 'complete', $1, $2, $3)",
            )
            .bind(ms)
            .bind(first)
            .bind(rel)
            .execute(&pool)
            .await
        }
    };
    assert!(insert(5, Some(1), 0.5).await.is_ok());
    assert!(insert(0, None, 0.5).await.is_err(), "response time must be > 0");
    assert!(insert(5, Some(6), 0.5).await.is_err(), "first token cannot come after the end");
    assert!(insert(5, None, 1.5).await.is_err(), "relevance is in [0, 1]");
    assert!(insert(5, None, -0.1).await.is_err());
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn misspelled_questions_find_the_book_words_they_meant(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let g = app.guest().await;
    let r = g.ask(None, "how does a kalman fitler do sensr fushion").await;
    assert_eq!(r["answer"]["refused"], false, "{r}");
    assert_eq!(r["answer"]["citations"][0]["section"], "Sensor Fusion", "{r}");

    // Words the book lacks that are one slip from a book word, but not plausibly a slip of it,
    // are left alone, so an off-topic question stays refused.
    for q in ["When was the Eiffel Tower built?", "How do I bake sourdough bread?"] {
        let r = g.ask(None, q).await;
        assert_eq!(r["answer"]["refused"], true, "{q}: {r}");
    }
    let index = app.state.library.index(&pool).await.unwrap();
    let terms = index.query_terms("tower bread crashes sensr", true, true, &|_| false);
    assert_eq!(terms.corrections, vec![("sensr".to_owned(), "sensor".to_owned())]);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_vocabulary_follows_the_book_on_every_ingest(pool: PgPool) {
    let dir = std::env::temp_dir().join(format!("bookchat-vocab-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.md"), "# Rotations\n\n## Quaternions\n\nA quaternion represents an orientation without gimbal lock.\n").unwrap();
    crate::helpers::ingest(&pool, &dir, true).await;
    let library = bookchat::server::answer::retrieve::Library::new(None);
    let fix = |q: &'static str| {
        let pool = pool.clone();
        let library = &library;
        async move { library.index(&pool).await.unwrap().query_terms(q, true, true, &|_| false).corrections }
    };
    assert_eq!(fix("what is a quaternoin").await, vec![("quaternoin".to_owned(), "quaternion".to_owned())]);
    assert_eq!(fix("what is a manipulatr").await, vec![]);

    // The page changes: the new word becomes correctable and the old one is gone.
    std::fs::write(dir.join("a.md"), "# Arms\n\n## Manipulators\n\nA manipulator is an arm of rigid links.\n").unwrap();
    crate::helpers::ingest(&pool, &dir, true).await;
    assert_eq!(fix("what is a manipulatr").await, vec![("manipulatr".to_owned(), "manipulator".to_owned())]);
    assert_eq!(fix("what is a quaternoin").await, vec![]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn suggestions_are_questions_the_book_answers_never_recap_headings(pool: PgPool) {
    // Chapters framed the way real textbooks are: objectives, an introduction, numbered
    // sections (one of them code only), a conclusion and key takeaways on every page.
    let dir = std::env::temp_dir().join(format!("bookchat-suggest-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let topics = [("gait", "Gait Planning", "footsteps"), ("grasp", "Grasp Synthesis", "fingers"), ("vision", "Stereo Vision", "disparity"), ("speech", "Speech Input", "microphones")];
    for (n, (slug, title, word)) in topics.iter().enumerate() {
        let n = n + 1;
        std::fs::write(
            dir.join(format!("0{n}-{slug}.md")),
            format!(
                "# Chapter {n}: {title}\n\n## What You'll Learn\n\n- How {word} work in {title}\n- Why {title} matters\n\n## {n}.1 Introduction\n\n{title} is the part of a humanoid that deals with {word}, and this chapter explains it from first principles with examples.\n\n## {n}.2 How {title} Uses {word}\n\n{title} combines {word} with feedback from sensors so the humanoid adapts to the world around it while it moves.\n\n## {n}.3 A {title} Example\n\n```python\ndef run_{slug}({word}):\n    # {title}: process the {word}\n    return [x * 2 for x in {word}]\n```\n\n## {n}.9 Conclusion\n\nWe covered {title}.\n\n## Key Takeaways\n\n- **{title}**: turns {word} into decisions\n"
            ),
        )
        .unwrap();
    }
    crate::helpers::ingest(&pool, &dir, true).await;
    let app = TestApp::spawn_with(pool, false, |_| {}).await;
    let g = app.guest().await;
    let mut asked = 0;
    for (n, (slug, ..)) in topics.iter().enumerate() {
        let page = format!("https://book.example/docs/0{}-{slug}", n + 1);
        let (s, r) = g.call("chat/suggestions", json!({"page_url": page})).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let qs: Vec<String> = r["questions"].as_array().unwrap().iter().map(|q| q.as_str().unwrap().to_owned()).collect();
        assert!(!qs.is_empty(), "{page}: no suggestions");
        for q in &qs {
            let lower = q.to_lowercase();
            assert!(!lower.contains("learn") && !lower.contains("takeaways") && !lower.contains("conclusion") && !lower.contains("introduction"), "{q}");
            let (s, a) = g.call("chat/send", json!({"client_id": Uuid::new_v4(), "content": q, "context": {"url": page}})).await;
            assert_eq!(s, StatusCode::OK, "{a}");
            assert_eq!(a["answer"]["refused"], false, "a suggested question was refused: {q}: {a}");
            asked += 1;
        }
    }
    assert!(asked >= 4);
    let _ = std::fs::remove_dir_all(&dir);
}
