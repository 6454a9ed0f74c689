/*
 * service_json.h - the REST API's JSON shapes (docs/api.md) of what the
 * store reads: clusters, nodes, tasks with their steps, schedules, events
 * and tokens.  The store returns typed structs (store.h); this is the one
 * place that turns them into the objects the API sends, so a field's
 * name, its null and its time format are decided once.
 *
 * Every function returns a NEW reference (never NULL); the row is only
 * read.  Times are RFC 3339 UTC with milliseconds
 * ("2026-11-21T23:19:26.123Z"), or null for none.
 */
#ifndef RM_SERVICE_JSON_H
#define RM_SERVICE_JSON_H

#include <stdint.h>

#include <jansson.h>

#include "../store/store.h"

/* ms since the epoch as RFC 3339 with milliseconds; null when <= 0. */
json_t *svc_json_time(int64_t ms);

/* {"name","storage":{"url","endpoint","region"},"ssh":{"user","port",
 *  "key_file"},"created_at","nodes","nodes_up","nodes_down"}: the stored
 * counts; the service replaces nodes_up/nodes_down with the live ones and
 * adds queue_depth and running_task. */
json_t *svc_json_cluster(const struct store_cluster_row *r);
/* {"replace_after": "30m", "evict_removenode": false, ...}: every key of
 * the registry, booleans as JSON booleans, the rest as their text. */
json_t *svc_json_settings(const struct store_cluster_settings *v);

/* {"cluster","address","host_id","dc","rack","state","version",
 *  "ssh_host_key","last_heartbeat","load_bytes","is_seed","status"}:
 * status is the stored document, or null when missing or not JSON. */
json_t *svc_json_node(const struct store_node_row *r);
/* An array of svc_json_node(), in the order of v. */
json_t *svc_json_nodes(const struct store_nodes *v);

/* A task as listed: {"id","cluster","type","state","params","created_at",
 * "started_at","finished_at","error","progress":{"done","total"},
 * "schedule_id","seq","cancel_requested","pause_requested"}. */
json_t *svc_json_task(const struct store_task_row *r);
/* svc_json_task() with "steps": [{"idx","name","node","state","attempts",
 * "started_at","finished_at","message","next_attempt_at","nodes":[{"node",
 * "phase","files_done","files_total","bytes_done","bytes_total",
 * "rate_bps","state","message","updated_at"}...]}...]. */
json_t *svc_json_task_detail(const struct store_task_detail *d);

/* {"id","cluster","type","params","every":"24h"|null,"every_ms"|null,
 *  "cron"|null,"start_at","next_run_at","last_run_at","last_task_id",
 *  "enabled"}. */
json_t *svc_json_schedule(const struct store_schedule *s);

/* {"id","at","actor","kind","method","route","target","cluster","result",
 *  "detail"}: detail is the stored document, or null. */
json_t *svc_json_event(const struct store_event_row *r);

/* {"name","role","created_at","revoked"}. */
json_t *svc_json_token(const struct store_token_row *r);

struct repair_hist;
/* One repair of the history: {"id","state","outcome","keyspace",
 * "parallelism","created_at","started_at","finished_at","segments":
 * {"done","failed","postponed","pending","running","split"}|null,
 * "unrepaired_ranges": [{"start","end"}]|null,"summary"}; tokens as
 * strings. */
json_t *svc_json_repair(const struct store_task_row *r,
    const struct repair_hist *h);

/* {"items": [...], "next": "<cursor>"|null} of each page. */
json_t *svc_json_cluster_page(const struct store_cluster_page *p);
json_t *svc_json_task_page(const struct store_task_page *p);
json_t *svc_json_schedule_page(const struct store_schedule_page *p);
json_t *svc_json_event_page(const struct store_event_page *p);

#endif
