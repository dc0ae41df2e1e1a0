CREATE TABLE `insight_changes` (
	`scope` text PRIMARY KEY NOT NULL,
	`seq` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `insight_deployments` (
	`run_id` text NOT NULL,
	`environment` text NOT NULL,
	`kind` text NOT NULL,
	`pipeline_id` text NOT NULL,
	`run_number` integer NOT NULL,
	`run_created_at` integer NOT NULL,
	`ord` integer NOT NULL,
	`at` integer NOT NULL,
	`ok` integer NOT NULL,
	`change_at` integer NOT NULL,
	`failure` text,
	`failed_stage` text,
	`row` text NOT NULL,
	PRIMARY KEY(`run_id`, `environment`, `kind`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `insight_deployments_read_idx` ON `insight_deployments` (`pipeline_id`,`run_created_at`,`environment`,`row`);--> statement-breakpoint
CREATE TABLE `insight_run_facts` (
	`run_id` text PRIMARY KEY NOT NULL,
	`pipeline_id` text NOT NULL,
	`changes` integer DEFAULT 1 NOT NULL,
	`derived_at` integer DEFAULT 0 NOT NULL,
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `insight_run_facts_behind_idx` ON `insight_run_facts` (`run_id`) WHERE changes <> derived_at;--> statement-breakpoint
CREATE TABLE `insight_stages` (
	`run_id` text NOT NULL,
	`node_id` text NOT NULL,
	`pipeline_id` text NOT NULL,
	`run_created_at` integer NOT NULL,
	`duration_ms` integer,
	`flaky` integer NOT NULL,
	PRIMARY KEY(`run_id`, `node_id`),
	FOREIGN KEY (`run_id`) REFERENCES `runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `insight_stages_read_idx` ON `insight_stages` (`pipeline_id`,`node_id`,`run_created_at`,`duration_ms`,`flaky`,`run_id`);--> statement-breakpoint
-- Delivery insight facts (server/services/insights/facts.ts). Hand-written below the generated tables: the triggers
-- mark a run's facts behind (`insight_run_facts.changes`) and raise the change counters (`insight_changes`, rows
-- created on first use) in the same transaction as the write, whoever writes (control worker, runner API, run start,
-- promotion, restore, a test). Runs recorded before this migration have no `insight_run_facts` row yet: the
-- metrics add them (behind) and derive them at their first read. Nothing is written here, so nothing is lost.
CREATE TRIGGER `insight_pipelines_insert` AFTER INSERT ON `pipelines` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_pipelines_update` AFTER UPDATE ON `pipelines` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_pipelines_delete` AFTER DELETE ON `pipelines` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_environments_insert` AFTER INSERT ON `environments` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_environments_update` AFTER UPDATE ON `environments` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_environments_delete` AFTER DELETE ON `environments` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT 'catalog' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_runs_insert` AFTER INSERT ON `runs` BEGIN
  INSERT OR IGNORE INTO `insight_run_facts` (`run_id`, `pipeline_id`) VALUES (new.`id`, new.`pipeline_id`);
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT new.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_runs_update` AFTER UPDATE OF `pipeline_id`, `number`, `plan_hash`, `trigger`, `reused_from_run_id`, `rehearsal`, `created_at` ON `runs` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1, `pipeline_id` = new.`pipeline_id` WHERE `run_id` = new.`id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT old.`pipeline_id` AS s UNION ALL SELECT new.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_runs_delete` AFTER DELETE ON `runs` BEGIN
  DELETE FROM `insight_run_facts` WHERE `run_id` = old.`id`;
  DELETE FROM `insight_deployments` WHERE `run_id` = old.`id`;
  DELETE FROM `insight_stages` WHERE `run_id` = old.`id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT old.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_stage_runs_insert` AFTER INSERT ON `stage_runs` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` = new.`run_id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = new.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_stage_runs_update` AFTER UPDATE OF `run_id`, `node_id`, `status`, `attempt`, `started_at`, `ended_at`, `reused_from` ON `stage_runs`
WHEN old.`run_id` IS NOT new.`run_id` OR old.`node_id` IS NOT new.`node_id` OR old.`status` IS NOT new.`status` OR old.`attempt` IS NOT new.`attempt`
  OR old.`started_at` IS NOT new.`started_at` OR old.`ended_at` IS NOT new.`ended_at` OR old.`reused_from` IS NOT new.`reused_from` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` IN (old.`run_id`, new.`run_id`);
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = old.`run_id`) AS s UNION ALL SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = new.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_stage_runs_delete` AFTER DELETE ON `stage_runs` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` = old.`run_id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = old.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_promotions_insert` AFTER INSERT ON `promotions` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` = new.`run_id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT new.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_promotions_update` AFTER UPDATE ON `promotions` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` IN (old.`run_id`, new.`run_id`);
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT old.`pipeline_id` AS s UNION ALL SELECT new.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_promotions_delete` AFTER DELETE ON `promotions` BEGIN
  UPDATE `insight_run_facts` SET `changes` = `changes` + 1 WHERE `run_id` = old.`run_id`;
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT old.`pipeline_id` AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_gates_insert` AFTER INSERT ON `gates` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = new.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_gates_update` AFTER UPDATE ON `gates`
WHEN old.`status` IS NOT new.`status` OR old.`waiting_since` IS NOT new.`waiting_since` OR old.`decided_at` IS NOT new.`decided_at` OR old.`node_id` IS NOT new.`node_id` OR old.`run_id` IS NOT new.`run_id` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = old.`run_id`) AS s UNION ALL SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = new.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `insight_gates_delete` AFTER DELETE ON `gates` BEGIN
  INSERT INTO `insight_changes` (`scope`, `seq`) SELECT s, 1 FROM (SELECT (SELECT `pipeline_id` FROM `runs` WHERE `id` = old.`run_id`) AS s UNION ALL SELECT '*' AS s) WHERE s IS NOT NULL ON CONFLICT (`scope`) DO UPDATE SET `seq` = `seq` + 1;
END;
