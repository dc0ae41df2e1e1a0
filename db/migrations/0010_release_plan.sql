CREATE TABLE `issue_log_entries` (
	`run_id` text NOT NULL,
	`environment` text NOT NULL,
	`pipeline_id` text NOT NULL,
	`cause` text DEFAULT '' NOT NULL,
	`fix` text DEFAULT '' NOT NULL,
	`fix_run_id` text,
	`updated_by` text NOT NULL,
	`updated_by_name` text NOT NULL,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`run_id`, `environment`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `issue_log_pipeline_idx` ON `issue_log_entries` (`pipeline_id`);--> statement-breakpoint
CREATE TABLE `release_plan_reviews` (
	`pipeline_id` text NOT NULL,
	`section` text NOT NULL,
	`facts_hash` text NOT NULL,
	`reviewed_by` text NOT NULL,
	`reviewed_by_name` text NOT NULL,
	`reviewed_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`pipeline_id`, `section`),
	FOREIGN KEY (`pipeline_id`) REFERENCES `pipelines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `release_plan_sections` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`pipeline_id` text NOT NULL,
	`pipeline_version` integer NOT NULL,
	`section` text NOT NULL,
	`body` text NOT NULL,
	`created_by` text NOT NULL,
	`created_by_name` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`pipeline_id`) REFERENCES `pipelines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `release_plan_sections_idx` ON `release_plan_sections` (`pipeline_id`,`section`,`pipeline_version`,`id`);