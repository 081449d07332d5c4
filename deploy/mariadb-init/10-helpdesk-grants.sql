-- Runs once, when the MariaDB volume is first initialised (after the image has created the
-- MARIADB_USER "helpdesk"): each service creates its own database helpdesk_<service> on first
-- start and applies its migrations there, so the user may create and use those, and nothing else.
GRANT ALL PRIVILEGES ON `helpdesk\_%`.* TO 'helpdesk'@'%';
