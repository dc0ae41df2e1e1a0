CREATE TABLE `trigger_deliveries` (
	`trigger_id` text NOT NULL,
	`delivery_id` text NOT NULL,
	`outcome` text NOT NULL,
	`run_id` text,
	`message` text DEFAULT '' NOT NULL,
	`received_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	PRIMARY KEY(`trigger_id`, `delivery_id`)
);
--> statement-breakpoint
CREATE INDEX `trigger_deliveries_received_idx` ON `trigger_deliveries` (`trigger_id`,`received_at`);--> statement-breakpoint
CREATE TABLE `triggers` (
	`id` text PRIMARY KEY NOT NULL,
	`pipeline_id` text NOT NULL,
	`type` text NOT NULL,
	`name` text DEFAULT '' NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`config` text NOT NULL,
	`secret` text,
	`upstream_pipeline_id` text,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`last_fired_at` integer,
	`last_result` text,
	FOREIGN KEY (`pipeline_id`) REFERENCES `pipelines`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `triggers_pipeline_idx` ON `triggers` (`pipeline_id`);--> statement-breakpoint
CREATE INDEX `triggers_upstream_idx` ON `triggers` (`upstream_pipeline_id`);--> statement-breakpoint
ALTER TABLE `runs` ADD `trigger_details` text;