//! The interface's languages. Every string the widget and the history pages show is a field of
//! [`Strings`], so a language cannot miss one (it would not compile). The locale comes from the
//! page's `lang` query parameter, which the embed loader fills from `data-locale`, the host's
//! `<html lang>` or the browser; it is read on the server too, so the server-rendered page is
//! already in the reader's language and direction. Answers stay in the book's language.

use crate::error::{AppError, Rule};
use crate::model::{MAX_COMMENT_CHARS, MAX_MESSAGE_CHARS, MAX_PASSAGE_CHARS, MAX_SEARCH_CHARS, MAX_TITLE_CHARS};

/// An interface language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Ur,
}

impl Locale {
    /// From a BCP 47 tag (`ur`, `ur-PK`, `en-US`…); anything without a catalogue is English.
    pub fn from_tag(tag: Option<&str>) -> Locale {
        let primary = tag.unwrap_or("").split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "ur" => Locale::Ur,
            _ => Locale::En,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ur => "ur",
        }
    }

    /// Text direction: Urdu is written right to left.
    pub fn dir(self) -> &'static str {
        match self {
            Locale::En => "ltr",
            Locale::Ur => "rtl",
        }
    }

    /// The query string that keeps this language on links between the full pages.
    pub fn query(self) -> &'static str {
        match self {
            Locale::En => "",
            Locale::Ur => "?lang=ur",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Locale::En => &EN,
            Locale::Ur => &UR,
        }
    }
}

/// The locale of the page being rendered (server) or run (browser), from its `lang` parameter.
pub fn page_locale() -> Locale {
    Locale::from_tag(super::location::query("lang").as_deref())
}

/// Every string of the interface, in one language.
pub struct Strings {
    // Widget shell
    pub open_widget: &'static str,
    pub close_widget: &'static str,
    pub widget_label: &'static str,
    // Chat header and menu
    pub ask_the_book: &'static str,
    pub your_conversations: &'static str,
    pub new_conversation: &'static str,
    pub conversation_actions: &'static str,
    pub conversation_title: &'static str,
    pub rename: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub archive: &'static str,
    pub unarchive: &'static str,
    pub share_link: &'static str,
    pub export_markdown: &'static str,
    pub export_json: &'static str,
    pub delete: &'static str,
    pub really_delete: &'static str,
    pub close_chat: &'static str,
    pub close: &'static str,
    pub dismiss: &'static str,
    // Share panel
    pub share_region: &'static str,
    pub share_note: fn(i64) -> String,
    pub share_url_label: &'static str,
    pub copy_link: &'static str,
    pub copied: &'static str,
    /// Over a pinned answer: it is the book's author's own.
    pub from_author: &'static str,
    pub copy_failed: &'static str,
    pub open_shared: &'static str,
    pub stop_sharing: &'static str,
    // Messages
    pub greeting: &'static str,
    pub answering: &'static str,
    pub retry: &'static str,
    pub edit: &'static str,
    pub loading_older: &'static str,
    pub start_of_conversation: &'static str,
    pub loading: &'static str,
    pub remove_quote: &'static str,
    pub chapter_only: &'static str,
    pub composer_label: &'static str,
    pub composer_placeholder: &'static str,
    pub send: &'static str,
    pub helpful: &'static str,
    pub not_helpful: &'static str,
    pub copy: &'static str,
    pub copy_title: &'static str,
    pub regenerate: &'static str,
    pub regenerate_title: &'static str,
    pub stop: &'static str,
    pub stopped: &'static str,
    pub answer_failed: &'static str,
    pub what_was_wrong: &'static str,
    pub what_was_wrong_placeholder: &'static str,
    pub sources: &'static str,
    pub busy: fn(u64) -> String,
    pub rate_limited: fn(u64) -> String,
    pub offline: &'static str,
    /// The session is being started again after a passing refusal.
    pub starting: &'static str,
    /// A broken rule in this language; `None`: the server's own (English) sentence, which also
    /// names the numbers.
    pub invalid: fn(Rule) -> Option<String>,
    /// Any other failure the server reports, in this language; `None`: the server's own text.
    pub failure: fn(&AppError) -> Option<&'static str>,
    // History
    pub back_to_chat: &'static str,
    pub search_conversations: &'static str,
    pub tab_active: &'static str,
    pub tab_archived: &'static str,
    pub no_matches: &'static str,
    pub nothing_archived: &'static str,
    pub no_conversations: &'static str,
    pub load_more: &'static str,
    pub delete_all_conversations: &'static str,
    pub delete_all_confirm: &'static str,
    pub delete_all: &'static str,
    pub delete_my_data: &'static str,
    pub delete_my_data_confirm: &'static str,
    pub delete_my_data_button: &'static str,
    pub all_conversations_deleted: &'static str,
    pub my_data_deleted: &'static str,
    pub you: &'static str,
    pub bookchat: &'static str,
    pub title_match: &'static str,
    pub today: &'static str,
    pub yesterday: &'static str,
    pub last_week: &'static str,
    pub older: &'static str,
    pub messages_count: fn(i32) -> String,
    // Full pages
    pub all_conversations: &'static str,
    pub history_page_title: &'static str,
    pub conversation_page_title: &'static str,
    pub bad_conversation_link: &'static str,
    // Notices
    pub archived_notice: &'static str,
    pub restored_notice: &'static str,
    pub deleted_notice: &'static str,
    pub unshared_notice: &'static str,
    pub shared_copy_notice: &'static str,
    /// A link offers someone's shared conversation: continue it as the reader's own?
    pub shared_offer: &'static str,
    pub shared_offer_yes: &'static str,
    pub shared_offer_no: &'static str,
    pub shared_gone_notice: &'static str,
}

pub static EN: Strings = Strings {
    open_widget: "Ask the book (open BookChat)",
    close_widget: "Close BookChat",
    widget_label: "BookChat",
    ask_the_book: "Ask the book",
    your_conversations: "Your conversations",
    new_conversation: "New conversation",
    conversation_actions: "Conversation actions",
    conversation_title: "Conversation title",
    rename: "Rename",
    save: "Save",
    cancel: "Cancel",
    archive: "Archive",
    unarchive: "Restore from archive",
    share_link: "Share a link…",
    export_markdown: "Export as Markdown",
    export_json: "Export as JSON",
    delete: "Delete",
    really_delete: "Really delete?",
    close_chat: "Close chat",
    close: "Close",
    dismiss: "Dismiss",
    share_region: "Share this conversation",
    share_note: |n| {
        format!("Anyone with this link can read this conversation as it is now ({n} messages), but not who you are or your other conversations.")
    },
    share_url_label: "Link to this conversation",
    copy_link: "Copy link",
    copied: "Copied",
    from_author: "Answer from the book's author",
    copy_failed: "Copy failed",
    open_shared: "Open the shared page",
    stop_sharing: "Stop sharing",
    greeting: "Hi! Ask me anything about this book. I answer from its pages and show you where.",
    answering: "BookChat is answering…",
    retry: "Retry",
    edit: "Edit",
    loading_older: "Loading earlier messages…",
    start_of_conversation: "Start of conversation",
    loading: "Loading…",
    remove_quote: "Remove the quoted passage",
    chapter_only: "This chapter only",
    composer_label: "Ask a question about the book",
    composer_placeholder: "Ask about the book…  (Enter to send, Shift+Enter for a new line)",
    send: "Send",
    helpful: "Helpful",
    not_helpful: "Not helpful",
    copy: "Copy",
    copy_title: "Copy the answer as Markdown",
    regenerate: "Regenerate",
    regenerate_title: "Write this answer again",
    stop: "■ Stop",
    stopped: "Stopped",
    answer_failed: "The answer could not be completed.",
    what_was_wrong: "What was wrong with this answer?",
    what_was_wrong_placeholder: "What was wrong? (optional)",
    sources: "Sources",
    busy: |s| format!("BookChat is answering many questions right now. Try again in {s} s."),
    rate_limited: |s| format!("You're sending messages quickly. Try again in {s} s."),
    offline: "Couldn't reach BookChat. Check your connection and retry.",
    starting: "Starting…",
    invalid: |_| None,
    failure: |_| None,
    back_to_chat: "Back to chat",
    search_conversations: "Search your conversations",
    tab_active: "Active",
    tab_archived: "Archived",
    no_matches: "No matches in your conversations.",
    nothing_archived: "Nothing archived.",
    no_conversations: "No conversations yet. Ask your first question!",
    load_more: "Load more",
    delete_all_conversations: "Delete all my conversations",
    delete_all_confirm: "Delete every conversation? This cannot be undone.",
    delete_all: "Delete all",
    delete_my_data: "Delete all my data",
    delete_my_data_confirm: "Delete all your data, including your ratings and sign-in link?",
    delete_my_data_button: "Delete my data",
    all_conversations_deleted: "All your conversations were deleted.",
    my_data_deleted: "Everything BookChat stored about you was deleted.",
    you: "You",
    bookchat: "BookChat",
    title_match: "Title",
    today: "Today",
    yesterday: "Yesterday",
    last_week: "Previous 7 days",
    older: "Older",
    messages_count: |n| if n == 1 { "1 message".to_owned() } else { format!("{n} messages") },
    all_conversations: "← All conversations",
    history_page_title: "Your conversations · BookChat",
    conversation_page_title: "Conversation · BookChat",
    bad_conversation_link: "That conversation link is not valid.",
    archived_notice: "Conversation archived.",
    restored_notice: "Conversation restored.",
    deleted_notice: "Conversation deleted.",
    unshared_notice: "The link no longer works.",
    shared_copy_notice: "This is your copy of a shared conversation: what you add stays yours.",
    shared_offer: "This link shares someone's conversation with BookChat. Continue it as your own? A copy goes into your history; its earlier turns are marked as shared.",
    shared_offer_yes: "Continue it",
    shared_offer_no: "Not now",
    shared_gone_notice: "That shared conversation is no longer available.",
};

pub static UR: Strings = Strings {
    open_widget: "کتاب سے پوچھیں (بک چیٹ کھولیں)",
    close_widget: "بک چیٹ بند کریں",
    widget_label: "بک چیٹ",
    ask_the_book: "کتاب سے پوچھیں",
    your_conversations: "آپ کی گفتگوئیں",
    new_conversation: "نئی گفتگو",
    conversation_actions: "گفتگو کے اختیارات",
    conversation_title: "گفتگو کا عنوان",
    rename: "نام تبدیل کریں",
    save: "محفوظ کریں",
    cancel: "منسوخ کریں",
    archive: "محفوظ شدہ میں بھیجیں",
    unarchive: "محفوظ شدہ سے واپس لائیں",
    share_link: "لنک شیئر کریں…",
    export_markdown: "مارک ڈاؤن میں برآمد کریں",
    export_json: "JSON میں برآمد کریں",
    delete: "حذف کریں",
    really_delete: "واقعی حذف کریں؟",
    close_chat: "چیٹ بند کریں",
    close: "بند کریں",
    dismiss: "ہٹائیں",
    share_region: "یہ گفتگو شیئر کریں",
    share_note: |n| {
        format!("اس لنک والا کوئی بھی شخص یہ گفتگو ابھی کی حالت میں ({n} پیغامات) پڑھ سکتا ہے، مگر یہ نہیں جان سکتا کہ آپ کون ہیں، نہ آپ کی دوسری گفتگوئیں دیکھ سکتا ہے۔")
    },
    share_url_label: "اس گفتگو کا لنک",
    copy_link: "لنک کاپی کریں",
    copied: "کاپی ہو گیا",
    from_author: "کتاب کے مصنف کا جواب",
    copy_failed: "کاپی نہیں ہو سکا",
    open_shared: "شیئر شدہ صفحہ کھولیں",
    stop_sharing: "شیئر کرنا بند کریں",
    greeting: "السلام علیکم! اس کتاب کے بارے میں کچھ بھی پوچھیں۔ میں اس کے صفحات سے جواب دیتا ہوں اور بتاتا ہوں کہ کہاں لکھا ہے۔",
    answering: "بک چیٹ جواب لکھ رہا ہے…",
    retry: "دوبارہ کوشش کریں",
    edit: "ترمیم کریں",
    loading_older: "پچھلے پیغامات آ رہے ہیں…",
    start_of_conversation: "گفتگو کا آغاز",
    loading: "لوڈ ہو رہا ہے…",
    remove_quote: "اقتباس ہٹائیں",
    chapter_only: "صرف یہ باب",
    composer_label: "کتاب کے بارے میں سوال پوچھیں",
    composer_placeholder: "کتاب کے بارے میں پوچھیں…  (بھیجنے کے لیے Enter، نئی سطر کے لیے Shift+Enter)",
    send: "بھیجیں",
    helpful: "مفید",
    not_helpful: "مفید نہیں",
    copy: "کاپی کریں",
    copy_title: "جواب مارک ڈاؤن میں کاپی کریں",
    regenerate: "دوبارہ لکھیں",
    regenerate_title: "یہ جواب دوبارہ لکھیں",
    stop: "■ روکیں",
    stopped: "روک دیا گیا",
    answer_failed: "جواب مکمل نہیں ہو سکا۔",
    what_was_wrong: "اس جواب میں کیا غلط تھا؟",
    what_was_wrong_placeholder: "کیا غلط تھا؟ (اختیاری)",
    sources: "حوالہ جات",
    busy: |s| format!("بک چیٹ اس وقت بہت سے سوالوں کے جواب دے رہا ہے۔ {s} سیکنڈ بعد دوبارہ کوشش کریں۔"),
    rate_limited: |s| format!("آپ بہت تیزی سے پیغامات بھیج رہے ہیں۔ {s} سیکنڈ بعد دوبارہ کوشش کریں۔"),
    offline: "بک چیٹ سے رابطہ نہیں ہو سکا۔ اپنا کنکشن دیکھیں اور دوبارہ کوشش کریں۔",
    starting: "شروع ہو رہا ہے…",
    invalid: |rule| {
        Some(match rule {
            Rule::QuestionEmpty => "پہلے سوال لکھیں۔".to_owned(),
            Rule::QuestionControl | Rule::SearchControl | Rule::CommentControl => {
                "اس متن میں ایسے کنٹرول حروف ہیں جو قبول نہیں کیے جاتے۔".to_owned()
            }
            Rule::QuestionTooLong => format!("سوال زیادہ سے زیادہ {MAX_MESSAGE_CHARS} حروف کا ہو سکتا ہے۔"),
            Rule::PassageTooLong => format!("منتخب عبارت زیادہ سے زیادہ {MAX_PASSAGE_CHARS} حروف کی ہو سکتی ہے۔"),
            Rule::TitleEmpty => "عنوان خالی نہیں ہو سکتا۔".to_owned(),
            Rule::TitleMultiline => "عنوان ایک ہی سطر کا ہونا چاہیے۔".to_owned(),
            Rule::TitleTooLong => format!("عنوان زیادہ سے زیادہ {MAX_TITLE_CHARS} حروف کا ہو سکتا ہے۔"),
            Rule::SearchEmpty => "تلاش کے لیے کچھ لکھیں۔".to_owned(),
            Rule::SearchTooLong => format!("تلاش زیادہ سے زیادہ {MAX_SEARCH_CHARS} حروف کی ہو سکتی ہے۔"),
            Rule::CommentTooLong => format!("تبصرہ زیادہ سے زیادہ {MAX_COMMENT_CHARS} حروف کا ہو سکتا ہے۔"),
            Rule::ConversationClosed => "یہ گفتگو بند ہو چکی ہے۔".to_owned(),
            Rule::ChapterNeedsPage => "«صرف یہ باب» کے لیے وہ صفحہ درکار ہے جو آپ پڑھ رہے ہیں۔".to_owned(),
            Rule::PageNotInChapter => "یہ صفحہ کتاب کے کسی باب میں شامل نہیں، اس لیے پوری کتاب میں تلاش ہوتی ہے۔".to_owned(),
            Rule::AnswerInProgress => "جواب ابھی لکھا جا رہا ہے؛ اس کے مکمل ہونے کا انتظار کریں۔".to_owned(),
            Rule::NothingToShare => "ابھی شیئر کرنے کو کچھ نہیں: پہلے ایک سوال پوچھیں۔".to_owned(),
        })
    },
    failure: |e| match e {
        AppError::Unauthorized => Some("آپ کا چیٹ سیشن ختم ہو گیا ہے؛ نیا شروع کرنے کے لیے صفحہ دوبارہ لوڈ کریں۔"),
        AppError::NotFound { .. } => Some("یہ اب موجود نہیں؛ شاید اسے حذف کر دیا گیا ہے۔"),
        AppError::Unavailable { .. } => Some("بک چیٹ اس وقت دستیاب نہیں۔ تھوڑی دیر بعد دوبارہ کوشش کریں۔"),
        AppError::Internal => Some("ہماری طرف کچھ غلط ہو گیا۔ دوبارہ کوشش کریں۔"),
        // What a program sent wrong (not the reader): its English text is for its developer.
        _ => None,
    },
    back_to_chat: "چیٹ پر واپس",
    search_conversations: "اپنی گفتگوؤں میں تلاش کریں",
    tab_active: "جاری",
    tab_archived: "محفوظ شدہ",
    no_matches: "آپ کی گفتگوؤں میں کچھ نہیں ملا۔",
    nothing_archived: "کچھ بھی محفوظ شدہ نہیں۔",
    no_conversations: "ابھی کوئی گفتگو نہیں۔ اپنا پہلا سوال پوچھیں!",
    load_more: "مزید دکھائیں",
    delete_all_conversations: "میری تمام گفتگوئیں حذف کریں",
    delete_all_confirm: "ساری گفتگوئیں حذف کریں؟ یہ واپس نہیں ہو سکتا۔",
    delete_all: "سب حذف کریں",
    delete_my_data: "میرا تمام ڈیٹا حذف کریں",
    delete_my_data_confirm: "آپ کا سارا ڈیٹا، بشمول آپ کی درجہ بندیاں اور سائن اِن کا ربط، حذف کریں؟",
    delete_my_data_button: "میرا ڈیٹا حذف کریں",
    all_conversations_deleted: "آپ کی تمام گفتگوئیں حذف کر دی گئیں۔",
    my_data_deleted: "بک چیٹ کے پاس آپ کا جو کچھ محفوظ تھا، سب حذف کر دیا گیا۔",
    you: "آپ",
    bookchat: "بک چیٹ",
    title_match: "عنوان",
    today: "آج",
    yesterday: "کل",
    last_week: "پچھلے 7 دن",
    older: "پرانی",
    messages_count: |n| format!("{n} پیغامات"),
    all_conversations: "→ تمام گفتگوئیں",
    history_page_title: "آپ کی گفتگوئیں · بک چیٹ",
    conversation_page_title: "گفتگو · بک چیٹ",
    bad_conversation_link: "گفتگو کا یہ لنک درست نہیں۔",
    archived_notice: "گفتگو محفوظ شدہ میں بھیج دی گئی۔",
    restored_notice: "گفتگو واپس لے آئی گئی۔",
    deleted_notice: "گفتگو حذف کر دی گئی۔",
    unshared_notice: "یہ لنک اب کام نہیں کرتا۔",
    shared_copy_notice: "یہ شیئر کی گئی گفتگو کی آپ کی اپنی نقل ہے: جو آپ لکھیں گے وہ صرف آپ کا ہے۔",
    shared_offer: "یہ لنک کسی کی بک چیٹ گفتگو شیئر کرتا ہے۔ کیا آپ اسے اپنی گفتگو کے طور پر جاری رکھنا چاہتے ہیں؟ ایک نقل آپ کی تاریخ میں جائے گی؛ اس کے پچھلے حصے شیئر شدہ کے طور پر نشان زد ہوں گے۔",
    shared_offer_yes: "جاری رکھیں",
    shared_offer_no: "ابھی نہیں",
    shared_gone_notice: "یہ شیئر کی گئی گفتگو اب دستیاب نہیں۔",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_from_tags() {
        assert_eq!(Locale::from_tag(Some("ur")), Locale::Ur);
        assert_eq!(Locale::from_tag(Some("ur-PK")), Locale::Ur);
        assert_eq!(Locale::from_tag(Some("UR_pk")), Locale::Ur);
        assert_eq!(Locale::from_tag(Some("en-US")), Locale::En);
        assert_eq!(Locale::from_tag(Some("fr")), Locale::En, "no catalogue: English");
        assert_eq!(Locale::from_tag(None), Locale::En);
        assert_eq!(Locale::Ur.dir(), "rtl");
        assert_eq!(Locale::En.dir(), "ltr");
    }

    #[test]
    fn urdu_is_translated_not_copied() {
        // Every Urdu string differs from its English one, apart from the copy marks.
        let (en, ur) = (Locale::En.strings(), Locale::Ur.strings());
        let pairs = [
            (en.ask_the_book, ur.ask_the_book),
            (en.send, ur.send),
            (en.greeting, ur.greeting),
            (en.chapter_only, ur.chapter_only),
            (en.no_conversations, ur.no_conversations),
            (en.today, ur.today),
        ];
        for (e, u) in pairs {
            assert_ne!(e, u);
            assert!(u.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)), "{u} is in Urdu script");
        }
        assert!((ur.share_note)(3).contains('3'));
    }

    #[test]
    fn every_rule_a_reader_can_break_is_said_in_urdu() {
        let urdu = |s: &str| s.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c));
        for rule in Rule::ALL {
            let said = (Locale::Ur.strings().invalid)(rule).unwrap_or_default();
            assert!(urdu(&said), "{rule:?}: {said:?}");
            assert_eq!((Locale::En.strings().invalid)(rule), None, "English keeps the server's sentence");
        }
        assert!((UR.invalid)(Rule::TitleTooLong).unwrap_or_default().contains(&MAX_TITLE_CHARS.to_string()));
        for e in [AppError::Unauthorized, AppError::not_found("conversation"), AppError::unavailable("down"), AppError::Internal] {
            assert!((UR.failure)(&e).is_some_and(urdu), "{e:?}");
            assert_eq!((EN.failure)(&e), None);
        }
    }
}
