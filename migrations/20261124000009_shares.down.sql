DROP TABLE conversation_shares;
