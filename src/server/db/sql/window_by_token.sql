WITH s AS (
    SELECT id, user_id FROM chat_sessions
     WHERE secret_hash = $1 AND status = 'active' AND expires_at > now()
), c AS (
    SELECT c.id, c.title, c.status, c.message_count, c.created_at, c.last_message_at
      FROM conversations c, s
     WHERE c.id = $2 AND (c.user_id = s.user_id OR (c.user_id IS NULL AND c.session_id = s.id))
), m AS (
    SELECT m.id, m.client_id, m.role, m.content, m.status, m.reply_to, m.metadata, m.created_at, m.html,
           f.rating, f.comment
      FROM (SELECT m.id, m.client_id, m.role, m.content, m.status, m.reply_to, m.metadata, m.created_at, m.html
              FROM messages m
             WHERE m.conversation_id = (SELECT id FROM c) AND ($3::bigint IS NULL OR m.id < $3)
             ORDER BY m.id DESC
             LIMIT $4) m
      LEFT JOIN message_feedback f ON f.message_id = m.id
)
SELECT EXISTS (SELECT 1 FROM s) AS "authed!",
       c.id AS "c_id?", c.title AS "c_title?", c.status AS "c_status?: crate::model::ConversationStatus",
       c.message_count AS "c_message_count?", c.created_at AS "c_created_at?", c.last_message_at AS "c_last_message_at?",
       NULL::bigint AS "id?", NULL::uuid AS "client_id?", NULL::text AS "role?: Role", NULL::text AS "content?",
       NULL::text AS "status?: MessageStatus", NULL::bigint AS reply_to, NULL::jsonb AS "metadata: Metadata", NULL::timestamptz AS "created_at?",
       NULL::text AS html, NULL::smallint AS "rating?", NULL::text AS "feedback_comment?"
  FROM (SELECT 1) AS one LEFT JOIN c ON true
UNION ALL
SELECT true, NULL, NULL, NULL, NULL, NULL, NULL,
       m.id, m.client_id, m.role, m.content, m.status, m.reply_to, m.metadata, m.created_at, m.html, m.rating, m.comment
  FROM m
 ORDER BY "id?" DESC NULLS FIRST
