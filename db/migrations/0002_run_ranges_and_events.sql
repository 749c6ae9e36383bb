CREATE TABLE "run_events" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"kind" text NOT NULL,
	"worker" text,
	"detail" jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "run_ranges" (
	"run_id" text NOT NULL,
	"range_no" integer NOT NULL,
	"id_min" bigint,
	"id_max" bigint,
	"listed_hosts" integer,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "run_ranges_run_id_range_no_pk" PRIMARY KEY("run_id","range_no")
);
--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "range_no" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "id_max" bigint;--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "hosts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "detections" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "records" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "run_pages" ADD COLUMN "worker" text;--> statement-breakpoint
-- Pages stored before these columns existed carry their counts in the summary.
UPDATE "run_pages" SET "hosts" = coalesce(("summary"->>'hosts')::integer, 0), "detections" = coalesce(("summary"->>'detections')::integer, 0), "records" = coalesce(("summary"->>'records')::integer, ("summary"->>'hosts')::integer, 0);--> statement-breakpoint
ALTER TABLE "run_pages" DROP CONSTRAINT "run_pages_run_id_page_no_pk";--> statement-breakpoint
ALTER TABLE "run_pages" ADD CONSTRAINT "run_pages_run_id_range_no_page_no_pk" PRIMARY KEY("run_id","range_no","page_no");--> statement-breakpoint
ALTER TABLE "run_events" ADD CONSTRAINT "run_events_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_ranges" ADD CONSTRAINT "run_ranges_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "run_events_run_idx" ON "run_events" USING btree ("run_id","at");