CREATE TYPE "public"."call_lease_state" AS ENUM('waiting', 'running', 'done');--> statement-breakpoint
CREATE TABLE "qualys_call_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"subscription_id" text NOT NULL,
	"holder" text NOT NULL,
	"purpose" text NOT NULL,
	"state" "call_lease_state" NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "qualys_subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"concurrency_limit" integer,
	"rate_limit" integer,
	"rate_window_sec" integer,
	"rate_remaining" integer,
	"rate_wait_sec" integer,
	"observed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "qualys_call_leases" ADD CONSTRAINT "qualys_call_leases_subscription_id_qualys_subscriptions_id_fk" FOREIGN KEY ("subscription_id") REFERENCES "public"."qualys_subscriptions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "qualys_call_leases_subscription_state_idx" ON "qualys_call_leases" USING btree ("subscription_id","state","requested_at");--> statement-breakpoint
CREATE INDEX "qualys_call_leases_started_idx" ON "qualys_call_leases" USING btree ("subscription_id","started_at");