CREATE TABLE "fetcher_requests" (
	"fetcher_id" text NOT NULL,
	"request_id" text NOT NULL,
	CONSTRAINT "fetcher_requests_fetcher_id_request_id_pk" PRIMARY KEY("fetcher_id","request_id")
);
--> statement-breakpoint
ALTER TABLE "fetcher_requests" ADD CONSTRAINT "fetcher_requests_fetcher_id_fetchers_id_fk" FOREIGN KEY ("fetcher_id") REFERENCES "public"."fetchers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fetcher_requests" ADD CONSTRAINT "fetcher_requests_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "fetcher_requests_request_idx" ON "fetcher_requests" USING btree ("request_id");