CREATE TABLE `share_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`pipeline_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`scope` text NOT NULL,
	`allowed_origins` text NOT NULL,
	`label` text DEFAULT '' NOT NULL,
	`expires_at` integer,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`revoked_at` integer,
	`revoked_by` text,
	`last_used_at` integer,
	FOREIGN KEY (`pipeline_id`) REFERENCES `pipelines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `share_tokens_hash_idx` ON `share_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `share_tokens_pipeline_idx` ON `share_tokens` (`pipeline_id`);