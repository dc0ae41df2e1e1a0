CREATE TABLE `artifacts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`node_id` text NOT NULL,
	`name` text NOT NULL,
	`digest` text NOT NULL,
	`size` integer NOT NULL,
	`reused_from` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `artifacts_stage_name_idx` ON `artifacts` (`run_id`,`node_id`,`name`);--> statement-breakpoint
CREATE INDEX `artifacts_digest_idx` ON `artifacts` (`digest`);--> statement-breakpoint
ALTER TABLE `runs` ADD `reused_from_run_id` text;--> statement-breakpoint
ALTER TABLE `stage_runs` ADD `reused_from` text;