CREATE TABLE `environments` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`display_name` text NOT NULL,
	`position` integer NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`variables` text NOT NULL,
	`secrets` text NOT NULL,
	`promote_roles` text NOT NULL,
	`require_gate` integer DEFAULT false NOT NULL,
	`cluster_connection` text,
	`namespace` text,
	`created_by` text,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	`updated_by` text,
	`updated_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `environments_name_unique` ON `environments` (`name`);--> statement-breakpoint
CREATE TABLE `promotions` (
	`run_id` text PRIMARY KEY NOT NULL,
	`pipeline_id` text NOT NULL,
	`build_run_id` text NOT NULL,
	`environment` text NOT NULL,
	`promoted_by` text NOT NULL,
	`promoted_by_name` text NOT NULL,
	`rollback` integer DEFAULT false NOT NULL,
	`created_at` integer DEFAULT (unixepoch('subsec') * 1000) NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pipeline_id`) REFERENCES `pipelines`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`build_run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `promotions_pipeline_idx` ON `promotions` (`pipeline_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `promotions_build_idx` ON `promotions` (`build_run_id`);