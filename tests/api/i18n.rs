//! Interface languages: the server renders the widget and the history pages in the language the
//! loader asks for (`lang`), right to left for Urdu, so the first paint is already right.

use crate::helpers::TestApp;
use reqwest::StatusCode;
use sqlx::PgPool;

async fn page(app: &TestApp, path: &str) -> String {
    let res = app.get(path, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.text().await.unwrap()
}

#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn the_server_renders_the_readers_language_and_direction(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool).await;

    let ur = page(&app, "/widget?embed=1&lang=ur-PK").await;
    assert!(ur.contains(r#"lang="ur" dir="rtl""#), "the widget is Urdu, right to left");
    assert!(ur.contains("کتاب کے بارے میں سوال پوچھیں"), "the composer's label in Urdu");
    assert!(ur.contains("کتاب سے پوچھیں"), "the empty conversation's title in Urdu");
    assert!(!ur.contains("Ask a question about the book"), "no English left in the Urdu widget");

    let history = page(&app, "/conversations?lang=ur").await;
    assert!(history.contains(r#"lang="ur" dir="rtl""#));
    assert!(history.contains("آپ کی گفتگوئیں"));

    // English is the default, and a language without a catalogue falls back to it.
    for path in ["/widget?embed=1", "/widget?embed=1&lang=fr", "/conversations"] {
        let en = page(&app, path).await;
        assert!(en.contains(r#"lang="en" dir="ltr""#), "{path}");
        assert!(!en.contains("کتاب"), "{path}");
    }
}

/// The document's title: one per page, named for the page, in the reader's language (drawn by
/// the server's shell; the head is never hydrated).
#[sqlx::test(migrator = "bookchat::server::db::MIGRATOR")]
async fn each_page_has_one_title_in_the_readers_language(pool: PgPool) {
    let app = TestApp::spawn_without_book(pool).await;
    let title = |html: &str| {
        assert_eq!(html.matches("<title>").count(), 1, "one title: {html}");
        let start = html.find("<title>").unwrap() + "<title>".len();
        html[start..start + html[start..].find("</title>").unwrap()].to_owned()
    };
    let id = uuid::Uuid::new_v4();
    for (path, want) in [
        ("/widget?embed=1".to_owned(), "BookChat"),
        ("/widget?embed=1&lang=ur".to_owned(), "بک چیٹ"),
        ("/conversations".to_owned(), "Your conversations · BookChat"),
        ("/conversations?lang=ur".to_owned(), "آپ کی گفتگوئیں · بک چیٹ"),
        (format!("/conversations/{id}"), "Conversation · BookChat"),
        (format!("/conversations/{id}?lang=ur"), "گفتگو · بک چیٹ"),
    ] {
        assert_eq!(title(&page(&app, &path).await), want, "{path}");
    }
    // The stylesheet is linked once, where live CSS reload expects it.
    let html = page(&app, "/widget").await;
    assert_eq!(html.matches(r#"href="/pkg/bookchat.css""#).count(), 1, "{html}");
}
