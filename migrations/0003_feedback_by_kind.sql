-- A summary uses only the newest few events of each kind (pairs, statements, contents): this
-- index lets each kind's LIMITed read walk just those rows, however many events of the other
-- kinds the user has.
CREATE INDEX feedback_events_by_user_kind ON feedback_events (user_id, kind, id);
