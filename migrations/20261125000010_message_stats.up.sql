-- Conversations are many and short: tell the planner so, whatever the sample says. A pooled
-- connection reads a conversation's messages with a generic plan, which estimates "messages of
-- one conversation" as the table divided by the number of conversations ANALYZE saw. On a young
-- or lopsided table (one reader with thousands of messages, everybody else with a few) that
-- estimate says half the table, and the planner then reads a page by walking the primary key
-- backwards and filtering — every later message of the heavy conversation, on every page of
-- every other one (3,000 rows for a page of 30 in the test). Declaring the number of distinct
-- conversations as 5 % of the rows (about twenty messages each) keeps every page on
-- messages_conversation_idx, the plan that is right for a conversation of any length.
ALTER TABLE messages ALTER COLUMN conversation_id SET (n_distinct = -0.05);
ANALYZE messages;
