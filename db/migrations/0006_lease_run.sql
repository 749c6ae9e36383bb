ALTER TABLE "qualys_call_leases" ADD COLUMN "run_id" text;--> statement-breakpoint
CREATE INDEX "qualys_call_leases_run_idx" ON "qualys_call_leases" USING btree ("run_id","state");