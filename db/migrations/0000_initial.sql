CREATE TYPE "public"."api_key_role" AS ENUM('admin', 'auditor');--> statement-breakpoint
CREATE TYPE "public"."attachment_target" AS ENUM('control', 'request');--> statement-breakpoint
CREATE TYPE "public"."connection_status" AS ENUM('unchecked', 'valid', 'invalid', 'disconnected');--> statement-breakpoint
CREATE TYPE "public"."control_cadence" AS ENUM('weekly', 'monthly', 'quarterly');--> statement-breakpoint
CREATE TYPE "public"."evidence_format" AS ENUM('XML', 'CSV', 'RAW');--> statement-breakpoint
CREATE TYPE "public"."fetcher_kind" AS ENUM('host_list_detection', 'custom');--> statement-breakpoint
CREATE TYPE "public"."request_status" AS ENUM('open', 'closed');--> statement-breakpoint
CREATE TYPE "public"."run_status" AS ENUM('queued', 'running', 'succeeded', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."run_trigger" AS ENUM('api', 'schedule', 'backfill', 'demo', 'cli');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" "api_key_role" NOT NULL,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "attachments" (
	"evidence_id" text NOT NULL,
	"target_type" "attachment_target" NOT NULL,
	"target_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "attachments_evidence_id_target_type_target_id_pk" PRIMARY KEY("evidence_id","target_type","target_id")
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"platform" text,
	"api_base_url" text NOT NULL,
	"api_version" text DEFAULT '5.0' NOT NULL,
	"username" text NOT NULL,
	"password_ciphertext" text,
	"status" "connection_status" DEFAULT 'unchecked' NOT NULL,
	"status_reason" text,
	"last_checked_at" timestamp with time zone,
	"limits" jsonb,
	"proxy_url" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "controls" (
	"id" text PRIMARY KEY NOT NULL,
	"framework" text NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"cadence" "control_cadence"
);
--> statement-breakpoint
CREATE TABLE "evidence" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"fetcher_id" text NOT NULL,
	"blob_key" text NOT NULL,
	"sha256" text NOT NULL,
	"bytes" bigint NOT NULL,
	"format" "evidence_format" NOT NULL,
	"content_type" text NOT NULL,
	"filename" text NOT NULL,
	"summary" jsonb NOT NULL,
	"manifest" jsonb NOT NULL,
	"complete" boolean NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fetcher_controls" (
	"fetcher_id" text NOT NULL,
	"control_id" text NOT NULL,
	CONSTRAINT "fetcher_controls_fetcher_id_control_id_pk" PRIMARY KEY("fetcher_id","control_id")
);
--> statement-breakpoint
CREATE TABLE "fetchers" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"name" text NOT NULL,
	"kind" "fetcher_kind" NOT NULL,
	"config" jsonb NOT NULL,
	"format" "evidence_format" NOT NULL,
	"page_size" integer DEFAULT 1000 NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "fetchers_page_size_range" CHECK ("fetchers"."page_size" between 1 and 1000000)
);
--> statement-breakpoint
CREATE TABLE "request_controls" (
	"request_id" text NOT NULL,
	"control_id" text NOT NULL,
	CONSTRAINT "request_controls_request_id_control_id_pk" PRIMARY KEY("request_id","control_id")
);
--> statement-breakpoint
CREATE TABLE "requests" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"due_date" date,
	"status" "request_status" DEFAULT 'open' NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone,
	CONSTRAINT "requests_period_order" CHECK ("requests"."period_start" <= "requests"."period_end")
);
--> statement-breakpoint
CREATE TABLE "run_pages" (
	"run_id" text NOT NULL,
	"page_no" integer NOT NULL,
	"id_min" bigint,
	"blob_key" text NOT NULL,
	"sha256" text NOT NULL,
	"bytes" bigint NOT NULL,
	"summary" jsonb NOT NULL,
	"qualys_datetime" text,
	"attempts" integer DEFAULT 1 NOT NULL,
	"fetched_at" timestamp with time zone NOT NULL,
	CONSTRAINT "run_pages_run_id_page_no_pk" PRIMARY KEY("run_id","page_no")
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"fetcher_id" text NOT NULL,
	"connection_id" text NOT NULL,
	"trigger" "run_trigger" NOT NULL,
	"triggered_by" text,
	"schedule_id" text,
	"idempotency_key" text,
	"workflow_id" text NOT NULL,
	"status" "run_status" DEFAULT 'queued' NOT NULL,
	"step" text,
	"progress" jsonb,
	"error" jsonb,
	"evidence_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"fetcher_id" text NOT NULL,
	"temporal_schedule_id" text NOT NULL,
	"preset" text,
	"spec" jsonb NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"note" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"webhook_id" text NOT NULL,
	"run_id" text NOT NULL,
	"event" text NOT NULL,
	"attempt" integer NOT NULL,
	"http_status" integer,
	"ok" boolean NOT NULL,
	"error" text,
	"request_body_sha256" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "webhooks" (
	"id" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"secret_ciphertext" text NOT NULL,
	"events" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD CONSTRAINT "attachments_evidence_id_evidence_id_fk" FOREIGN KEY ("evidence_id") REFERENCES "public"."evidence"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "evidence" ADD CONSTRAINT "evidence_fetcher_id_fetchers_id_fk" FOREIGN KEY ("fetcher_id") REFERENCES "public"."fetchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fetcher_controls" ADD CONSTRAINT "fetcher_controls_fetcher_id_fetchers_id_fk" FOREIGN KEY ("fetcher_id") REFERENCES "public"."fetchers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fetcher_controls" ADD CONSTRAINT "fetcher_controls_control_id_controls_id_fk" FOREIGN KEY ("control_id") REFERENCES "public"."controls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fetchers" ADD CONSTRAINT "fetchers_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_controls" ADD CONSTRAINT "request_controls_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_controls" ADD CONSTRAINT "request_controls_control_id_controls_id_fk" FOREIGN KEY ("control_id") REFERENCES "public"."controls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_pages" ADD CONSTRAINT "run_pages_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_fetcher_id_fetchers_id_fk" FOREIGN KEY ("fetcher_id") REFERENCES "public"."fetchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_schedule_id_schedules_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "public"."schedules"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_evidence_id_evidence_id_fk" FOREIGN KEY ("evidence_id") REFERENCES "public"."evidence"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedules" ADD CONSTRAINT "schedules_fetcher_id_fetchers_id_fk" FOREIGN KEY ("fetcher_id") REFERENCES "public"."fetchers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_id_webhooks_id_fk" FOREIGN KEY ("webhook_id") REFERENCES "public"."webhooks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_token_hash_uq" ON "api_keys" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "api_keys_created_idx" ON "api_keys" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "attachments_target_idx" ON "attachments" USING btree ("target_type","target_id","created_at");--> statement-breakpoint
CREATE INDEX "connections_created_idx" ON "connections" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "controls_framework_code_uq" ON "controls" USING btree ("framework","code");--> statement-breakpoint
CREATE UNIQUE INDEX "evidence_run_uq" ON "evidence" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "evidence_fetcher_created_idx" ON "evidence" USING btree ("fetcher_id","created_at");--> statement-breakpoint
CREATE INDEX "fetcher_controls_control_idx" ON "fetcher_controls" USING btree ("control_id");--> statement-breakpoint
CREATE INDEX "fetchers_connection_idx" ON "fetchers" USING btree ("connection_id");--> statement-breakpoint
CREATE INDEX "fetchers_created_idx" ON "fetchers" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "request_controls_control_idx" ON "request_controls" USING btree ("control_id");--> statement-breakpoint
CREATE INDEX "requests_status_idx" ON "requests" USING btree ("status");--> statement-breakpoint
CREATE INDEX "requests_created_idx" ON "requests" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_fetcher_idempotency_uq" ON "runs" USING btree ("fetcher_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "runs_fetcher_created_idx" ON "runs" USING btree ("fetcher_id","created_at","id");--> statement-breakpoint
CREATE INDEX "runs_created_idx" ON "runs" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "runs_status_idx" ON "runs" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "schedules_temporal_id_uq" ON "schedules" USING btree ("temporal_schedule_id");--> statement-breakpoint
CREATE INDEX "schedules_fetcher_idx" ON "schedules" USING btree ("fetcher_id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_webhook_created_idx" ON "webhook_deliveries" USING btree ("webhook_id","created_at","id");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_run_idx" ON "webhook_deliveries" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "webhooks_created_idx" ON "webhooks" USING btree ("created_at","id");