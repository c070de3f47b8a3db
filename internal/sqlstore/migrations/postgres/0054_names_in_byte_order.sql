-- Usernames and apps' names are compared byte by byte, as SQLite compares
-- them: lists ordered by them (members, friends, blocks, a thread's
-- members who joined at once, the apps in a thread) come in the same
-- order on either engine, whatever the database's locale. Under
-- en_US.UTF-8 or an ICU locale, "a_b" and "a.b" and "ab" came in another
-- order than on SQLite, and an app's name's capitals did too.

-- +goose Up
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C";
ALTER TABLE apps ALTER COLUMN name TYPE TEXT COLLATE "C";

-- +goose Down
ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "default";
ALTER TABLE apps ALTER COLUMN name TYPE TEXT COLLATE "default";
