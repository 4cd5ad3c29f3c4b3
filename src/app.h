/*
 * app: what one troupe process holds, wired together by main.c. Modules get
 * the pieces they need through it; each piece's owner is named here.
 */
#ifndef TROUPE_APP_H
#define TROUPE_APP_H

#include "core/config.h"
#include "db/db.h"

#include <signal.h>

struct http_server;
struct auth;
struct models;
struct agents;
struct workflows;
struct llm_limiter;
struct net_policy;
struct jobs;
struct engine_toolpool;
struct engine_runner;

struct app {
	const struct config *cfg;        /* owned by main */
	struct db *db;                   /* owned by main; shared by every thread */
	struct http_server *http;        /* owned by main */
	struct auth *auth;               /* owned by main; may be NULL in roles without HTTP */
	struct models *models;           /* owned by main */
	struct agents *agents;           /* owned by main */
	struct workflows *workflows;     /* owned by main */
	struct llm_limiter *llm_limiter; /* owned by main; shared by every thread's client */
	struct net_policy *net_policy;   /* owned by main; immutable, shared by every thread's net_multi */
	struct jobs *jobs;               /* owned by main; the worker pool (serve, worker); NULL in api */
	struct engine_toolpool *tools;   /* owned by main; the tool threads (serve, worker); NULL in api */
	struct engine_runner *runner;    /* owned by main; runs executions (serve, worker); NULL in api */
	int64_t started_ms;
	int64_t started_mono_us;
};

#endif
