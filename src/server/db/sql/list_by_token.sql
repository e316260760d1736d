SELECT c.id AS "id?", c.title AS "title?", c.status AS "status?: ConversationStatus",
       c.message_count AS "message_count?", c.created_at AS "created_at?", c.last_message_at AS "last_message_at?"
FROM chat_sessions s
LEFT JOIN LATERAL (
    (SELECT c.id, c.title, c.status, c.message_count, c.created_at, c.last_message_at FROM conversations c
      WHERE s.user_id IS NOT NULL AND c.user_id = s.user_id
        AND (c.status = 'archived') = $2
        AND ($3::timestamptz IS NULL OR (c.last_message_at, c.id) < ($3, $4::uuid))
      ORDER BY c.last_message_at DESC, c.id DESC
      LIMIT $5)
    UNION ALL
    (SELECT c.id, c.title, c.status, c.message_count, c.created_at, c.last_message_at FROM conversations c
      WHERE s.user_id IS NULL AND c.user_id IS NULL AND c.session_id = s.id
        AND (c.status = 'archived') = $2
        AND ($3::timestamptz IS NULL OR (c.last_message_at, c.id) < ($3, $4::uuid))
      ORDER BY c.last_message_at DESC, c.id DESC
      LIMIT $5)
) c ON true
WHERE s.secret_hash = $1 AND s.status = 'active' AND s.expires_at > now()
ORDER BY c.last_message_at DESC, c.id DESC
