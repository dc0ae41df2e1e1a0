CREATE TABLE `cluster_connections` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`auth_type` text NOT NULL,
	`server` text NOT NULL,
	`ca_pem` text,
	`insecure_skip_tls_verify` integer DEFAULT false NOT NULL,
	`secret` text NOT NULL,
	`allowed_namespaces` text NOT NULL,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_checked_at` integer,
	`last_check_ok` integer,
	`last_check_message` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `cluster_connections_name_unique` ON `cluster_connections` (`name`);