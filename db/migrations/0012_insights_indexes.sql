CREATE INDEX `runs_insights_idx` ON `runs` (`pipeline_id`,`created_at`,`rehearsal`,`id`,`number`,`status`,`trigger`,`plan_hash`,`reused_from_run_id`);--> statement-breakpoint
CREATE INDEX `runs_plan_hash_idx` ON `runs` (`plan_hash`);--> statement-breakpoint
CREATE INDEX `stage_runs_insights_idx` ON `stage_runs` (`run_id`,`node_id`,`status`,`attempt`,`started_at`,`ended_at`,`reused_from`);