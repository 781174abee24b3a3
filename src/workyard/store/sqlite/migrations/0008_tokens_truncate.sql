-- PostgreSQL's TRUNCATE trigger on tokens has no SQLite counterpart: SQLite has no TRUNCATE, and
-- every server asks PRAGMA data_version about writes by other processes. Kept so both backends
-- number their migrations alike.
SELECT 1;
