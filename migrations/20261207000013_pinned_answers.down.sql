DROP TABLE IF EXISTS pinned_questions;
DROP TABLE IF EXISTS pinned_answers;
