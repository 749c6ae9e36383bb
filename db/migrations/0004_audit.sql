CREATE TYPE "public"."attachment_action" AS ENUM('attach', 'detach');--> statement-breakpoint
CREATE TYPE "public"."attachment_source" AS ENUM('run', 'api');--> statement-breakpoint
CREATE TYPE "public"."completeness_verdict" AS ENUM('complete', 'incomplete', 'unknown');--> statement-breakpoint
CREATE TABLE "attachment_events" (
	"id" text PRIMARY KEY NOT NULL,
	"evidence_id" text NOT NULL,
	"target_type" "attachment_target" NOT NULL,
	"target_id" text NOT NULL,
	"action" "attachment_action" NOT NULL,
	"source" "attachment_source" NOT NULL,
	"actor" text NOT NULL,
	"reason" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "attachments" ADD COLUMN "detached_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "controls" ADD COLUMN "succeeds" text;--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "manifest_sha256" text;--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "manifest_blob_key" text;--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "completeness" "completeness_verdict" DEFAULT 'unknown' NOT NULL;--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "collected_at" timestamp with time zone;--> statement-breakpoint
UPDATE "evidence" SET "collected_at" = "created_at";--> statement-breakpoint
ALTER TABLE "evidence" ALTER COLUMN "collected_at" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "evidence" ADD COLUMN "scheduled_for" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "scheduled_for" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "collected_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "host_id_list_key" text;--> statement-breakpoint
ALTER TABLE "attachment_events" ADD CONSTRAINT "attachment_events_evidence_id_evidence_id_fk" FOREIGN KEY ("evidence_id") REFERENCES "public"."evidence"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "attachment_events_target_idx" ON "attachment_events" USING btree ("target_type","target_id","at");--> statement-breakpoint
CREATE INDEX "attachment_events_evidence_idx" ON "attachment_events" USING btree ("evidence_id","at");--> statement-breakpoint
ALTER TABLE "controls" ADD CONSTRAINT "controls_succeeds_controls_id_fk" FOREIGN KEY ("succeeds") REFERENCES "public"."controls"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "controls_succeeds_idx" ON "controls" USING btree ("succeeds");--> statement-breakpoint
CREATE INDEX "evidence_collected_idx" ON "evidence" USING btree ("collected_at");