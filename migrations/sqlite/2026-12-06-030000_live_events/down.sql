DROP INDEX changes_txn_seq;
DROP TABLE event_tickets;
